//! Publishing end to end against fake platforms speaking their documented wire formats, a fake
//! orchestrator serving run manifests, real Postgres and Redis.

mod accounts;
mod crash;
mod fake_meta;
mod fake_server;
mod fake_tiktok;
mod fake_youtube;
mod meta;
mod tiktok;
mod youtube;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::Path, http::HeaderMap, routing::get, Json, Router};
use fake_meta::FakeMeta;
use fake_tiktok::FakeTiktok;
use fake_youtube::FakeYoutube;
use serde_json::{json, Value};
use shared::{auth::Role, config::toml_value::Value as Setting, testing::TestApp};
use uuid::Uuid;

/// A fake orchestrator: serves the manifests a test registers.
#[derive(Clone, Default)]
pub struct FakeOrchestrator {
    manifests: Arc<Mutex<HashMap<Uuid, Value>>>,
    pub base_url: String,
}

impl FakeOrchestrator {
    pub async fn start() -> anyhow::Result<FakeOrchestrator> {
        let (listener, base_url) = fake_server::listen().await?;
        let fake = FakeOrchestrator {
            manifests: Arc::default(),
            base_url,
        };
        let manifests = fake.manifests.clone();
        let app = Router::new().route(
            "/v1/runs/{id}/manifest",
            get(move |Path(id): Path<Uuid>, headers: HeaderMap| {
                let manifests = manifests.clone();
                async move {
                    if !headers.contains_key("authorization") {
                        return (
                            axum::http::StatusCode::UNAUTHORIZED,
                            Json(json!({"code": "unauthorized", "detail": "no token"})),
                        );
                    }
                    match manifests.lock().ok().and_then(|m| m.get(&id).cloned()) {
                        Some(manifest) => (axum::http::StatusCode::OK, Json(manifest)),
                        None => (
                            axum::http::StatusCode::NOT_FOUND,
                            Json(json!({"code": "not_found", "detail": "no run"})),
                        ),
                    }
                }
            }),
        );
        fake_server::serve(listener, app);
        Ok(fake)
    }

    pub fn register(&self, run_id: Uuid, manifest: Value) {
        if let Ok(mut manifests) = self.manifests.lock() {
            manifests.insert(run_id, manifest);
        }
    }
}

pub const SECRETS_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The fleet's settings pointing YouTube and the orchestrator at the fakes, with fast pacing.
pub fn settings(
    youtube: &FakeYoutube,
    orchestrator: &FakeOrchestrator,
) -> Vec<(&'static str, Setting)> {
    vec![
        ("secrets_key", Setting::from(SECRETS_KEY)),
        ("platforms.youtube.client_id", Setting::from("yt-client")),
        (
            "platforms.youtube.client_secret",
            Setting::from("yt-secret"),
        ),
        (
            "platforms.youtube.oauth_base",
            Setting::from(youtube.base_url.clone()),
        ),
        (
            "platforms.youtube.api_base",
            Setting::from(youtube.base_url.clone()),
        ),
        (
            "platforms.youtube.upload_base",
            Setting::from(youtube.base_url.clone()),
        ),
        (
            "services.distribution.orchestrator.url",
            Setting::from(orchestrator.base_url.clone()),
        ),
        (
            "services.distribution.chunk_bytes",
            Setting::from(256 * 1024),
        ),
        ("services.distribution.lease_secs", Setting::from(2)),
        (
            "services.distribution.sweep_interval_ms",
            Setting::from(200),
        ),
        ("services.distribution.poll_interval_ms", Setting::from(50)),
        ("services.distribution.retry_base_ms", Setting::from(20)),
        ("services.distribution.retry_cap_ms", Setting::from(200)),
        (
            "services.distribution.quotas.youtube.uploads_per_window",
            Setting::from(1000),
        ),
    ]
}

/// Settings pointing TikTok, Instagram and Facebook at their fakes.
fn other_platforms(tiktok: &FakeTiktok, meta: &FakeMeta) -> Vec<(&'static str, Setting)> {
    let mut settings = vec![
        ("platforms.tiktok.client_id", Setting::from("tt-client")),
        ("platforms.tiktok.client_secret", Setting::from("tt-secret")),
        (
            "platforms.tiktok.oauth_base",
            Setting::from(tiktok.base_url.clone()),
        ),
        (
            "platforms.tiktok.api_base",
            Setting::from(tiktok.base_url.clone()),
        ),
        (
            "platforms.tiktok.upload_base",
            Setting::from(tiktok.base_url.clone()),
        ),
    ];
    let meta_keys = [
        (
            "platforms.instagram.client_id",
            "platforms.instagram.client_secret",
        ),
        (
            "platforms.facebook.client_id",
            "platforms.facebook.client_secret",
        ),
    ];
    for (id, secret) in meta_keys {
        settings.push((id, Setting::from("meta-app")));
        settings.push((secret, Setting::from("meta-secret")));
    }
    for key in [
        "platforms.instagram.oauth_base",
        "platforms.instagram.api_base",
        "platforms.instagram.upload_base",
        "platforms.facebook.oauth_base",
        "platforms.facebook.api_base",
        "platforms.facebook.upload_base",
    ] {
        settings.push((key, Setting::from(meta.base_url.clone())));
    }
    settings
}

/// A fleet serving distribution, with fake platforms and a fake orchestrator.
pub struct World {
    pub app: TestApp,
    pub youtube: FakeYoutube,
    pub tiktok: FakeTiktok,
    pub meta: FakeMeta,
    pub orchestrator: FakeOrchestrator,
}

impl World {
    /// Every platform configured.
    pub async fn start() -> anyhow::Result<World> {
        World::start_with(true, &[]).await
    }

    /// Only YouTube configured.
    pub async fn youtube_only() -> anyhow::Result<World> {
        World::start_with(false, &[]).await
    }

    /// Every platform configured, and `extra` settings.
    pub async fn start_with(
        every_platform: bool,
        extra: &[(&'static str, Setting)],
    ) -> anyhow::Result<World> {
        let (youtube, tiktok, meta) = (
            FakeYoutube::start().await?,
            FakeTiktok::start().await?,
            FakeMeta::start().await?,
        );
        let orchestrator = FakeOrchestrator::start().await?;
        let mut overrides = settings(&youtube, &orchestrator);
        if every_platform {
            overrides.extend(other_platforms(&tiktok, &meta));
        }
        overrides.extend(extra.iter().cloned());
        let app = TestApp::spawn_with(vec![distribution::service()], &overrides).await?;
        Ok(World {
            app,
            youtube,
            tiktok,
            meta,
            orchestrator,
        })
    }

    pub fn operator(&self) -> String {
        self.app.token(Role::Operator, "acme")
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let response = self
            .app
            .client
            .post(self.app.url(path))
            .bearer_auth(self.operator())
            .json(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .app
            .client
            .get(self.app.url(path))
            .bearer_auth(self.operator())
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Connects the fake channel through the OAuth flow; returns the account id.
    pub async fn connect_youtube(&self) -> anyhow::Result<Uuid> {
        self.connect("youtube").await
    }

    /// Connects `platform`'s fake account through the OAuth flow; returns the account id.
    pub async fn connect(&self, platform: &str) -> anyhow::Result<Uuid> {
        let (status, consent) = self
            .post(
                "/v1/accounts/connect",
                &json!({"platform": platform, "redirect_uri": "https://studio.example/callback"}),
            )
            .await?;
        anyhow::ensure!(status == 200, "connect answered {status}: {consent}");
        let state = consent["state"].as_str().unwrap_or_default();
        let response = self
            .app
            .client
            .get(self.app.url(&format!(
                "/v1/accounts/callback/{platform}?code=good-code&state={state}"
            )))
            .send()
            .await?;
        let status = response.status().as_u16();
        let connected: Value = response.json().await?;
        anyhow::ensure!(status == 200, "callback answered {status}: {connected}");
        Ok(connected["accounts"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .parse()?)
    }

    /// A finished run whose 16:9 render is `video` (stored in the media store); returns its id.
    pub async fn finished_run(
        &self,
        video: &[u8],
        edit: impl FnOnce(&mut Value),
    ) -> anyhow::Result<Uuid> {
        let store = &self.app.ctx.store;
        let landscape = store.put(video.to_vec().into(), "mp4").await?;
        let mut portrait_bytes = video.to_vec();
        portrait_bytes.extend_from_slice(b"portrait");
        let portrait = store.put(portrait_bytes.into(), "mp4").await?;
        let thumbnail = store
            .put(b"\xff\xd8\xff thumbnail".to_vec().into(), "jpg")
            .await?;
        let srt = store
            .put(
                b"1\n00:00:00,000 --> 00:00:02,000\nHello\n".to_vec().into(),
                "srt",
            )
            .await?;
        let run_id = Uuid::now_v7();
        let probe = json!({"video_codec": "h264", "audio_codec": "aac", "pixel_format": "yuv420p", "width": 1920, "height": 1080, "duration_ms": 30_000});
        let post = |platform: &str| json!({"title": format!("Kites over {platform}"), "description": "Why kites fly.", "hashtags": ["#kites", "#wind"], "caption": "Why kites fly. #kites #wind"});
        let mut manifest = json!({
            "run": {"id": run_id, "tenant": "acme", "state": "succeeded"},
            "steps": [{"name": "moderation", "state": "succeeded"}, {"name": "video", "state": "succeeded"}],
            "story": {"title": "Kites", "language": "en", "scenes": [{"narration": "a"}, {"narration": "b"}],
                      "metadata": {"youtube": post("youtube"), "tiktok": post("tiktok"), "instagram": post("instagram"), "facebook": post("facebook")}},
            "narration": {"duration_ms": 30_000, "voice": "offline/en"},
            "licences": [
                {"asset": "scene 1 image", "source": "reelforge offline procedural renderer", "licence": "CC0-1.0", "seed": 1},
                {"asset": "scene 2 image", "source": "reelforge offline procedural renderer", "licence": "CC0-1.0", "seed": 2},
                {"asset": "background music", "source": "reelforge offline procedural synthesiser", "licence": "CC0-1.0"},
            ],
            "outputs": {
                "outputs": [
                    {"format": "16:9", "width": 1920, "height": 1080, "duration_ms": 30_000, "media_key": landscape, "probe": probe},
                    {"format": "9:16", "width": 1080, "height": 1920, "duration_ms": 30_000, "media_key": portrait, "probe": probe},
                ],
                "captions": {"srt": srt},
                "thumbnails": [{"name": "thumbnail-1280x720.jpg", "width": 1280, "height": 720, "media_key": thumbnail}],
            },
        });
        edit(&mut manifest);
        self.orchestrator.register(run_id, manifest);
        Ok(run_id)
    }

    /// Publishes a new run's video to `account` (with `extra` fields in the request) and waits
    /// until the publication settles: published, failed or deferred.
    pub async fn publish_new_run(&self, account: Uuid, extra: Value) -> anyhow::Result<Value> {
        let run = self.finished_run(&video_bytes(100_000), |_| {}).await?;
        let mut body = json!({"run_id": run, "account_id": account});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let (status, publication) = self.post("/v1/publications", &body).await?;
        anyhow::ensure!(status == 201, "publish answered {status}: {publication}");
        let id = publication["id"].as_str().unwrap_or_default();
        self.until_state(id, &["published", "failed", "deferred"])
            .await
    }

    /// Waits until the publication reaches one of `states`; returns it.
    pub async fn until_state(&self, id: &str, states: &[&str]) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (_, publication) = self.get(&format!("/v1/publications/{id}")).await?;
            if states.iter().any(|s| publication["state"] == *s) {
                return Ok(publication);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "publication stuck: {publication}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `len` bytes that differ from any other call's.
pub fn video_bytes(len: usize) -> Vec<u8> {
    let seed = Uuid::new_v4();
    (0..len)
        .map(|i| seed.as_bytes()[i % 16] ^ (i / 7) as u8)
        .collect()
}
