//! `make`: every file of a run, Ctrl-C cancelling it, an OpenAI-compatible story priced and its
//! offline fallback, secrets kept out of the logs, and back-to-back runs on one Redis prefix.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use shared::testing::redis_url;

use super::{Sandbox, Server};

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
