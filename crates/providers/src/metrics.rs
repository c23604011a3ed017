//! Prometheus metrics of provider calls: count by outcome, latency, cost, cache and breaker state.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// The provider layer's collectors, registered once per registry.
pub struct ProviderMetrics {
    pub calls: IntCounterVec,
    pub latency: HistogramVec,
    pub cost_micros: IntCounterVec,
    pub cache: IntCounterVec,
    pub breaker_state: IntGaugeVec,
}

impl ProviderMetrics {
    pub fn register(registry: &Registry) -> anyhow::Result<Self> {
        let calls = IntCounterVec::new(
            Opts::new(
                "provider_calls_total",
                "Provider calls by capability, provider, model and outcome",
            ),
            &["capability", "provider", "model", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("provider_call_duration_seconds", "Provider call latency").buckets(
                vec![
                    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
                ],
            ),
            &["capability", "provider"],
        )?;
        let cost_micros = IntCounterVec::new(
            Opts::new(
                "provider_cost_micros_total",
                "Cost of provider calls in micro-dollars",
            ),
            &["capability", "provider", "model"],
        )?;
        let cache = IntCounterVec::new(
            Opts::new(
                "provider_cache_lookups_total",
                "Response cache lookups by result (hit, miss, error)",
            ),
            &["capability", "result"],
        )?;
        let breaker_state = IntGaugeVec::new(
            Opts::new(
                "provider_breaker_state",
                "Circuit breaker per provider: 0 closed, 1 half-open, 2 open",
            ),
            &["capability", "provider"],
        )?;
        for collector in [
            Box::new(calls.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(cost_micros.clone()),
            Box::new(cache.clone()),
            Box::new(breaker_state.clone()),
        ] {
            registry.register(collector)?;
        }
        Ok(Self {
            calls,
            latency,
            cost_micros,
            cache,
            breaker_state,
        })
    }

    pub fn set_breaker(&self, capability: &str, provider: &str, state: &str) {
        let value = match state {
            "open" => 2,
            "half_open" => 1,
            _ => 0,
        };
        self.breaker_state
            .with_label_values(&[capability, provider])
            .set(value);
    }
}
