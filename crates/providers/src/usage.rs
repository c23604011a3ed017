//! Usage entries: one per provider call, sent to the `usage` stream in batches off the hot path.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};
use shared::bus::{Bus, Envelope};
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_util::sync::CancellationToken;
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

/// Hands usage entries to a background emitter; cloning shares the queue.
#[derive(Clone)]
pub struct UsageSink {
    sender: mpsc::Sender<UsageEntry>,
    in_flight: Arc<AtomicUsize>,
}

/// Marks a provider call in progress; the emitter does not stop while one is.
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Entries one pipeline round trip may carry.
const BATCH: usize = 512;

impl UsageSink {
    /// A sink and its emitter, spawned now; the returned handle finishes once `shutdown` is
    /// cancelled, no call is in flight and every queued entry is written.
    pub fn start(bus: Bus, shutdown: CancellationToken) -> (UsageSink, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(16_384);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let emitter = tokio::spawn(emit(bus, receiver, shutdown, in_flight.clone()));
        (UsageSink { sender, in_flight }, emitter)
    }

    /// Call before a provider call and keep until its entry is recorded.
    pub fn begin(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.in_flight.clone())
    }

    /// Queues an entry; waits only when the queue is full (Redis unreachable for a long time).
    pub async fn record(&self, entry: UsageEntry) {
        if self.sender.send(entry).await.is_err() {
            tracing::error!("usage emitter has stopped; a usage entry was not recorded");
        }
    }
}

async fn emit(
    bus: Bus,
    mut receiver: mpsc::Receiver<UsageEntry>,
    shutdown: CancellationToken,
    in_flight: Arc<AtomicUsize>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if shutdown.is_cancelled() {
            // Draining: stop once nothing is queued and no call can still queue an entry.
            match tokio::time::timeout(
                Duration::from_millis(50),
                receiver.recv_many(&mut batch, BATCH),
            )
            .await
            {
                Ok(0) => return,
                Ok(_) => write(&bus, &mut batch, &shutdown).await,
                Err(_) if in_flight.load(Ordering::Acquire) == 0 && receiver.is_empty() => return,
                Err(_) => {}
            }
            continue;
        }
        tokio::select! {
            received = receiver.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    return;
                }
                write(&bus, &mut batch, &shutdown).await;
            }
            () = shutdown.cancelled() => {}
        }
    }
}

/// Writes the batch in one pipelined round trip, retrying with backoff until it lands or the
/// process is stopping and a last attempt failed.
async fn write(bus: &Bus, batch: &mut Vec<UsageEntry>, shutdown: &CancellationToken) {
    let mut wait = Duration::from_millis(100);
    loop {
        let envelopes: Vec<Envelope> = batch.iter().map(envelope).collect();
        match bus.publish_batch(USAGE_STREAM, &envelopes).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(error) if shutdown.is_cancelled() => {
                tracing::error!(
                    error = format!("{error:#}"),
                    lost = batch.len(),
                    "usage entries could not be written at shutdown"
                );
                batch.clear();
                return;
            }
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    queued = batch.len(),
                    "usage entries not written yet; retrying"
                );
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = shutdown.cancelled() => {}
                }
                wait = (wait * 2).min(Duration::from_secs(5));
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
    }
}
