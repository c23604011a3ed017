//! The rows of a run and its steps: the state changes every transition is made of (event log,
//! dispatch of a step's jobs, facts, success, retry or failure, cancellation).

use anyhow::Context as _;
use serde_json::{json, Value};
use shared::{bus::Envelope, outbox};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Limits, SERVICE};
use crate::{
    params::RunParams,
    states::{RunState, StepState},
};

/// Appends to the run's event log (what SSE clients see).
pub async fn record(
    tx: &mut PgConnection,
    run_id: Uuid,
    step: Option<&str>,
    state: &str,
    detail: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO orchestrator.run_events (run_id, step, state, detail) VALUES ($1, $2, $3, $4)",
        run_id,
        step,
        state,
        detail
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Marks `step` running with a new attempt and sends its jobs.
pub(crate) async fn dispatch(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    step: &str,
    jobs: Vec<Value>,
    stored: Value,
) -> anyhow::Result<()> {
    let attempt: i32 = sqlx::query_scalar!("UPDATE orchestrator.steps SET state = 'running', attempts = attempts + 1, job = $3,
             started_at = COALESCE(started_at, now()), finished_at = NULL, error = NULL, retry_at = NULL,
             deadline_at = now() + make_interval(secs => $4)
         WHERE run_id = $1 AND name = $2 RETURNING attempts", run_id, step, &stored, limits.timeout(step).as_secs_f64())
    .fetch_one(&mut *tx)
    .await?;
    let (stream, kind) = route(step);
    // Past the step's deadline this attempt is abandoned and a new one sent: workers skip it
    // rather than spend a render on a result nobody waits for (a queue backed up under load).
    let expires_at = chrono::Utc::now()
        + chrono::Duration::from_std(limits.timeout(step)).unwrap_or(chrono::Duration::MAX);
    for mut job in jobs {
        job["attempt"] = json!(attempt);
        job["run_id"] = json!(run_id);
        let envelope = Envelope::new(kind, Some(run_id), job).expiring_at(expires_at);
        outbox::enqueue(tx, SERVICE, stream, &envelope).await?;
    }
    record(
        tx,
        run_id,
        Some(step),
        "running",
        Some(&format!("attempt {attempt}")),
    )
    .await?;
    Ok(())
}

/// The stream and message kind of a step's jobs.
fn route(step: &str) -> (&'static str, &'static str) {
    match step {
        "story" => ("jobs.story", "story.write"),
        "speech" => ("jobs.tts", "speech.synthesize"),
        "images" => ("jobs.image", "image.render"),
        "music" => ("jobs.music", "music.compose"),
        "moderation" => ("jobs.moderation", "moderation.check"),
        "publish" => ("jobs.distribution", "publication.request"),
        _ => ("jobs.video", "video.render"),
    }
}

/// The run row, locked for the rest of the transaction so one run's events apply one at a time.
pub(crate) struct LockedRun {
    pub(crate) tenant: String,
    pub(super) state: RunState,
    pub(crate) params: RunParams,
}

pub(super) async fn lock_run(
    tx: &mut PgConnection,
    run_id: Uuid,
) -> anyhow::Result<Option<LockedRun>> {
    let row = sqlx::query!(
        r#"SELECT tenant, state AS "state: RunState", params AS "params: sqlx::types::Json<RunParams>"
           FROM orchestrator.runs WHERE id = $1 FOR UPDATE"#,
        run_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|row| LockedRun {
        tenant: row.tenant,
        state: row.state,
        params: row.params.0,
    }))
}

pub(crate) async fn step_state(
    tx: &mut PgConnection,
    run_id: Uuid,
    step: &str,
) -> anyhow::Result<(StepState, i32)> {
    let row = sqlx::query!(
        r#"SELECT state AS "state: StepState", attempts FROM orchestrator.steps
           WHERE run_id = $1 AND name = $2"#,
        run_id,
        step
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok((row.state, row.attempts))
}

pub(super) async fn save_fact(
    tx: &mut PgConnection,
    run_id: Uuid,
    kind: &str,
    part: i32,
    body: &Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO orchestrator.facts (run_id, kind, part, body) VALUES ($1, $2, $3, $4)
         ON CONFLICT (run_id, kind, part) DO UPDATE SET body = EXCLUDED.body, recorded_at = now()",
        run_id,
        kind,
        part,
        body
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn fact(
    tx: &mut PgConnection,
    run_id: Uuid,
    kind: &str,
    part: i32,
) -> anyhow::Result<Value> {
    sqlx::query_scalar!(
        "SELECT body FROM orchestrator.facts WHERE run_id = $1 AND kind = $2 AND part = $3",
        run_id,
        kind,
        part
    )
    .fetch_optional(&mut *tx)
    .await?
    .with_context(|| format!("run {run_id} has no {kind} fact"))
}

pub(crate) async fn succeed_step(
    tx: &mut PgConnection,
    run_id: Uuid,
    step: &str,
    cost_micros: i64,
) -> anyhow::Result<()> {
    sqlx::query!("UPDATE orchestrator.steps SET state = 'succeeded', finished_at = now(), deadline_at = NULL, error = NULL,
             cost_micros = cost_micros + $3, progress = total
         WHERE run_id = $1 AND name = $2", run_id, step, cost_micros)
    .execute(&mut *tx)
    .await?;
    record(tx, run_id, Some(step), "succeeded", None).await?;
    Ok(())
}

/// Resets downstream steps to pending, forgetting their facts (a regenerated story invalidates them).
pub(crate) async fn reset_steps(
    tx: &mut PgConnection,
    run_id: Uuid,
    steps: &[&str],
    facts: &[&str],
) -> sqlx::Result<()> {
    sqlx::query!("UPDATE orchestrator.steps SET state = 'pending', deadline_at = NULL, retry_at = NULL, progress = 0
         WHERE run_id = $1 AND name = ANY($2) AND state <> 'pending'", run_id, &steps.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "DELETE FROM orchestrator.facts WHERE run_id = $1 AND kind = ANY($2)",
        run_id,
        &facts.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A failed attempt: retried after a backoff while attempts remain, otherwise the run fails.
pub async fn step_failed(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    step: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let (_, attempts) = step_state(tx, run_id, step).await?;
    if attempts < limits.max_attempts {
        let wait = limits.backoff(attempts);
        sqlx::query!(
            "UPDATE orchestrator.steps SET state = 'retrying', error = $3, deadline_at = NULL,
                 retry_at = now() + make_interval(secs => $4)
             WHERE run_id = $1 AND name = $2",
            run_id,
            step,
            reason,
            wait.as_secs_f64()
        )
        .execute(&mut *tx)
        .await?;
        record(
            tx,
            run_id,
            Some(step),
            "retrying",
            Some(&format!("{reason}; retry in {} ms", wait.as_millis())),
        )
        .await?;
        Ok(())
    } else {
        fail_run(
            tx,
            run_id,
            step,
            &format!("{reason} (after {attempts} attempts)"),
        )
        .await
    }
}

pub(super) async fn fail_run(
    tx: &mut PgConnection,
    run_id: Uuid,
    step: &str,
    reason: &str,
) -> anyhow::Result<()> {
    sqlx::query!("UPDATE orchestrator.steps SET state = 'failed', error = $3, finished_at = now(), deadline_at = NULL WHERE run_id = $1 AND name = $2", run_id, step, reason)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("UPDATE orchestrator.steps SET state = 'cancelled', deadline_at = NULL, retry_at = NULL WHERE run_id = $1 AND state IN ('pending', 'running', 'retrying', 'waiting_review')", run_id)
        .execute(&mut *tx)
        .await?;
    let message = format!("{step}: {reason}");
    sqlx::query!("UPDATE orchestrator.runs SET state = 'failed', error = $2, updated_at = now(), finished_at = now() WHERE id = $1", run_id, &message)
        .execute(&mut *tx)
        .await?;
    record(tx, run_id, Some(step), "failed", Some(reason)).await?;
    record(tx, run_id, None, "failed", Some(&message)).await?;
    Ok(())
}

/// Cancels a run that has not finished; returns false when it already had.
pub async fn cancel(pool: &PgPool, run_id: Uuid) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let Some(run) = lock_run(&mut tx, run_id).await? else {
        return Ok(false);
    };
    if run.state.is_finished() {
        return Ok(false);
    }
    sqlx::query!("UPDATE orchestrator.steps SET state = 'cancelled', deadline_at = NULL, retry_at = NULL WHERE run_id = $1 AND state IN ('pending', 'running', 'retrying', 'waiting_review')", run_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("UPDATE orchestrator.runs SET state = 'cancelled', updated_at = now(), finished_at = now() WHERE id = $1", run_id).execute(&mut *tx).await?;
    record(&mut tx, run_id, None, "cancelled", None).await?;
    tx.commit().await?;
    Ok(true)
}
