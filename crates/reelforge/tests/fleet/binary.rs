//! The `reelforge` binary: configuration errors, tokens, `serve --only`, and SIGTERM draining.

use std::{
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

use base64::Engine as _;
use shared::testing::{redis_url, server_url};

const BIN: &str = env!("CARGO_BIN_EXE_reelforge");

/// A `reelforge` command isolated from the developer's environment: fresh database, prefix and data dir.
struct Sandbox {
    dir: tempfile::TempDir,
    database_url: String,
    prefix: String,
}

impl Sandbox {
    fn new() -> anyhow::Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Ok(Self {
            dir: tempfile::tempdir()?,
            database_url: format!("{}/reelforge_test_{id}", server_url()),
            prefix: format!("test-{id}"),
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.database_url)
            .env("REDIS_URL", redis_url())
            .env("REELFORGE_BUS__PREFIX", &self.prefix)
            .env("REELFORGE_DATA_DIR", self.dir.path().join("data"))
            // These tests poll runs quickly; rate limits have tests of their own.
            .env("REELFORGE_RATE_LIMIT__ENABLED", "false");
        command
    }

    /// A token signed by `reelforge token` with this sandbox's dev key.
    fn token(&self, role: &str) -> anyhow::Result<String> {
        let output = self.run(
            &[
                "token",
                "--role",
                role,
                "--subject",
                "tester",
                "--tenant",
                "acme",
            ],
            &[],
        )?;
        anyhow::ensure!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        Ok(command.output()?)
    }
}

/// A served process killed on drop if a test fails midway.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fake OpenTelemetry collector: records the request line of every OTLP/HTTP export.
async fn fake_collector() -> anyhow::Result<(String, std::sync::Arc<std::sync::Mutex<Vec<String>>>)>
{
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0_u8; 64 * 1024];
                let read = socket.read(&mut buffer).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buffer[..read]);
                if let (Some(line), Ok(mut seen)) = (head.lines().next(), record.lock()) {
                    seen.push(line.to_owned());
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    Ok((endpoint, seen))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/health/ready")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{base} never became ready")
}

#[tokio::test]
async fn rate_limits_hold_across_two_serving_processes_and_follow_plan_changes(
) -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let mut bases = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let mut command =
            sandbox.command(&["serve", "--only", "billing,story", "--listen", &listen]);
        command
            .env("REELFORGE_RATE_LIMIT__ENABLED", "true")
            // Exactness across processes is the point here, not the local fallback a slow Redis
            // answer would trigger on a loaded test machine.
            .env("REELFORGE_RATE_LIMIT__REDIS_TIMEOUT_MS", "5000")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        servers.push(Server(command.spawn()?));
        let base = format!("http://127.0.0.1:{port}");
        wait_ready(&base).await?;
        bases.push(base);
    }
    let viewer = sandbox.token("viewer")?;
    let client = reqwest::Client::new();
    // The starter plan allows 50 reads a minute; 120 arrive at once, split over both processes.
    let requests = (0..120).map(|i| {
        let request = client
            .get(format!("{}/v1/stories", bases[i % 2]))
            .bearer_auth(&viewer);
        async move {
            let response = request.send().await?;
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            anyhow::Ok((response.status().as_u16(), retry_after))
        }
    });
    let results = futures::future::try_join_all(requests).await?;
    let passed = results.iter().filter(|(status, _)| *status == 200).count();
    let limited: Vec<Option<u64>> = results
        .iter()
        .filter(|(status, _)| *status == 429)
        .map(|(_, retry)| *retry)
        .collect();
    for base in &bases {
        let metrics = client
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        assert!(
            !metrics.contains("source=\"local\""),
            "every decision came from Redis: {metrics}"
        );
    }
    assert_eq!((passed, limited.len()), (50, 70), "{results:?}");
    assert!(limited
        .iter()
        .all(|r| r.is_some_and(|s| (1..=60).contains(&s))));

    // An upgrade through one process applies to the next request on the other.
    let admin = sandbox.token("admin")?;
    let upgraded = client
        .put(format!("{}/v1/billing/tenants/acme/plan", bases[1]))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "plan": "business" }))
        .send()
        .await?;
    assert_eq!(upgraded.status().as_u16(), 200);
    let after = client
        .get(format!("{}/v1/stories", bases[0]))
        .bearer_auth(&viewer)
        .send()
        .await?;
    assert_eq!(after.status().as_u16(), 200);
    assert_eq!(
        after
            .headers()
            .get("ratelimit-limit")
            .and_then(|v| v.to_str().ok()),
        Some("500")
    );
    drop(servers);
    Ok(())
}

#[test]
fn a_bad_setting_is_refused_with_the_key_named() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let output = sandbox.run(&["serve"], &[("REELFORGE_BUS__MAX_DELIVERIES", "many")])?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`bus.max_deliveries`"), "{stderr}");
    Ok(())
}

/// Token lifetimes are humantime durations; an absurd one is refused, not overflowed.
#[test]
fn token_lifetimes_read_like_durations_and_overflow_is_refused() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let token = |ttl: &str| {
        sandbox.run(
            &["token", "--role", "viewer", "--subject", "t", "--ttl", ttl],
            &[],
        )
    };
    let output = token("1h 30m")?;
    assert!(output.status.success(), "{output:?}");
    let jwt = String::from_utf8(output.stdout)?;
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?)?;
    let lifetime = claims["exp"].as_u64().unwrap_or(0) - claims["iat"].as_u64().unwrap_or(0);
    assert_eq!(lifetime, 5_400);
    for absurd in ["99999999999999999999d", "400d", "0s", "soon"] {
        let output = token(absurd)?;
        assert!(!output.status.success(), "{absurd} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(absurd) && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
    Ok(())
}

#[test]
fn production_mode_refuses_to_start_without_a_key() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let output = sandbox.run(&["serve"], &[("REELFORGE_MODE", "production")])?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no JWT key configured"), "{stderr}");
    Ok(())
}

#[tokio::test]
async fn serve_only_runs_the_named_services_and_sigterm_exits_cleanly() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let mut command = sandbox.command(&["serve", "--only", "video,tts", "--listen", &listen]);
    let (collector, exports) = fake_collector().await?;
    command.env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector);
    let server = Server(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?,
    );
    wait_ready(&base).await?;

    let token = sandbox.token("viewer")?;
    let client = reqwest::Client::new();
    let videos = client
        .get(format!("{base}/v1/videos"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(
        videos.status().as_u16(),
        200,
        "the token command signs with the server's dev key"
    );
    let speech = client
        .get(format!("{base}/v1/speech"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(speech.status().as_u16(), 200);
    let runs = client
        .get(format!("{base}/v1/runs"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(
        runs.status().as_u16(),
        404,
        "the orchestrator is not part of this process"
    );

    let pid = server.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()?
        .success());
    let mut server = server;
    let status = tokio::task::spawn_blocking(move || {
        let status = server.0.wait();
        (status, server)
    })
    .await?;
    let (status, mut server) = status;
    assert!(status?.success(), "SIGTERM leads to a clean exit");
    let mut logs = String::new();
    if let Some(mut stdout) = server.0.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut logs)?;
    }
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(lines.iter().any(|l| l["message"] == "stopped"), "{logs}");
    let request_line = lines.iter().find(|l| l["span"]["path"] == "/v1/videos");
    assert!(
        request_line.is_some_and(|l| l["span"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())),
        "request logs carry the request id: {logs}"
    );
    let exported = exports.lock().map(|e| e.clone()).unwrap_or_default();
    assert!(
        exported
            .iter()
            .any(|line| line.starts_with("POST /v1/traces")),
        "spans are exported over OTLP/HTTP: {exported:?}"
    );
    Ok(())
}

#[test]
fn migrate_creates_the_database_and_applies_every_schema() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let output = sandbox.run(&["migrate"], &[])?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again = sandbox.run(&["migrate"], &[])?;
    assert!(again.status.success(), "migrating twice is harmless");
    Ok(())
}

/// Polls a run through the HTTP API of whichever process is up.
async fn run_state(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
) -> anyhow::Result<serde_json::Value> {
    Ok(client
        .get(format!("{base}/v1/runs/{id}"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?)
}

#[tokio::test]
async fn a_worker_killed_mid_render_is_replaced_and_the_run_completes_exactly_once(
) -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let reclaim = [("REELFORGE_BUS__RECLAIM_IDLE_MS", "3000")];
    let first_port = free_port()?;
    let first_base = format!("http://127.0.0.1:{first_port}");
    let mut command = sandbox.command(&["serve", "--listen", &format!("127.0.0.1:{first_port}")]);
    let mut first = Server(
        command
            .envs(reclaim)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    wait_ready(&first_base).await?;
    let token = sandbox.token("operator")?;
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("{first_base}/v1/runs"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "topic": "a night train to nowhere", "length_seconds": 12, "seed": 3 }))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();

    // Kill the whole process while the video step is in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let run = run_state(&client, &first_base, &token, &id).await?;
        let video = run["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == "video").cloned())
            .unwrap_or_default();
        if video["state"] == "running" {
            break;
        }
        anyhow::ensure!(
            run["state"] != "failed" && tokio::time::Instant::now() < deadline,
            "video never started: {run}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.0.kill()?;
    first.0.wait()?;

    let second_port = free_port()?;
    let second_base = format!("http://127.0.0.1:{second_port}");
    let mut command = sandbox.command(&["serve", "--listen", &format!("127.0.0.1:{second_port}")]);
    let _second = Server(
        command
            .envs(reclaim)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    wait_ready(&second_base).await?;
    let run = loop {
        let run = run_state(&client, &second_base, &token, &id).await?;
        if run["state"] == "succeeded" || run["state"] == "failed" {
            break run;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline + Duration::from_secs(300),
            "run never finished: {run}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(run["state"], "succeeded", "{run}");
    let video = run["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "video").cloned())
        .unwrap_or_default();
    assert_eq!(
        video["attempts"], 1,
        "the reclaimed job finished the same attempt: {run}"
    );

    let pool = sqlx::PgPool::connect(&sandbox.database_url).await?;
    let renders: Vec<(String, i64)> = sqlx::query_as("SELECT format, count(*) FROM video.renders WHERE run_id = $1::uuid GROUP BY format ORDER BY format")
        .bind(&id)
        .fetch_all(&pool)
        .await?;
    assert_eq!(
        renders,
        vec![
            ("16:9".to_owned(), 1),
            ("1:1".to_owned(), 1),
            ("9:16".to_owned(), 1)
        ],
        "one render per format"
    );
    let completions: i64 = sqlx::query_scalar("SELECT count(*) FROM fleet.outbox WHERE envelope->>'kind' = 'video.completed' AND envelope->>'run_id' = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await?;
    assert_eq!(completions, 1, "the run completed exactly once");
    let stories: i64 =
        sqlx::query_scalar("SELECT count(*) FROM story.stories WHERE run_id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await?;
    assert_eq!(stories, 1, "no duplicate assets");
    Ok(())
}

#[test]
fn make_writes_every_file_of_a_run() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let out = sandbox.dir.path().join("out");
    let out_arg = out.display().to_string();
    // Nothing listens on port 1, so `make` starts the fleet in-process, as on a fresh machine.
    let output = sandbox.run(
        &[
            "make",
            "a quiet harbour at dawn",
            "--length",
            "10",
            "--formats",
            "1:1",
            "--seed",
            "9",
            "--out",
            &out_arg,
        ],
        &[("REELFORGE_LISTEN", "127.0.0.1:1")],
    )?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8(output.stdout)?;
    for name in [
        "video-1x1.mp4",
        "captions.srt",
        "captions.vtt",
        "thumbnail-1280x720.jpg",
        "thumbnail-1080x1920.jpg",
        "metadata.json",
    ] {
        let path = out.join(name);
        assert!(
            path.metadata().map(|m| m.len() > 0).unwrap_or(false),
            "{name} was written"
        );
        assert!(
            printed.contains(&path.display().to_string()),
            "{name} is listed: {printed}"
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metadata.json"))?)?;
    assert!(metadata["story"]["title"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(metadata["run"]["params"]["seed"], 9);
    assert!(metadata["story"]["metadata"]["youtube"]["hashtags"]
        .as_array()
        .is_some_and(|h| !h.is_empty()));
    Ok(())
}

#[tokio::test]
async fn ctrl_c_during_make_cancels_the_run() -> anyhow::Result<()> {
    use std::io::BufRead as _;
    let sandbox = Sandbox::new()?;
    let out = sandbox.dir.path().join("out").display().to_string();
    let mut command = sandbox.command(&["make", "a long voyage", "--length", "120", "--out", &out]);
    let mut child = Server(
        command
            .env("REELFORGE_LISTEN", "127.0.0.1:1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()?,
    );
    let stderr = child
        .0
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let (lines, receiver) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let run_line = loop {
        let line = receiver.recv_timeout(Duration::from_secs(60))?;
        if line.starts_with("run ") {
            break line;
        }
    };
    let id = run_line
        .trim_start_matches("run ")
        .split(':')
        .next()
        .unwrap_or("")
        .to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()?
        .success());
    let status = tokio::task::spawn_blocking(move || child.0.wait().map(|s| (s, child)))
        .await??
        .0;
    assert!(!status.success(), "an interrupted make reports failure");
    let rest: Vec<String> = receiver.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("cancelled run")), "{rest:?}");
    let pool = sqlx::PgPool::connect(&sandbox.database_url).await?;
    let state: String =
        sqlx::query_scalar("SELECT state FROM orchestrator.runs WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await?;
    assert_eq!(state, "cancelled");
    Ok(())
}

#[tokio::test]
async fn with_an_openai_compatible_server_configured_the_run_uses_its_story_and_prices_it(
) -> anyhow::Result<()> {
    use wiremock::{
        matchers::{method, path},
        Mock, MockServer, ResponseTemplate,
    };
    let request = story::generator::StoryRequest {
        topic: "a quiet harbour at dawn".into(),
        genre: "drama".into(),
        tone: "calm".into(),
        length_seconds: 10,
        language: "en".into(),
        seed: 4,
    };
    let mut script = story::generator::generate(&request);
    script.title = "Written by the fake model".into();
    let server = MockServer::start().await;
    let reply = serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": serde_json::to_string(&script)? }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 120, "completion_tokens": 380, "total_tokens": 500 }
    });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .expect(1)
        .mount(&server)
        .await;

    let sandbox = Sandbox::new()?;
    let out = sandbox.dir.path().join("out");
    let out_arg = out.display().to_string();
    let base_url = format!("{}/v1", server.uri());
    let args = [
        "make",
        "a quiet harbour at dawn",
        "--genre",
        "drama",
        "--tone",
        "calm",
        "--length",
        "10",
        "--formats",
        "1:1",
        "--seed",
        "4",
        "--out",
        &out_arg,
    ];
    let env = [
        ("REELFORGE_LISTEN", "127.0.0.1:1"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", base_url.as_str()),
    ];
    let output = tokio::task::spawn_blocking({
        let mut command = sandbox.command(&args);
        command.envs(env);
        move || command.output()
    })
    .await??;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metadata.json"))?)?;
    assert_eq!(metadata["story"]["title"], "Written by the fake model");
    let story_step = metadata["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "story").cloned())
        .unwrap_or_default();
    // 120 input tokens × $0.15/M + 380 output tokens × $0.60/M = 18 + 228 micro-dollars.
    assert_eq!(story_step["cost_micros"], 246, "{story_step}");
    assert_eq!(metadata["total_cost_micros"], 246);

    // Usage goes to the `usage` stream; speech, images and moderation also tried OpenAI (its key is
    // set) and were refused by the fake server, which only speaks chat completions.
    let key = format!("{{{}:usage}}", sandbox.prefix);
    let mut conn = redis::Client::open(redis_url())?
        .get_multiplexed_async_connection()
        .await?;
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(&key)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await?;
    let usage: Vec<serde_json::Value> = entries
        .ids
        .iter()
        .filter_map(|entry| entry.get::<String>("envelope"))
        .filter_map(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .map(|envelope| envelope["body"].clone())
        .filter(|body| body["capability"] == "text")
        .collect();
    assert_eq!(usage.len(), 1, "one usage entry per text call: {usage:?}");
    assert_eq!(usage[0]["provider"], "openai");
    assert_eq!(usage[0]["outcome"], "ok");
    assert_eq!(usage[0]["units"]["output_tokens"], 380);
    assert_eq!(usage[0]["cost_micros"], 246);
    // The in-process fleet serves billing, so each paid call reserved its estimate first: the story
    // call settled at its exact cost, the refused ones gave their estimate back.
    let pool = sqlx::PgPool::connect(&sandbox.database_url).await?;
    let settled: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT state, actual_micros FROM billing.reservations WHERE provider = 'openai' AND state = 'settled'",
    )
    .fetch_all(&pool)
    .await?;
    assert_eq!(settled, vec![("settled".to_owned(), Some(246))]);
    let held: i64 =
        sqlx::query_scalar("SELECT count(*) FROM billing.reservations WHERE state = 'held'")
            .fetch_one(&pool)
            .await?;
    assert_eq!(held, 0, "no reservation is left holding budget");

    // With the server down (nothing listens at its address; the cached reply out of the way),
    // the same command still makes the video: the offline writer answers.
    let again = sandbox.dir.path().join("again");
    let again_arg = again.display().to_string();
    let mut args = args;
    args[args.len() - 1] = &again_arg;
    let env = [
        ("REELFORGE_LISTEN", "127.0.0.1:1"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:1/v1"),
    ];
    let output = tokio::task::spawn_blocking({
        let mut command = sandbox.command(&args);
        command
            .envs(env)
            .env("REELFORGE_PROVIDERS__MAX_ATTEMPTS", "1")
            .env("REELFORGE_PROVIDERS__CACHE_TTL_SECS", "0");
        move || command.output()
    })
    .await??;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&std::fs::read(again.join("metadata.json"))?)?;
    assert_ne!(metadata["story"]["title"], "Written by the fake model");
    assert!(metadata["story"]["title"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(
        metadata["total_cost_micros"], 0,
        "the offline providers are free"
    );
    Ok(())
}

/// With every provider key (and the JWT secret) set to a marker, a whole run's output and log
/// never show a marker, although every paid provider is tried and fails (no network here).
#[test]
fn secrets_never_reach_the_logs_of_a_run() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let out = sandbox.dir.path().join("out");
    let out_arg = out.display().to_string();
    let keys = [
        "ANTHROPIC_API_KEY",
        "AZURE_SPEECH_KEY",
        "ELEVENLABS_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GROQ_API_KEY",
        "HF_TOKEN",
        "MISTRAL_API_KEY",
        "OPENAI_API_KEY",
        "REPLICATE_API_TOKEN",
        "SPEECH_KEY",
        "STABILITY_API_KEY",
        "TOGETHER_API_KEY",
    ];
    let markers: Vec<(String, String)> = keys
        .iter()
        .map(|key| (key.to_string(), format!("sk-marker-{}", key.to_lowercase())))
        .collect();
    let jwt_marker = "jwt-marker-0123456789abcdef0123456789abcdef";
    let mut env: Vec<(&str, &str)> = markers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    env.extend([
        ("AZURE_SPEECH_REGION", "westeurope"),
        ("REELFORGE_LISTEN", "127.0.0.1:1"),
        ("REELFORGE_JWT_SECRET", jwt_marker),
        ("RUST_LOG", "debug"),
        // Unreachable hosts fail fast: the paid providers are tried, fail and fall back offline.
        ("REELFORGE_PROVIDERS__BACKOFF_BASE_MS", "5"),
    ]);
    let output = sandbox.run(
        &[
            "make",
            "a quiet harbour at dawn",
            "--length",
            "10",
            "--formats",
            "1:1",
            "--seed",
            "3",
            "--out",
            &out_arg,
        ],
        &env,
    )?;
    let log = std::fs::read_to_string(sandbox.dir.path().join("data/reelforge.log"))?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        log.contains("provider call failed"),
        "the paid providers were tried"
    );
    let everything = format!(
        "{}{}{log}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for (key, marker) in &markers {
        assert!(!everything.contains(marker.as_str()), "{key} leaked");
    }
    assert!(!everything.contains(jwt_marker), "the JWT secret leaked");
    Ok(())
}

/// A fingerprint of everything a backup must bring back: runs, steps, facts, ledger rows and
/// the bytes of every media file.
async fn fingerprint(database_url: &str, media: &std::path::Path) -> anyhow::Result<Vec<String>> {
    use sha2::Digest as _;
    let pool = sqlx::PgPool::connect(database_url).await?;
    let mut lines = Vec::new();
    for query in [
        "SELECT id::text || state || params::text FROM orchestrator.runs ORDER BY id",
        "SELECT run_id::text || name || state || attempts FROM orchestrator.steps ORDER BY run_id, name",
        "SELECT run_id::text || kind || part || body::text FROM orchestrator.facts ORDER BY run_id, kind, part",
        "SELECT usage_id::text || cost_micros || provider FROM billing.ledger ORDER BY usage_id",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(query).fetch_all(&pool).await?;
        lines.extend(rows);
    }
    pool.close().await;
    let mut files = Vec::new();
    let mut pending = vec![media.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let digest = hex::encode(sha2::Sha256::digest(std::fs::read(&path)?));
                files.push(format!("{} {digest}", path.strip_prefix(media)?.display()));
            }
        }
    }
    files.sort();
    lines.extend(files);
    Ok(lines)
}

/// The drill: make a video, back up, wipe the database and the media store, restore, and find
/// every run, step, fact, ledger row and media file identical.
#[tokio::test]
async fn backup_wipe_and_restore_bring_back_every_run_row_and_file() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let out = sandbox.dir.path().join("out").display().to_string();
    let made = sandbox.run(
        &[
            "make",
            "a lantern in the fog",
            "--length",
            "10",
            "--formats",
            "1:1",
            "--seed",
            "5",
            "--out",
            &out,
        ],
        &[("REELFORGE_LISTEN", "127.0.0.1:1")],
    )?;
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let media = sandbox.dir.path().join("data/media");
    let before = fingerprint(&sandbox.database_url, &media).await?;
    assert!(
        before.iter().filter(|l| l.contains(".mp4 ")).count() == 1,
        "{before:?}"
    );

    let backup_dir = sandbox.dir.path().join("backup").display().to_string();
    let backed_up = sandbox.run(&["backup", "--out", &backup_dir], &[])?;
    assert!(
        backed_up.status.success(),
        "{}",
        String::from_utf8_lossy(&backed_up.stderr)
    );
    // Disaster: the database and the media store are gone.
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", server_url())).await?;
    let name = sandbox.database_url.rsplit('/').next().unwrap_or_default();
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&admin)
        .await?;
    std::fs::remove_dir_all(&media)?;

    let restored = sandbox.run(&["restore", "--from", &backup_dir], &[])?;
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_eq!(fingerprint(&sandbox.database_url, &media).await?, before);
    // A second restore over a populated database is refused without --replace.
    let again = sandbox.run(&["restore", "--from", &backup_dir], &[])?;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));
    admin.close().await;
    Ok(())
}

/// The defect as a new user met it: two `make` runs one after the other, each on a new database,
/// sharing one Redis prefix. The second used to wait forever (its jobs were skipped as already
/// published, since a new database numbers its outbox rows from 1 again).
#[test]
fn two_makes_on_fresh_databases_and_one_redis_prefix_both_finish() -> anyhow::Result<()> {
    let shared_prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    for (n, topic) in ["a first harbour", "a second harbour"].iter().enumerate() {
        let sandbox = Sandbox::new()?;
        let out = sandbox.dir.path().join("out").display().to_string();
        let started = std::time::Instant::now();
        let made = sandbox.run(
            &[
                "make",
                topic,
                "--length",
                "10",
                "--formats",
                "1:1",
                "--seed",
                "4",
                "--out",
                &out,
            ],
            &[
                ("REELFORGE_LISTEN", "127.0.0.1:1"),
                ("REELFORGE_BUS__PREFIX", shared_prefix.as_str()),
                // A lost job would wait out this deadline; fail fast instead of hanging.
                ("REELFORGE_SERVICES__ORCHESTRATOR__MAX_ATTEMPTS", "1"),
                (
                    "REELFORGE_SERVICES__ORCHESTRATOR__TIMEOUTS_SECS__STORY",
                    "30",
                ),
            ],
        )?;
        assert!(
            made.status.success(),
            "make #{} failed after {:?}: {}",
            n + 1,
            started.elapsed(),
            String::from_utf8_lossy(&made.stderr)
        );
    }
    Ok(())
}
