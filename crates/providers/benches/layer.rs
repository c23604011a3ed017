//! Added latency of the provider layer (cache lookup and store, breaker, schema check, usage emit)
//! against a local instant fake provider under a fixed request rate, and maximum throughput.
//! Run: `cargo bench -p providers --bench layer` (needs Redis at `REDIS_URL` and Postgres at
//! `TEST_DATABASE_URL`, default localhost; usage entries go through the outbox).

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{routing::post, Router};
use providers::{
    cache::ResponseCache,
    capability::{Text, TextRequest},
    chain::{CallOptions, Chain, Layer, Link, Policy},
    clients::openai_chat::{Endpoint, OpenAiChat},
    metrics::ProviderMetrics,
    pricing::PriceTable,
    usage::{CallContext, UsageSink},
    Client,
};
use serde_json::json;
use shared::{
    breaker::{BreakerConfig, CircuitBreaker},
    bus::Bus,
    config::{BusConfig, Secret},
};
use tokio_util::sync::CancellationToken;

const RATE: u64 = 2_000;
const SECONDS: u64 = 10;

fn request(topic: u64) -> TextRequest {
    TextRequest {
        task: "title".to_owned(),
        params: json!({ "topic": topic }),
        system: "Reply with JSON only.".to_owned(),
        prompt: format!("A title about topic number {topic}"),
        schema_name: "title".to_owned(),
        schema: json!({ "type": "object", "additionalProperties": false, "required": ["title"],
                        "properties": { "title": { "type": "string", "minLength": 1 } } }),
        temperature: 0.7,
        max_tokens: 100,
    }
}

async fn fake_provider() -> anyhow::Result<String> {
    let body = json!({
        "id": "c", "object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": "{\"title\":\"Instant\"}" }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25 }
    })
    .to_string();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Latencies of `calls` issued at `RATE` per second for `SECONDS`, and the achieved rate.
async fn open_loop<F, Fut>(call: F) -> (Vec<Duration>, f64)
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let total = RATE * SECONDS;
    let mut interval = tokio::time::interval(Duration::from_nanos(1_000_000_000 / RATE));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(total as usize);
    for i in 0..total {
        interval.tick().await;
        let call = call.clone();
        handles.push(tokio::spawn(async move {
            let start = Instant::now();
            let ok = call(i).await;
            (start.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total as usize);
    let mut failures = 0;
    for handle in handles {
        if let Ok((latency, ok)) = handle.await {
            latencies.push(latency);
            failures += usize::from(!ok);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    if failures > 0 {
        eprintln!("  {failures} calls failed");
    }
    latencies.sort();
    (latencies, total as f64 / elapsed)
}

/// Calls per second with `workers` callers back to back for 5 s.
async fn closed_loop<F, Fut>(call: F, workers: usize) -> f64
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(5);
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (call, done) = (call.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = (w as u64) << 32;
                while Instant::now() < deadline {
                    call(i).await;
                    i += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    done.load(Ordering::Relaxed) as f64 / 5.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let bus = Bus::new(
        &redis_url,
        BusConfig {
            prefix,
            max_deliveries: 3,
            reclaim_idle_ms: 1000,
            block_ms: 100,
            batch: 16,
            max_len: 1_000_000,
        },
    )?;
    let shutdown = CancellationToken::new();
    let data_dir = tempfile::tempdir()?;
    let settings = shared::testing::isolated_settings(data_dir.path(), &[])?;
    let pool = shared::db::connect(settings.config.database_url.expose()).await?;
    shared::db::migrate(&pool).await?;
    let relay = tokio::spawn(
        shared::outbox::Relay::new(pool.clone(), bus.clone(), vec!["bench".to_owned()])
            .run(shutdown.clone()),
    );
    let usage = UsageSink::new(pool.clone());
    let layer = Layer {
        prices: Arc::new(PriceTable::builtin()?),
        cache: Some(ResponseCache::new(bus.clone(), Duration::from_secs(300))),
        usage,
        metrics: Arc::new(ProviderMetrics::register(&prometheus::Registry::new())?),
        budget: None,
    };
    let base_url = fake_provider().await?;
    let client: Arc<dyn Client<Text>> = Arc::new(OpenAiChat::new(Endpoint {
        provider: "openai".to_owned(),
        base_url,
        api_key: Some(Secret::new("sk-bench")),
        model: "gpt-4o-mini".to_owned(),
    })?);
    let policy = Policy {
        attempt_budget: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(1),
        quota_cooldown: Duration::from_secs(60),
        cache: true,
    };
    let breaker = Arc::new(CircuitBreaker::new(BreakerConfig::default()));
    let chain = Arc::new(Chain::new(
        vec![Link {
            client: client.clone(),
            timeout: Duration::from_secs(5),
            max_attempts: 3,
            breaker,
        }],
        policy,
        layer,
    ));
    let context = Arc::new(CallContext {
        run_id: None,
        tenant: "bench".to_owned(),
        service: "bench".to_owned(),
    });
    let run = uuid::Uuid::new_v4().simple().to_string();

    let direct = {
        let client = client.clone();
        move |i: u64| {
            let client = client.clone();
            async move { client.call(&request(i)).await.is_ok() }
        }
    };
    let layered = {
        let (chain, context, run) = (chain.clone(), context.clone(), run.clone());
        move |i: u64| {
            let (chain, context) = (chain.clone(), context.clone());
            let mut request = request(i);
            request.params["run"] = json!(run);
            async move {
                chain
                    .call(&context, &request, CallOptions::default())
                    .await
                    .is_ok()
            }
        }
    };
    let cached = {
        let (chain, context) = (chain.clone(), context.clone());
        move |i: u64| {
            let (chain, context) = (chain.clone(), context.clone());
            async move {
                chain
                    .call(&context, &request(i % 100), CallOptions::default())
                    .await
                    .is_ok()
            }
        }
    };
    // Warm connections, the schema validator and the cache entries of the hit run.
    for i in 0..200 {
        direct(i).await;
        cached(i).await;
    }

    println!("provider layer benchmark: instant fake OpenAI-compatible provider on loopback, Redis at {redis_url}");
    println!("open loop at {RATE} requests/s for {SECONDS} s each:");
    let mut rows = Vec::new();
    for (name, latencies, rate) in [
        (
            "direct client call (baseline)",
            open_loop(direct.clone()).await,
        ),
        (
            "through the layer, cache miss + store",
            open_loop(layered.clone()).await,
        ),
        (
            "through the layer, cache hit",
            open_loop(cached.clone()).await,
        ),
    ]
    .map(|(name, (l, r))| (name, l, r))
    {
        let (p50, p99, p999) = (
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
            percentile(&latencies, 0.999),
        );
        println!("  {name:<40} achieved {rate:>7.0}/s  p50 {p50:.3} ms  p99 {p99:.3} ms  p99.9 {p999:.3} ms");
        rows.push((p50, p99));
    }
    if let [base, miss, hit] = rows.as_slice() {
        println!(
            "added by the layer on a miss: p50 {:+.3} ms, p99 {:+.3} ms",
            miss.0 - base.0,
            miss.1 - base.1
        );
        println!(
            "a cache hit against the provider call: p50 {:.3} ms vs {:.3} ms",
            hit.0, base.0
        );
    }
    println!("closed loop, 64 callers, 5 s:");
    println!(
        "  direct client call                       {:>8.0} calls/s",
        closed_loop(direct, 64).await
    );
    println!(
        "  through the layer (miss + store)         {:>8.0} calls/s",
        closed_loop(layered, 64).await
    );
    let relay_drained = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < relay_drained {
        let unpublished: i64 =
            sqlx::query_scalar("SELECT count(*) FROM fleet.outbox WHERE published_at IS NULL")
                .fetch_one(&pool)
                .await?;
        if unpublished == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    let _ = relay.await;
    let entries = bus
        .entries(providers::usage::USAGE_STREAM)
        .await
        .map(|e| e.len())
        .unwrap_or(0);
    println!("usage entries written: {entries}");
    let mut conn = bus.redis().await?;
    let _: () = redis::cmd("DEL")
        .arg(bus.stream_key(providers::usage::USAGE_STREAM))
        .query_async(&mut conn)
        .await?;
    Ok(())
}
