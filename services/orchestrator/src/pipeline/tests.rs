//! The run/step state machine against a real database: every transition, redelivered and stale
//! facts, deadlines, backoff, exhausted attempts, review and cancellation.

use serde_json::{json, Value};
use shared::bus::Envelope;
use sqlx::PgPool;
use uuid::Uuid;

use super::{apply, cancel, create_run, tick, Limits};
use crate::params::RunParams;

const MEDIA: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn params() -> RunParams {
    RunParams {
        topic: "a lighthouse keeper".to_owned(),
        genre: "mystery".to_owned(),
        tone: "dark".to_owned(),
        length_seconds: 15,
        language: "en".to_owned(),
        formats: vec!["16:9".to_owned()],
        seed: 7,
        publish: Vec::new(),
        series: None,
        recommendation: None,
    }
}

/// A fresh database with one run just created (its story job sent).
async fn new_run(limits: &Limits) -> anyhow::Result<(PgPool, Uuid)> {
    let pool = shared::testing::fresh_database().await?;
    let run_id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    create_run(&mut tx, limits, run_id, "acme", &params()).await?;
    tx.commit().await?;
    Ok((pool, run_id))
}

async fn deliver(
    pool: &PgPool,
    limits: &Limits,
    run_id: Uuid,
    kind: &str,
    body: Value,
) -> anyhow::Result<()> {
    apply(pool, limits, &Envelope::new(kind, Some(run_id), body)).await
}

fn media(extension: &str) -> String {
    format!("{MEDIA}.{extension}")
}

fn story(scenes: usize) -> Value {
    let scenes: Vec<Value> = (0..scenes)
        .map(|i| json!({ "narration": format!("Scene {i} is told."), "visual": "a lighthouse", "mood": "calm" }))
        .collect();
    json!({ "attempt": 1, "cost_micros": 5, "script": { "title": "The Keeper", "scenes": scenes } })
}

fn speech(attempt: i32) -> Value {
    json!({ "attempt": attempt, "cost_micros": 0, "narration_id": Uuid::now_v7(), "media_key": media("wav"),
        "duration_ms": 9000, "sample_rate": 22050, "voice": "offline/en", "provider": "espeak", "cues": [] })
}

fn image(attempt: i32, scene: i32) -> Value {
    json!({ "attempt": attempt, "cost_micros": 0, "image_id": Uuid::now_v7(), "scene_index": scene,
        "media_key": media("png"), "width": 64, "height": 64, "provider": "offline", "licence": {} })
}

fn music(attempt: i32) -> Value {
    json!({ "attempt": attempt, "cost_micros": 0, "track_id": Uuid::now_v7(), "media_key": media("wav"),
        "duration_ms": 9400, "provider": "offline", "licence": {} })
}

/// `(state, attempts)` of one step.
async fn step(pool: &PgPool, run_id: Uuid, name: &str) -> anyhow::Result<(String, i32)> {
    Ok(sqlx::query_as(
        "SELECT state, attempts FROM orchestrator.steps WHERE run_id = $1 AND name = $2",
    )
    .bind(run_id)
    .bind(name)
    .fetch_one(pool)
    .await?)
}

async fn run_state(pool: &PgPool, run_id: Uuid) -> anyhow::Result<(String, Option<String>)> {
    Ok(
        sqlx::query_as("SELECT state, error FROM orchestrator.runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(pool)
            .await?,
    )
}

/// The bodies of the jobs sent to `stream` for the run, in order.
async fn jobs(pool: &PgPool, run_id: Uuid, stream: &str) -> anyhow::Result<Vec<Value>> {
    let envelopes: Vec<sqlx::types::Json<Envelope>> = sqlx::query_scalar(
        "SELECT envelope FROM fleet.outbox WHERE stream = $1 AND envelope->>'run_id' = $2 ORDER BY id",
    )
    .bind(stream)
    .bind(run_id.to_string())
    .fetch_all(pool)
    .await?;
    Ok(envelopes.into_iter().map(|e| e.0.body).collect())
}

/// Moves a running step's deadline, or a retrying step's backoff, into the past.
async fn make_due(pool: &PgPool, run_id: Uuid, name: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE orchestrator.steps SET deadline_at = now() - interval '1 second',
             retry_at = now() - interval '1 second'
         WHERE run_id = $1 AND name = $2",
    )
    .bind(run_id)
    .bind(name)
    .execute(pool)
    .await?;
    Ok(())
}

/// Story, speech, both images and music done: the run waits on moderation.
async fn assets_done(pool: &PgPool, limits: &Limits, run_id: Uuid) -> anyhow::Result<()> {
    deliver(pool, limits, run_id, "story.completed", story(2)).await?;
    deliver(pool, limits, run_id, "speech.completed", speech(1)).await?;
    for scene in 0..2 {
        deliver(pool, limits, run_id, "image.completed", image(1, scene)).await?;
    }
    deliver(pool, limits, run_id, "music.completed", music(1)).await
}

#[tokio::test]
async fn a_run_walks_from_story_to_video_and_succeeds() -> anyhow::Result<()> {
    let limits = Limits::default();
    let (pool, run_id) = new_run(&limits).await?;
    assert_eq!(run_state(&pool, run_id).await?.0, "queued");
    assert_eq!(jobs(&pool, run_id, "jobs.story").await?.len(), 1);

    deliver(&pool, &limits, run_id, "story.completed", story(2)).await?;
    assert_eq!(run_state(&pool, run_id).await?.0, "running");
    assert_eq!(step(&pool, run_id, "story").await?.0, "succeeded");
    let images = jobs(&pool, run_id, "jobs.image").await?;
    assert_eq!(images.len(), 2, "one image job per scene");
    assert!(images.iter().all(|job| job["attempt"] == 1));
    assert_eq!(jobs(&pool, run_id, "jobs.tts").await?.len(), 1);
    assert!(
        jobs(&pool, run_id, "jobs.music").await?.is_empty(),
        "music waits for the narration's length"
    );

    deliver(&pool, &limits, run_id, "speech.completed", speech(1)).await?;
    let music_jobs = jobs(&pool, run_id, "jobs.music").await?;
    assert_eq!(music_jobs.len(), 1);
    assert_eq!(music_jobs[0]["duration_ms"], 9000 + super::TAIL_MS);

    deliver(&pool, &limits, run_id, "image.completed", image(1, 0)).await?;
    assert_eq!(
        step(&pool, run_id, "images").await?.0,
        "running",
        "one scene of two"
    );
    deliver(&pool, &limits, run_id, "image.completed", image(1, 1)).await?;
    assert_eq!(step(&pool, run_id, "images").await?.0, "succeeded");
    assert!(jobs(&pool, run_id, "jobs.moderation").await?.is_empty());

    deliver(&pool, &limits, run_id, "music.completed", music(1)).await?;
    let checks = jobs(&pool, run_id, "jobs.moderation").await?;
    assert_eq!(checks.len(), 1, "moderation once every asset exists");
    assert_eq!(checks[0]["images"].as_array().map(Vec::len), Some(2));

    let pass = json!({ "attempt": 1, "verdict": "pass" });
    deliver(&pool, &limits, run_id, "moderation.completed", pass).await?;
    assert_eq!(jobs(&pool, run_id, "jobs.video").await?.len(), 1);

    deliver(
        &pool,
        &limits,
        run_id,
        "video.completed",
        json!({ "attempt": 1 }),
    )
    .await?;
    assert_eq!(
        run_state(&pool, run_id).await?,
        ("succeeded".to_owned(), None)
    );
    let unfinished: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM orchestrator.steps WHERE run_id = $1 AND state <> 'succeeded'",
    )
    .bind(run_id)
    .fetch_one(&pool)
    .await?;
    assert_eq!(unfinished, 0);
    Ok(())
}

#[tokio::test]
async fn a_redelivered_or_stale_fact_changes_nothing() -> anyhow::Result<()> {
    let limits = Limits::default();
    let (pool, run_id) = new_run(&limits).await?;
    deliver(&pool, &limits, run_id, "story.completed", story(2)).await?;
    deliver(&pool, &limits, run_id, "story.completed", story(2)).await?;
    assert_eq!(
        jobs(&pool, run_id, "jobs.tts").await?.len(),
        1,
        "a redelivery sends nothing"
    );
    assert_eq!(jobs(&pool, run_id, "jobs.image").await?.len(), 2);

    deliver(&pool, &limits, run_id, "speech.completed", speech(2)).await?;
    assert_eq!(
        step(&pool, run_id, "speech").await?,
        ("running".to_owned(), 1),
        "a result for an attempt never sent is ignored"
    );
    deliver(&pool, &limits, run_id, "unknown.kind", json!({})).await?;
    deliver(
        &pool,
        &limits,
        Uuid::now_v7(),
        "speech.completed",
        speech(1),
    )
    .await?;
    assert_eq!(step(&pool, run_id, "speech").await?.0, "running");
    Ok(())
}

#[tokio::test]
async fn a_step_past_its_deadline_is_sent_again_and_its_late_result_is_ignored(
) -> anyhow::Result<()> {
    let limits = Limits::default();
    let (pool, run_id) = new_run(&limits).await?;
    tick(&pool, &limits).await?;
    assert_eq!(
        step(&pool, run_id, "story").await?,
        ("running".to_owned(), 1),
        "not due yet"
    );

    make_due(&pool, run_id, "story").await?;
    tick(&pool, &limits).await?;
    let (state, attempts) = step(&pool, run_id, "story").await?;
    assert_eq!((state.as_str(), attempts), ("retrying", 1));
    let error: Option<String> = sqlx::query_scalar(
        "SELECT error FROM orchestrator.steps WHERE run_id = $1 AND name = 'story'",
    )
    .bind(run_id)
    .fetch_one(&pool)
    .await?;
    assert_eq!(error.as_deref(), Some("no result within 120 s"));
    tick(&pool, &limits).await?;
    assert_eq!(
        step(&pool, run_id, "story").await?.0,
        "retrying",
        "the backoff holds"
    );

    make_due(&pool, run_id, "story").await?;
    tick(&pool, &limits).await?;
    assert_eq!(
        step(&pool, run_id, "story").await?,
        ("running".to_owned(), 2)
    );
    let sent = jobs(&pool, run_id, "jobs.story").await?;
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[0]["attempt"].clone(), sent[1]["attempt"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(
        sent[0]["request"], sent[1]["request"],
        "the same brief again"
    );

    deliver(&pool, &limits, run_id, "story.completed", story(2)).await?;
    assert_eq!(
        step(&pool, run_id, "story").await?.0,
        "running",
        "attempt 1 came too late"
    );
    let mut current = story(2);
    current["attempt"] = json!(2);
    deliver(&pool, &limits, run_id, "story.completed", current).await?;
    assert_eq!(step(&pool, run_id, "story").await?.0, "succeeded");
    Ok(())
}

#[tokio::test]
async fn a_step_that_misses_every_deadline_fails_the_run_and_cancels_the_rest() -> anyhow::Result<()>
{
    let limits = Limits::default();
    let (pool, run_id) = new_run(&limits).await?;
    deliver(&pool, &limits, run_id, "story.completed", story(2)).await?;
    for attempt in 1..=limits.max_attempts {
        assert_eq!(
            step(&pool, run_id, "speech").await?,
            ("running".to_owned(), attempt)
        );
        make_due(&pool, run_id, "speech").await?;
        tick(&pool, &limits).await?;
        make_due(&pool, run_id, "speech").await?;
        tick(&pool, &limits).await?;
    }
    let (state, error) = run_state(&pool, run_id).await?;
    assert_eq!(state, "failed");
    assert_eq!(
        error.as_deref(),
        Some("speech: no result within 300 s (after 3 attempts)")
    );
    assert_eq!(step(&pool, run_id, "speech").await?.0, "failed");
    assert_eq!(step(&pool, run_id, "images").await?.0, "cancelled");
    assert_eq!(step(&pool, run_id, "video").await?.0, "cancelled");
    assert_eq!(jobs(&pool, run_id, "jobs.tts").await?.len(), 3);
    deliver(&pool, &limits, run_id, "image.completed", image(1, 0)).await?;
    assert_eq!(
        step(&pool, run_id, "images").await?.0,
        "cancelled",
        "a finished run takes no facts"
    );
    Ok(())
}

#[tokio::test]
async fn a_reported_failure_backs_off_then_retries_until_attempts_run_out() -> anyhow::Result<()> {
    let limits = Limits::default();
    let (pool, run_id) = new_run(&limits).await?;
    let failed =
        |attempt: i32| json!({ "step": "story", "attempt": attempt, "reason": "model refused" });
    deliver(&pool, &limits, run_id, "story.failed", failed(1)).await?;
    assert_eq!(
        step(&pool, run_id, "story").await?,
        ("retrying".to_owned(), 1)
    );
    deliver(&pool, &limits, run_id, "story.failed", failed(1)).await?;
    assert_eq!(
        step(&pool, run_id, "story").await?,
        ("retrying".to_owned(), 1),
        "redelivered"
    );
    for attempt in 2..=limits.max_attempts {
        make_due(&pool, run_id, "story").await?;
        tick(&pool, &limits).await?;
        deliver(&pool, &limits, run_id, "story.failed", failed(attempt)).await?;
    }
    let (state, error) = run_state(&pool, run_id).await?;
    assert_eq!(
        (state.as_str(), error.as_deref()),
        ("failed", Some("story: model refused (after 3 attempts)"))
    );
    Ok(())
}

#[tokio::test]
async fn images_are_sent_again_only_for_the_scenes_not_yet_rendered() -> anyhow::Result<()> {
    let limits = Limits::default();
    let (pool, run_id) = new_run(&limits).await?;
    deliver(&pool, &limits, run_id, "story.completed", story(3)).await?;
    deliver(&pool, &limits, run_id, "image.completed", image(1, 1)).await?;
    make_due(&pool, run_id, "images").await?;
    tick(&pool, &limits).await?;
    make_due(&pool, run_id, "images").await?;
    tick(&pool, &limits).await?;
    let sent = jobs(&pool, run_id, "jobs.image").await?;
    let resent: Vec<(Value, Value)> = sent[3..]
        .iter()
        .map(|job| (job["scene_index"].clone(), job["attempt"].clone()))
        .collect();
    assert_eq!(resent, vec![(json!(0), json!(2)), (json!(2), json!(2))]);
    deliver(&pool, &limits, run_id, "image.completed", image(2, 0)).await?;
    deliver(&pool, &limits, run_id, "image.completed", image(2, 2)).await?;
    assert_eq!(
        step(&pool, run_id, "images").await?.0,
        "succeeded",
        "the earlier scene counts"
    );
    Ok(())
}

#[tokio::test]
async fn a_run_held_for_review_goes_on_when_approved_and_fails_when_rejected() -> anyhow::Result<()>
{
    let limits = Limits::default();
    for (decision, run_after, videos) in [("approved", "running", 1), ("rejected", "failed", 0)] {
        let (pool, run_id) = new_run(&limits).await?;
        assets_done(&pool, &limits, run_id).await?;
        let review = json!({ "attempt": 1, "verdict": "review", "review_id": Uuid::now_v7() });
        deliver(&pool, &limits, run_id, "moderation.completed", review).await?;
        assert_eq!(run_state(&pool, run_id).await?.0, "waiting_review");
        make_due(&pool, run_id, "moderation").await?;
        tick(&pool, &limits).await?;
        assert_eq!(
            step(&pool, run_id, "moderation").await?.0,
            "waiting_review",
            "a review has no deadline"
        );
        let decided =
            json!({ "review_id": Uuid::now_v7(), "decision": decision, "reviewer": "ana" });
        deliver(&pool, &limits, run_id, "review.decided", decided).await?;
        assert_eq!(run_state(&pool, run_id).await?.0, run_after, "{decision}");
        assert_eq!(
            jobs(&pool, run_id, "jobs.video").await?.len(),
            videos,
            "{decision}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_cancelled_run_takes_no_more_facts_and_cancels_once() -> anyhow::Result<()> {
    let limits = Limits::default();
    let (pool, run_id) = new_run(&limits).await?;
    assert!(cancel(&pool, run_id).await?);
    assert!(!cancel(&pool, run_id).await?, "already cancelled");
    assert!(!cancel(&pool, Uuid::now_v7()).await?, "no such run");
    deliver(&pool, &limits, run_id, "story.completed", story(2)).await?;
    assert_eq!(run_state(&pool, run_id).await?.0, "cancelled");
    assert_eq!(step(&pool, run_id, "story").await?.0, "cancelled");
    assert!(jobs(&pool, run_id, "jobs.tts").await?.is_empty());
    make_due(&pool, run_id, "story").await?;
    tick(&pool, &limits).await?;
    assert_eq!(
        jobs(&pool, run_id, "jobs.story").await?.len(),
        1,
        "the watchdog leaves it alone"
    );
    Ok(())
}
