//! Schedules: each slot fires once with two orchestrator processes on one database, missed slots
//! are caught up by policy after downtime, the calendar lists what is planned, batches start all
//! or none, and bad schedules get a 422 naming the field.

use std::time::Duration;

use serde_json::{json, Value};
use shared::{auth::Role, config::toml_value::Value as Setting, testing::TestApp};

async fn post(app: &TestApp, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(app.token(Role::Operator, "acme"))
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

fn orchestrator_settings() -> Vec<(&'static str, Setting)> {
    vec![(
        "services.orchestrator.scheduler_interval_ms",
        Setting::from(50),
    )]
}

#[tokio::test]
async fn with_two_schedulers_running_every_slot_fires_exactly_once() -> anyhow::Result<()> {
    let first =
        TestApp::spawn_with(vec![orchestrator::service()], &orchestrator_settings()).await?;
    let database = first.ctx.config().database_url.expose().to_owned();
    let prefix = first.ctx.config().bus.prefix.clone();
    let mut shared_settings = orchestrator_settings();
    shared_settings.push(("database_url", Setting::from(database)));
    shared_settings.push(("bus.prefix", Setting::from(prefix)));
    let second = TestApp::spawn_with(vec![orchestrator::service()], &shared_settings).await?;
    let account = uuid::Uuid::now_v7();
    let (status, schedule) = post(
        &first,
        "/v1/schedules",
        &json!({"name": "every second", "cron": "* * * * * *", "time_zone": "America/New_York", "topics": ["tides", "kites"],
                "length_seconds": 15, "publish": [{"account_id": account, "platform": "youtube", "privacy": "public"}]}),
    )
    .await?;
    assert_eq!(status, 201, "{schedule}");
    tokio::time::sleep(Duration::from_millis(3_600)).await;
    sqlx::query("UPDATE orchestrator.schedules SET enabled = false")
        .execute(&first.ctx.db)
        .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let db = &first.ctx.db;
    let fires: Vec<(chrono::DateTime<chrono::Utc>, uuid::Uuid)> =
        sqlx::query_as("SELECT slot, run_id FROM orchestrator.schedule_fires ORDER BY slot")
            .fetch_all(db)
            .await?;
    assert!(fires.len() >= 3, "a slot a second for 3.6 s: {fires:?}");
    let runs: Vec<(uuid::Uuid, String, Value)> =
        sqlx::query_as("SELECT id, topic, params FROM orchestrator.runs ORDER BY created_at")
            .fetch_all(db)
            .await?;
    assert_eq!(runs.len(), fires.len(), "one run per slot, none twice");
    for pair in fires.windows(2) {
        assert_eq!(
            (pair[1].0 - pair[0].0).num_seconds(),
            1,
            "consecutive slots, none skipped or repeated: {fires:?}"
        );
    }
    let topics: Vec<&str> = runs.iter().map(|(_, topic, _)| topic.as_str()).collect();
    assert_eq!(&topics[..2], ["tides", "kites"], "topics are taken in turn");
    // Each run publishes at YouTube's default slot, 17:00 in the schedule's time zone.
    let publish_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(runs[0].2["publish"][0]["publish_at"].clone())?;
    assert_eq!(
        publish_at
            .with_timezone(&chrono_tz::America::New_York)
            .format("%H:%M")
            .to_string(),
        "17:00"
    );
    assert_eq!(runs[0].2["publish"][0]["account_id"], account.to_string());
    second.stop().await?;
    first.stop().await
}

#[tokio::test]
async fn missed_slots_are_caught_up_by_policy_and_the_calendar_shows_what_is_planned(
) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(vec![orchestrator::service()], &orchestrator_settings()).await?;
    let mut ids = Vec::new();
    for catch_up in ["all", "latest"] {
        let (status, schedule) = post(&app, "/v1/schedules", &json!({"name": catch_up, "cron": "0 * * * *", "topics": ["harbours"], "catch_up": catch_up})).await?;
        assert_eq!(status, 201, "{schedule}");
        ids.push(schedule["id"].as_str().unwrap_or_default().to_owned());
    }
    let series = json!({"title": "Keepers", "premise": "lighthouse keepers of the north", "characters": ["Ada"]});
    let (status, schedule) = post(
        &app,
        "/v1/schedules",
        &json!({"name": "series", "cron": "0 * * * *", "series": series, "catch_up": "all"}),
    )
    .await?;
    assert_eq!(status, 201, "{schedule}");
    // The scheduler was down for five hours: the first slot it knew of is five hours ago.
    sqlx::query("UPDATE orchestrator.schedules SET next_fire_at = date_trunc('hour', now()) - interval '5 hours'").execute(&app.ctx.db).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fired = |id: String| {
        let db = app.ctx.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM orchestrator.schedule_fires WHERE schedule_id = $1::uuid",
            )
            .bind(id)
            .fetch_one(&db)
            .await
        }
    };
    assert_eq!(
        fired(ids[0].clone()).await?,
        6,
        "`all` fires every missed slot, the current hour's included"
    );
    assert_eq!(
        fired(ids[1].clone()).await?,
        1,
        "`latest` fires the newest missed slot once"
    );
    let next: Vec<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT next_fire_at FROM orchestrator.schedules")
            .fetch_all(&app.ctx.db)
            .await?;
    assert!(
        next.iter().all(|at| *at > chrono::Utc::now()),
        "both wait for their next slot: {next:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fired(ids[0].clone()).await?, 6, "nothing fires twice");

    let now = chrono::Utc::now();
    let calendar: Value = app
        .client
        .get(app.url("/v1/calendar"))
        .query(&[
            ("from", now.to_rfc3339()),
            ("to", (now + chrono::Duration::hours(24)).to_rfc3339()),
        ])
        .bearer_auth(app.token(Role::Viewer, "acme"))
        .send()
        .await?
        .json()
        .await?;
    let planned = calendar
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "planned_run")
        .count();
    assert_eq!(planned, 72, "three hourly schedules over a day: {calendar}");
    let (status, _) = post(
        &app,
        "/v1/schedules",
        &json!({"name": "x", "cron": "every day", "topics": ["a"]}),
    )
    .await?;
    assert_eq!(status, 422);
    app.stop().await
}

#[tokio::test]
async fn bad_schedules_name_their_field_and_a_batch_starts_all_or_none() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(vec![orchestrator::service()], &orchestrator_settings()).await?;
    for (body, field) in [
        (
            json!({"name": "x", "cron": "61 * * * *", "topics": ["a"]}),
            "cron",
        ),
        (
            json!({"name": "x", "cron": "0 9 * * *", "time_zone": "Mars/Olympus", "topics": ["a"]}),
            "time_zone",
        ),
        (
            json!({"name": "x", "cron": "0 9 * * *", "topics": []}),
            "topics",
        ),
        (
            json!({"name": "x", "cron": "0 9 * * *", "topics": ["a"], "series": {"title": "t", "premise": "p"}}),
            "topics",
        ),
        (
            json!({"name": "x", "cron": "0 9 * * *", "topics": ["a"], "publish": [{"account_id": uuid::Uuid::nil(), "platform": "myspace"}]}),
            "publish",
        ),
        (
            json!({"name": "x", "cron": "0 9 * * *", "topics": ["a"], "genre": "opera"}),
            "genre",
        ),
    ] {
        let (status, error) = post(&app, "/v1/schedules", &body).await?;
        assert_eq!(
            (status, error["field"].as_str()),
            (422, Some(field)),
            "{body} → {error}"
        );
    }
    let (status, series) = post(&app, "/v1/schedules", &json!({"name": "Keepers", "cron": "0 9 * * 1-5", "time_zone": "Europe/Paris",
        "series": {"title": "Keepers", "premise": "lighthouse keepers of the north", "characters": ["Ada", "Ole"], "tone": "calm"}})).await?;
    assert_eq!(status, 201, "{series}");

    let (status, error) = post(
        &app,
        "/v1/runs/batch",
        &json!({"runs": [{"topic": "a"}, {"topic": ""}, {"topic": "c"}]}),
    )
    .await?;
    assert_eq!(
        (status, error["field"].as_str()),
        (422, Some("runs[1]")),
        "{error}"
    );
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM orchestrator.runs")
        .fetch_one(&app.ctx.db)
        .await?;
    assert_eq!(runs, 0, "a refused batch starts nothing");
    let (status, created) = post(
        &app,
        "/v1/runs/batch",
        &json!({"runs": [{"topic": "a", "length_seconds": 15}, {"topic": "b"}, {"topic": "c"}]}),
    )
    .await?;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["ids"].as_array().map(Vec::len), Some(3));
    app.stop().await
}
