//! The main job end to end against real Postgres, Redis, espeak-ng and FFmpeg: outputs checked with
//! ffprobe and ebur128, captions, determinism, moderation review, failure reasons, bad input.

use std::{path::Path, process::Command, time::Duration};

use serde_json::{json, Value};
use shared::{auth::Role, config::toml_value::Value as ConfigValue, testing::TestApp};

/// Submits a run as an operator of tenant `acme`; returns its id.
pub async fn submit(app: &TestApp, body: Value) -> anyhow::Result<String> {
    let response = app
        .client
        .post(app.url("/v1/runs"))
        .bearer_auth(app.token(Role::Operator, "acme"))
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let created: Value = response.json().await?;
    anyhow::ensure!(status.as_u16() == 201, "create failed: {status} {created}");
    Ok(created["id"].as_str().unwrap_or_default().to_owned())
}

pub async fn get_json(app: &TestApp, path: &str) -> anyhow::Result<Value> {
    Ok(app
        .client
        .get(app.url(path))
        .bearer_auth(app.token(Role::Viewer, "acme"))
        .send()
        .await?
        .json()
        .await?)
}

/// Polls the run until it reaches one of `states`.
pub async fn wait_for(
    app: &TestApp,
    id: &str,
    states: &[&str],
    seconds: u64,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let run = get_json(app, &format!("/v1/runs/{id}")).await?;
        if states.iter().any(|s| run["state"] == *s) {
            return Ok(run);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "run {id} never reached {states:?}: {run}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn download(app: &TestApp, key: &str, path: &Path) -> anyhow::Result<()> {
    let response = app
        .client
        .get(app.url(&format!("/v1/videos/media/{key}")))
        .bearer_auth(app.token(Role::Viewer, "acme"))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "download {key}: {}",
        response.status()
    );
    tokio::fs::write(path, response.bytes().await?).await?;
    Ok(())
}

fn ffprobe(path: &Path) -> anyhow::Result<Value> {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name,width,height,pix_fmt:format=duration",
            "-of",
            "json",
        ])
        .arg(path)
        .output()?;
    anyhow::ensure!(output.status.success(), "ffprobe failed");
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Integrated loudness and true peak as FFmpeg's EBU R128 meter reports them.
fn loudness(path: &Path) -> anyhow::Result<(f64, f64)> {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()?;
    let text = String::from_utf8_lossy(&output.stderr);
    let summary = text.rsplit("Summary:").next().unwrap_or("");
    let number_after = |label: &str| -> anyhow::Result<f64> {
        let rest = summary
            .split(label)
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("no {label} in ebur128 summary"))?;
        Ok(rest.split_whitespace().next().unwrap_or("").parse()?)
    };
    Ok((number_after("I:")?, number_after("Peak:")?))
}

/// `(start_ms, end_ms)` of each SRT cue.
fn srt_cues(text: &str) -> anyhow::Result<Vec<(u64, u64)>> {
    let parse = |t: &str| -> anyhow::Result<u64> {
        let (hms, ms) = t
            .trim()
            .split_once(',')
            .ok_or_else(|| anyhow::anyhow!("bad time {t}"))?;
        let parts: Vec<u64> = hms.split(':').map(str::parse).collect::<Result<_, _>>()?;
        Ok(((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000 + ms.parse::<u64>()?)
    };
    text.lines()
        .filter(|l| l.contains("-->"))
        .map(|l| {
            let (a, b) = l
                .split_once("-->")
                .ok_or_else(|| anyhow::anyhow!("bad cue line"))?;
            Ok((parse(a)?, parse(b)?))
        })
        .collect()
}

#[tokio::test]
async fn a_topic_becomes_verified_videos_in_every_format() -> anyhow::Result<()> {
    let app = TestApp::spawn(reelforge::fleet::all()).await?;
    let id = submit(&app, json!({ "topic": "a lighthouse keeper's last night", "genre": "mystery", "tone": "calm", "length_seconds": 15, "seed": 42 })).await?;
    let run = wait_for(&app, &id, &["succeeded", "failed"], 600).await?;
    assert_eq!(run["state"], "succeeded", "{run}");
    assert!(
        run["steps"]
            .as_array()
            .is_some_and(|s| s.len() == 6 && s.iter().all(|s| s["state"] == "succeeded")),
        "{run}"
    );

    let manifest = get_json(&app, &format!("/v1/runs/{id}/manifest")).await?;
    let narration_ms = manifest["narration"]["duration_ms"].as_u64().unwrap_or(0);
    assert!(
        narration_ms > 8_000,
        "narration sized to the request: {narration_ms} ms"
    );
    assert!(
        manifest["story"]["metadata"]["tiktok"]["caption"].is_string(),
        "{manifest}"
    );
    let scenes = manifest["story"]["scenes"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(
        manifest["licences"].as_array().map(Vec::len),
        Some(scenes + 1),
        "every image and the music carry a licence"
    );

    let dir = tempfile::tempdir()?;
    let expected = [
        ("16:9", 1920, 1080),
        ("9:16", 1080, 1920),
        ("1:1", 1080, 1080),
    ];
    let outputs = manifest["outputs"]["outputs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(outputs.len(), 3);
    for (format, width, height) in expected {
        let output = outputs
            .iter()
            .find(|o| o["format"] == format)
            .ok_or_else(|| anyhow::anyhow!("no {format} output"))?;
        let path = dir.path().join(format!("{}.mp4", format.replace(':', "x")));
        download(&app, output["media_key"].as_str().unwrap_or(""), &path).await?;
        let probe = ffprobe(&path)?;
        let streams = probe["streams"].as_array().cloned().unwrap_or_default();
        let video = streams
            .iter()
            .find(|s| s["codec_type"] == "video")
            .cloned()
            .unwrap_or_default();
        let audio = streams
            .iter()
            .find(|s| s["codec_type"] == "audio")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (video["codec_name"].as_str(), video["pix_fmt"].as_str()),
            (Some("h264"), Some("yuv420p")),
            "{format}"
        );
        assert_eq!(
            (video["width"].as_u64(), video["height"].as_u64()),
            (Some(width), Some(height)),
            "{format}"
        );
        assert_eq!(audio["codec_name"], "aac", "{format}");
        let seconds: f64 = probe["format"]["duration"]
            .as_str()
            .unwrap_or("0")
            .parse()?;
        let duration_ms = (seconds * 1000.0) as u64;
        assert!(
            duration_ms.abs_diff(narration_ms) <= 500,
            "{format}: {duration_ms} ms against narration {narration_ms} ms"
        );
        let (integrated, peak) = loudness(&path)?;
        assert!(
            (integrated - -14.0).abs() <= 1.0,
            "{format}: integrated loudness {integrated} LUFS"
        );
        assert!(peak <= -1.0 + 0.05, "{format}: true peak {peak} dBTP");
    }

    let srt_path = dir.path().join("captions.srt");
    download(
        &app,
        manifest["outputs"]["captions"]["srt"]
            .as_str()
            .unwrap_or(""),
        &srt_path,
    )
    .await?;
    let cues = srt_cues(&tokio::fs::read_to_string(&srt_path).await?)?;
    assert!(cues.len() >= 3);
    assert!(
        cues.iter().all(|(a, b)| a < b),
        "every cue has positive length"
    );
    assert!(
        cues.windows(2).all(|w| w[0].1 <= w[1].0),
        "cues are monotonic and never overlap: {cues:?}"
    );
    assert!(cues[0].0 <= 500, "captions start with the narration");
    assert!(
        cues.last().map(|c| c.1).unwrap_or(0) + 500 >= narration_ms,
        "captions run to the end of the narration"
    );
    assert!(
        cues.windows(2).all(|w| w[1].0 - w[0].1 <= 1000),
        "no stretch of narration without a caption: {cues:?}"
    );
    for thumbnail in manifest["outputs"]["thumbnails"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let path = dir
            .path()
            .join(thumbnail["name"].as_str().unwrap_or("t.jpg"));
        download(&app, thumbnail["media_key"].as_str().unwrap_or(""), &path).await?;
        let probe = ffprobe(&path)?;
        assert_eq!(probe["streams"][0]["width"], thumbnail["width"]);
        assert_eq!(probe["streams"][0]["codec_name"], "mjpeg");
    }

    let events = app
        .client
        .get(app.url(&format!("/v1/runs/{id}/events")))
        .bearer_auth(app.token(Role::Viewer, "acme"))
        .send()
        .await?;
    assert_eq!(
        events
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let stream = events.text().await?;
    assert!(
        stream.contains("event: progress") && stream.contains(r#""state":"succeeded""#),
        "{stream}"
    );
    app.stop().await
}

#[tokio::test]
async fn the_same_seed_makes_the_same_story_and_images() -> anyhow::Result<()> {
    let app = TestApp::spawn(reelforge::fleet::all()).await?;
    let body = json!({ "topic": "the last tram through a sleeping city", "length_seconds": 10, "formats": ["1:1"], "seed": 1234 });
    let first = submit(&app, body.clone()).await?;
    let second = submit(&app, body).await?;
    let other = submit(&app, json!({ "topic": "the last tram through a sleeping city", "length_seconds": 10, "formats": ["1:1"], "seed": 99 })).await?;
    let mut manifests = Vec::new();
    for id in [&first, &second, &other] {
        let run = wait_for(&app, id, &["succeeded", "failed"], 600).await?;
        assert_eq!(run["state"], "succeeded", "{run}");
        manifests.push(get_json(&app, &format!("/v1/runs/{id}/manifest")).await?);
    }
    let images = |m: &Value| {
        m["licences"].as_array().map(|l| {
            l.iter()
                .filter(|l| l["asset"] != "background music")
                .map(|l| l["media_key"].clone())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(manifests[0]["story"], manifests[1]["story"]);
    assert_eq!(images(&manifests[0]), images(&manifests[1]));
    assert_ne!(
        manifests[0]["story"], manifests[2]["story"],
        "another seed tells another story"
    );
    assert_ne!(images(&manifests[0]), images(&manifests[2]));
    app.stop().await
}

#[tokio::test]
async fn a_run_failing_moderation_waits_for_review_and_a_rejected_run_never_renders(
) -> anyhow::Result<()> {
    let lexicon =
        ConfigValue::serialize(json!({ "banned": { "severity": "high", "terms": ["zorblax"] } }))?;
    let app = TestApp::spawn_with(
        reelforge::fleet::all(),
        &[("services.moderation.lexicon", lexicon)],
    )
    .await?;
    let rejected = submit(&app, json!({ "topic": "the zorblax incident", "length_seconds": 10, "formats": ["1:1"], "seed": 5 })).await?;
    let approved = submit(&app, json!({ "topic": "the zorblax festival", "length_seconds": 10, "formats": ["1:1"], "seed": 6 })).await?;
    for id in [&rejected, &approved] {
        let run = wait_for(&app, id, &["waiting_review", "succeeded", "failed"], 600).await?;
        assert_eq!(run["state"], "waiting_review", "{run}");
        let story = run["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == "story").cloned())
            .unwrap_or_default();
        assert_eq!(
            story["attempts"], 2,
            "the failing text was regenerated once before review: {run}"
        );
    }
    let operator = app.token(Role::Operator, "acme");
    let reviews = get_json(&app, "/v1/moderation/reviews").await?;
    let review_of = |run: &str| {
        reviews["items"].as_array().and_then(|r| {
            r.iter()
                .find(|r| r["run_id"] == run)
                .map(|r| r["id"].as_str().unwrap_or("").to_owned())
        })
    };
    let (reject_id, approve_id) = (
        review_of(&rejected).unwrap_or_default(),
        review_of(&approved).unwrap_or_default(),
    );
    assert!(
        reviews.to_string().contains("zorblax"),
        "the reasons name the term: {reviews}"
    );

    let viewer = app.token(Role::Viewer, "acme");
    let forbidden = app
        .client
        .post(app.url(&format!("/v1/moderation/reviews/{reject_id}/reject")))
        .bearer_auth(&viewer)
        .send()
        .await?;
    assert_eq!(forbidden.status().as_u16(), 403);
    let response = app
        .client
        .post(app.url(&format!("/v1/moderation/reviews/{reject_id}/reject")))
        .bearer_auth(&operator)
        .json(&json!({ "note": "not for us" }))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    let again = app
        .client
        .post(app.url(&format!("/v1/moderation/reviews/{reject_id}/approve")))
        .bearer_auth(&operator)
        .send()
        .await?;
    assert_eq!(
        again.status().as_u16(),
        409,
        "a decided review stays decided"
    );
    let response = app
        .client
        .post(app.url(&format!("/v1/moderation/reviews/{approve_id}/approve")))
        .bearer_auth(&operator)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);

    let run = wait_for(&app, &rejected, &["failed", "succeeded"], 120).await?;
    assert_eq!(run["state"], "failed");
    assert!(
        run["error"]
            .as_str()
            .is_some_and(|e| e.contains("rejected in review")),
        "{run}"
    );
    let video = run["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "video").cloned())
        .unwrap_or_default();
    assert_eq!(
        (video["state"].as_str(), video["attempts"].as_i64()),
        (Some("cancelled"), Some(0)),
        "{run}"
    );
    let renders: i64 =
        sqlx::query_scalar("SELECT count(*) FROM video.renders WHERE run_id = $1::uuid")
            .bind(&rejected)
            .fetch_one(&app.ctx.db)
            .await?;
    assert_eq!(renders, 0, "a rejected run never renders");

    let run = wait_for(&app, &approved, &["failed", "succeeded"], 600).await?;
    assert_eq!(run["state"], "succeeded", "an approved run renders: {run}");
    let audit: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM moderation.decisions WHERE run_id = $1::uuid AND verdict = 'fail'",
    )
    .bind(&approved)
    .fetch_one(&app.ctx.db)
    .await?;
    assert!(audit >= 2, "every failing decision is in the audit log");
    app.stop().await
}

#[tokio::test]
async fn missing_programs_show_in_readiness_and_fail_the_run_with_the_reason() -> anyhow::Result<()>
{
    let app = TestApp::spawn_with(
        reelforge::fleet::all(),
        &[
            (
                "services.tts.espeak_path",
                ConfigValue::from("/nonexistent/espeak-ng"),
            ),
            (
                "services.video.ffmpeg_path",
                ConfigValue::from("/nonexistent/ffmpeg"),
            ),
            (
                "services.orchestrator.backoff_base_ms",
                ConfigValue::from(50),
            ),
        ],
    )
    .await?;
    let ready = app.client.get(app.url("/health/ready")).send().await?;
    assert_eq!(ready.status().as_u16(), 503);
    let report: Value = ready.json().await?;
    assert_eq!(
        report["components"]["tts.espeak-ng"]["status"], "down",
        "{report}"
    );
    assert_eq!(
        report["components"]["video.ffmpeg"]["status"], "down",
        "{report}"
    );
    assert_eq!(
        report["components"]["video.ffprobe"]["status"], "up",
        "{report}"
    );

    let id = submit(
        &app,
        json!({ "topic": "silence", "length_seconds": 10, "formats": ["1:1"] }),
    )
    .await?;
    let run = wait_for(&app, &id, &["failed", "succeeded"], 120).await?;
    assert_eq!(run["state"], "failed");
    let error = run["error"].as_str().unwrap_or("");
    assert!(
        error.contains("speech")
            && error.contains("espeak-ng is not available")
            && error.contains("after 3 attempts"),
        "{error}"
    );
    app.stop().await
}

#[tokio::test]
async fn bad_run_requests_get_a_422_naming_the_field() -> anyhow::Result<()> {
    let app = TestApp::spawn(vec![orchestrator::service()]).await?;
    let token = app.token(Role::Operator, "acme");
    let cases = [
        (json!({ "topic": "" }), "topic"),
        (json!({ "topic": "x".repeat(10_000) }), "topic"),
        (json!({ "topic": "ok", "formats": ["4:3"] }), "formats"),
        (
            json!({ "topic": "ok", "length_seconds": 9 }),
            "length_seconds",
        ),
        (
            json!({ "topic": "ok", "length_seconds": 181 }),
            "length_seconds",
        ),
        (json!({ "topic": "ok", "language": "xx" }), "language"),
        (
            json!({ "topic": "ok", "length_seconds": "long" }),
            "length_seconds",
        ),
        (json!({ "title": "no topic" }), "title"),
        (json!({}), "topic"),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let response = app
            .client
            .post(app.url("/v1/runs"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 422, "{body}");
        let error: Value = response.json().await?;
        assert_eq!(error["field"], field, "{body}: {error}");
    }
    let malformed = app
        .client
        .post(app.url("/v1/runs"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await?;
    assert_eq!(malformed.status().as_u16(), 400);
    let viewer = app
        .client
        .post(app.url("/v1/runs"))
        .bearer_auth(app.token(Role::Viewer, "acme"))
        .json(&json!({ "topic": "ok" }))
        .send()
        .await?;
    assert_eq!(viewer.status().as_u16(), 403);
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM orchestrator.runs")
        .fetch_one(&app.ctx.db)
        .await?;
    assert_eq!(runs, 0, "nothing was stored for rejected requests");
    app.stop().await
}

#[tokio::test]
async fn an_idempotent_run_submission_creates_one_run() -> anyhow::Result<()> {
    let app = TestApp::spawn(vec![orchestrator::service()]).await?;
    let token = app.token(Role::Operator, "acme");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .post(app.url("/v1/runs"))
            .bearer_auth(&token)
            .header("idempotency-key", "dashboard-click-1")
            .json(&json!({ "topic": "twice", "seed": 1 }))
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 201);
        ids.push(response.json::<Value>().await?["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM orchestrator.runs")
        .fetch_one(&app.ctx.db)
        .await?;
    assert_eq!(runs, 1);
    let cancel = app
        .client
        .post(app.url(&format!(
            "/v1/runs/{}/cancel",
            ids[0].as_str().unwrap_or("")
        )))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(cancel.status().as_u16(), 202);
    let run = get_json(&app, &format!("/v1/runs/{}", ids[0].as_str().unwrap_or(""))).await?;
    assert_eq!(run["state"], "cancelled");
    app.stop().await
}
