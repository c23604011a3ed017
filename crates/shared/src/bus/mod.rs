//! Redis Streams bus: publish, consumer groups with blocking reads, ack after commit,
//! reclaim of idle entries (XAUTOCLAIM), delivery counting, a dead-letter stream and redrive.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use redis::{
    streams::{StreamId, StreamRangeReply},
    AsyncCommands, Script,
};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::config::BusConfig;

mod connection;
mod consumer;

use connection::RedisClient;
pub use connection::{cluster_nodes, RedisConnection};
pub use consumer::Consumer;

/// The only field of a stream entry: the JSON-encoded envelope.
const ENVELOPE_FIELD: &str = "envelope";

/// A message on the bus. `id` is stable across redeliveries and redrives, so handlers key on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: Uuid,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<Uuid>,
    pub body: serde_json::Value,
    /// After this instant the work is no longer wanted (its sender has given up on it and will
    /// have sent a new attempt): consumers ack it without handling it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Envelope {
    pub fn new(kind: impl Into<String>, run_id: Option<Uuid>, body: serde_json::Value) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind: kind.into(),
            run_id,
            body,
            expires_at: None,
        }
    }

    /// The same envelope, unwanted after `at`.
    pub fn expiring_at(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }
}

/// One delivery of an entry to this consumer.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub entry_id: String,
    /// How many times the entry has been delivered, this delivery included.
    pub deliveries: u64,
    pub envelope: Envelope,
}

/// Handles deliveries; returning `Ok` acks the entry, an error leaves it pending for a retry.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, delivery: &Delivery) -> impl Future<Output = anyhow::Result<()>> + Send;
}

impl<H: Handler> Handler for Arc<H> {
    fn handle(&self, delivery: &Delivery) -> impl Future<Output = anyhow::Result<()>> + Send {
        (**self).handle(delivery)
    }
}

/// Handles deliveries many at a time (one database round trip per batch, say); returning `Ok` acks
/// every delivery of the batch in one command, an error leaves them all pending for a retry.
pub trait BatchHandler: Send + Sync + 'static {
    fn handle_batch(
        &self,
        deliveries: &[Delivery],
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

impl<H: BatchHandler> BatchHandler for Arc<H> {
    fn handle_batch(
        &self,
        deliveries: &[Delivery],
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        (**self).handle_batch(deliveries)
    }
}

/// Depth figures of one stream and consumer group, for metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamStats {
    pub length: u64,
    pub lag: u64,
    pub pending: u64,
    pub dead_letters: u64,
}

/// A handle on the streams under one key prefix. Cheap to clone; connects lazily.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
}

struct BusInner {
    client: RedisClient,
    config: BusConfig,
    connection: OnceCell<RedisConnection>,
}

/// Adds each entry unless its dedup key says it was already added; returns the entry ids. KEYS[1]
/// is the stream, KEYS[2..] the entries' dedup keys (in the stream's hash slot); ARGV[1] the dedup
/// TTL, ARGV[2] the stream's approximate max length, ARGV[3..] the envelopes.
const PUBLISH_ONCE: &str = r"
local ids = {}
for i = 2, #KEYS do
  local id = redis.call('GET', KEYS[i])
  if not id then
    id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'envelope', ARGV[i + 1])
    redis.call('SET', KEYS[i], id, 'EX', ARGV[1])
  end
  ids[#ids + 1] = id
end
return ids
";

impl Bus {
    pub fn new(redis_url: &str, config: BusConfig) -> anyhow::Result<Self> {
        let client = RedisClient::open(redis_url)?;
        Ok(Self {
            inner: Arc::new(BusInner {
                client,
                config,
                connection: OnceCell::new(),
            }),
        })
    }

    /// A bus on the same Redis and prefix with connections of its own: another process's view,
    /// for tests that play several processes.
    pub fn reconnected(&self) -> Self {
        Self {
            inner: Arc::new(BusInner {
                client: self.inner.client.clone(),
                config: self.inner.config.clone(),
                connection: OnceCell::new(),
            }),
        }
    }

    pub fn config(&self) -> &BusConfig {
        &self.inner.config
    }

    /// The key of `stream`; the braces are a Redis Cluster hash tag shared with its dead letters.
    pub fn stream_key(&self, stream: &str) -> String {
        format!("{{{}:{stream}}}", self.inner.config.prefix)
    }

    pub fn dead_letter_key(&self, stream: &str) -> String {
        format!("{}:dead", self.stream_key(stream))
    }

    async fn connection(&self) -> anyhow::Result<RedisConnection> {
        let connection = self
            .inner
            .connection
            .get_or_try_init(|| self.inner.client.connect(Duration::from_secs(5)))
            .await?;
        Ok(connection.clone())
    }

    /// Round trip to Redis, for readiness.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.connection().await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// Appends `envelope` to `stream`.
    pub async fn publish(&self, stream: &str, envelope: &Envelope) -> anyhow::Result<String> {
        let mut conn = self.connection().await?;
        let body = serde_json::to_string(envelope)?;
        let id: String = redis::cmd("XADD")
            .arg(self.stream_key(stream))
            .arg("MAXLEN")
            .arg("~")
            .arg(self.inner.config.max_len)
            .arg("*")
            .arg(ENVELOPE_FIELD)
            .arg(body)
            .query_async(&mut conn)
            .await?;
        Ok(id)
    }

    /// Appends every envelope to `stream` in one pipelined round trip.
    pub async fn publish_batch(&self, stream: &str, envelopes: &[Envelope]) -> anyhow::Result<()> {
        if envelopes.is_empty() {
            return Ok(());
        }
        let mut conn = self.connection().await?;
        let key = self.stream_key(stream);
        let mut pipeline = redis::pipe();
        for envelope in envelopes {
            pipeline
                .cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(self.inner.config.max_len)
                .arg("*")
                .arg(ENVELOPE_FIELD)
                .arg(serde_json::to_string(envelope)?)
                .ignore();
        }
        let () = pipeline.query_async(&mut conn).await?;
        Ok(())
    }

    /// A multiplexed connection to the bus's Redis, for other keys under [`Bus::key`] (caches, limits).
    pub async fn redis(&self) -> anyhow::Result<RedisConnection> {
        self.connection().await
    }

    /// A new multiplexed connection of its own, for latency-sensitive traffic that must not queue
    /// behind large pipelines (batched publishes) on the shared one.
    pub async fn dedicated_redis(&self) -> anyhow::Result<RedisConnection> {
        self.inner.client.connect(Duration::from_secs(5)).await
    }

    /// `<prefix>:<name>`: a key of this bus's namespace that is not a stream.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.inner.config.prefix)
    }

    /// `{<prefix>:<group>}:<name>`: keys of one `group` share a Redis Cluster hash slot, so one
    /// script or multi-key command may use them together.
    pub fn slot_key(&self, group: &str, name: &str) -> String {
        format!("{{{}:{group}}}:{name}", self.inner.config.prefix)
    }

    /// Appends each envelope to `stream` at most once per dedup key (kept for `ttl`), even across
    /// crashes, in one round trip; returns the entry ids.
    pub async fn publish_once(
        &self,
        stream: &str,
        entries: &[(String, &Envelope)],
        ttl: Duration,
    ) -> anyhow::Result<Vec<String>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.connection().await?;
        let script = Script::new(PUBLISH_ONCE);
        let mut invocation = script.key(self.stream_key(stream));
        invocation
            .arg(ttl.as_secs().max(1))
            .arg(self.inner.config.max_len);
        for (dedup_key, envelope) in entries {
            invocation
                .key(format!("{}:dedup:{dedup_key}", self.stream_key(stream)))
                .arg(serde_json::to_string(envelope)?);
        }
        Ok(invocation.invoke_async(&mut conn).await?)
    }

    /// Every entry currently in `stream` (oldest first), decoded; for tools and tests.
    pub async fn entries(&self, stream: &str) -> anyhow::Result<Vec<(String, Envelope)>> {
        self.range(&self.stream_key(stream)).await
    }

    /// Every entry of `stream`'s dead-letter stream.
    pub async fn dead_letters(&self, stream: &str) -> anyhow::Result<Vec<(String, Envelope)>> {
        self.range(&self.dead_letter_key(stream)).await
    }

    async fn range(&self, key: &str) -> anyhow::Result<Vec<(String, Envelope)>> {
        let mut conn = self.connection().await?;
        let reply: StreamRangeReply = conn.xrange_all(key).await?;
        reply
            .ids
            .iter()
            .map(|entry| Ok((entry.id.clone(), decode(entry)?)))
            .collect()
    }

    /// Moves every dead letter of `stream` back onto it with a fresh delivery count.
    pub async fn redrive(&self, stream: &str) -> anyhow::Result<usize> {
        let mut conn = self.connection().await?;
        let dead_key = self.dead_letter_key(stream);
        let reply: StreamRangeReply = conn.xrange_all(&dead_key).await?;
        for entry in &reply.ids {
            let body: String = entry.get(ENVELOPE_FIELD).unwrap_or_default();
            redis::pipe()
                .atomic()
                .cmd("XADD")
                .arg(self.stream_key(stream))
                .arg("*")
                .arg(ENVELOPE_FIELD)
                .arg(body)
                .ignore()
                .xdel(&dead_key, &[&entry.id])
                .ignore()
                .exec_async(&mut conn)
                .await?;
        }
        tracing::info!(stream, count = reply.ids.len(), "redrove dead letters");
        Ok(reply.ids.len())
    }

    /// Length, group lag, pending count and dead letters of `stream` for `group`.
    pub async fn stats(&self, stream: &str, group: &str) -> anyhow::Result<StreamStats> {
        let mut conn = self.connection().await?;
        let key = self.stream_key(stream);
        let length: u64 = conn.xlen(&key).await?;
        let dead_letters: u64 = conn.xlen(self.dead_letter_key(stream)).await?;
        let groups: Vec<redis::Value> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        let mut stats = StreamStats {
            length,
            dead_letters,
            ..StreamStats::default()
        };
        for info in groups {
            let fields: std::collections::HashMap<String, redis::Value> =
                redis::from_redis_value(&info).unwrap_or_default();
            let name: Option<String> = fields
                .get("name")
                .and_then(|v| redis::from_redis_value(v).ok());
            if name.as_deref() == Some(group) {
                stats.pending = fields
                    .get("pending")
                    .and_then(|v| redis::from_redis_value(v).ok())
                    .unwrap_or(0);
                stats.lag = fields
                    .get("lag")
                    .and_then(|v| redis::from_redis_value(v).ok())
                    .unwrap_or(0);
            }
        }
        Ok(stats)
    }

    /// A consumer of `stream` in consumer group `group`.
    pub fn consumer(&self, stream: &str, group: &str, name: &str) -> Consumer {
        Consumer::new(self.clone(), stream, group, name)
    }
}

/// The delivered entry's envelope.
fn decode(entry: &StreamId) -> anyhow::Result<Envelope> {
    let body: String = entry
        .get(ENVELOPE_FIELD)
        .with_context(|| format!("entry {} has no envelope field", entry.id))?;
    serde_json::from_str(&body)
        .with_context(|| format!("entry {} has an undecodable envelope", entry.id))
}
