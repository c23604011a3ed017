//! Backpressure at scale: 1,000 runs in flight through a real orchestrator process, real Postgres
//! and Redis, with instant test workers in place of the media services (each job is answered at
//! once with a fixed tiny result). Prints step dispatch latency (job committed → job received)
//! p50/p99, run latency, the orchestrator's peak RSS, the deepest queue, and how submissions past
//! `max_active_runs` were shed (503 + Retry-After, never a timeout).
//!
//! Run: `bash scripts/load.sh` (or `cargo bench -p reelforge --bench dispatch`, with `REELFORGE_BIN`
//! naming a built `reelforge` binary). `RUNS` (1000), `EXTRA` (200 submissions past the limit).

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use messages::events::{
    ImageCompleted, ModerationCompleted, MusicCompleted, SceneOutline, ScriptOutline,
    SpeechCompleted, StoryCompleted, Verdict,
};
use serde_json::{json, Value};
use shared::{
    auth::{Role, TokenSigner},
    bus::{Bus, Delivery, Envelope, Handler},
    config::BusConfig,
    storage::MediaKey,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The job streams of the media services and the group each instant worker reads them as.
const WORKERS: [(&str, &str); 6] = [
    ("jobs.story", "story"),
    ("jobs.tts", "tts"),
    ("jobs.image", "image"),
    ("jobs.music", "music"),
    ("jobs.moderation", "moderation"),
    ("jobs.video", "video"),
];
const SCENES: usize = 3;

/// When each job arrived at its worker.
type Arrivals = Arc<Mutex<Vec<(Uuid, DateTime<Utc>)>>>;

/// Answers every job at once with a fixed tiny result, recording when each job arrived.
struct InstantWorker {
    bus: Bus,
    received: Arrivals,
}

impl Handler for InstantWorker {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        let arrived = Utc::now();
        let job = &delivery.envelope;
        if let Ok(mut received) = self.received.lock() {
            received.push((job.id, arrived));
        }
        let attempt = job.body["attempt"].as_i64().unwrap_or(1) as i32;
        let (kind, mut body) = instant_result(&job.kind, &job.body, attempt)?;
        body["attempt"] = json!(attempt);
        body["cost_micros"] = json!(0);
        self.bus
            .publish("events", &Envelope::new(kind, job.run_id, body))
            .await?;
        Ok(())
    }
}

fn tiny_key(extension: &str) -> anyhow::Result<MediaKey> {
    MediaKey::parse(&format!("{}.{extension}", "0".repeat(64)))
}

/// The completion of a job of `kind`, as its service would report it.
fn instant_result(kind: &str, job: &Value, attempt: i32) -> anyhow::Result<(&'static str, Value)> {
    let licence = json!({ "source": "instant test worker", "licence": "CC0-1.0" });
    Ok(match kind {
        "story.write" => {
            let scene = SceneOutline {
                narration: "A short line.".into(),
                visual: "a lighthouse".into(),
                mood: "calm".into(),
            };
            let script = ScriptOutline {
                title: "Instant".into(),
                scenes: vec![scene; SCENES],
            };
            (
                "story.completed",
                serde_json::to_value(StoryCompleted { script })?,
            )
        }
        "speech.synthesize" => (
            "speech.completed",
            serde_json::to_value(SpeechCompleted {
                attempt,
                cost_micros: 0,
                narration_id: Uuid::now_v7(),
                media_key: tiny_key("wav")?,
                duration_ms: 3_000,
                sample_rate: 24_000,
                voice: "instant/en".into(),
                provider: "instant".into(),
                cues: Vec::new(),
            })?,
        ),
        "image.render" => (
            "image.completed",
            serde_json::to_value(ImageCompleted {
                attempt,
                cost_micros: 0,
                image_id: Uuid::now_v7(),
                scene_index: job["scene_index"].as_i64().unwrap_or(0) as i32,
                media_key: tiny_key("png")?,
                width: 16,
                height: 16,
                provider: "instant".into(),
                licence: licence.clone(),
            })?,
        ),
        "music.compose" => (
            "music.completed",
            serde_json::to_value(MusicCompleted {
                attempt,
                cost_micros: 0,
                track_id: Uuid::now_v7(),
                media_key: tiny_key("wav")?,
                duration_ms: 3_000,
                provider: "instant".into(),
                licence,
            })?,
        ),
        "moderation.check" => (
            "moderation.completed",
            serde_json::to_value(ModerationCompleted {
                attempt,
                cost_micros: 0,
                verdict: Verdict::Pass,
                failures: Vec::new(),
                review_id: None,
            })?,
        ),
        "video.render" => ("video.completed", json!({ "renders": [] })),
        other => anyhow::bail!("no instant answer to `{other}`"),
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The peak and current resident set of `pid`, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let extra: usize = std::env::var("EXTRA")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let bin = std::env::var("REELFORGE_BIN").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{target}/debug/reelforge")
    });
    let id = Uuid::new_v4().simple().to_string();
    let database_url = format!("postgres://postgres@127.0.0.1:5432/reelforge_load_{id}");
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("load-{id}");
    let secret = format!("load-secret-{id}-0123456789abcdef");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let data_dir = tempfile::tempdir()?;

    let mut orchestrator = tokio::process::Command::new(&bin)
        .args(["serve", "--only", "orchestrator"])
        .env("DATABASE_URL", &database_url)
        .env("REDIS_URL", &redis_url)
        .env("REELFORGE_LISTEN", format!("127.0.0.1:{port}"))
        .env("REELFORGE_DATA_DIR", data_dir.path())
        .env("REELFORGE_JWT_SECRET", &secret)
        .env("REELFORGE_BUS__PREFIX", &prefix)
        .env("REELFORGE_RATE_LIMIT__ENABLED", "false")
        .env(
            "REELFORGE_SERVICES__ORCHESTRATOR__MAX_ACTIVE_RUNS",
            runs.to_string(),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = orchestrator.id().unwrap_or_default();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let ready_by = Instant::now() + Duration::from_secs(60);
    while !http
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(
            Instant::now() < ready_by,
            "the orchestrator never became ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let bus = Bus::new(
        &redis_url,
        BusConfig {
            prefix: prefix.clone(),
            max_deliveries: 5,
            reclaim_idle_ms: 30_000,
            block_ms: 1_000,
            batch: 64,
            max_len: 1_000_000,
        },
    )?;
    let shutdown = CancellationToken::new();
    let received: Arrivals = Arc::default();
    let mut workers = Vec::new();
    for (stream, group) in WORKERS {
        let worker = InstantWorker {
            bus: bus.clone(),
            received: received.clone(),
        };
        let consumer = bus
            .consumer(stream, group, &format!("{group}-instant"))
            .concurrency(64);
        workers.push(tokio::spawn(consumer.run(worker, shutdown.clone())));
    }

    // Queue depths, sampled while the runs are in flight.
    let deepest = Arc::new(Mutex::new(HashMap::<String, u64>::new()));
    let sampler = {
        let (bus, deepest, shutdown) = (bus.clone(), deepest.clone(), shutdown.clone());
        tokio::spawn(async move {
            while !shutdown.is_cancelled() {
                let mut samples = Vec::new();
                for (stream, group) in WORKERS.into_iter().chain([("events", "orchestrator")]) {
                    if let Ok(stats) = bus.stats(stream, group).await {
                        samples.push((stream.to_owned(), stats.lag + stats.pending));
                    }
                }
                if let Ok(mut deepest) = deepest.lock() {
                    for (stream, depth) in samples {
                        let entry = deepest.entry(stream).or_default();
                        *entry = (*entry).max(depth);
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    let token = TokenSigner::hs256(secret.as_bytes()).issue(
        "load",
        Role::Operator,
        Some("load"),
        Duration::from_secs(3600),
    )?;
    let started = Instant::now();
    let answers: Vec<(u16, bool)> = futures::stream::iter(0..runs + extra)
        .map(|n| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            async move {
                let body = json!({ "topic": format!("load run {n}"), "length_seconds": 10, "formats": ["1:1"] });
                match http.post(format!("{base}/v1/runs")).bearer_auth(token).json(&body).send().await {
                    Ok(response) => (
                        response.status().as_u16(),
                        response.headers().contains_key("retry-after"),
                    ),
                    Err(_) => (0, false),
                }
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let submitted = started.elapsed();
    let created = answers.iter().filter(|(status, _)| *status == 201).count();
    let shed = answers
        .iter()
        .filter(|(status, retry_after)| *status == 503 && *retry_after)
        .count();
    let other = answers.len() - created - shed;

    let pool = sqlx::PgPool::connect(&database_url).await?;
    let finish_by = Instant::now() + Duration::from_secs(600);
    loop {
        let open: i64 =
            sqlx::query_scalar("SELECT count(*) FROM orchestrator.runs WHERE finished_at IS NULL")
                .fetch_one(&pool)
                .await?;
        if open == 0 || Instant::now() > finish_by {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let all_done = started.elapsed();
    let (peak_rss, rss) = memory_mib(pid);
    shutdown.cancel();
    for worker in workers {
        worker.await??;
    }
    sampler.await?;

    let states: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, count(*) FROM orchestrator.runs GROUP BY state ORDER BY state",
    )
    .fetch_all(&pool)
    .await?;
    let mut run_seconds: Vec<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM finished_at - created_at)::float8 FROM orchestrator.runs WHERE finished_at IS NOT NULL",
    )
    .fetch_all(&pool)
    .await?;
    run_seconds.sort_by(f64::total_cmp);
    let outbox: Vec<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT (envelope->>'id')::uuid, created_at, published_at FROM fleet.outbox WHERE stream LIKE 'jobs.%'",
    )
    .fetch_all(&pool)
    .await?;
    let mut relay_ms: Vec<f64> = outbox
        .iter()
        .filter_map(|(_, created, published)| {
            published.map(|at| (at - *created).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        })
        .collect();
    relay_ms.sort_by(f64::total_cmp);
    let committed: HashMap<Uuid, DateTime<Utc>> = outbox
        .into_iter()
        .map(|(id, created, _)| (id, created))
        .collect();
    let mut dispatch_ms: Vec<f64> = received
        .lock()
        .map(|received| {
            received
                .iter()
                .filter_map(|(id, arrived)| {
                    committed
                        .get(id)
                        .map(|at| (*arrived - *at).num_microseconds().unwrap_or(0) as f64 / 1000.0)
                })
                .collect()
        })
        .unwrap_or_default();
    dispatch_ms.sort_by(f64::total_cmp);

    println!(
        "runs submitted: {} in {:.1} s (64 at a time)",
        runs + extra,
        submitted.as_secs_f64()
    );
    println!("  201 created: {created}; 503 + Retry-After (shed): {shed}; anything else or no answer: {other}");
    println!(
        "runs by final state: {states:?}; all finished {:.1} s after the first submission",
        all_done.as_secs_f64()
    );
    println!(
        "step dispatch latency (job committed → received by its worker), {} jobs: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        dispatch_ms.len(),
        percentile(&dispatch_ms, 0.50),
        percentile(&dispatch_ms, 0.99),
        dispatch_ms.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  of which in the outbox (committed → relayed): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&relay_ms, 0.50),
        percentile(&relay_ms, 0.99)
    );
    println!(
        "run latency (created → succeeded): p50 {:.2} s, p99 {:.2} s",
        percentile(&run_seconds, 0.50),
        percentile(&run_seconds, 0.99)
    );
    println!("orchestrator process RSS: peak {peak_rss:.1} MiB, at the end {rss:.1} MiB");
    let mut deepest: Vec<(String, u64)> = deepest
        .lock()
        .map(|d| d.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    deepest.sort();
    println!("deepest queue (lag + pending) per stream: {deepest:?}");

    orchestrator.start_kill()?;
    orchestrator.wait().await?;
    pool.close().await;
    let admin = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/postgres").await?;
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS reelforge_load_{id} WITH (FORCE)"
    ))
    .execute(&admin)
    .await?;
    anyhow::ensure!(
        other == 0,
        "{other} submissions got neither 201 nor a shed 503"
    );
    Ok(())
}
