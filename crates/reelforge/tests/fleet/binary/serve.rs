//! `serve`: rate limits shared by two processes, `--only` with SIGTERM draining and OTLP export,
//! and a worker killed mid-render whose job another process finishes.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use super::{free_port, wait_ready, Sandbox, Server};

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
