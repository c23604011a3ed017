//! Upload throughput and memory: the release `reelforge-distribution` binary publishes a 1 GiB file
//! to a local fake YouTube (resumable upload in 8 MiB chunks), and `curl --upload-file` sends the
//! same file to the same fake in the same run. Prints MB/s of both, their ratio, and the
//! publisher's resident memory before the upload and at its peak.
//! Run: `cargo bench -p distribution --bench upload` (Postgres at 127.0.0.1:5432, Redis at
//! 127.0.0.1:6379, curl on the PATH). `UPLOAD_MIB=256` makes the file smaller.

use std::{
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Json, Router,
};
use futures::StreamExt as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use shared::{
    auth::{Role, TokenSigner},
    secrets::Keyring,
    storage::{LocalStore, MediaKey},
};
use tokio::io::AsyncWriteExt as _;

const SECRETS_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A fake YouTube that counts bytes instead of keeping them.
#[derive(Clone, Default)]
struct Counter {
    received: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    base_url: String,
}

async fn start_session(State(fake): State<Counter>, headers: HeaderMap) -> Response {
    let total = headers
        .get("x-upload-content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    fake.total.store(total, Ordering::SeqCst);
    fake.received.store(0, Ordering::SeqCst);
    let location = format!("{}/upload/youtube/v3/videos?upload_id=bench", fake.base_url);
    (StatusCode::OK, [("location", location)]).into_response()
}

async fn chunk(State(fake): State<Counter>, body: Body) -> Response {
    let mut stream = body.into_data_stream();
    while let Some(Ok(piece)) = stream.next().await {
        fake.received
            .fetch_add(piece.len() as u64, Ordering::SeqCst);
    }
    let (received, total) = (
        fake.received.load(Ordering::SeqCst),
        fake.total.load(Ordering::SeqCst),
    );
    if received >= total && total > 0 {
        return (
            StatusCode::CREATED,
            Json(json!({ "id": "bench-video", "status": { "uploadStatus": "uploaded" } })),
        )
            .into_response();
    }
    let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
    if received > 0 {
        if let Ok(range) = format!("bytes=0-{}", received - 1).parse() {
            response.headers_mut().insert("range", range);
        }
    }
    response
}

async fn status() -> Json<Value> {
    Json(json!({ "items": [{ "id": "bench-video", "status": { "uploadStatus": "processed" } }] }))
}

/// `curl --upload-file` lands here: the body is drained and counted.
async fn raw(State(fake): State<Counter>, body: Body) -> StatusCode {
    let mut stream = body.into_data_stream();
    while let Some(Ok(piece)) = stream.next().await {
        fake.received
            .fetch_add(piece.len() as u64, Ordering::SeqCst);
    }
    StatusCode::OK
}

async fn manifest(State(manifest): State<Arc<Value>>) -> Json<Value> {
    Json((*manifest).clone())
}

/// Writes `mib` MiB of pseudo-random bytes into the store, returning its key.
async fn write_video(store: &LocalStore, mib: u64) -> anyhow::Result<MediaKey> {
    let scratch = tempfile::NamedTempFile::new()?;
    let mut file = tokio::fs::File::create(scratch.path()).await?;
    let mut hasher = Sha256::new();
    let mut piece = vec![0_u8; 1 << 20];
    for index in 0..mib {
        for (i, byte) in piece.iter_mut().enumerate() {
            *byte = (index as usize)
                .wrapping_mul(31)
                .wrapping_add(i.wrapping_mul(2_654_435_761)) as u8;
        }
        hasher.update(&piece);
        file.write_all(&piece).await?;
    }
    file.flush().await?;
    let key = MediaKey::parse(&format!("{}.mp4", hex::encode(hasher.finalize())))?;
    let path = store.path_of(&key);
    tokio::fs::create_dir_all(path.parent().ok_or_else(|| anyhow::anyhow!("no parent"))?).await?;
    tokio::fs::copy(scratch.path(), &path).await?;
    Ok(key)
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mib: u64 = std::env::var("UPLOAD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let data = tempfile::tempdir()?;
    let store = LocalStore::new(data.path().join("media"));
    eprintln!("writing a {mib} MiB file…");
    let key = write_video(&store, mib).await?;
    let bytes = mib << 20;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let counter = Counter {
        base_url: format!("http://{}", listener.local_addr()?),
        ..Counter::default()
    };
    let youtube = Router::new()
        .route("/upload/youtube/v3/videos", post(start_session).put(chunk))
        .route("/youtube/v3/videos", get(status))
        .route("/raw", put(raw))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(counter.clone());
    tokio::spawn(async move { axum::serve(listener, youtube).await });

    let id = uuid::Uuid::new_v4().simple().to_string();
    let database = format!("postgres://postgres@127.0.0.1:5432/reelforge_bench_upload_{id}");
    let db = shared::db::connect(&database).await?;
    shared::db::migrate(&db).await?;
    let run_id = uuid::Uuid::now_v7();
    let probe = json!({"video_codec": "h264", "audio_codec": "aac"});
    let run_manifest = Arc::new(json!({
        "run": {"id": run_id, "tenant": "bench"}, "steps": [{"name": "moderation", "state": "succeeded"}],
        "story": {"title": "Bench", "scenes": [], "metadata": {"youtube": {"title": "Bench upload", "description": "", "hashtags": []}}},
        "narration": {"voice": "offline/en"},
        "licences": [{"asset": "background music", "source": "offline", "licence": "CC0-1.0"}],
        "outputs": {"outputs": [{"format": "16:9", "width": 1920, "height": 1080, "duration_ms": 600_000, "media_key": key, "probe": probe}]},
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let orchestrator_url = format!("http://{}", listener.local_addr()?);
    let orchestrator = Router::new()
        .route("/v1/runs/{id}/manifest", get(manifest))
        .with_state(run_manifest);
    tokio::spawn(async move { axum::serve(listener, orchestrator).await });

    // The channel, connected as the OAuth callback would have stored it.
    let account = uuid::Uuid::now_v7();
    let keyring = Keyring::parse(SECRETS_KEY)?;
    let tokens = distribution::oauth::Tokens {
        access_token: "bench-token".into(),
        refresh_token: Some("bench-refresh".into()),
    };
    sqlx::query("INSERT INTO distribution.accounts (id, tenant, platform, display_name, token_ciphertext, platform_account_id, token_key_id) VALUES ($1, 'bench', 'youtube', 'Bench', $2, 'UC-bench', $3)")
        .bind(account)
        .bind(distribution::accounts::seal(&keyring, account, &tokens)?)
        .bind(keyring.sealing_key_id())
        .execute(&db)
        .await?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let secret = format!("bench-secret-{id}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_reelforge-distribution"))
        .env("DATABASE_URL", &database)
        .env("REELFORGE_BUS__PREFIX", format!("bench-{id}"))
        .env("REELFORGE_JWT_SECRET", &secret)
        .env("REELFORGE_DATA_DIR", data.path())
        .env("REELFORGE_LISTEN", format!("127.0.0.1:{port}"))
        .env("REELFORGE_RATE_LIMIT__ENABLED", "false")
        .env("REELFORGE_SECRETS_KEY", SECRETS_KEY)
        .env("REELFORGE_PLATFORMS__YOUTUBE__CLIENT_ID", "bench")
        .env("REELFORGE_PLATFORMS__YOUTUBE__CLIENT_SECRET", "bench")
        .env("REELFORGE_PLATFORMS__YOUTUBE__API_BASE", &counter.base_url)
        .env(
            "REELFORGE_PLATFORMS__YOUTUBE__UPLOAD_BASE",
            &counter.base_url,
        )
        .env(
            "REELFORGE_SERVICES__DISTRIBUTION__ORCHESTRATOR__URL",
            &orchestrator_url,
        )
        .env("REELFORGE_SERVICES__DISTRIBUTION__POLL_INTERVAL_MS", "50")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let base = format!("http://127.0.0.1:{port}");
    let ready = Instant::now();
    while !client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        anyhow::ensure!(
            ready.elapsed() < Duration::from_secs(30),
            "the publisher did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (rss_before, _) = memory_of(child.id());

    let token = TokenSigner::hs256(secret.as_bytes()).issue(
        "bench",
        Role::Operator,
        Some("bench"),
        Duration::from_secs(3600),
    )?;
    let started = Instant::now();
    let created: Value = client
        .post(format!("{base}/v1/publications"))
        .bearer_auth(&token)
        .json(&json!({"run_id": run_id, "account_id": account}))
        .send()
        .await?
        .json()
        .await?;
    let publication = created["id"].as_str().unwrap_or_default().to_owned();
    anyhow::ensure!(!publication.is_empty(), "publication refused: {created}");
    let mut peak_rss = 0;
    loop {
        let (rss, _) = memory_of(child.id());
        peak_rss = peak_rss.max(rss);
        let state: Value = client
            .get(format!("{base}/v1/publications/{publication}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        if state["state"] == "published" {
            break;
        }
        anyhow::ensure!(
            state["state"] != "failed",
            "upload failed: {}",
            state["error"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let publish_secs = started.elapsed().as_secs_f64();
    let (_, high_water) = memory_of(child.id());
    let _ = child.kill();
    let _ = child.wait();

    counter.received.store(0, Ordering::SeqCst);
    let path = store.path_of(&key);
    let curl_started = Instant::now();
    let curl = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "--upload-file"])
        .arg(&path)
        .arg(format!("{}/raw", counter.base_url))
        .status()?;
    let curl_secs = curl_started.elapsed().as_secs_f64();
    anyhow::ensure!(
        curl.success() && counter.received.load(Ordering::SeqCst) == bytes,
        "curl did not send the whole file"
    );

    let megabytes = bytes as f64 / 1e6;
    println!("file: {mib} MiB ({megabytes:.0} MB)");
    println!("reelforge publish (resumable, 8 MiB chunks, whole publication): {publish_secs:.2} s = {:.0} MB/s", megabytes / publish_secs);
    println!("curl --upload-file to the same fake:                            {curl_secs:.2} s = {:.0} MB/s", megabytes / curl_secs);
    println!(
        "ratio reelforge / curl (time): {:.2}",
        publish_secs / curl_secs
    );
    println!(
        "publisher RSS: {:.1} MiB before, {:.1} MiB peak sampled, {:.1} MiB high-water mark; growth {:.1} MiB",
        rss_before as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        high_water.max(peak_rss) as f64 / 1024.0,
        high_water.max(peak_rss).saturating_sub(rss_before) as f64 / 1024.0
    );
    db.close().await;
    let admin = shared::db::connect("postgres://postgres@127.0.0.1:5432/postgres").await?;
    sqlx::query(&format!(
        "DROP DATABASE \"reelforge_bench_upload_{id}\" WITH (FORCE)"
    ))
    .execute(&admin)
    .await?;
    Ok(())
}
