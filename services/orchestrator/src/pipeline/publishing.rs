//! The `publish` step of a run asked to publish: one `publication.request` to distribution naming
//! every target; each target's `publication.published` fact is kept, and the run is `published`
//! once every target of the current attempt is. A failed publication fails the attempt (retried
//! like any step; targets already published are not sent again).

use messages::jobs::PublicationRequest;
use shared::bus::Envelope;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::states::StepState;

use super::{
    steps::{dispatch, record, save_fact, step_failed, step_state, succeed_step, LockedRun},
    Limits,
};

/// Sends the run's publication request to distribution.
pub(super) async fn dispatch_publish(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    run: &LockedRun,
) -> anyhow::Result<()> {
    let job = serde_json::to_value(PublicationRequest {
        tenant: run.tenant.clone(),
        targets: run.params.publish.clone(),
    })?;
    dispatch(tx, limits, run_id, "publish", vec![job.clone()], job).await
}

/// Applies `publication.published` or `publication.failed` to the run's `publish` step. Facts of
/// publications made outside the run, or for an earlier attempt, change nothing.
pub(super) async fn on_publication(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    run: &LockedRun,
    envelope: &Envelope,
) -> anyhow::Result<()> {
    let body = &envelope.body;
    let (Some(attempt), Some(account)) = (body["attempt"].as_i64(), body["account_id"].as_str())
    else {
        return Ok(());
    };
    let Some(part) = run
        .params
        .publish
        .iter()
        .position(|t| t.account_id.to_string() == account)
    else {
        return Ok(());
    };
    let (state, current_attempt) = step_state(tx, run_id, "publish").await?;
    if state != StepState::Running || i64::from(current_attempt) != attempt {
        tracing::debug!(kind = %envelope.kind, %state, attempt, current_attempt, "stale publication fact ignored");
        return Ok(());
    }
    if envelope.kind == "publication.failed" {
        let reason = format!(
            "{} account {account}: {}",
            body["platform"].as_str().unwrap_or("a platform"),
            body["reason"].as_str().unwrap_or("failed")
        );
        return step_failed(tx, limits, run_id, "publish", &reason).await;
    }
    save_fact(tx, run_id, "publication", i32::try_from(part)?, body).await?;
    let published: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM orchestrator.facts WHERE run_id = $1 AND kind = 'publication' AND (body->>'attempt')::int = $2"#,
        run_id,
        current_attempt
    )
    .fetch_one(&mut *tx)
    .await?;
    let detail = format!(
        "{} on {}",
        body["permalink"].as_str().unwrap_or("published"),
        body["platform"].as_str().unwrap_or("a platform")
    );
    record(tx, run_id, Some("publish"), "progress", Some(&detail)).await?;
    if published >= i64::try_from(run.params.publish.len())? {
        succeed_step(tx, run_id, "publish", 0).await?;
        sqlx::query!("UPDATE orchestrator.runs SET state = 'published', updated_at = now(), finished_at = now() WHERE id = $1", run_id)
            .execute(&mut *tx)
            .await?;
        record(
            tx,
            run_id,
            None,
            "published",
            Some(&format!("published to {published} accounts")),
        )
        .await?;
    }
    Ok(())
}
