//! The shared window: one atomic Lua script per check against a sorted set of admission times,
//! and a short pause of Redis checks after it has failed several times in a row.

use std::{
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use redis::Script;

use super::{limits_key, Decision, RouteClass, Source};
use crate::bus::Bus;

/// Reads the tenant's limit, drops admissions older than the window, admits the request if a
/// slot is free, and returns `{allowed, limit, remaining, ms until a slot frees, ms until the
/// window is empty}`. Uses the server's clock, so every process agrees on the window (Redis ≥ 5).
///
/// KEYS[1] limits hash, KEYS[2] the caller's sorted set of admission times.
/// ARGV[1] tenant, ARGV[2] default limit, ARGV[3] window ms, ARGV[4] a member unique to the request.
///
/// In Redis Cluster both keys must hash to one slot, which needs a hash tag in the prefix (such
/// as `{reelforge}`); `bus.prefix` refuses braces today, so this runs on a single Redis only.
const SLIDING_WINDOW: &str = r"
local limit = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
    or tonumber(redis.call('HGET', KEYS[1], '*'))
    or tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[2])
if count < limit then
  redis.call('ZADD', KEYS[2], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[2], window)
  return {1, limit, limit - count - 1, 0, window}
end
local retry_after = window
if limit > 0 then
  local freeing = redis.call('ZRANGE', KEYS[2], count - limit, count - limit, 'WITHSCORES')
  retry_after = tonumber(freeing[2]) + window - now
end
local reset = 0
local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if newest[2] then
  reset = tonumber(newest[2]) + window - now
end
return {0, limit, 0, retry_after, reset}
";

/// Failures in a row after which checks skip Redis for [`PAUSE`], so an outage does not cost
/// every request the full timeout; after the pause one more failure pauses again.
const FAILURES_BEFORE_PAUSE: u32 = 3;
const PAUSE: Duration = Duration::from_secs(1);

pub(super) struct RedisWindow {
    bus: Bus,
    script: Script,
    limits_key: String,
    /// Makes members unique across processes; `sequence` makes them unique within this one.
    instance: String,
    sequence: AtomicU64,
    started: Instant,
    failures_in_a_row: AtomicU32,
    paused_until_ms: AtomicU64,
}

impl RedisWindow {
    pub(super) fn new(bus: Bus) -> Self {
        Self {
            limits_key: limits_key(&bus),
            bus,
            script: Script::new(SLIDING_WINDOW),
            instance: format!("{:016x}", rand::random::<u64>()),
            sequence: AtomicU64::new(0),
            started: Instant::now(),
            failures_in_a_row: AtomicU32::new(0),
            paused_until_ms: AtomicU64::new(0),
        }
    }

    /// Whether checks should go to Redis now, i.e. it is not paused after repeated failures.
    pub(super) fn usable(&self) -> bool {
        self.elapsed_ms() >= self.paused_until_ms.load(Ordering::Relaxed)
    }

    /// Notes how the last check went.
    pub(super) fn record(&self, answered: bool) {
        if answered {
            if self.failures_in_a_row.load(Ordering::Relaxed) != 0 {
                self.failures_in_a_row.store(0, Ordering::Relaxed);
            }
            return;
        }
        let failures = self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= FAILURES_BEFORE_PAUSE {
            let pause_ms = u64::try_from(PAUSE.as_millis()).unwrap_or(u64::MAX);
            self.paused_until_ms.store(
                self.elapsed_ms().saturating_add(pause_ms),
                Ordering::Relaxed,
            );
            self.failures_in_a_row
                .store(FAILURES_BEFORE_PAUSE - 1, Ordering::Relaxed);
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Counts one request of `tenant` against its `class` window in Redis.
    pub(super) async fn check(
        &self,
        tenant: &str,
        class: RouteClass,
        default_limit: u64,
        window: Duration,
    ) -> anyhow::Result<Decision> {
        let mut conn = self.bus.redis().await?;
        let member = format!(
            "{}-{}",
            self.instance,
            self.sequence.fetch_add(1, Ordering::Relaxed)
        );
        let (allowed, limit, remaining, retry_after_ms, reset_ms): (i64, i64, i64, i64, i64) = self
            .script
            .key(&self.limits_key)
            .key(super::window_key(&self.bus, class, tenant))
            .arg(tenant)
            .arg(default_limit)
            .arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX))
            .arg(member)
            .invoke_async(&mut conn)
            .await?;
        let non_negative = |value: i64| u64::try_from(value).unwrap_or(0);
        Ok(Decision {
            allowed: allowed == 1,
            limit: non_negative(limit),
            remaining: non_negative(remaining),
            retry_after: Duration::from_millis(non_negative(retry_after_ms)),
            reset: Duration::from_millis(non_negative(reset_ms)),
            source: Source::Redis,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn pauses_after_failures_in_a_row_and_a_success_clears_the_count() -> anyhow::Result<()> {
        let config = Settings::with_overrides(&[])?.config;
        let window = RedisWindow::new(Bus::new(config.redis_url.expose(), config.bus)?);
        window.record(false);
        window.record(false);
        window.record(true);
        window.record(false);
        window.record(false);
        assert!(window.usable(), "the success broke the run of failures");
        window.record(false);
        assert!(!window.usable(), "three in a row pause Redis checks");
        Ok(())
    }

    /// Redis Cluster routes a key by the text between its first `{` and `}`: the script's two
    /// keys must carry the same tag or a cluster refuses the script (CROSSSLOT).
    #[test]
    fn the_scripts_keys_share_one_hash_slot() -> anyhow::Result<()> {
        let config = Settings::with_overrides(&[])?.config;
        let bus = Bus::new(config.redis_url.expose(), config.bus)?;
        let tag = |key: &str| {
            key.split_once('{')
                .and_then(|(_, rest)| rest.split_once('}'))
                .map(|(tag, _)| tag.to_owned())
        };
        let limits = super::super::limits_key(&bus);
        let window = super::super::window_key(&bus, RouteClass::Write, "acme:{weird}");
        assert!(tag(&limits).is_some(), "{limits}");
        assert_eq!(tag(&limits), tag(&window), "{limits} / {window}");
        Ok(())
    }
}
