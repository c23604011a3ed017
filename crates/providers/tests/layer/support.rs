//! A layer on real Redis under a random prefix, fast retry policies, and scripted offline clients.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use providers::{
    cache::ResponseCache,
    capability::{Text, TextReply, TextRequest},
    chain::{Layer, Link, Policy},
    client::{Answer, CallError, Client},
    metrics::ProviderMetrics,
    pricing::PriceTable,
    units::Units,
    usage::{CallContext, UsageEntry, UsageSink, USAGE_STREAM},
};
use serde_json::json;
use shared::{
    breaker::{BreakerConfig, CircuitBreaker},
    bus::Bus,
    config::BusConfig,
    db,
    outbox::Relay,
    testing::isolated_settings,
};
use tokio_util::sync::CancellationToken;

/// The OpenAI chat client pointed at a fake server.
pub fn openai(server: &wiremock::MockServer) -> anyhow::Result<Arc<dyn Client<Text>>> {
    Ok(Arc::new(providers::clients::openai_chat::OpenAiChat::new(
        providers::clients::openai_chat::Endpoint {
            provider: "openai".to_owned(),
            base_url: format!("{}/v1", server.uri()),
            api_key: Some(shared::config::Secret::new("sk-test")),
            model: "gpt-4o-mini".to_owned(),
        },
    )?))
}

/// A layer on a fresh database whose usage the outbox relay moves to a stream under a fresh prefix.
pub struct Harness {
    pub bus: Bus,
    pub layer: Layer,
    pub registry: prometheus::Registry,
    shutdown: CancellationToken,
}

impl Harness {
    pub async fn new() -> anyhow::Result<Harness> {
        Self::on(&shared::testing::redis_url()).await
    }

    /// The harness on the Redis (or Redis Cluster) at `redis_url`.
    pub async fn on(redis_url: &str) -> anyhow::Result<Harness> {
        let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
        let bus = Bus::new(
            redis_url,
            BusConfig {
                prefix,
                max_deliveries: 3,
                reclaim_idle_ms: 1000,
                block_ms: 100,
                batch: 16,
                max_len: 100_000,
            },
        )?;
        let shutdown = CancellationToken::new();
        let data_dir = tempfile::tempdir()?;
        let settings = isolated_settings(data_dir.path(), &[])?;
        let pool = db::connect(settings.config.database_url.expose()).await?;
        db::migrate(&pool).await?;
        tokio::spawn(
            Relay::new(pool.clone(), bus.clone(), vec!["story".to_owned()]).run(shutdown.clone()),
        );
        let usage = UsageSink::new(pool);
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(ProviderMetrics::register(&registry)?);
        let layer = Layer {
            prices: Arc::new(PriceTable::builtin()?),
            cache: Some(ResponseCache::new(bus.clone(), Duration::from_secs(60))),
            usage,
            metrics,
            budget: None,
        };
        Ok(Harness {
            bus,
            layer,
            registry,
            shutdown,
        })
    }

    /// Usage entries on the stream, waiting up to 5 s for `count` of them.
    pub async fn usage(&self, count: usize) -> anyhow::Result<Vec<UsageEntry>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let entries = self.bus.entries(USAGE_STREAM).await?;
            if entries.len() >= count || tokio::time::Instant::now() > deadline {
                return entries
                    .into_iter()
                    .map(|(_, envelope)| Ok(serde_json::from_value(envelope.body)?))
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A layer for tests that build chains without calling them: nothing is cached or recorded.
pub fn idle_layer() -> anyhow::Result<Layer> {
    let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy(&shared::testing::server_url())?;
    Ok(Layer {
        prices: Arc::new(PriceTable::builtin()?),
        cache: None,
        usage: UsageSink::new(pool),
        metrics: Arc::new(ProviderMetrics::register(&prometheus::Registry::new())?),
        budget: None,
    })
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Quick retries so tests stay fast; `retry-after` up to 5 s is honoured.
pub fn policy(attempt_budget: u32) -> Policy {
    Policy {
        attempt_budget,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
        quota_cooldown: Duration::from_secs(600),
        cache: true,
    }
}

/// A breaker that never opens in tests that are not about it.
pub fn lenient_breaker() -> Arc<CircuitBreaker> {
    Arc::new(CircuitBreaker::new(BreakerConfig {
        window_ms: 60_000,
        min_requests: 1000,
        failure_ratio: 1.0,
        cooldown_ms: 1000,
    }))
}

pub fn link<C: providers::Capability>(client: Arc<dyn Client<C>>, max_attempts: u32) -> Link<C> {
    Link {
        client,
        timeout: Duration::from_secs(5),
        max_attempts,
        breaker: lenient_breaker(),
    }
}

pub fn context() -> CallContext {
    CallContext {
        run_id: Some(uuid::Uuid::now_v7()),
        tenant: "acme".to_owned(),
        service: "story".to_owned(),
    }
}

/// A small structured-output request.
pub fn title_request(topic: &str) -> TextRequest {
    TextRequest {
        task: "title".to_owned(),
        params: json!({ "topic": topic }),
        system: "You write titles. Reply with JSON only.".to_owned(),
        prompt: format!("A title about {topic}"),
        schema_name: "title".to_owned(),
        schema: json!({
            "type": "object", "additionalProperties": false, "required": ["title"],
            "properties": { "title": { "type": "string", "minLength": 1 } }
        }),
        temperature: 0.7,
        max_tokens: 200,
    }
}

/// The free, local last resort: always answers, costs nothing.
pub struct OfflineTitles;

#[async_trait]
impl Client<Text> for OfflineTitles {
    fn provider(&self) -> &str {
        "offline"
    }

    fn model(&self) -> &str {
        "offline"
    }

    fn paid(&self) -> bool {
        false
    }

    async fn call(&self, request: &TextRequest) -> Result<Answer<TextReply>, CallError> {
        let topic = request.params["topic"].as_str().unwrap_or("nothing");
        Ok(Answer::new(
            TextReply {
                json: json!({ "title": format!("Offline: {topic}") }),
            },
            Units::default(),
        ))
    }
}

/// An OpenAI chat completion body carrying `content`.
pub fn completion(
    content: &str,
    prompt_tokens: u64,
    cached: u64,
    completion_tokens: u64,
) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                   "total_tokens": prompt_tokens + completion_tokens,
                   "prompt_tokens_details": { "cached_tokens": cached } }
    })
}
