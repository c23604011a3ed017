//! One analytics service per test on a fresh database and bus prefix, its peers and platforms
//! faked, and the helpers tests share: publishing a video's fact, pulling at a given instant,
//! seeding videos and snapshots, calling the API.

use std::{sync::Arc, time::Duration};

use analytics::{pulls::Puller, AnalyticsConfig};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::{
    auth::Role,
    bus::Envelope,
    config::{toml_value::Value as Setting, Secret},
    peer::{Credentials, Peer},
    testing::TestApp,
};
use uuid::Uuid;

use super::{fake_fleet, fake_meta, fake_reporting, fake_tiktok, fake_youtube};

pub struct Harness {
    pub app: TestApp,
    pub fleet: fake_fleet::FakeFleet,
    pub youtube: fake_youtube::FakeYoutube,
    pub reporting: fake_reporting::FakeReporting,
    pub tiktok: fake_tiktok::FakeTiktok,
    pub meta: fake_meta::FakeMeta,
}

/// A video to publish: its platform, post id and the run's parameters.
pub struct Video<'a> {
    pub tenant: &'a str,
    pub platform: &'a str,
    pub post_id: &'a str,
    pub params: Value,
    pub duration_ms: i64,
    pub published_at: DateTime<Utc>,
}

impl Harness {
    pub async fn spawn() -> anyhow::Result<Harness> {
        let fleet = fake_fleet::start().await?;
        let youtube = fake_youtube::start().await?;
        let reporting = fake_reporting::start().await?;
        let tiktok = fake_tiktok::start().await?;
        let meta = fake_meta::start().await?;
        let settings = vec![
            (
                "services.analytics.orchestrator.url",
                Setting::from(fleet.base_url.clone()),
            ),
            (
                "services.analytics.distribution.url",
                Setting::from(fleet.base_url.clone()),
            ),
            (
                "services.analytics.billing.url",
                Setting::from(fleet.base_url.clone()),
            ),
            // Tests drive pulls and learning passes themselves, with an injected clock.
            (
                "services.analytics.pull_interval_ms",
                Setting::from(3_600_000),
            ),
            (
                "services.analytics.learn_interval_ms",
                Setting::from(3_600_000),
            ),
        ];
        let app = TestApp::spawn_with(vec![analytics::service()], &settings).await?;
        Ok(Harness {
            app,
            fleet,
            youtube,
            reporting,
            tiktok,
            meta,
        })
    }

    /// The configuration the service runs with, pointed at the fake platforms.
    pub fn config(&self) -> AnalyticsConfig {
        AnalyticsConfig {
            youtube_analytics_url: self.youtube.base_url.clone(),
            youtube_reporting_url: self.reporting.base_url.clone(),
            tiktok_url: self.tiktok.base_url.clone(),
            graph_url: self.meta.base_url.clone(),
            retry_base_secs: 60,
            ..AnalyticsConfig::default()
        }
    }

    /// A puller like the service's, whose clock the test sets per round.
    pub fn puller(&self) -> anyhow::Result<Puller> {
        let credentials = Credentials::Token(Secret::new(self.app.token(Role::Service, "default")));
        Ok(Puller {
            db: self.app.ctx.db.clone(),
            distribution: Some(Peer::new(
                &self.fleet.base_url,
                credentials,
                "analytics-test",
                Duration::from_secs(5),
            )?),
            http: reqwest::Client::new(),
            config: Arc::new(self.config()),
        })
    }

    /// Registers the run and account with the fake fleet, sends `publication.published` over the
    /// bus, and waits until analytics tracks the video; returns `(publication id, run id)`.
    pub async fn publish(&self, video: Video<'_>) -> anyhow::Result<(Uuid, Uuid)> {
        let (publication_id, run_id, account_id) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let token = match video.platform {
            "youtube" => fake_youtube::TOKEN,
            "tiktok" => fake_tiktok::TOKEN,
            _ => fake_meta::TOKEN,
        };
        self.fleet.with(|state| {
            state.manifests.insert(
                run_id.to_string(),
                manifest(video.tenant, run_id, &video.params, video.duration_ms),
            );
            state
                .tokens
                .insert(account_id.to_string(), token.to_owned());
        });
        let body = json!({
            "publication_id": publication_id, "account_id": account_id, "platform": video.platform,
            "platform_post_id": video.post_id, "attempt": 1, "published_at": video.published_at,
        });
        self.send(Envelope::new("publication.published", Some(run_id), body))
            .await?;
        self.wait_tracked(publication_id).await?;
        Ok((publication_id, run_id))
    }

    pub async fn send(&self, envelope: Envelope) -> anyhow::Result<()> {
        self.app
            .ctx
            .bus
            .publish(shared::jobs::EVENTS, &envelope)
            .await?;
        Ok(())
    }

    pub async fn wait_tracked(&self, publication_id: Uuid) -> anyhow::Result<()> {
        for _ in 0..200 {
            let tracked: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM analytics.videos WHERE publication_id = $1",
            )
            .bind(publication_id)
            .fetch_one(&self.app.ctx.db)
            .await?;
            if tracked == 1 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::bail!("publication {publication_id} was never tracked")
    }

    pub async fn get(&self, path: &str, role: Role, tenant: &str) -> anyhow::Result<(u16, Value)> {
        let reply = self
            .app
            .client
            .get(self.app.url(path))
            .bearer_auth(self.app.token(role, tenant))
            .send()
            .await?;
        let status = reply.status().as_u16();
        Ok((status, reply.json().await.unwrap_or(Value::Null)))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        role: Role,
        tenant: &str,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        let reply = self
            .app
            .client
            .request(method, self.app.url(path))
            .bearer_auth(self.app.token(role, tenant))
            .json(body)
            .send()
            .await?;
        let status = reply.status().as_u16();
        Ok((status, reply.json().await.unwrap_or(Value::Null)))
    }
}

/// A manifest as the orchestrator serves it, with what attribution reads.
pub fn manifest(tenant: &str, run_id: Uuid, params: &Value, duration_ms: i64) -> Value {
    json!({
        "run": { "id": run_id, "tenant": tenant, "topic": params["topic"], "params": params, "state": "published" },
        "story": { "title": format!("Title of {run_id}") },
        "narration": { "voice": "offline/en" },
        "outputs": { "outputs": [{ "format": "9:16", "duration_ms": duration_ms }] },
    })
}

/// A snapshot to seed: `(captured_at, views, likes, comments, shares, watch_seconds, completion)`.
pub type Point = (DateTime<Utc>, i64, i64, i64, i64, Option<i64>, Option<f64>);

/// Seeds a tracked video and its snapshots straight into the tables (for reports and learning).
pub async fn seed(
    db: &sqlx::PgPool,
    video: &Video<'_>,
    run_id: Uuid,
    points: &[Point],
) -> anyhow::Result<Uuid> {
    let publication_id = Uuid::now_v7();
    let params = &video.params;
    sqlx::query(
        "INSERT INTO analytics.videos (publication_id, tenant, run_id, account_id, platform, platform_post_id, published_at, title,
             duration_ms, genre, tone, length_seconds, language, voice, config_version, experiment_id, arm, params)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'offline/en', NULL,
                 ($14->'recommendation'->>'experiment_id')::uuid, $14->'recommendation'->>'arm', $14)",
    )
    .bind(publication_id)
    .bind(video.tenant)
    .bind(run_id)
    .bind(Uuid::now_v7())
    .bind(video.platform)
    .bind(video.post_id)
    .bind(video.published_at)
    .bind(params["title"].as_str().unwrap_or("a title"))
    .bind(video.duration_ms)
    .bind(params["genre"].as_str())
    .bind(params["tone"].as_str())
    .bind(params["length_seconds"].as_i64().map(|n| n as i32))
    .bind(params["language"].as_str())
    .bind(params)
    .execute(db)
    .await?;
    for (ordinal, (at, views, likes, comments, shares, watch, completion)) in
        points.iter().enumerate()
    {
        sqlx::query(
            "INSERT INTO analytics.metric_snapshots (id, tenant, publication_id, platform, views, likes, comments, shares,
                 watch_seconds, completion_rate, run_id, pull_ordinal, captured_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(Uuid::now_v7())
        .bind(video.tenant)
        .bind(publication_id)
        .bind(video.platform)
        .bind(views)
        .bind(likes)
        .bind(comments)
        .bind(shares)
        .bind(watch)
        .bind(completion)
        .bind(run_id)
        .bind(ordinal as i16)
        .bind(at)
        .execute(db)
        .await?;
    }
    Ok(publication_id)
}
