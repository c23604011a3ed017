//! Consuming a stream as a member of a consumer group: blocking reads, bounded concurrency,
//! claims kept alive while handlers work, reclaim of idle entries, expiry, and dead letters.

use std::{future::Future, sync::Arc, time::Duration};

use redis::{
    streams::{
        StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamPendingCountReply,
        StreamReadOptions, StreamReadReply,
    },
    AsyncCommands, Script,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::{decode, BatchHandler, Bus, Delivery, Handler, RedisConnection, ENVELOPE_FIELD};

/// Moves an entry to the dead-letter stream and acks it, atomically; an entry no longer pending
/// (acked or moved meanwhile, say by a reclaim racing this consumer's own verdict) is left alone,
/// so it is never dead-lettered twice.
const DEAD_LETTER: &str = r"
if #redis.call('XPENDING', KEYS[1], ARGV[3], ARGV[1], ARGV[1], 1) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[2], 'origin_id', ARGV[1], 'deliveries', ARGV[4], 'error', ARGV[5])
redis.call('XACK', KEYS[1], ARGV[3], ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
";

/// Whether Redis answered that the consumer group (or its stream) does not exist.
fn group_missing(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<redis::RedisError>())
        .any(|e| e.code() == Some("NOGROUP"))
}

/// Reads one stream as one member of a consumer group.
#[derive(Clone)]
pub struct Consumer {
    bus: Bus,
    stream: String,
    group: String,
    name: String,
    reclaim_idle: Duration,
    batch: usize,
    concurrency: usize,
}

/// How a consumer hands a read batch to its handler.
trait Dispatch: Send + Sync {
    /// How many entries may be read now; waits until at least one may.
    fn room(&self) -> impl Future<Output = usize> + Send;
    fn dispatch(
        &self,
        consumer: &Arc<Consumer>,
        conn: &RedisConnection,
        key: &str,
        batch: Vec<(StreamId, u64)>,
    ) -> impl Future<Output = ()> + Send;
    /// Waits for every dispatched entry to finish.
    fn drain(&self) -> impl Future<Output = ()> + Send;
}

/// Each entry to [`Handler::handle`] in a task of its own, at most `limit` at once, acked one by one:
/// a slow entry never holds up the others, and the cap bounds memory (a render takes ≈ 1.5 GiB).
struct EachEntry<H> {
    handler: Arc<H>,
    slots: Arc<tokio::sync::Semaphore>,
    limit: u32,
}

impl<H: Handler> EachEntry<H> {
    fn new(handler: H, limit: usize) -> Self {
        let limit = limit.clamp(1, tokio::sync::Semaphore::MAX_PERMITS) as u32;
        Self {
            handler: Arc::new(handler),
            slots: Arc::new(tokio::sync::Semaphore::new(limit as usize)),
            limit,
        }
    }
}

impl<H: Handler> Dispatch for EachEntry<H> {
    async fn room(&self) -> usize {
        if self.slots.available_permits() == 0 {
            // Wait for a slot without keeping it: the dispatch takes the slots it uses.
            drop(self.slots.acquire().await);
        }
        self.slots.available_permits().max(1)
    }

    async fn dispatch(
        &self,
        consumer: &Arc<Consumer>,
        conn: &RedisConnection,
        key: &str,
        batch: Vec<(StreamId, u64)>,
    ) {
        for (entry, deliveries) in batch {
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                return;
            };
            let (handler, consumer) = (self.handler.clone(), consumer.clone());
            let (mut conn, key) = (conn.clone(), key.to_owned());
            tokio::spawn(async move {
                consumer
                    .process(&*handler, &mut conn, &key, entry, deliveries)
                    .await;
                drop(slot);
            });
        }
    }

    async fn drain(&self) {
        drop(self.slots.acquire_many(self.limit).await);
    }
}

/// The whole batch to [`BatchHandler::handle_batch`], acked in one command.
struct WholeBatch<H>(H);

impl<H: BatchHandler> Dispatch for WholeBatch<H> {
    async fn room(&self) -> usize {
        usize::MAX
    }

    async fn drain(&self) {}

    async fn dispatch(
        &self,
        consumer: &Arc<Consumer>,
        conn: &RedisConnection,
        key: &str,
        batch: Vec<(StreamId, u64)>,
    ) {
        let mut conn = conn.clone();
        let mut deliveries = Vec::with_capacity(batch.len());
        for (entry, count) in batch {
            deliveries.extend(consumer.admit(&mut conn, key, entry, count).await);
        }
        if deliveries.is_empty() {
            return;
        }
        match self.0.handle_batch(&deliveries).await {
            Ok(()) => {
                let ids: Vec<&str> = deliveries.iter().map(|d| d.entry_id.as_str()).collect();
                let acked: redis::RedisResult<u64> = conn.xack(key, &consumer.group, &ids).await;
                if let Err(error) = acked {
                    tracing::warn!(error = %error, "batch ack failed; the entries will be redelivered");
                }
            }
            Err(error) => tracing::warn!(
                stream = %consumer.stream,
                entries = deliveries.len(),
                error = format!("{error:#}"),
                "batch handler failed; the entries will be retried after the reclaim timeout"
            ),
        }
    }
}

impl Consumer {
    /// Member `name` of group `group` on `stream`, with the bus's settings.
    pub(super) fn new(bus: Bus, stream: &str, group: &str, name: &str) -> Consumer {
        let config = bus.config().clone();
        Consumer {
            bus,
            stream: stream.to_owned(),
            group: group.to_owned(),
            name: name.to_owned(),
            reclaim_idle: Duration::from_millis(config.reclaim_idle_ms),
            batch: config.batch,
            concurrency: config.batch,
        }
    }

    /// Entries delivered to someone but idle this long are taken over by this consumer.
    pub fn reclaim_after(mut self, idle: Duration) -> Self {
        self.reclaim_idle = idle;
        self
    }

    /// Entries read (or reclaimed) at once; the bus's `batch` setting by default.
    pub fn batch_size(mut self, entries: usize) -> Self {
        self.batch = entries.max(1);
        self
    }

    /// Entries [`Consumer::run`] handles at once; the bus's `batch` setting by default.
    pub fn concurrency(mut self, entries: usize) -> Self {
        self.concurrency = entries.max(1);
        self
    }

    /// Processes deliveries until `shutdown` is cancelled, then finishes those in hand and returns.
    pub async fn run<H: Handler>(
        self,
        handler: H,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let limit = self.concurrency;
        self.drive(EachEntry::new(handler, limit), shutdown).await
    }

    /// Like [`Consumer::run`], handing each read batch to `handler` whole.
    pub async fn run_batches<H: BatchHandler>(
        self,
        handler: H,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        self.drive(WholeBatch(handler), shutdown).await
    }

    async fn drive(
        self,
        dispatch: impl Dispatch,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let config = self.bus.config().clone();
        let key = self.bus.stream_key(&self.stream);
        let block = Duration::from_millis(config.block_ms);
        let (mut conn, handling) = loop {
            match self.prepare(block).await {
                Ok(connections) => break connections,
                Err(error) => {
                    tracing::warn!(stream = %self.stream, error = format!("{error:#}"), "bus consumer cannot start; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(()),
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        let mut last_reclaim = tokio::time::Instant::now();
        tracing::info!(stream = %self.stream, group = %self.group, consumer = %self.name, "bus consumer started");
        let this = Arc::new(self);
        while !shutdown.is_cancelled() {
            let room = tokio::select! {
                room = dispatch.room() => room,
                () = shutdown.cancelled() => break,
            };
            let count = this.batch.min(room);
            let batch = if last_reclaim.elapsed() >= this.reclaim_idle.min(Duration::from_secs(5)) {
                last_reclaim = tokio::time::Instant::now();
                this.reclaim(&mut conn, &key, count).await
            } else {
                Ok(Vec::new())
            };
            let batch = match batch {
                Ok(batch) if !batch.is_empty() => Ok(batch),
                Ok(_) => this.read_new(&mut conn, &key, count, block).await,
                Err(e) => Err(e),
            };
            match batch {
                // Run to completion even when shutdown arrives mid-batch: that is the drain.
                Ok(batch) => dispatch.dispatch(&this, &handling, &key, batch).await,
                // Redis lost its data (restarted without persistence, flushed): end this run so
                // the supervisor starts a fresh one, which creates the group again.
                Err(error) if group_missing(&error) => {
                    dispatch.drain().await;
                    anyhow::bail!(
                        "consumer group `{}` of `{}` is gone",
                        this.group,
                        this.stream
                    );
                }
                Err(error) => {
                    tracing::warn!(stream = %this.stream, error = format!("{error:#}"), "bus read failed");
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        }
        dispatch.drain().await;
        tracing::info!(stream = %this.stream, consumer = %this.name, "bus consumer drained");
        Ok(())
    }

    /// Two connections of this consumer's own: one for its blocking reads, which would stall every
    /// other command on a shared one, and one for handling (acks, claims, dead letters), so an ack
    /// never waits behind a blocked read and lands before the entry looks idle to a reclaim.
    async fn prepare(&self, block: Duration) -> anyhow::Result<(RedisConnection, RedisConnection)> {
        let client = &self.bus.inner.client;
        let mut reading = client.connect(block + Duration::from_secs(5)).await?;
        let handling = client.connect(Duration::from_secs(5)).await?;
        let created: redis::RedisResult<()> = reading
            .xgroup_create_mkstream(self.bus.stream_key(&self.stream), &self.group, "0")
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(e.into()),
            _ => Ok((reading, handling)),
        }
    }

    async fn read_new(
        &self,
        conn: &mut RedisConnection,
        key: &str,
        count: usize,
        block: Duration,
    ) -> anyhow::Result<Vec<(StreamId, u64)>> {
        let options = StreamReadOptions::default()
            .group(&self.group, &self.name)
            .count(count)
            .block(block.as_millis() as usize);
        let reply: Option<StreamReadReply> = conn.xread_options(&[key], &[">"], &options).await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|entry| (entry, 1))
            .collect())
    }

    async fn reclaim(
        &self,
        conn: &mut RedisConnection,
        key: &str,
        count: usize,
    ) -> anyhow::Result<Vec<(StreamId, u64)>> {
        let options = StreamAutoClaimOptions::default().count(count);
        let reply: StreamAutoClaimReply = conn
            .xautoclaim_options(
                key,
                &self.group,
                &self.name,
                self.reclaim_idle.as_millis() as u64,
                "0-0",
                options,
            )
            .await?;
        let mut claimed = Vec::with_capacity(reply.claimed.len());
        for entry in reply.claimed {
            let pending: StreamPendingCountReply = conn
                .xpending_count(key, &self.group, &entry.id, &entry.id, 1)
                .await?;
            // Acked or dead-lettered between the claim and this check (its handler finished just
            // as it turned idle): done with, not a first delivery.
            let Some(deliveries) = pending.ids.first().map(|p| p.times_delivered as u64) else {
                continue;
            };
            tracing::info!(stream = %self.stream, entry = %entry.id, deliveries, "reclaimed idle entry");
            claimed.push((entry, deliveries));
        }
        Ok(claimed)
    }

    /// The delivery of `entry`, or `None` after moving it to the dead-letter stream because it
    /// cannot be decoded or has been delivered more than `max_deliveries` times.
    async fn admit(
        &self,
        conn: &mut RedisConnection,
        key: &str,
        entry: StreamId,
        deliveries: u64,
    ) -> Option<Delivery> {
        let refusal = match decode(&entry) {
            Ok(envelope)
                if envelope
                    .expires_at
                    .is_some_and(|at| at < chrono::Utc::now()) =>
            {
                // Unwanted now: its sender has moved on to a newer attempt. Not a failure.
                tracing::info!(stream = %self.stream, entry = %entry.id, kind = %envelope.kind,
                    run_id = envelope.run_id.map(|id| id.to_string()), "expired entry skipped");
                let acked: redis::RedisResult<u64> =
                    conn.xack(key, &self.group, &[&entry.id]).await;
                if let Err(error) = acked {
                    tracing::warn!(error = %error, "ack of an expired entry failed");
                }
                return None;
            }
            Ok(envelope) if deliveries <= self.bus.config().max_deliveries => {
                return Some(Delivery {
                    entry_id: entry.id,
                    deliveries,
                    envelope,
                })
            }
            Ok(_) => "delivery limit reached".to_owned(),
            Err(error) => format!("{error:#}"),
        };
        let body: String = entry.get(ENVELOPE_FIELD).unwrap_or_default();
        self.dead_letter(conn, key, &entry.id, &body, deliveries, &refusal)
            .await;
        None
    }

    async fn process<H: Handler>(
        &self,
        handler: &H,
        conn: &mut RedisConnection,
        key: &str,
        entry: StreamId,
        deliveries: u64,
    ) {
        let max = self.bus.config().max_deliveries;
        let Some(delivery) = self.admit(conn, key, entry, deliveries).await else {
            return;
        };
        let envelope = &delivery.envelope;
        let span = tracing::info_span!("bus_delivery", stream = %self.stream, kind = %envelope.kind,
            message_id = %envelope.id, run_id = envelope.run_id.map(|id| id.to_string()), deliveries);
        async {
            let outcome = tokio::select! {
                outcome = handler.handle(&delivery) => outcome,
                never = self.keep_claimed(conn.clone(), key, &delivery.entry_id) => match never {},
            };
            match outcome {
                Ok(()) => {
                    let acked: redis::RedisResult<u64> =
                        conn.xack(key, &self.group, &[&delivery.entry_id]).await;
                    if let Err(error) = acked {
                        tracing::warn!(error = %error, "ack failed; the entry will be redelivered");
                    }
                }
                Err(error) if deliveries >= max => {
                    let body = serde_json::to_string(&delivery.envelope).unwrap_or_default();
                    self.dead_letter(
                        conn,
                        key,
                        &delivery.entry_id,
                        &body,
                        deliveries,
                        &format!("{error:#}"),
                    )
                    .await;
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "handler failed; the entry will be retried after the reclaim timeout"
                    );
                }
            }
        }
        .instrument(span)
        .await;
    }

    /// Resets the entry's idle time every third of the reclaim timeout while its handler works,
    /// so no consumer (this one included) reclaims an entry that is still being handled: a render
    /// that runs for minutes is not started twice. Runs until dropped.
    async fn keep_claimed(
        &self,
        mut conn: RedisConnection,
        key: &str,
        entry_id: &str,
    ) -> std::convert::Infallible {
        let mut beat =
            tokio::time::interval((self.reclaim_idle / 3).max(Duration::from_millis(10)));
        beat.tick().await;
        loop {
            beat.tick().await;
            let claimed: redis::RedisResult<redis::Value> = redis::cmd("XCLAIM")
                .arg(key)
                .arg(&self.group)
                .arg(&self.name)
                .arg(0)
                .arg(entry_id)
                .arg("JUSTID")
                .query_async(&mut conn)
                .await;
            if let Err(error) = claimed {
                tracing::warn!(entry = entry_id, error = %error, "could not extend the claim on an entry in progress");
            }
        }
    }

    async fn dead_letter(
        &self,
        conn: &mut RedisConnection,
        key: &str,
        entry_id: &str,
        body: &str,
        deliveries: u64,
        error: &str,
    ) {
        let moved: redis::RedisResult<i64> = Script::new(DEAD_LETTER)
            .key(key)
            .key(self.bus.dead_letter_key(&self.stream))
            .arg(entry_id)
            .arg(body)
            .arg(&self.group)
            .arg(deliveries)
            .arg(error)
            .invoke_async(conn)
            .await;
        match moved {
            Ok(0) => {
                tracing::info!(stream = %self.stream, entry = entry_id, "entry no longer pending; not dead-lettered again")
            }
            Ok(_) => {
                tracing::error!(stream = %self.stream, entry = entry_id, deliveries, error, "entry moved to the dead-letter stream")
            }
            Err(e) => {
                tracing::error!(stream = %self.stream, entry = entry_id, error = %e, "could not dead-letter entry")
            }
        }
    }
}
