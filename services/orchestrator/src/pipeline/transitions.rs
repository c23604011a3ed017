//! Applying one fact from the bus to its run: which step it finishes, and what that step's
//! success or failure sends next.

use anyhow::Context as _;
use messages::{
    events::{
        Completion, ImageCompleted, MusicCompleted, ReviewDecided, ReviewDecision, SpeechCompleted,
        StepFailed, StoryCompleted,
    },
    jobs::{ImageRender, MusicCompose, SpeechSynthesize},
};
use serde_json::{json, Value};
use shared::bus::Envelope;
use sqlx::PgPool;

use crate::states::{RunState, StepState};

use super::{
    jobs::{dispatch_video, maybe_moderate},
    moderation_round, publishing,
    steps::{
        dispatch, fact, fail_run, lock_run, record, reset_steps, save_fact, step_failed,
        step_state, succeed_step,
    },
    Limits, TAIL_MS,
};

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
    if run.state.is_finished() {
        return Ok(());
    }
    if envelope.kind.starts_with("publication.") {
        publishing::on_publication(&mut tx, limits, run_id, &run, envelope).await?;
        tx.commit().await?;
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
    let expected_state = if review {
        StepState::WaitingReview
    } else {
        StepState::Running
    };
    if state != expected_state || (!review && attempt != current_attempt) {
        tracing::debug!(kind = %envelope.kind, %state, attempt, current_attempt, "stale event ignored");
        return Ok(());
    }
    if run.state == RunState::Queued {
        sqlx::query!(
            "UPDATE orchestrator.runs SET state = 'running', updated_at = now() WHERE id = $1",
            run_id
        )
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
            sqlx::query!(
                "UPDATE orchestrator.runs SET scene_count = $2 WHERE id = $1",
                run_id,
                scenes.len() as i32
            )
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
            sqlx::query!(
                "UPDATE orchestrator.steps SET total = $2 WHERE run_id = $1 AND name = 'images'",
                run_id,
                images.len() as i32
            )
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
            let done: i64 = sqlx::query_scalar!(
                r#"SELECT count(*) AS "count!" FROM orchestrator.facts WHERE run_id = $1 AND kind = 'image'"#,
                run_id
            )
            .fetch_one(&mut *tx)
            .await?;
            let total: i32 = sqlx::query_scalar!("UPDATE orchestrator.steps SET progress = $2, cost_micros = cost_micros + $3 WHERE run_id = $1 AND name = 'images' RETURNING total", run_id, done as i32, cost)
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
            moderation_round::on_moderation(&mut tx, limits, run_id, &run, &decode(envelope)?, cost)
                .await?
        }
        "review.decided" => {
            let decided: ReviewDecided = decode(envelope)?;
            let reviewer = decided.reviewer.as_deref().unwrap_or("a reviewer");
            if decided.decision == ReviewDecision::Approved {
                sqlx::query!("UPDATE orchestrator.runs SET state = 'running', updated_at = now() WHERE id = $1", run_id).execute(&mut *tx).await?;
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
            if run.params.publish.is_empty() {
                sqlx::query!("UPDATE orchestrator.runs SET state = 'succeeded', updated_at = now(), finished_at = now() WHERE id = $1", run_id).execute(&mut *tx).await?;
                record(
                    &mut tx,
                    run_id,
                    None,
                    "succeeded",
                    Some("ready for distribution"),
                )
                .await?;
            } else {
                publishing::dispatch_publish(&mut tx, limits, run_id, &run).await?;
            }
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
