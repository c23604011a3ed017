//! Conventions of a job handler: recognise a redelivered job, publish a fact, check a program.

use sqlx::PgPool;
use uuid::Uuid;

use crate::{bus::Envelope, outbox};

/// The stream every service reports facts on.
pub const EVENTS: &str = "events";

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
