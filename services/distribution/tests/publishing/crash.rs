//! Exactly once under `kill -9`: the distribution binary is killed at a random point of each of
//! twenty publishes and started again; every publish ends with exactly one video on the platform.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use rand::Rng as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::{
    auth::{Role, TokenSigner},
    storage::{LocalStore, MediaStore as _},
    testing::{redis_url, server_url},
};
use uuid::Uuid;

use crate::{fake_youtube::FakeYoutube, settings, video_bytes, FakeOrchestrator};

/// Platform calls of one publish here: start, nine chunks, thumbnails.set, status.
const CALLS_PER_PUBLISH: usize = 12;

const BIN: &str = env!("CARGO_BIN_EXE_reelforge-distribution");

/// The distribution binary on a fixed port, configured through the environment.
struct Server {
    environment: Vec<(String, String)>,
    base_url: String,
    child: Option<Child>,
}

impl Server {
    fn start(&mut self) -> anyhow::Result<()> {
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (key, value) in &self.environment {
            command.env(key, value);
        }
        self.child = Some(
            command
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        Ok(())
    }

    fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            let killed = Command::new("kill")
                .args(["-9", &child.id().to_string()])
                .status()?;
            anyhow::ensure!(killed.success(), "kill -9 failed");
            child.wait()?;
        }
        Ok(())
    }

    async fn ready(&self, client: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client
                .get(format!("{}/health/ready", self.base_url))
                .send()
                .await
            {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::test]
async fn killing_the_publisher_at_random_points_never_posts_twice() -> anyhow::Result<()> {
    let youtube = FakeYoutube::start().await?;
    let orchestrator = FakeOrchestrator::start().await?;
    let data = tempfile::tempdir()?;
    let media = LocalStore::new(data.path().join("media"));
    let id = Uuid::new_v4().simple().to_string();
    let secret = format!("crash-test-secret-{id}");
    let port = free_port()?;
    let mut environment: Vec<(String, String)> = vec![
        (
            "DATABASE_URL".into(),
            format!("{}/reelforge_test_{id}", server_url()),
        ),
        ("REDIS_URL".into(), redis_url()),
        ("REELFORGE_BUS__PREFIX".into(), format!("test-{id}")),
        ("REELFORGE_BUS__RECLAIM_IDLE_MS".into(), "1000".into()),
        ("REELFORGE_JWT_SECRET".into(), secret.clone()),
        (
            "REELFORGE_DATA_DIR".into(),
            data.path().display().to_string(),
        ),
        ("REELFORGE_LISTEN".into(), format!("127.0.0.1:{port}")),
        ("REELFORGE_RATE_LIMIT__ENABLED".into(), "false".into()),
        (
            "REELFORGE_SERVICES__DISTRIBUTION__LEASE_SECS".into(),
            "1".into(),
        ),
    ];
    for (key, value) in settings(&youtube, &orchestrator) {
        let value = match serde_json::to_value(&value)? {
            Value::String(text) => text,
            other => other.to_string(),
        };
        if key != "services.distribution.lease_secs" {
            environment.push((
                format!("REELFORGE_{}", key.to_uppercase().replace('.', "__")),
                value,
            ));
        }
    }
    let mut server = Server {
        environment,
        base_url: format!("http://127.0.0.1:{port}"),
        child: None,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let token = TokenSigner::hs256(secret.as_bytes()).issue(
        "crash-test",
        Role::Operator,
        Some("acme"),
        Duration::from_secs(3600),
    )?;
    server.start()?;
    server.ready(&client).await?;

    // Connect the channel.
    let consent: Value = client
        .post(format!("{}/v1/accounts/connect", server.base_url))
        .bearer_auth(&token)
        .json(&json!({"platform": "youtube", "redirect_uri": "https://studio.example/cb"}))
        .send()
        .await?
        .json()
        .await?;
    let connected: Value = client
        .get(format!(
            "{}/v1/accounts/callback/youtube?code=good-code&state={}",
            server.base_url,
            consent["state"].as_str().unwrap_or_default()
        ))
        .send()
        .await?
        .json()
        .await?;
    let account = connected["accounts"][0]["id"].clone();
    youtube.delay_calls(Duration::from_millis(30));

    let mut kill_points = Vec::new();
    for round in 0..20 {
        let video = video_bytes(2 * 1024 * 1024 + round);
        let key = media.put(video.clone().into(), "mp4").await?;
        let run_id = Uuid::now_v7();
        let thumbnail = media
            .put(format!("thumbnail {round}").into_bytes().into(), "jpg")
            .await?;
        orchestrator.register(
            run_id,
            crash_manifest(run_id, &key.to_string(), &thumbnail.to_string()),
        );
        let created = client
            .post(format!("{}/v1/publications", server.base_url))
            .bearer_auth(&token)
            .json(&json!({"run_id": run_id, "account_id": account}))
            .send()
            .await?;
        anyhow::ensure!(
            created.status() == 201,
            "round {round}: {}",
            created.text().await?
        );
        let publication: Value = created.json().await?;
        let publication_id = publication["id"].as_str().unwrap_or_default().to_owned();
        let calls_at_start = youtube.calls().len();
        // Kill during the n-th platform call of this publish (each call is slowed down, so the
        // kill lands while it is in flight or just after it), cycling through every call of it:
        // the upload start, the probe, the chunks, thumbnails.set and the status polls.
        let target = round % CALLS_PER_PUBLISH + 1;
        let waited = tokio::time::Instant::now();
        while youtube.calls().len() - calls_at_start < target
            && waited.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let kill_after = Duration::from_millis(rand::rng().random_range(0..40));
        tokio::time::sleep(kill_after).await;
        let calls_before_kill = youtube.calls().len() - calls_at_start;
        server.kill()?;
        kill_points.push((kill_after.as_millis(), calls_before_kill));
        server.start()?;
        server.ready(&client).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let state: Value = client
                .get(format!(
                    "{}/v1/publications/{publication_id}",
                    server.base_url
                ))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            if state["state"] == "published" {
                break;
            }
            anyhow::ensure!(state["state"] != "failed", "round {round} failed: {state}");
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "round {round} stuck: {state}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let digest = Sha256::digest(&video);
        let copies = youtube
            .videos()
            .iter()
            .filter(|v| Sha256::digest(&v.bytes) == digest)
            .count();
        assert_eq!(
            copies, 1,
            "round {round} (killed after {kill_after:?}) made {copies} videos"
        );
    }
    assert_eq!(youtube.videos().len(), 20);
    // The kills landed at every point of a publish, after the video was made included.
    let distinct: std::collections::BTreeSet<usize> =
        kill_points.iter().map(|(_, calls)| *calls).collect();
    assert!(
        distinct.len() >= 10 && distinct.iter().any(|calls| *calls >= CALLS_PER_PUBLISH - 1),
        "kill points: {kill_points:?}"
    );
    server.kill()?;
    Ok(())
}

fn crash_manifest(run_id: Uuid, media_key: &str, thumbnail: &str) -> Value {
    let probe = json!({"video_codec": "h264", "audio_codec": "aac"});
    json!({
        "run": {"id": run_id, "tenant": "acme"},
        "steps": [{"name": "moderation", "state": "succeeded"}],
        "story": {"title": "Crash", "language": "en", "scenes": [{"narration": "a"}], "metadata": {"youtube": {"title": "Crash test", "description": "", "hashtags": []}}},
        "narration": {"voice": "offline/en"},
        "licences": [
            {"asset": "scene 1 image", "source": "offline renderer", "licence": "CC0-1.0"},
            {"asset": "background music", "source": "offline synthesiser", "licence": "CC0-1.0"},
        ],
        "outputs": {"outputs": [{"format": "16:9", "width": 1280, "height": 720, "duration_ms": 20_000, "media_key": media_key, "probe": probe}],
                    "thumbnails": [{"name": "thumbnail-1280x720.jpg", "width": 1280, "height": 720, "media_key": thumbnail}]},
    })
}
