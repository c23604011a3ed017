//! Faults a production fleet meets: late attempts, dying workers, stuck keys, hostile input.

use serde_json::{json, Value};
use shared::{bus::Envelope, outbox, testing::TestApp};

use crate::pipeline::{get_json, submit, wait_for};

/// An attempt that finishes after its deadline must not hide the next attempt's completion: the
/// video worker keys its result on `(run, attempt)`, so attempt 2 reports even though attempt 1's
/// files exist.
#[tokio::test]
async fn a_late_video_attempt_does_not_swallow_the_next_one() -> anyhow::Result<()> {
    let app = TestApp::spawn(reelforge::fleet::all()).await?;
    let id = submit(
        &app,
        json!({ "topic": "a kite over the harbour", "length_seconds": 10, "formats": ["9:16"], "seed": 7 }),
    )
    .await?;
    let run = wait_for(&app, &id, &["succeeded", "failed"], 600).await?;
    assert_eq!(run["state"], "succeeded", "{run}");
    let run_id: uuid::Uuid = id.parse()?;

    // The orchestrator's view after attempt 1 missed its deadline: attempt 2 is running.
    let mut tx = app.ctx.db.begin().await?;
    sqlx::query("UPDATE orchestrator.runs SET state = 'running', finished_at = NULL WHERE id = $1")
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
    let mut job: Value = sqlx::query_scalar(
        "UPDATE orchestrator.steps SET state = 'running', attempts = 2, deadline_at = now() + interval '10 minutes'
         WHERE run_id = $1 AND name = 'video' RETURNING job",
    )
    .bind(run_id)
    .fetch_one(&mut *tx)
    .await?;
    job["attempt"] = json!(2);
    job["run_id"] = json!(run_id);
    outbox::enqueue(
        &mut tx,
        "orchestrator",
        "jobs.video",
        &Envelope::new("video.render", Some(run_id), job),
    )
    .await?;
    tx.commit().await?;

    let run = wait_for(&app, &id, &["succeeded", "failed"], 600).await?;
    assert_eq!(
        run["state"], "succeeded",
        "attempt 2 completes the run: {run}"
    );
    let video = run["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "video").cloned())
        .unwrap_or_default();
    assert_eq!(video["attempts"], 2, "{run}");
    let bundles: i64 = sqlx::query_scalar("SELECT count(*) FROM video.bundles WHERE run_id = $1")
        .bind(run_id)
        .fetch_one(&app.ctx.db)
        .await?;
    assert_eq!(bundles, 2, "one bundle per attempt");
    let renders: Vec<(String, i32)> =
        sqlx::query_as("SELECT format, attempt FROM video.renders WHERE run_id = $1")
            .bind(run_id)
            .fetch_all(&app.ctx.db)
            .await?;
    assert_eq!(
        renders,
        vec![("9:16".to_owned(), 2)],
        "the latest attempt's file"
    );
    let manifest = get_json(&app, &format!("/v1/runs/{id}/manifest")).await?;
    assert_eq!(manifest["outputs"]["attempt"], 2, "{manifest}");
    app.stop().await
}

/// Past `max_active_runs` runs in flight, a new run is refused at once with 503 `overloaded` and
/// `Retry-After` (load shedding); once one ends, runs are accepted again.
#[tokio::test]
async fn past_the_limit_of_runs_in_flight_new_runs_are_shed_with_retry_after() -> anyhow::Result<()>
{
    let app = TestApp::spawn_with(
        vec![orchestrator::service()],
        &[
            (
                "services.orchestrator.max_active_runs",
                shared::config::toml_value::Value::from(2),
            ),
            (
                "services.orchestrator.shed_retry_after_secs",
                shared::config::toml_value::Value::from(7),
            ),
        ],
    )
    .await?;
    let token = app.token(shared::auth::Role::Operator, "acme");
    let first = submit(&app, json!({ "topic": "one" })).await?;
    submit(&app, json!({ "topic": "two" })).await?;
    let shed = app
        .client
        .post(app.url("/v1/runs"))
        .bearer_auth(&token)
        .json(&json!({ "topic": "three" }))
        .send()
        .await?;
    assert_eq!(shed.status().as_u16(), 503);
    assert_eq!(
        shed.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    let body: Value = shed.json().await?;
    assert_eq!(body["code"], "overloaded", "{body}");
    let cancelled = app
        .client
        .post(app.url(&format!("/v1/runs/{first}/cancel")))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(cancelled.status().as_u16(), 202);
    submit(&app, json!({ "topic": "three" })).await?;
    app.stop().await
}

/// Media retention: rendered files past `retention_days` are deleted on schedule; the render row
/// stays, marked expired, and downloading it answers 410. Newer media is untouched.
#[tokio::test]
async fn media_past_its_retention_is_deleted_and_answers_410() -> anyhow::Result<()> {
    use shared::config::toml_value::Value as ConfigValue;
    let app = TestApp::spawn_with(
        reelforge::fleet::all(),
        &[
            ("services.video.retention_days", ConfigValue::from(30)),
            (
                "services.video.retention_interval_secs",
                ConfigValue::from(1),
            ),
        ],
    )
    .await?;
    let old = submit(
        &app,
        json!({ "topic": "an old lighthouse", "length_seconds": 10, "formats": ["1:1"], "seed": 1 }),
    )
    .await?;
    let fresh = submit(
        &app,
        json!({ "topic": "a new lighthouse", "length_seconds": 10, "formats": ["1:1"], "seed": 2 }),
    )
    .await?;
    for id in [&old, &fresh] {
        let run = wait_for(&app, id, &["succeeded", "failed"], 600).await?;
        assert_eq!(run["state"], "succeeded", "{run}");
    }
    let key_of = |id: String| {
        let db = app.ctx.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT media_key FROM video.renders WHERE run_id = $1::uuid",
            )
            .bind(id)
            .fetch_one(&db)
            .await
        }
    };
    let (old_key, fresh_key) = (key_of(old.clone()).await?, key_of(fresh.clone()).await?);
    // The first run was rendered 40 days ago.
    for table in ["video.renders", "video.bundles"] {
        sqlx::query(&format!(
            "UPDATE {table} SET created_at = now() - interval '40 days' WHERE run_id = $1::uuid"
        ))
        .bind(&old)
        .execute(&app.ctx.db)
        .await?;
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let state: String =
            sqlx::query_scalar("SELECT state FROM video.renders WHERE run_id = $1::uuid")
                .bind(&old)
                .fetch_one(&app.ctx.db)
                .await?;
        if state == "expired" {
            break;
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "never expired");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let viewer = app.token(shared::auth::Role::Viewer, "acme");
    let mut old_gone = false;
    for _ in 0..50 {
        old_gone = !app
            .ctx
            .store
            .exists(&shared::storage::MediaKey::parse(&old_key)?)
            .await?;
        if old_gone {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(old_gone, "the old video file is deleted");
    let gone = app
        .client
        .get(app.url(&format!("/v1/videos/media/{old_key}")))
        .bearer_auth(&viewer)
        .send()
        .await?;
    assert_eq!(gone.status().as_u16(), 410);
    let kept = app
        .client
        .get(app.url(&format!("/v1/videos/media/{fresh_key}")))
        .bearer_auth(&viewer)
        .send()
        .await?;
    assert_eq!(kept.status().as_u16(), 200, "newer media is kept");
    app.stop().await
}
