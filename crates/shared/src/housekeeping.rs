//! Scheduled pruning of what the mechanisms accumulate: published outbox rows, expired
//! idempotency keys and old tenant exports, deleted in bounded batches so a large backlog never
//! holds long locks.

use std::time::Duration;

use serde::Deserialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::idempotency;

/// `[retention]`: how long published outbox rows are kept, and how often pruning runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RetentionConfig {
    /// Published outbox rows older than this are deleted (they are kept a while for debugging).
    pub outbox_hours: u32,
    /// Tenant data exports (copies of personal data) are deleted this long after they were asked for.
    pub export_hours: u32,
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            outbox_hours: 24,
            export_hours: 168,
            interval_secs: 300,
        }
    }
}

/// Rows one delete statement removes at most.
const BATCH: i64 = 5_000;

/// What one pruning pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub outbox_rows: u64,
    pub idempotency_keys: u64,
    pub exports: u64,
}

/// Deletes published outbox rows of `services` older than the retention, and idempotency keys
/// past theirs. Unpublished rows are never touched, however old.
pub async fn prune_once(
    pool: &PgPool,
    services: &[String],
    config: &RetentionConfig,
) -> sqlx::Result<Pruned> {
    let mut pruned = Pruned::default();
    loop {
        let deleted = sqlx::query!(
            "DELETE FROM fleet.outbox WHERE id IN (
                 SELECT id FROM fleet.outbox
                 WHERE published_at < now() - make_interval(hours => $1) AND service = ANY($2)
                 LIMIT $3)",
            config.outbox_hours as i32,
            services,
            BATCH
        )
        .execute(pool)
        .await?
        .rows_affected();
        pruned.outbox_rows += deleted;
        if deleted < BATCH as u64 {
            break;
        }
    }
    loop {
        let deleted = sqlx::query!(
            "DELETE FROM fleet.idempotency_keys WHERE (scope, key) IN (
                 SELECT scope, key FROM fleet.idempotency_keys
                 WHERE created_at < now() - make_interval(hours => $1)
                 LIMIT $2)",
            idempotency::RETENTION_HOURS,
            BATCH
        )
        .execute(pool)
        .await?
        .rows_affected();
        pruned.idempotency_keys += deleted;
        if deleted < BATCH as u64 {
            break;
        }
    }
    pruned.exports = sqlx::query!(
        "DELETE FROM fleet.privacy_requests
         WHERE kind = 'export' AND requested_at < now() - make_interval(hours => $1)",
        config.export_hours as i32
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(pruned)
}

/// Prunes every `interval_secs` until `shutdown`.
pub async fn run(
    pool: PgPool,
    services: Vec<String>,
    config: RetentionConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(Duration::from_secs(config.interval_secs.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        match prune_once(&pool, &services, &config).await {
            Ok(Pruned {
                outbox_rows: 0,
                idempotency_keys: 0,
                exports: 0,
            }) => {}
            Ok(pruned) => tracing::info!(
                outbox_rows = pruned.outbox_rows,
                idempotency_keys = pruned.idempotency_keys,
                exports = pruned.exports,
                "pruned expired rows"
            ),
            Err(error) => tracing::warn!(error = %error, "pruning failed; retrying next round"),
        }
    }
}
