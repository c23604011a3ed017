//! Integration tests of the shared mechanisms against real Postgres, Redis and an S3 server.

mod bus;
mod housekeeping;
mod http;
mod jwt;
mod outbox;
mod rate_limit;
mod s3;

use anyhow::Context as _;
pub use shared::testing::fresh_database;
use shared::{bus::Bus, config::BusConfig};

/// A bus under a fresh random prefix, retrying fast so tests stay short.
pub fn test_bus(max_deliveries: u64) -> anyhow::Result<Bus> {
    Bus::new(
        &shared::testing::redis_url(),
        BusConfig {
            prefix: format!("test-{}", uuid::Uuid::new_v4().simple()),
            max_deliveries,
            reclaim_idle_ms: 200,
            block_ms: 100,
            batch: 8,
            max_len: 10_000,
        },
    )
}

/// A bus under a fresh random prefix on the three-master Redis Cluster the test script starts
/// (`ensure_redis_cluster` in `scripts/lib.sh`; `TEST_REDIS_CLUSTER_URL`).
pub async fn test_cluster_bus(max_deliveries: u64) -> anyhow::Result<Bus> {
    let single = test_bus(max_deliveries)?;
    let bus = Bus::new(
        &shared::testing::redis_cluster_url(),
        single.config().clone(),
    )?;
    bus.ping().await.context(
        "no Redis Cluster: start one with `source scripts/lib.sh && ensure_redis_cluster`",
    )?;
    Ok(bus)
}

/// Defines a module named after `scenario` (an `async fn(Bus)`) with two tests: the scenario on
/// one Redis server and on a Redis Cluster, each under a fresh prefix.
#[macro_export]
macro_rules! on_redis_and_cluster {
    ($scenario:ident, max_deliveries = $deliveries:expr $(, tokio($($runtime:tt)*))?) => {
        mod $scenario {
            #[tokio::test$(($($runtime)*))?]
            async fn on_one_redis() -> anyhow::Result<()> {
                super::$scenario($crate::test_bus($deliveries)?).await
            }

            #[tokio::test$(($($runtime)*))?]
            async fn on_a_redis_cluster() -> anyhow::Result<()> {
                super::$scenario($crate::test_cluster_bus($deliveries).await?).await
            }
        }
    };
}

/// Polls `check` every 50 ms until it holds or `seconds` pass.
pub async fn eventually<F, Fut>(seconds: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
