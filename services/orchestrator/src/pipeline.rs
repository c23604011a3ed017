//! The run DAG: story → speech and images → music → moderation → video, driven by facts on the bus.

use anyhow::Context as _;
use messages::{
    events::{
        Completion, ImageCompleted, MusicCompleted, ReviewDecided, ReviewDecision, SpeechCompleted,
        StepFailed, StoryCompleted,
    },
    jobs::{
        AudioSubject, Format, ImageRender, ImageSubject, ModerationCheck, MusicCompose, Narration,
        SpeechSynthesize, StoryBrief, StoryWrite, TextSubject, VideoRender,
    },
};
use serde_json::{json, Value};
use shared::{bus::Envelope, outbox};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub use crate::limits::Limits;
use crate::params::RunParams;

pub const SERVICE: &str = "orchestrator";
/// Steps in the order they appear to users.
pub const STEPS: &[&str] = &["story", "speech", "images", "music", "moderation", "video"];
/// Milliseconds of picture and music after the last spoken word.
pub const TAIL_MS: u64 = 400;

/// Creates a run with its steps and dispatches the story job, in the caller's transaction.
pub async fn create_run(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    tenant: &str,
    params: &RunParams,
) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO orchestrator.runs (id, tenant, topic, params, state) VALUES ($1, $2, $3, $4, 'queued')")
        .bind(run_id)
        .bind(tenant)
        .bind(&params.topic)
        .bind(sqlx::types::Json(params))
        .execute(&mut *tx)
        .await?;
    for (position, step) in STEPS.iter().enumerate() {
        sqlx::query("INSERT INTO orchestrator.steps (run_id, name, state, position) VALUES ($1, $2, 'pending', $3)")
            .bind(run_id)
            .bind(step)
            .bind(position as i32)
            .execute(&mut *tx)
            .await?;
    }
    record(tx, run_id, None, "queued", Some(&params.topic)).await?;
    dispatch_story(tx, limits, run_id, tenant, params, 0).await
}

/// Appends to the run's event log (what SSE clients see).
pub async fn record(
    tx: &mut PgConnection,
    run_id: Uuid,
    step: Option<&str>,
    state: &str,
    detail: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO orchestrator.run_events (run_id, step, state, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(run_id)
    .bind(step)
    .bind(state)
    .bind(detail)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Marks `step` running with a new attempt and sends its jobs.
pub(crate) async fn dispatch(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    step: &str,
    jobs: Vec<Value>,
    stored: Value,
) -> anyhow::Result<()> {
    let attempt: i32 = sqlx::query_scalar(
        "UPDATE orchestrator.steps SET state = 'running', attempts = attempts + 1, job = $3,
             started_at = COALESCE(started_at, now()), finished_at = NULL, error = NULL, retry_at = NULL,
             deadline_at = now() + make_interval(secs => $4)
         WHERE run_id = $1 AND name = $2 RETURNING attempts",
    )
    .bind(run_id)
    .bind(step)
    .bind(&stored)
    .bind(limits.timeout(step).as_secs_f64())
    .fetch_one(&mut *tx)
    .await?;
    let (stream, kind) = route(step);
    // Past the step's deadline this attempt is abandoned and a new one sent: workers skip it
    // rather than spend a render on a result nobody waits for (a queue backed up under load).
    let expires_at = chrono::Utc::now()
        + chrono::Duration::from_std(limits.timeout(step)).unwrap_or(chrono::Duration::MAX);
    for mut job in jobs {
        job["attempt"] = json!(attempt);
        job["run_id"] = json!(run_id);
        let envelope = Envelope::new(kind, Some(run_id), job).expiring_at(expires_at);
        outbox::enqueue(tx, SERVICE, stream, &envelope).await?;
    }
    record(
        tx,
        run_id,
        Some(step),
        "running",
        Some(&format!("attempt {attempt}")),
    )
    .await?;
    Ok(())
}

pub(crate) async fn dispatch_story(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    tenant: &str,
    params: &RunParams,
    variation: u64,
) -> anyhow::Result<()> {
    let job = serde_json::to_value(StoryWrite {
        tenant: tenant.to_owned(),
        request: StoryBrief {
            topic: params.topic.clone(),
            genre: params.genre.clone(),
            tone: params.tone.clone(),
            length_seconds: params.length_seconds,
            language: params.language.clone(),
            seed: params.seed.wrapping_add(variation),
        },
    })?;
    dispatch(tx, limits, run_id, "story", vec![job.clone()], job).await
}

/// The stream and message kind of a step's jobs.
fn route(step: &str) -> (&'static str, &'static str) {
    match step {
        "story" => ("jobs.story", "story.write"),
        "speech" => ("jobs.tts", "speech.synthesize"),
        "images" => ("jobs.image", "image.render"),
        "music" => ("jobs.music", "music.compose"),
        "moderation" => ("jobs.moderation", "moderation.check"),
        _ => ("jobs.video", "video.render"),
    }
}

/// The run row, locked for the rest of the transaction so one run's events apply one at a time.
pub(crate) struct LockedRun {
    pub(crate) tenant: String,
    state: String,
    pub(crate) params: RunParams,
}

async fn lock_run(tx: &mut PgConnection, run_id: Uuid) -> anyhow::Result<Option<LockedRun>> {
    let row: Option<(String, String, sqlx::types::Json<RunParams>)> = sqlx::query_as(
        "SELECT tenant, state, params FROM orchestrator.runs WHERE id = $1 FOR UPDATE",
    )
    .bind(run_id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|(tenant, state, params)| LockedRun {
        tenant,
        state,
        params: params.0,
    }))
}

pub(crate) async fn step_state(
    tx: &mut PgConnection,
    run_id: Uuid,
    step: &str,
) -> anyhow::Result<(String, i32)> {
    Ok(sqlx::query_as(
        "SELECT state, attempts FROM orchestrator.steps WHERE run_id = $1 AND name = $2",
    )
    .bind(run_id)
    .bind(step)
    .fetch_one(&mut *tx)
    .await?)
}

async fn save_fact(
    tx: &mut PgConnection,
    run_id: Uuid,
    kind: &str,
    part: i32,
    body: &Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO orchestrator.facts (run_id, kind, part, body) VALUES ($1, $2, $3, $4)
         ON CONFLICT (run_id, kind, part) DO UPDATE SET body = EXCLUDED.body, recorded_at = now()",
    )
    .bind(run_id)
    .bind(kind)
    .bind(part)
    .bind(body)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn fact(tx: &mut PgConnection, run_id: Uuid, kind: &str, part: i32) -> anyhow::Result<Value> {
    sqlx::query_scalar(
        "SELECT body FROM orchestrator.facts WHERE run_id = $1 AND kind = $2 AND part = $3",
    )
    .bind(run_id)
    .bind(kind)
    .bind(part)
    .fetch_optional(&mut *tx)
    .await?
    .with_context(|| format!("run {run_id} has no {kind} fact"))
}

pub(crate) async fn succeed_step(
    tx: &mut PgConnection,
    run_id: Uuid,
    step: &str,
    cost_micros: i64,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE orchestrator.steps SET state = 'succeeded', finished_at = now(), deadline_at = NULL, error = NULL,
             cost_micros = cost_micros + $3, progress = total
         WHERE run_id = $1 AND name = $2",
    )
    .bind(run_id)
    .bind(step)
    .bind(cost_micros)
    .execute(&mut *tx)
    .await?;
    record(tx, run_id, Some(step), "succeeded", None).await?;
    Ok(())
}

/// Resets downstream steps to pending, forgetting their facts (a regenerated story invalidates them).
pub(crate) async fn reset_steps(
    tx: &mut PgConnection,
    run_id: Uuid,
    steps: &[&str],
    facts: &[&str],
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE orchestrator.steps SET state = 'pending', deadline_at = NULL, retry_at = NULL, progress = 0
         WHERE run_id = $1 AND name = ANY($2) AND state <> 'pending'",
    )
    .bind(run_id)
    .bind(steps.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM orchestrator.facts WHERE run_id = $1 AND kind = ANY($2)")
        .bind(run_id)
        .bind(facts.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Applies one fact from the bus to its run. Every transition checks the current state first,
/// so a redelivered or stale event changes nothing.
pub async fn apply(pool: &PgPool, limits: &Limits, envelope: &Envelope) -> anyhow::Result<()> {
    let Some(run_id) = envelope.run_id else {
        return Ok(());
    };
    let mut tx = pool.begin().await?;
    let Some(run) = lock_run(&mut tx, run_id).await? else {
        return Ok(());
    };
    if matches!(run.state.as_str(), "succeeded" | "failed" | "cancelled") {
        return Ok(());
    }
    let body = &envelope.body;
    let failure: Option<StepFailed> = if envelope.kind.ends_with(".failed") {
        Some(decode(envelope)?)
    } else {
        None
    };
    let step = match envelope.kind.as_str() {
        "story.completed" => "story",
        "speech.completed" => "speech",
        "image.completed" => "images",
        "music.completed" => "music",
        "moderation.completed" | "review.decided" => "moderation",
        "video.completed" => "video",
        _ => match &failure {
            Some(failure) => failure.step.as_str(),
            None => return Ok(()),
        },
    };
    let review = envelope.kind == "review.decided";
    let Completion {
        attempt,
        cost_micros: cost,
    } = match &failure {
        Some(failure) => Completion {
            attempt: failure.attempt,
            cost_micros: 0,
        },
        None if review => Completion {
            attempt: 0,
            cost_micros: 0,
        },
        None => decode(envelope)?,
    };
    let (state, current_attempt) = step_state(&mut tx, run_id, step).await?;
    let expected_state = if review { "waiting_review" } else { "running" };
    if state != expected_state || (!review && attempt != current_attempt) {
        tracing::debug!(kind = %envelope.kind, %state, attempt, current_attempt, "stale event ignored");
        return Ok(());
    }
    if run.state == "queued" {
        sqlx::query(
            "UPDATE orchestrator.runs SET state = 'running', updated_at = now() WHERE id = $1",
        )
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        record(&mut tx, run_id, None, "running", None).await?;
    }
    match envelope.kind.as_str() {
        "story.completed" => {
            save_fact(&mut tx, run_id, "story", 0, body).await?;
            let StoryCompleted { script } = decode(envelope)?;
            let scenes = script.scenes;
            anyhow::ensure!(!scenes.is_empty(), "story.completed without scenes");
            sqlx::query("UPDATE orchestrator.runs SET scene_count = $2 WHERE id = $1")
                .bind(run_id)
                .bind(scenes.len() as i32)
                .execute(&mut *tx)
                .await?;
            succeed_step(&mut tx, run_id, "story", cost).await?;
            reset_steps(
                &mut tx,
                run_id,
                &["speech", "images", "music", "moderation", "video"],
                &["speech", "image", "music"],
            )
            .await?;
            let speech = serde_json::to_value(SpeechSynthesize {
                tenant: run.tenant.clone(),
                language: run.params.language.clone(),
                scenes: scenes.iter().map(|s| s.narration.clone()).collect(),
            })?;
            dispatch(
                &mut tx,
                limits,
                run_id,
                "speech",
                vec![speech.clone()],
                speech,
            )
            .await?;
            let images = scenes
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    serde_json::to_value(ImageRender {
                        tenant: run.tenant.clone(),
                        scene_index: i as i32,
                        description: s.visual.clone(),
                        mood: s.mood.clone(),
                        seed: run.params.seed,
                    })
                })
                .collect::<Result<Vec<Value>, _>>()?;
            sqlx::query(
                "UPDATE orchestrator.steps SET total = $2 WHERE run_id = $1 AND name = 'images'",
            )
            .bind(run_id)
            .bind(images.len() as i32)
            .execute(&mut *tx)
            .await?;
            dispatch(
                &mut tx,
                limits,
                run_id,
                "images",
                images.clone(),
                json!({ "scenes": images }),
            )
            .await?;
        }
        "speech.completed" => {
            save_fact(&mut tx, run_id, "speech", 0, body).await?;
            succeed_step(&mut tx, run_id, "speech", cost).await?;
            let SpeechCompleted { duration_ms, .. } = decode(envelope)?;
            let story: StoryCompleted =
                serde_json::from_value(fact(&mut tx, run_id, "story", 0).await?)?;
            let mood = story
                .script
                .scenes
                .first()
                .map(|s| s.mood.clone())
                .context("the story has no scenes")?;
            let music = serde_json::to_value(MusicCompose {
                tenant: run.tenant.clone(),
                mood,
                genre: run.params.genre.clone(),
                duration_ms: duration_ms + TAIL_MS,
                seed: run.params.seed,
            })?;
            reset_steps(&mut tx, run_id, &["music"], &["music"]).await?;
            dispatch(&mut tx, limits, run_id, "music", vec![music.clone()], music).await?;
        }
        "image.completed" => {
            let ImageCompleted {
                scene_index: scene, ..
            } = decode(envelope)?;
            save_fact(&mut tx, run_id, "image", scene, body).await?;
            let done: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM orchestrator.facts WHERE run_id = $1 AND kind = 'image'",
            )
            .bind(run_id)
            .fetch_one(&mut *tx)
            .await?;
            let total: i32 = sqlx::query_scalar("UPDATE orchestrator.steps SET progress = $2, cost_micros = cost_micros + $3 WHERE run_id = $1 AND name = 'images' RETURNING total")
                .bind(run_id)
                .bind(done as i32)
                .bind(cost)
                .fetch_one(&mut *tx)
                .await?;
            if done >= i64::from(total) {
                succeed_step(&mut tx, run_id, "images", 0).await?;
            }
        }
        "music.completed" => {
            let MusicCompleted { .. } = decode(envelope)?;
            save_fact(&mut tx, run_id, "music", 0, body).await?;
            succeed_step(&mut tx, run_id, "music", cost).await?;
        }
        "moderation.completed" => {
            crate::moderation_round::on_moderation(
                &mut tx,
                limits,
                run_id,
                &run,
                &decode(envelope)?,
                cost,
            )
            .await?
        }
        "review.decided" => {
            let decided: ReviewDecided = decode(envelope)?;
            let reviewer = decided.reviewer.as_deref().unwrap_or("a reviewer");
            if decided.decision == ReviewDecision::Approved {
                sqlx::query("UPDATE orchestrator.runs SET state = 'running', updated_at = now() WHERE id = $1").bind(run_id).execute(&mut *tx).await?;
                record(
                    &mut tx,
                    run_id,
                    Some("moderation"),
                    "approved",
                    Some(reviewer),
                )
                .await?;
                succeed_step(&mut tx, run_id, "moderation", 0).await?;
                dispatch_video(&mut tx, limits, run_id, &run).await?;
            } else {
                fail_run(
                    &mut tx,
                    run_id,
                    "moderation",
                    &format!("rejected in review by {reviewer}"),
                )
                .await?;
            }
        }
        "video.completed" => {
            save_fact(&mut tx, run_id, "video", 0, body).await?;
            succeed_step(&mut tx, run_id, "video", cost).await?;
            sqlx::query("UPDATE orchestrator.runs SET state = 'succeeded', updated_at = now(), finished_at = now() WHERE id = $1").bind(run_id).execute(&mut *tx).await?;
            record(
                &mut tx,
                run_id,
                None,
                "succeeded",
                Some("ready for distribution"),
            )
            .await?;
        }
        _ => {
            let reason = failure.map_or_else(|| "unknown failure".to_owned(), |f| f.reason);
            step_failed(&mut tx, limits, run_id, step, &reason).await?;
        }
    }
    maybe_moderate(&mut tx, limits, run_id, &run).await?;
    tx.commit().await?;
    Ok(())
}

/// The body of `envelope` as `M`, naming the message when it does not fit.
fn decode<M: serde::de::DeserializeOwned>(envelope: &Envelope) -> anyhow::Result<M> {
    serde_json::from_value(envelope.body.clone())
        .with_context(|| format!("{} {} is malformed", envelope.kind, envelope.id))
}

/// The facts of a run's finished assets: script, narration, music and every scene image.
struct Assets {
    story: StoryCompleted,
    speech: SpeechCompleted,
    music: MusicCompleted,
    images: Vec<ImageCompleted>,
}

impl Assets {
    async fn load(tx: &mut PgConnection, run_id: Uuid) -> anyhow::Result<Assets> {
        let images: Vec<Value> = sqlx::query_scalar(
            "SELECT body FROM orchestrator.facts WHERE run_id = $1 AND kind = 'image' ORDER BY part",
        )
        .bind(run_id)
        .fetch_all(&mut *tx)
        .await?;
        Ok(Assets {
            story: serde_json::from_value(fact(tx, run_id, "story", 0).await?)?,
            speech: serde_json::from_value(fact(tx, run_id, "speech", 0).await?)?,
            music: serde_json::from_value(fact(tx, run_id, "music", 0).await?)?,
            images: images
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Once narration, every image and the music exist, asks moderation to judge them.
async fn maybe_moderate(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    run: &LockedRun,
) -> anyhow::Result<()> {
    let states: Vec<(String, String)> =
        sqlx::query_as("SELECT name, state FROM orchestrator.steps WHERE run_id = $1")
            .bind(run_id)
            .fetch_all(&mut *tx)
            .await?;
    let state_of = |name: &str| {
        states
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_str())
            .unwrap_or("")
    };
    let assets_ready = ["speech", "images", "music"]
        .iter()
        .all(|s| state_of(s) == "succeeded");
    if !assets_ready || state_of("moderation") != "pending" {
        return Ok(());
    }
    let (_, rounds_done) = step_state(tx, run_id, "moderation").await?;
    let Assets {
        story,
        speech,
        music,
        images,
    } = Assets::load(tx, run_id).await?;
    let job = serde_json::to_value(ModerationCheck {
        tenant: run.tenant.clone(),
        final_round: rounds_done + 1 >= limits.moderation_rounds,
        text: TextSubject {
            title: story.script.title,
            narrations: story
                .script
                .scenes
                .into_iter()
                .map(|s| s.narration)
                .collect(),
        },
        images: images
            .into_iter()
            .map(|i| ImageSubject {
                scene_index: i.scene_index,
                media_key: i.media_key,
            })
            .collect(),
        narration: AudioSubject {
            media_key: speech.media_key,
        },
        music: AudioSubject {
            media_key: music.media_key,
        },
    })?;
    dispatch(tx, limits, run_id, "moderation", vec![job.clone()], job).await
}

pub(crate) async fn dispatch_video(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    run: &LockedRun,
) -> anyhow::Result<()> {
    let Assets {
        story,
        speech,
        music,
        images,
    } = Assets::load(tx, run_id).await?;
    let formats = run
        .params
        .formats
        .iter()
        .map(|f| serde_json::from_value::<Format>(json!(f)))
        .collect::<Result<Vec<_>, _>>()
        .context("the run's formats")?;
    let job = serde_json::to_value(VideoRender {
        tenant: run.tenant.clone(),
        title: story.script.title,
        formats,
        images: images.into_iter().map(|i| i.media_key).collect(),
        narration: Narration {
            media_key: speech.media_key,
            duration_ms: speech.duration_ms,
            cues: speech.cues,
        },
        music_key: music.media_key,
        tail_ms: TAIL_MS,
    })?;
    dispatch(tx, limits, run_id, "video", vec![job.clone()], job).await
}

/// A failed attempt: retried after a backoff while attempts remain, otherwise the run fails.
pub async fn step_failed(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    step: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let (_, attempts) = step_state(tx, run_id, step).await?;
    if attempts < limits.max_attempts {
        let wait = limits.backoff(attempts);
        sqlx::query(
            "UPDATE orchestrator.steps SET state = 'retrying', error = $3, deadline_at = NULL,
                 retry_at = now() + make_interval(secs => $4)
             WHERE run_id = $1 AND name = $2",
        )
        .bind(run_id)
        .bind(step)
        .bind(reason)
        .bind(wait.as_secs_f64())
        .execute(&mut *tx)
        .await?;
        record(
            tx,
            run_id,
            Some(step),
            "retrying",
            Some(&format!("{reason}; retry in {} ms", wait.as_millis())),
        )
        .await?;
        Ok(())
    } else {
        fail_run(
            tx,
            run_id,
            step,
            &format!("{reason} (after {attempts} attempts)"),
        )
        .await
    }
}

async fn fail_run(
    tx: &mut PgConnection,
    run_id: Uuid,
    step: &str,
    reason: &str,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE orchestrator.steps SET state = 'failed', error = $3, finished_at = now(), deadline_at = NULL WHERE run_id = $1 AND name = $2")
        .bind(run_id)
        .bind(step)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE orchestrator.steps SET state = 'cancelled', deadline_at = NULL, retry_at = NULL WHERE run_id = $1 AND state IN ('pending', 'running', 'retrying', 'waiting_review')")
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
    let message = format!("{step}: {reason}");
    sqlx::query("UPDATE orchestrator.runs SET state = 'failed', error = $2, updated_at = now(), finished_at = now() WHERE id = $1")
        .bind(run_id)
        .bind(&message)
        .execute(&mut *tx)
        .await?;
    record(tx, run_id, Some(step), "failed", Some(reason)).await?;
    record(tx, run_id, None, "failed", Some(&message)).await?;
    Ok(())
}

/// Cancels a run that has not finished; returns false when it already had.
pub async fn cancel(pool: &PgPool, run_id: Uuid) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let Some(run) = lock_run(&mut tx, run_id).await? else {
        return Ok(false);
    };
    if matches!(run.state.as_str(), "succeeded" | "failed" | "cancelled") {
        return Ok(false);
    }
    sqlx::query("UPDATE orchestrator.steps SET state = 'cancelled', deadline_at = NULL, retry_at = NULL WHERE run_id = $1 AND state IN ('pending', 'running', 'retrying', 'waiting_review')")
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE orchestrator.runs SET state = 'cancelled', updated_at = now(), finished_at = now() WHERE id = $1").bind(run_id).execute(&mut *tx).await?;
    record(&mut tx, run_id, None, "cancelled", None).await?;
    tx.commit().await?;
    Ok(true)
}

/// Steps whose deadline passed count as failed attempts; steps whose backoff elapsed are sent again.
pub async fn tick(pool: &PgPool, limits: &Limits) -> anyhow::Result<()> {
    let due: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT run_id, name, state FROM orchestrator.steps
         WHERE (state = 'running' AND deadline_at < now()) OR (state = 'retrying' AND retry_at <= now())
         LIMIT 100",
    )
    .fetch_all(pool)
    .await?;
    for (run_id, step, state) in due {
        let mut tx = pool.begin().await?;
        let Some(run) = lock_run(&mut tx, run_id).await? else {
            continue;
        };
        let (current, _) = step_state(&mut tx, run_id, &step).await?;
        if current != state || matches!(run.state.as_str(), "succeeded" | "failed" | "cancelled") {
            continue;
        }
        if state == "running" {
            let timeout = limits.timeout(&step).as_secs();
            step_failed(
                &mut tx,
                limits,
                run_id,
                &step,
                &format!("no result within {timeout} s"),
            )
            .await?;
        } else {
            redispatch(&mut tx, limits, run_id, &step).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Sends a step's stored job again (for images, only the scenes not yet rendered).
async fn redispatch(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    step: &str,
) -> anyhow::Result<()> {
    let stored: Value =
        sqlx::query_scalar("SELECT job FROM orchestrator.steps WHERE run_id = $1 AND name = $2")
            .bind(run_id)
            .bind(step)
            .fetch_one(&mut *tx)
            .await?;
    let jobs = if step == "images" {
        let done: Vec<i32> = sqlx::query_scalar(
            "SELECT part FROM orchestrator.facts WHERE run_id = $1 AND kind = 'image'",
        )
        .bind(run_id)
        .fetch_all(&mut *tx)
        .await?;
        stored["scenes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|j| {
                !j["scene_index"]
                    .as_i64()
                    .is_some_and(|i| done.contains(&(i as i32)))
            })
            .cloned()
            .collect()
    } else {
        vec![stored.clone()]
    };
    dispatch(tx, limits, run_id, step, jobs, stored).await
}
