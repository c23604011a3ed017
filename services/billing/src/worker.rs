//! Billing's background work: ledger ingestion from the `usage` stream, releasing expired leases,
//! and keeping the published rate limits in Redis current.

use std::time::Duration;

use shared::{Context, Worker};

use shared::bus::Bus;
use sqlx::PgPool;

use crate::{budgets, ledger::LedgerWriter, quota};

/// Consumes `usage` in batches of `batch` entries; its depth shows in `/metrics`.
pub fn ingest(ctx: &Context, writer: LedgerWriter, batch: usize) -> Worker {
    ctx.consume_batches("usage", "billing", batch, writer)
}

/// Releases leases past their expiry every `interval_ms`.
pub fn sweep_leases(ctx: &Context, interval_ms: u64) -> Worker {
    let (db, shutdown) = (ctx.db.clone(), ctx.shutdown.clone());
    Worker::new("billing:lease-sweeper", move || {
        sweep(db.clone(), shutdown.clone(), interval_ms)
    })
}

async fn sweep(
    db: sqlx::PgPool,
    shutdown: tokio_util::sync::CancellationToken,
    interval_ms: u64,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        match budgets::expire(&db).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "released expired budget reservations"),
            Err(error) => {
                tracing::warn!(error = %error, "could not release expired reservations")
            }
        }
    }
}

/// Publishes the plans' request limits at start and every minute (Redis may have been flushed).
pub fn publish_limits(ctx: &Context) -> Worker {
    let (db, bus, shutdown) = (ctx.db.clone(), ctx.bus.clone(), ctx.shutdown.clone());
    Worker::new("billing:limits-publisher", move || {
        keep_limits_published(db.clone(), bus.clone(), shutdown.clone())
    })
}

async fn keep_limits_published(
    db: PgPool,
    bus: Bus,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        if let Err(error) = quota::publish_limits(&db, &bus).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "could not publish rate limits"
            );
        }
    }
}
