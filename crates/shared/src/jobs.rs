//! Conventions of a job handler: decode the job body, and report a failed attempt as a fact.

use serde::de::DeserializeOwned;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    bus::{Delivery, Envelope},
    outbox,
};

/// The stream every service reports facts on.
pub const EVENTS: &str = "events";

/// The job's body as `T`; an undecodable body is an error (retried, then dead-lettered).
pub fn decode<T: DeserializeOwned>(delivery: &Delivery) -> anyhow::Result<T> {
    serde_json::from_value(delivery.envelope.body.clone()).map_err(|e| {
        anyhow::anyhow!(
            "job {} ({}) is malformed: {e}",
            delivery.envelope.id,
            delivery.envelope.kind
        )
    })
}

/// Whether `table` already holds the result of this run's attempt: a redelivered job is then done,
/// since its fact left through the outbox in the same transaction as the row.
/// `table` is a compile-time constant of the calling service, never user input.
pub async fn already_recorded(
    pool: &PgPool,
    table: &'static str,
    run_id: Uuid,
    attempt: i32,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE run_id = $1 AND attempt = $2)"
    ))
    .bind(run_id)
    .bind(attempt)
    .fetch_one(pool)
    .await
}

/// Publishes `<service>.failed` for `step` of `run_id` through the outbox, so the owner of the run
/// can retry or fail it. The job itself is then acked: its failure is now a recorded fact.
pub async fn report_failure(
    pool: &PgPool,
    service: &str,
    step: &str,
    run_id: Uuid,
    attempt: i32,
    reason: &str,
) -> anyhow::Result<()> {
    tracing::warn!(%run_id, step, attempt, reason, "job failed");
    let envelope = Envelope::new(
        format!("{service}.failed"),
        Some(run_id),
        json!({ "step": step, "attempt": attempt, "reason": reason }),
    );
    let mut tx = pool.begin().await?;
    outbox::enqueue(&mut tx, service, EVENTS, &envelope).await?;
    tx.commit().await?;
    Ok(())
}

/// Publishes a fact through the outbox inside the caller's transaction.
pub async fn emit(
    tx: &mut sqlx::PgConnection,
    service: &str,
    kind: &str,
    run_id: Uuid,
    body: serde_json::Value,
) -> anyhow::Result<()> {
    outbox::enqueue(
        tx,
        service,
        EVENTS,
        &Envelope::new(kind, Some(run_id), body),
    )
    .await?;
    Ok(())
}

/// A readiness check that an external program runs (`<program> <version_flag>` exits 0).
pub fn program_check(program: String, version_flag: &'static str) -> crate::health::Check {
    std::sync::Arc::new(move || {
        let program = program.clone();
        Box::pin(async move {
            let output = crate::child::Child::new(&program, std::time::Duration::from_secs(10))
                .arg(version_flag)
                .output()
                .await
                .map_err(|e| anyhow::anyhow!("`{program}` cannot be run: {e}"))?;
            anyhow::ensure!(
                output.status.success(),
                "`{program} {version_flag}` exited with {}",
                output.status
            );
            Ok(())
        })
    })
}
