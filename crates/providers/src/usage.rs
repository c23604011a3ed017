//! Usage entries: one per provider call, recorded in the outbox before the call returns.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shared::{bus::Envelope, outbox};
use sqlx::PgPool;
use uuid::Uuid;

use crate::client::Units;

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
#[derive(Clone)]
pub struct UsageSink {
    db: PgPool,
}

/// Longest a call waits for its entry to be written while Postgres is unreachable.
const RECORD_PATIENCE: Duration = Duration::from_secs(300);

impl UsageSink {
    pub fn new(db: PgPool) -> UsageSink {
        UsageSink { db }
    }

    /// Writes `entry` to the outbox, retrying with backoff while Postgres is unreachable.
    pub async fn record(&self, entry: UsageEntry) {
        let envelope = envelope(&entry);
        let deadline = tokio::time::Instant::now() + RECORD_PATIENCE;
        let mut wait = Duration::from_millis(100);
        loop {
            // A retry after a dropped connection may write the entry twice; billing ingests it
            // once (by `usage_id`), so retrying is safe and never charges twice.
            let written = async {
                let mut tx = self.db.begin().await?;
                outbox::enqueue(&mut tx, &entry.service, USAGE_STREAM, &envelope).await?;
                tx.commit().await
            }
            .await;
            match written {
                Ok(()) => return,
                Err(error) if tokio::time::Instant::now() >= deadline => {
                    // Logged whole so an operator can replay it; no secret is in an entry.
                    tracing::error!(error = %error, entry = %envelope.body, "usage entry could not be recorded");
                    return;
                }
                Err(error) => {
                    tracing::warn!(error = %error, usage_id = %entry.usage_id, "usage entry not recorded yet; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
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
