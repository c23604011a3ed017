//! A fallback chain for one capability: retries with full-jitter backoff honouring `retry-after`,
//! one attempt budget across the chain, a circuit breaker per provider, the response cache, and one
//! usage entry with exact cost per call.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use rand::Rng as _;
use serde::Serialize;
use shared::breaker::CircuitBreaker;

use crate::{
    budget::{BudgetGate, Lease},
    cache::{Cached, ResponseCache},
    capability::Capability,
    client::{CallError, Client},
    metrics::ProviderMetrics,
    pricing::{cost_micros, PriceTable},
    units::Units,
    usage::{CallContext, UsageEntry, UsageSink},
};

/// What every chain of a process shares: prices, cache, usage sink, metrics, budget gate.
#[derive(Clone)]
pub struct Layer {
    pub prices: Arc<PriceTable>,
    pub cache: Option<ResponseCache>,
    pub usage: UsageSink,
    pub metrics: Arc<ProviderMetrics>,
    /// Reserves with billing before each paid call; `None` when billing is not configured.
    pub budget: Option<Arc<BudgetGate>>,
}

/// How hard a chain tries.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts across every provider of the chain, retries included.
    pub attempt_budget: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A `retry-after` longer than this moves on to the next provider instead of waiting.
    pub max_retry_after: Duration,
    /// How long a provider is left alone after a quota or payment error.
    pub quota_cooldown: Duration,
    /// Whether replies of this chain are cached at all.
    pub cache: bool,
}

/// One provider in a chain, with its own limits and breaker.
pub struct Link<C: Capability> {
    pub client: Arc<dyn Client<C>>,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub breaker: Arc<CircuitBreaker>,
}

/// Per-request options.
#[derive(Debug, Clone, Copy)]
pub struct CallOptions {
    /// `false` skips the cache for this request (neither read nor written).
    pub cache: bool,
}

impl Default for CallOptions {
    fn default() -> Self {
        Self { cache: true }
    }
}

/// A successful call: the reply, who gave it, what it cost.
#[derive(Debug, Clone)]
pub struct Completed<R> {
    pub reply: R,
    pub provider: String,
    pub model: String,
    pub units: Units,
    /// Cost of this request across every attempt it took, in micro-dollars.
    pub cost_micros: u64,
    pub cache_hit: bool,
    /// Attempts made, across providers.
    pub attempts: u32,
}

/// Every provider failed or was unavailable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("every {capability} provider failed: {}", outcomes.join(", "))]
pub struct ChainError {
    pub capability: &'static str,
    /// Each failure in full, for logs: upstream text and addresses included.
    pub failures: Vec<String>,
    /// Each failure as `provider (outcome class)`: safe to show a client.
    pub outcomes: Vec<String>,
    /// Cost the failed attempts still incurred (invalid output is paid for).
    pub cost_micros: u64,
}

impl ChainError {
    /// Every failure in full (upstream text and addresses included), for logs only; the
    /// error's `Display` names providers and outcome classes, safe for clients and run records.
    pub fn details(&self) -> String {
        self.failures.join("; ")
    }
}

/// An ordered list of providers for capability `C`.
pub struct Chain<C: Capability> {
    links: Vec<Link<C>>,
    policy: Policy,
    layer: Layer,
}

/// Outcome of one attempt, before pricing.
struct Attempt<R> {
    result: Result<(R, Option<String>), CallError>,
    units: Units,
    latency: Duration,
}

impl<C: Capability> Chain<C> {
    pub fn new(links: Vec<Link<C>>, policy: Policy, layer: Layer) -> Self {
        Self {
            links,
            policy,
            layer,
        }
    }

    pub fn links(&self) -> &[Link<C>] {
        &self.links
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Answers `request` from the cache or the first provider that succeeds.
    pub async fn call(
        &self,
        context: &CallContext,
        request: &C::Request,
        options: CallOptions,
    ) -> Result<Completed<C::Reply>, ChainError> {
        let cache = self.cache_for(options);
        let cache_key = match &cache {
            Some(cache) => cache.key(C::NAME, request).ok(),
            None => None,
        };
        if let (Some(cache), Some(key)) = (&cache, &cache_key) {
            if let Some(hit) = self.lookup(cache, key).await {
                self.record(
                    context,
                    &hit.provider,
                    &hit.model,
                    Units::default(),
                    0,
                    true,
                    Duration::ZERO,
                    "ok",
                    true,
                )
                .await;
                return Ok(Completed {
                    reply: hit.reply,
                    provider: hit.provider,
                    model: hit.model,
                    units: Units::default(),
                    cost_micros: 0,
                    cache_hit: true,
                    attempts: 0,
                });
            }
        }
        let mut budget = self.policy.attempt_budget;
        let mut failures = Vec::new();
        let mut outcomes = Vec::new();
        let mut spent = 0u64;
        let mut attempts = 0u32;
        let mut budget_reported = false;
        for link in &self.links {
            let provider = link.client.provider().to_owned();
            // The attempt budget bounds what paid providers cost in time and money; a free
            // last resort (offline) is always tried, however many paid providers failed first.
            let bounded = link.client.paid();
            if bounded && budget == 0 {
                if !budget_reported {
                    failures.push("attempt budget exhausted".to_owned());
                    outcomes.push("attempt budget exhausted".to_owned());
                    budget_reported = true;
                }
                continue;
            }
            let mut tries = 0;
            while tries < link.max_attempts && (budget > 0 || !bounded) {
                // A free local provider is the last resort: its own error says more than "circuit open".
                if link.client.paid() && !link.breaker.allow() {
                    failures.push(format!("{provider}: circuit open"));
                    outcomes.push(format!("{provider} (circuit open)"));
                    break;
                }
                let lease = match self.reserve(context, link, request).await {
                    Ok(lease) => lease,
                    Err(refusal) => {
                        failures.push(format!("{provider}: {refusal}"));
                        // Billing's own words (which budget, or that it cannot be verified).
                        outcomes.push(format!("{provider} ({refusal})"));
                        break;
                    }
                };
                tries += 1;
                budget = budget.saturating_sub(1);
                attempts += 1;
                let attempt = self.attempt(link, request).await;
                let model = match &attempt.result {
                    Ok((_, Some(model))) => model.clone(),
                    _ => link.client.model().to_owned(),
                };
                let (cost, priced) = self.price(&provider, &model, &attempt.units);
                spent += cost;
                if let (Some(gate), Some(lease)) = (&self.layer.budget, lease) {
                    gate.close(lease, cost).await;
                }
                let outcome = attempt
                    .result
                    .as_ref()
                    .map_or_else(CallError::outcome, |_| "ok");
                self.record(
                    context,
                    &provider,
                    &model,
                    attempt.units,
                    cost,
                    priced,
                    attempt.latency,
                    outcome,
                    false,
                )
                .await;
                self.note_breaker(link, &attempt.result);
                match attempt.result {
                    Ok((reply, _)) => {
                        if let (Some(cache), Some(key)) = (&cache, &cache_key) {
                            if link.client.paid() {
                                self.store(cache, key, &provider, &model, attempt.units, &reply)
                                    .await;
                            }
                        }
                        return Ok(Completed {
                            reply,
                            provider,
                            model,
                            units: attempt.units,
                            cost_micros: spent,
                            cache_hit: false,
                            attempts,
                        });
                    }
                    Err(error) => {
                        tracing::warn!(
                            capability = C::NAME,
                            provider,
                            attempt = tries,
                            outcome = error.outcome(),
                            error = %error,
                            "provider call failed"
                        );
                        failures.push(format!("{provider}: {error}"));
                        // A free local provider's error is reelforge's own words (a missing
                        // program, say): worth showing. A paid one's may echo upstream text.
                        outcomes.push(if link.client.paid() {
                            format!("{provider} ({})", error.outcome())
                        } else {
                            format!("{provider} ({}: {error})", error.outcome())
                        });
                        let retry_after = match &error {
                            CallError::Transient { retry_after, .. } => Some(*retry_after),
                            CallError::InvalidOutput { .. } => Some(None),
                            _ => None,
                        };
                        let Some(retry_after) = retry_after else {
                            break;
                        };
                        if tries >= link.max_attempts || (bounded && budget == 0) {
                            break;
                        }
                        match self.wait_before_retry(tries, retry_after) {
                            Some(wait) => tokio::time::sleep(wait).await,
                            None => break,
                        }
                    }
                }
            }
        }
        if budget == 0 && !budget_reported {
            failures.push("attempt budget exhausted".to_owned());
            outcomes.push("attempt budget exhausted".to_owned());
        }
        Err(ChainError {
            capability: C::NAME,
            failures,
            outcomes,
            cost_micros: spent,
        })
    }

    /// Holds the estimated cost of a paid call with billing; free providers need no reservation.
    async fn reserve(
        &self,
        context: &CallContext,
        link: &Link<C>,
        request: &C::Request,
    ) -> Result<Option<Lease>, String> {
        let Some(gate) = &self.layer.budget else {
            return Ok(None);
        };
        if !link.client.paid() {
            return Ok(None);
        }
        let provider = link.client.provider();
        // An unpriced model reserves nothing (its calls are recorded unpriced, with a warning).
        let today = chrono::Utc::now().date_naive();
        let estimate = self
            .layer
            .prices
            .price(provider, link.client.model(), today)
            .map_or(0, |price| cost_micros(price, &C::estimate(request)));
        gate.reserve(context, provider, estimate).await.map(Some)
    }

    fn cache_for(&self, options: CallOptions) -> Option<ResponseCache> {
        if options.cache && self.policy.cache {
            self.layer.cache.clone()
        } else {
            None
        }
    }

    async fn lookup(&self, cache: &ResponseCache, key: &str) -> Option<Cached<C::Reply>> {
        let result = cache.get::<C::Reply>(key).await;
        let label = match &result {
            Ok(Some(_)) => "hit",
            Ok(None) => "miss",
            Err(_) => "error",
        };
        self.layer
            .metrics
            .cache
            .with_label_values(&[C::NAME, label])
            .inc();
        match result {
            Ok(hit) => hit,
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "response cache unavailable; calling the provider"
                );
                None
            }
        }
    }

    async fn store(
        &self,
        cache: &ResponseCache,
        key: &str,
        provider: &str,
        model: &str,
        units: Units,
        reply: &C::Reply,
    ) {
        let entry = Cached {
            provider: provider.to_owned(),
            model: model.to_owned(),
            units,
            reply,
        };
        if let Err(error) = cache.put(key, &entry).await {
            tracing::warn!(error = format!("{error:#}"), "reply not cached");
        }
    }

    async fn attempt(&self, link: &Link<C>, request: &C::Request) -> Attempt<C::Reply> {
        let started = Instant::now();
        let called = tokio::time::timeout(link.timeout, link.client.call(request)).await;
        let latency = started.elapsed();
        let (result, units) = match called {
            Err(_) => (
                Err(CallError::transient(format!(
                    "timed out after {} ms",
                    link.timeout.as_millis()
                ))),
                Units::default(),
            ),
            Ok(Err(CallError::InvalidOutput { detail, units })) => {
                (Err(CallError::InvalidOutput { detail, units }), units)
            }
            Ok(Err(error)) => (Err(error), Units::default()),
            Ok(Ok(answer)) => match C::check(request, &answer.reply) {
                Ok(()) => (Ok((answer.reply, answer.model)), answer.units),
                Err(detail) => (
                    Err(CallError::InvalidOutput {
                        detail,
                        units: answer.units,
                    }),
                    answer.units,
                ),
            },
        };
        Attempt {
            result,
            units,
            latency,
        }
    }

    fn note_breaker(&self, link: &Link<C>, result: &Result<(C::Reply, Option<String>), CallError>) {
        if !link.client.paid() {
            return;
        }
        match result {
            Ok(_) | Err(CallError::Refused { .. }) => link.breaker.record(true),
            Err(CallError::Quota { .. }) => link.breaker.trip_for(self.policy.quota_cooldown),
            Err(_) => link.breaker.record(false),
        }
        self.layer
            .metrics
            .set_breaker(C::NAME, link.client.provider(), link.breaker.state());
    }

    /// Full jitter: uniform in [0, min(max, base × 2^(try-1))]; a provider's `retry-after` wins when
    /// given, unless it is longer than the policy accepts (then `None`: move on).
    fn wait_before_retry(&self, tries: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(wait) = retry_after {
            return (wait <= self.policy.max_retry_after).then_some(wait);
        }
        let exponent = tries.saturating_sub(1).min(20);
        let ceiling = self
            .policy
            .backoff_base
            .saturating_mul(1 << exponent)
            .min(self.policy.backoff_max);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Some(Duration::from_millis(rand::rng().random_range(0..=millis)))
    }

    fn price(&self, provider: &str, model: &str, units: &Units) -> (u64, bool) {
        if *units == Units::default() {
            return (0, true);
        }
        let today = chrono::Utc::now().date_naive();
        match self.layer.prices.price(provider, model, today) {
            Some(price) => (cost_micros(price, units), true),
            None => {
                tracing::warn!(
                    provider,
                    model,
                    "no price for this model; usage recorded unpriced"
                );
                (0, false)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        context: &CallContext,
        provider: &str,
        model: &str,
        units: Units,
        cost: u64,
        priced: bool,
        latency: Duration,
        outcome: &str,
        cache_hit: bool,
    ) {
        let metrics = &self.layer.metrics;
        metrics
            .calls
            .with_label_values(&[C::NAME, provider, model, outcome])
            .inc();
        if !cache_hit {
            metrics
                .latency
                .with_label_values(&[C::NAME, provider])
                .observe(latency.as_secs_f64());
        }
        metrics
            .cost_micros
            .with_label_values(&[C::NAME, provider, model])
            .inc_by(cost);
        let entry = UsageEntry {
            usage_id: uuid::Uuid::now_v7(),
            at: chrono::Utc::now(),
            run_id: context.run_id,
            tenant: context.tenant.clone(),
            service: context.service.clone(),
            capability: C::NAME.to_owned(),
            provider: provider.to_owned(),
            model: model.to_owned(),
            units,
            cost_micros: cost,
            priced,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            outcome: outcome.to_owned(),
            cache_hit,
        };
        self.layer.usage.record(entry).await;
    }
}

/// A chain as the admin route shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChainView {
    pub capability: String,
    pub attempt_budget: u32,
    pub cache: bool,
    pub providers: Vec<LinkView>,
}

/// One provider of a chain, with its breaker's state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkView {
    pub provider: String,
    pub model: String,
    pub paid: bool,
    pub timeout_ms: u64,
    pub max_attempts: u32,
    /// `closed`, `open` or `half_open`.
    pub breaker: String,
}

/// Type-erased view of a chain of any capability.
pub trait Describe: Send + Sync {
    fn describe(&self) -> ChainView;
}

impl<C: Capability> Describe for Chain<C> {
    fn describe(&self) -> ChainView {
        ChainView {
            capability: C::NAME.to_owned(),
            attempt_budget: self.policy.attempt_budget,
            cache: self.policy.cache && self.layer.cache.is_some(),
            providers: self
                .links
                .iter()
                .map(|link| {
                    let state = link.breaker.state();
                    self.layer
                        .metrics
                        .set_breaker(C::NAME, link.client.provider(), state);
                    LinkView {
                        provider: link.client.provider().to_owned(),
                        model: link.client.model().to_owned(),
                        paid: link.client.paid(),
                        timeout_ms: u64::try_from(link.timeout.as_millis()).unwrap_or(u64::MAX),
                        max_attempts: link.max_attempts,
                        breaker: state.to_owned(),
                    }
                })
                .collect(),
        }
    }
}
