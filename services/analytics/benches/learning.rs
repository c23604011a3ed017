//! The learning loop's two hot paths, measured on real Postgres:
//! 1. `GET /v1/analytics/summary` over 1,000,000 snapshots (50 tenants, 20,000 publications,
//!    50 snapshots each): p50/p95/max latency of one tenant's summary, over every grouping;
//! 2. the puller's throughput: pulls per second through a fake YouTube and a fake distribution
//!    that answer at once (so the figure is analytics' own cost: claim, one call per account, store).
//!
//! Run: `cargo bench -p analytics --bench learning` (Postgres at 127.0.0.1:5432, Redis at
//! 127.0.0.1:6379). `SUMMARY_SNAPSHOTS=100000` and `PULLS=2000` make it smaller.

#[path = "../tests/learning/fake_server.rs"]
#[allow(dead_code)]
mod fake_server;

#[path = "../tests/learning/fake_youtube.rs"]
#[allow(dead_code)]
mod fake_youtube;

#[path = "../tests/learning/fake_fleet.rs"]
#[allow(dead_code)]
mod fake_fleet;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use analytics::{pulls::Puller, AnalyticsConfig};
use chrono::Utc;
use shared::{
    auth::Role,
    config::Secret,
    peer::{Credentials, Peer},
    testing::TestApp,
};
use uuid::Uuid;

const TENANTS: i64 = 50;
const PUBLICATIONS: i64 = 20_000;

fn from_env(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The bench drives the puller itself; the service's own workers stay idle.
    let quiet = [
        (
            "services.analytics.pull_interval_ms",
            shared::config::toml_value::Value::from(3_600_000),
        ),
        (
            "services.analytics.learn_interval_ms",
            shared::config::toml_value::Value::from(3_600_000),
        ),
    ];
    let app = TestApp::spawn_with(vec![analytics::service()], &quiet).await?;
    summary_latency(&app).await?;
    pull_throughput(&app).await?;
    app.stop().await
}

async fn summary_latency(app: &TestApp) -> anyhow::Result<()> {
    let snapshots = from_env("SUMMARY_SNAPSHOTS", 1_000_000);
    let per_publication = (snapshots / PUBLICATIONS).max(1);
    let db = &app.ctx.db;
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO analytics.videos (publication_id, tenant, run_id, account_id, platform, platform_post_id, published_at,
             title, duration_ms, genre, tone, length_seconds, language, voice)
         SELECT gen_random_uuid(), 'tenant-' || (i % $1), gen_random_uuid(), gen_random_uuid(),
                (ARRAY['youtube','tiktok','instagram','facebook'])[1 + i % 4], 'post-' || i,
                now() - make_interval(hours => ((i * 7919) % (24 * 60))::int), 'title ' || i, 15000 + (i % 9) * 10000,
                (ARRAY['mystery','drama','comedy'])[1 + i % 3], (ARRAY['calm','dark','uplifting','whimsical'])[1 + (i / 3) % 4],
                15 + (i % 9) * 10, 'en', 'offline/en'
         FROM generate_series(1, $2) AS i",
    )
    .bind(TENANTS)
    .bind(PUBLICATIONS)
    .execute(db)
    .await?;
    sqlx::query(
        "INSERT INTO analytics.metric_snapshots (id, tenant, publication_id, platform, views, likes, comments, shares,
             watch_seconds, completion_rate, pull_ordinal, captured_at)
         SELECT gen_random_uuid(), v.tenant, v.publication_id, v.platform, n * 37, n * 2, n / 3, n / 5,
                CASE WHEN v.platform = 'tiktok' THEN NULL ELSE n * 40 END,
                CASE WHEN v.platform = 'tiktok' THEN NULL ELSE 0.3 + (n % 50) / 100.0 END,
                n, v.published_at + make_interval(hours => (n * 6)::int)
         FROM analytics.videos v, generate_series(1, $1) AS n",
    )
    .bind(per_publication)
    .execute(db)
    .await?;
    sqlx::query("ANALYZE analytics.videos, analytics.metric_snapshots")
        .execute(db)
        .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM analytics.metric_snapshots")
        .fetch_one(db)
        .await?;
    println!(
        "seeded {total} snapshots of {PUBLICATIONS} publications over {TENANTS} tenants in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let token = app.token(Role::Admin, "admin");
    let from = (Utc::now() - chrono::Duration::days(61)).format("%Y-%m-%dT%H:%M:%SZ");
    let groupings = analytics::summary::GROUPINGS;
    let mut latencies = Vec::new();
    for round in 0..400 {
        let tenant = format!("tenant-{}", (round * 7) % TENANTS);
        let grouping = groupings[usize::try_from(round).unwrap_or(0) % groupings.len()];
        let url = app.url(&format!(
            "/v1/analytics/summary?tenant={tenant}&group_by={grouping}&from={from}"
        ));
        let asked = Instant::now();
        let reply = app.client.get(url).bearer_auth(&token).send().await?;
        anyhow::ensure!(
            reply.status().is_success(),
            "summary answered {}",
            reply.status()
        );
        let body: serde_json::Value = reply.json().await?;
        latencies.push(asked.elapsed());
        anyhow::ensure!(
            body["rows"].as_array().is_some_and(|rows| !rows.is_empty()),
            "an empty summary: {body}"
        );
    }
    latencies.sort();
    let at = |q: f64| {
        latencies[((latencies.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
    };
    println!(
        "summary of one tenant ({} publications, {} snapshots): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} requests (goal: p95 <= 50 ms)",
        PUBLICATIONS / TENANTS,
        total / TENANTS,
        at(0.5),
        at(0.95),
        at(1.0),
        latencies.len()
    );
    sqlx::query("TRUNCATE analytics.metric_snapshots, analytics.videos CASCADE")
        .execute(db)
        .await?;
    Ok(())
}

async fn pull_throughput(app: &TestApp) -> anyhow::Result<()> {
    let pulls = from_env("PULLS", 10_000);
    let youtube = fake_youtube::start().await?;
    let fleet = fake_fleet::start().await?;
    let accounts: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
    fleet.with(|state| {
        for account in &accounts {
            state
                .tokens
                .insert(account.to_string(), fake_youtube::TOKEN.to_owned());
        }
    });
    youtube.with(|state| {
        for i in 0..pulls {
            state.videos.insert(
                format!("yt-{i}"),
                fake_youtube::Stats {
                    views: i,
                    average_percentage: 42.0,
                    ..Default::default()
                },
            );
        }
    });
    let db = &app.ctx.db;
    let published = Utc::now() - chrono::Duration::hours(2);
    sqlx::query(
        "WITH accounts AS (SELECT array_agg(a) AS ids FROM unnest($1::uuid[]) AS a),
              made AS (
                  INSERT INTO analytics.videos (publication_id, tenant, run_id, account_id, platform, platform_post_id, published_at, duration_ms)
                  SELECT gen_random_uuid(), 'bench', gen_random_uuid(), (SELECT ids[1 + i % 10] FROM accounts), 'youtube', 'yt-' || i, $3, 30000
                  FROM generate_series(0, $2 - 1) AS i RETURNING publication_id)
         INSERT INTO analytics.pulls (publication_id, ordinal, due_at) SELECT publication_id, 0, $3 FROM made",
    )
    .bind(&accounts)
    .bind(pulls)
    .bind(published)
    .execute(db)
    .await?;
    let credentials = Credentials::Token(Secret::new(app.token(Role::Service, "bench")));
    let puller = Puller {
        db: db.clone(),
        distribution: Some(Peer::new(
            &fleet.base_url,
            credentials,
            "bench",
            Duration::from_secs(5),
        )?),
        http: reqwest::Client::new(),
        config: Arc::new(AnalyticsConfig {
            youtube_analytics_url: youtube.base_url.clone(),
            youtube_reporting_url: youtube.base_url.clone(),
            ..AnalyticsConfig::default()
        }),
    };
    let started = Instant::now();
    let mut pulled = 0;
    loop {
        let round = puller.pull_once(Utc::now()).await?;
        if round == 0 {
            break;
        }
        pulled += round;
    }
    let seconds = started.elapsed().as_secs_f64();
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM analytics.metric_snapshots WHERE tenant = 'bench'",
    )
    .fetch_one(db)
    .await?;
    anyhow::ensure!(stored == pulls, "{stored} snapshots for {pulls} pulls");
    println!(
        "puller: {pulled} pulls in {seconds:.2} s = {:.0} pulls/s ({} YouTube calls, batch {} per round, 10 accounts)",
        pulled as f64 / seconds,
        youtube.received().iter().filter(|call| call.path == "/v2/reports").count(),
        puller.config.pull_batch
    );
    Ok(())
}
