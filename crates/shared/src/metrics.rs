//! Prometheus registry: HTTP request count and latency by matched route and status, and bus depth.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::bus::StreamStats;

/// Every metric this process exports.
pub struct Metrics {
    registry: Registry,
    /// Metric families other crates register once per registry, looked up by type.
    extensions: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    stream_length: IntGaugeVec,
    stream_lag: IntGaugeVec,
    stream_pending: IntGaugeVec,
    dead_letters: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Arc<Self>> {
        let registry = Registry::new_custom(Some("reelforge".to_owned()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, matched route and status",
            ),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by matched route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        )?;
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels)
        };
        let stream_length = gauge("bus_stream_length", "Entries in a stream", &["stream"])?;
        let stream_lag = gauge(
            "bus_stream_lag",
            "Entries not yet delivered to the consumer group",
            &["stream", "group"],
        )?;
        let stream_pending = gauge(
            "bus_stream_pending",
            "Entries delivered but not acked",
            &["stream", "group"],
        )?;
        let dead_letters = gauge(
            "bus_dead_letter_length",
            "Entries in a dead-letter stream",
            &["stream"],
        )?;
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(stream_length.clone()),
            Box::new(stream_lag.clone()),
            Box::new(stream_pending.clone()),
            Box::new(dead_letters.clone()),
        ] {
            registry.register(collector)?;
        }
        Ok(Arc::new(Self {
            registry,
            extensions: Mutex::default(),
            http_requests,
            http_duration,
            stream_length,
            stream_lag,
            stream_pending,
            dead_letters,
        }))
    }

    /// Registers a further collector (a service's own metrics).
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) -> anyhow::Result<()> {
        Ok(self.registry.register(collector)?)
    }

    /// The `T` registered in this registry, made and registered by `make` on first use; lets
    /// several services in one process share one set of collectors.
    pub fn extension<T: Any + Send + Sync>(
        &self,
        make: impl FnOnce(&Registry) -> anyhow::Result<T>,
    ) -> anyhow::Result<Arc<T>> {
        let mut extensions = self
            .extensions
            .lock()
            .map_err(|_| anyhow::anyhow!("metrics extensions lock poisoned"))?;
        if let Some(existing) = extensions.get(&TypeId::of::<T>()) {
            if let Ok(typed) = existing.clone().downcast::<T>() {
                return Ok(typed);
            }
        }
        let made = Arc::new(make(&self.registry)?);
        extensions.insert(TypeId::of::<T>(), made.clone());
        Ok(made)
    }

    pub fn record_stream(&self, stream: &str, group: &str, stats: &StreamStats) {
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.stream_length
            .with_label_values(&[stream])
            .set(as_i64(stats.length));
        self.stream_lag
            .with_label_values(&[stream, group])
            .set(as_i64(stats.lag));
        self.stream_pending
            .with_label_values(&[stream, group])
            .set(as_i64(stats.pending));
        self.dead_letters
            .with_label_values(&[stream])
            .set(as_i64(stats.dead_letters));
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::warn!(error = %error, "metrics encoding failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Route-layer middleware counting requests by their matched route template.
pub async fn track_http(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .http_requests
        .with_label_values(&[method.as_str(), route.as_str(), response.status().as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}
