//! The watchdog's tick: a step past its deadline counts as a failed attempt, and a step whose
//! backoff elapsed is sent again.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::states::StepState;

use super::{
    steps::{dispatch, lock_run, step_failed, step_state},
    Limits,
};

/// Steps whose deadline passed count as failed attempts; steps whose backoff elapsed are sent again.
pub async fn tick(pool: &PgPool, limits: &Limits) -> anyhow::Result<()> {
    let due = sqlx::query!(
        r#"SELECT run_id, name, state AS "state: StepState" FROM orchestrator.steps
           WHERE (state = 'running' AND deadline_at < now()) OR (state = 'retrying' AND retry_at <= now())
           LIMIT 100"#
    )
    .fetch_all(pool)
    .await?;
    for row in due {
        let (run_id, step, state) = (row.run_id, row.name, row.state);
        let mut tx = pool.begin().await?;
        let Some(run) = lock_run(&mut tx, run_id).await? else {
            continue;
        };
        let (current, _) = step_state(&mut tx, run_id, &step).await?;
        if current != state || run.state.is_finished() {
            continue;
        }
        if state == StepState::Running {
            let timeout = limits.timeout(&step).as_secs();
            step_failed(
                &mut tx,
                limits,
                run_id,
                &step,
                &format!("no result within {timeout} s"),
            )
            .await?;
        } else {
            redispatch(&mut tx, limits, run_id, &step).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Sends a step's stored job again (for images, only the scenes not yet rendered).
async fn redispatch(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    step: &str,
) -> anyhow::Result<()> {
    let stored: Value = sqlx::query_scalar!(
        r#"SELECT job AS "job!" FROM orchestrator.steps WHERE run_id = $1 AND name = $2"#,
        run_id,
        step
    )
    .fetch_one(&mut *tx)
    .await?;
    let jobs = if step == "images" {
        let done: Vec<i32> = sqlx::query_scalar!(
            "SELECT part FROM orchestrator.facts WHERE run_id = $1 AND kind = 'image'",
            run_id
        )
        .fetch_all(&mut *tx)
        .await?;
        stored["scenes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|j| {
                !j["scene_index"]
                    .as_i64()
                    .is_some_and(|i| done.contains(&(i as i32)))
            })
            .cloned()
            .collect()
    } else {
        vec![stored.clone()]
    };
    dispatch(tx, limits, run_id, step, jobs, stored).await
}
