//! Usage entries: one per provider call, recorded in the outbox before the call returns.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::{bus::Envelope, outbox};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::units::Units;

/// The stream billing consumes.
pub const USAGE_STREAM: &str = "usage";
/// The envelope kind of a usage entry.
pub const USAGE_KIND: &str = "usage.recorded";

/// Who a call is for: the run and tenant it is billed to, and the calling service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallContext {
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub service: String,
}

/// What one call consumed and cost. `usage_id` makes ingestion idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageEntry {
    pub usage_id: Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub service: String,
    pub capability: String,
    pub provider: String,
    pub model: String,
    pub units: Units,
    pub cost_micros: u64,
    /// False when the price table has no entry for the model (the cost is then 0 and a warning is logged).
    pub priced: bool,
    pub latency_ms: u64,
    /// `ok`, or the failure class: `transient`, `auth`, `refused`, `quota`, `invalid_output`.
    pub outcome: String,
    pub cache_hit: bool,
}

/// Records usage entries durably: each goes into the transactional outbox before the call
/// returns, and the outbox relay moves it to the `usage` stream. A crash after a paid call loses
/// no entry, and billing ingests each once (by `usage_id`), so the ledger equals the calls made.
/// Entries arriving together are committed together (group commit): a caller waits for one
/// commit, never for one per concurrent call.
#[derive(Clone)]
pub struct UsageSink {
    queue: mpsc::Sender<Pending>,
}

/// An entry waiting for its commit, and whom to tell.
struct Pending {
    envelope: Envelope,
    service: String,
    committed: oneshot::Sender<()>,
}

/// Longest the writer keeps retrying a batch while Postgres is unreachable.
const RECORD_PATIENCE: Duration = Duration::from_secs(300);
/// Entries one commit carries at most.
const BATCH: usize = 512;

impl UsageSink {
    /// A sink and its writer task (ends when the last clone of the sink is dropped).
    pub fn new(db: PgPool) -> UsageSink {
        let (queue, pending) = mpsc::channel(8192);
        tokio::spawn(write_batches(db, pending));
        UsageSink { queue }
    }

    /// Returns once `entry` is committed to the outbox (or, with Postgres unreachable for
    /// longer than the patience, once it has been logged whole for an operator to replay).
    pub async fn record(&self, entry: UsageEntry) {
        let (committed, done) = oneshot::channel();
        let pending = Pending {
            envelope: envelope(&entry),
            service: entry.service.clone(),
            committed,
        };
        if self.queue.send(pending).await.is_err() || done.await.is_err() {
            tracing::error!(usage_id = %entry.usage_id, "usage writer has stopped; the entry was not recorded");
        }
    }
}

/// Commits whatever entries are waiting, one transaction per batch.
async fn write_batches(db: PgPool, mut pending: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(BATCH);
    while pending.recv_many(&mut batch, BATCH).await > 0 {
        let deadline = tokio::time::Instant::now() + RECORD_PATIENCE;
        let mut wait = Duration::from_millis(100);
        loop {
            // A retry after a dropped connection may write an entry twice; billing ingests it
            // once (by `usage_id`), so retrying is safe and never charges twice.
            let written = async {
                let rows: Vec<(&str, &str, &Envelope)> = batch
                    .iter()
                    .map(|p| (p.service.as_str(), USAGE_STREAM, &p.envelope))
                    .collect();
                let mut tx = db.begin().await?;
                outbox::enqueue_many(&mut tx, &rows).await?;
                tx.commit().await
            }
            .await;
            match written {
                Ok(()) => break,
                Err(error) if tokio::time::Instant::now() >= deadline => {
                    for entry in &batch {
                        // Logged whole so an operator can replay it; no secret is in an entry.
                        tracing::error!(error = %error, entry = %entry.envelope.body, "usage entry could not be recorded");
                    }
                    break;
                }
                Err(error) => {
                    tracing::warn!(error = %error, entries = batch.len(), "usage entries not recorded yet; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
        for entry in batch.drain(..) {
            let _ = entry.committed.send(());
        }
    }
}

fn envelope(entry: &UsageEntry) -> Envelope {
    let body = serde_json::to_value(entry).unwrap_or_default();
    Envelope {
        id: entry.usage_id,
        kind: USAGE_KIND.to_owned(),
        run_id: entry.run_id,
        body,
        expires_at: None,
    }
}
