//! Per-tenant request limits: a sliding window per tenant and route class, decided atomically in
//! Redis (one Lua script per check) and, while Redis cannot answer, by an in-process window.
//!
//! The limits themselves are written by the billing service into the hash [`limits_key`]: field
//! = tenant id, value = requests per window; field [`DEFAULT_LIMIT_FIELD`] (`*`) holds the limit
//! of tenants without a field, and `rate_limit.default_per_window` applies when neither exists.
//! The script reads the hash on every check, so a plan change applies to the very next request.

mod anomaly;
mod http;
mod local;
mod redis_window;

use std::{fmt, sync::Arc, time::Duration};

use axum::http::Method;
use prometheus::{IntCounter, IntCounterVec, IntGaugeVec, Opts};

pub use self::http::{layer, RateLimitState};
use self::{anomaly::AnomalyDetector, local::LocalWindows, redis_window::RedisWindow};
use crate::{bus::Bus, config::RateLimitConfig, metrics::Metrics};

/// The field of the limits hash holding the limit of tenants that have no field of their own.
pub const DEFAULT_LIMIT_FIELD: &str = "*";

/// `{<bus prefix>:ratelimit}:limits`: the hash of requests per window by tenant. It shares its
/// hash slot with every window key, since one script reads both (Redis Cluster).
pub fn limits_key(bus: &Bus) -> String {
    bus.slot_key("ratelimit", "limits")
}

/// The sliding window of `tenant`'s requests of `class`, in the limits hash's slot.
pub fn window_key(bus: &Bus, class: RouteClass, tenant: &str) -> String {
    bus.slot_key("ratelimit", &format!("{class}:{tenant}"))
}

/// Which window a request counts against; each class has the tenant's full limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    Read,
    Write,
}

impl RouteClass {
    /// `Read` for GET, HEAD and OPTIONS; `Write` for every other method.
    pub fn of(method: &Method) -> RouteClass {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            RouteClass::Read
        } else {
            RouteClass::Write
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Read => "read",
            RouteClass::Write => "write",
        }
    }
}

impl fmt::Display for RouteClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who decided: the shared window in Redis, or this process alone while Redis was unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Redis,
    Local,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Redis => "redis",
            Source::Local => "local",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests per window for this tenant.
    pub limit: u64,
    /// Requests still admitted in the current window, this one counted.
    pub remaining: u64,
    /// Until a slot frees; zero when allowed.
    pub retry_after: Duration,
    /// Until every request now in the window has left it (the full limit is available again).
    pub reset: Duration,
    pub source: Source,
}

/// The collectors of this module, registered once per registry.
struct RateLimitMetrics {
    decisions: IntCounterVec,
    fallbacks: IntCounter,
    anomaly: IntGaugeVec,
}

impl RateLimitMetrics {
    fn register(metrics: &Metrics) -> anyhow::Result<Arc<RateLimitMetrics>> {
        metrics.extension(|registry| {
            let decisions = IntCounterVec::new(
                Opts::new(
                    "rate_limit_decisions_total",
                    "Rate-limit decisions by route class, decision and deciding source",
                ),
                &["class", "decision", "source"],
            )?;
            let fallbacks = IntCounter::new(
                "rate_limit_fallbacks_total",
                "Rate-limit checks decided in-process because Redis failed or was too slow",
            )?;
            let anomaly = IntGaugeVec::new(
                Opts::new(
                    "rate_anomaly",
                    "1 while a tenant's request rate this minute is far above its baseline",
                ),
                &["tenant"],
            )?;
            registry.register(Box::new(decisions.clone()))?;
            registry.register(Box::new(fallbacks.clone()))?;
            registry.register(Box::new(anomaly.clone()))?;
            Ok(RateLimitMetrics {
                decisions,
                fallbacks,
                anomaly,
            })
        })
    }
}

/// Decides whether a tenant's request fits its plan's limit. Share one per process (`Arc`).
pub struct RateLimiter {
    config: RateLimitConfig,
    redis: RedisWindow,
    local: LocalWindows,
    anomalies: AnomalyDetector,
    metrics: Arc<RateLimitMetrics>,
}

impl RateLimiter {
    pub fn new(bus: Bus, config: RateLimitConfig, metrics: &Metrics) -> anyhow::Result<Self> {
        let metrics = RateLimitMetrics::register(metrics)?;
        Ok(Self {
            redis: RedisWindow::new(bus),
            local: LocalWindows::new(config.window(), config.default_per_window),
            anomalies: AnomalyDetector::new(metrics.anomaly.clone()),
            metrics,
            config,
        })
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Counts one request of `tenant` against its `class` window; never fails (Redis trouble
    /// falls back to the in-process window, counted in `rate_limit_fallbacks_total`).
    pub async fn check(&self, tenant: &str, class: RouteClass) -> Decision {
        self.anomalies.observe(tenant);
        let decision = match self.check_in_redis(tenant, class).await {
            Some(decision) => {
                self.local.remember_limit(tenant, decision.limit);
                decision
            }
            None => {
                self.metrics.fallbacks.inc();
                self.local.check(tenant, class)
            }
        };
        let verdict = if decision.allowed {
            "allowed"
        } else {
            "denied"
        };
        self.metrics
            .decisions
            .with_label_values(&[class.as_str(), verdict, decision.source.as_str()])
            .inc();
        decision
    }

    /// The shared decision, or `None` when Redis fails, is slow, or is paused after failures.
    async fn check_in_redis(&self, tenant: &str, class: RouteClass) -> Option<Decision> {
        if !self.redis.usable() {
            return None;
        }
        let timeout = Duration::from_millis(self.config.redis_timeout_ms);
        let checked = self.redis.check(
            tenant,
            class,
            self.config.default_per_window,
            self.config.window(),
        );
        let outcome = match tokio::time::timeout(timeout, checked).await {
            Ok(Ok(decision)) => Ok(decision),
            Ok(Err(error)) => Err(format!("{error:#}")),
            Err(_) => Err(format!("no answer within {timeout:?}")),
        };
        self.redis.record(outcome.is_ok());
        match outcome {
            Ok(decision) => Some(decision),
            Err(error) => {
                tracing::warn!(
                    error,
                    "rate limit check in Redis failed; deciding in-process"
                );
                None
            }
        }
    }
}
