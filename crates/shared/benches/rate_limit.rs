//! Latency of one rate-limit check (what the layer awaits per request) against real Redis at
//! `REDIS_URL`: percentiles of sequential checks, then throughput of concurrent callers.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use shared::{
    bus::Bus,
    config::{toml_value::Value, Settings},
    metrics::Metrics,
    rate_limit::{Decision, RateLimiter, RouteClass, Source},
};

const TENANTS: usize = 500;
const WARM_UP_CHECKS: usize = 1_000;
const SEQUENTIAL_CHECKS: usize = 20_000;
const CALLERS: usize = 32;
const CHECKS_PER_CALLER: usize = 2_000;

/// Latencies and outcomes of a run.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    denied: usize,
    local: usize,
}

impl Tally {
    fn record(&mut self, latency: Duration, decision: &Decision) {
        self.latencies.push(latency);
        self.denied += usize::from(!decision.allowed);
        self.local += usize::from(decision.source == Source::Local);
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.denied += other.denied;
        self.local += other.local;
    }

    fn report(mut self, name: &str, elapsed: Duration) {
        self.latencies.sort_unstable();
        let percentile = |p: f64| {
            let rank = (p / 100.0 * self.latencies.len() as f64).ceil() as usize;
            self.latencies
                .get(rank.saturating_sub(1))
                .copied()
                .unwrap_or_default()
        };
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        let checks = self.latencies.len();
        println!(
            "{name}: {checks} checks in {:.2} s = {:.0} checks/s; p50 {:.0} µs, p99 {:.0} µs, \
             p99.9 {:.0} µs, max {:.0} µs; {} denied, {} decided locally",
            elapsed.as_secs_f64(),
            checks as f64 / elapsed.as_secs_f64(),
            micros(percentile(50.0)),
            micros(percentile(99.0)),
            micros(percentile(99.9)),
            micros(self.latencies.last().copied().unwrap_or_default()),
            self.denied,
            self.local,
        );
    }
}

/// Every tenant in turn, first in the read class, then in the write class.
fn class_of(i: usize) -> RouteClass {
    [RouteClass::Read, RouteClass::Write][i / TENANTS % 2]
}

async fn run(limiter: &RateLimiter, tenants: &[String], offset: usize, checks: usize) -> Tally {
    let mut tally = Tally::default();
    for i in offset..offset + checks {
        let started = Instant::now();
        let decision = limiter
            .check(&tenants[i % tenants.len()], class_of(i))
            .await;
        tally.record(started.elapsed(), &decision);
    }
    tally
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let settings = Settings::with_overrides(&[
        ("redis_url", Value::from(redis_url.clone())),
        ("bus.prefix", Value::from(prefix.clone())),
    ])?;
    let config = settings.config.rate_limit.clone();
    let bus = Bus::new(&redis_url, settings.config.bus.clone())?;
    bus.ping().await?;
    let limiter = Arc::new(RateLimiter::new(bus, config.clone(), &*Metrics::new()?)?);
    let tenants: Arc<Vec<String>> = Arc::new((0..TENANTS).map(|i| format!("tenant-{i}")).collect());
    println!(
        "rate-limit check against {redis_url} (prefix {prefix}): {TENANTS} tenants, limit {} per {} s, \
         Redis timeout {} ms",
        config.default_per_window, config.window_secs, config.redis_timeout_ms
    );

    run(&limiter, &tenants, 0, WARM_UP_CHECKS).await;
    let started = Instant::now();
    let sequential = run(&limiter, &tenants, 0, SEQUENTIAL_CHECKS).await;
    sequential.report("sequential", started.elapsed());

    let started = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let (limiter, tenants) = (limiter.clone(), tenants.clone());
            tokio::spawn(async move {
                run(
                    &limiter,
                    &tenants,
                    caller * CHECKS_PER_CALLER,
                    CHECKS_PER_CALLER,
                )
                .await
            })
        })
        .collect();
    let mut concurrent = Tally::default();
    for caller in callers {
        concurrent.merge(caller.await?);
    }
    concurrent.report(&format!("{CALLERS} concurrent callers"), started.elapsed());
    Ok(())
}
