//! The response cache: exact match on a hash of the normalised request, in Redis with a TTL.

use std::{sync::Arc, time::Duration};

use redis::AsyncCommands as _;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use shared::bus::{Bus, RedisConnection};
use tokio::sync::OnceCell;

use crate::units::Units;

/// A cached reply and who produced it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cached<R> {
    pub provider: String,
    pub model: String,
    /// What the original call consumed (a hit consumes nothing; this is for reference).
    pub units: Units,
    pub reply: R,
}

/// Replies of paid calls kept in Redis under `<prefix>:cache:<capability>:<sha256>`, over a
/// connection of its own so lookups never wait behind the usage emitter's batches.
#[derive(Clone)]
pub struct ResponseCache {
    bus: Bus,
    ttl: Duration,
    connection: Arc<OnceCell<RedisConnection>>,
}

impl ResponseCache {
    pub fn new(bus: Bus, ttl: Duration) -> Self {
        Self {
            bus,
            ttl,
            connection: Arc::default(),
        }
    }

    async fn connection(&self) -> anyhow::Result<RedisConnection> {
        let connection = self
            .connection
            .get_or_try_init(|| self.bus.dedicated_redis())
            .await?;
        Ok(connection.clone())
    }

    /// The key of a request: its JSON with object keys sorted, hashed.
    pub fn key<T: Serialize>(&self, capability: &str, request: &T) -> anyhow::Result<String> {
        let value = serde_json::to_value(request)?;
        let mut canonical = String::new();
        write_canonical(&value, &mut canonical);
        let digest = Sha256::digest(canonical.as_bytes());
        Ok(self
            .bus
            .key(&format!("cache:{capability}:{}", hex::encode(digest))))
    }

    /// The cached reply, if any; an unreadable entry counts as a miss.
    pub async fn get<R: DeserializeOwned>(&self, key: &str) -> anyhow::Result<Option<Cached<R>>> {
        let mut conn = self.connection().await?;
        let stored: Option<Vec<u8>> = conn.get(key).await?;
        Ok(stored.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    pub async fn put<R: Serialize>(&self, key: &str, entry: &Cached<R>) -> anyhow::Result<()> {
        let mut conn = self.connection().await?;
        let bytes = serde_json::to_vec(entry)?;
        let () = conn.set_ex(key, bytes, self.ttl.as_secs().max(1)).await?;
        Ok(())
    }
}

/// Serialises JSON with object keys in sorted order, so equal requests hash equally whatever
/// order their maps were built in.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(key) {
                    write_canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_does_not_change_the_canonical_form() -> anyhow::Result<()> {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"d":2,"c":3}],"x":"s"}}"#)?;
        let b: Value = serde_json::from_str(r#"{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}"#)?;
        let (mut ca, mut cb) = (String::new(), String::new());
        write_canonical(&a, &mut ca);
        write_canonical(&b, &mut cb);
        assert_eq!(ca, cb);
        assert_eq!(ca, r#"{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}"#);
        Ok(())
    }
}
