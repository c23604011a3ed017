//! What a moderation verdict does to a run: pass sends it to the render, review parks it for a
//! human, fail regenerates the failing assets with new seeds.

use messages::{
    events::{ModerationCompleted, Verdict},
    jobs::{ImageRender, MusicCompose},
};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    jobs::{dispatch_story, dispatch_video},
    steps::{dispatch, record, reset_steps, step_state, succeed_step, LockedRun},
    Limits,
};

pub(crate) async fn on_moderation(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    run: &LockedRun,
    moderated: &ModerationCompleted,
    cost: i64,
) -> anyhow::Result<()> {
    match moderated.verdict {
        Verdict::Pass => {
            succeed_step(tx, run_id, "moderation", cost).await?;
            dispatch_video(tx, limits, run_id, run).await
        }
        Verdict::Review => {
            sqlx::query!("UPDATE orchestrator.steps SET state = 'waiting_review', deadline_at = NULL WHERE run_id = $1 AND name = 'moderation'", run_id).execute(&mut *tx).await?;
            sqlx::query!("UPDATE orchestrator.runs SET state = 'waiting_review', updated_at = now() WHERE id = $1", run_id).execute(&mut *tx).await?;
            let review = moderated
                .review_id
                .map(|id| id.to_string())
                .unwrap_or_default();
            record(
                tx,
                run_id,
                Some("moderation"),
                "waiting_review",
                Some(&format!("review {review}")),
            )
            .await?;
            Ok(())
        }
        Verdict::Fail => regenerate(tx, limits, run_id, run, moderated).await,
    }
}

/// Regenerates what failed moderation with new seeds; moderation runs again when they are back.
async fn regenerate(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    run: &LockedRun,
    moderated: &ModerationCompleted,
) -> anyhow::Result<()> {
    let failures = &moderated.failures;
    let (_, round) = step_state(tx, run_id, "moderation").await?;
    let summary = failures
        .iter()
        .map(|f| f.subject.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let failed = |subject: &str| failures.iter().any(|f| f.subject == subject);
    record(
        tx,
        run_id,
        Some("moderation"),
        "regenerating",
        Some(&summary),
    )
    .await?;
    sqlx::query!("UPDATE orchestrator.steps SET state = 'pending', deadline_at = NULL WHERE run_id = $1 AND name = 'moderation'", run_id).execute(&mut *tx).await?;
    let variation = 1000 * round as u64;
    if failed("text") {
        reset_steps(
            tx,
            run_id,
            &["speech", "images", "music"],
            &["story", "speech", "image", "music"],
        )
        .await?;
        return dispatch_story(tx, limits, run_id, &run.tenant, &run.params, variation).await;
    }
    if failed("narration") {
        let job = sqlx::query_scalar!(
            r#"SELECT job AS "job!" FROM orchestrator.steps WHERE run_id = $1 AND name = 'speech'"#,
            run_id
        )
        .fetch_one(&mut *tx)
        .await?;
        reset_steps(tx, run_id, &["speech", "music"], &["speech", "music"]).await?;
        dispatch(tx, limits, run_id, "speech", vec![job.clone()], job).await?;
    } else if failed("music") {
        let stored = sqlx::query_scalar!(
            r#"SELECT job AS "job!" FROM orchestrator.steps WHERE run_id = $1 AND name = 'music'"#,
            run_id
        )
        .fetch_one(&mut *tx)
        .await?;
        let job = serde_json::to_value(MusicCompose {
            seed: run.params.seed.wrapping_add(variation),
            ..serde_json::from_value(stored)?
        })?;
        reset_steps(tx, run_id, &["music"], &["music"]).await?;
        dispatch(tx, limits, run_id, "music", vec![job.clone()], job).await?;
    }
    let scenes: Vec<i32> = failures
        .iter()
        .filter(|f| f.subject == "image")
        .filter_map(|f| f.scene_index)
        .collect();
    if !scenes.is_empty() {
        let stored = sqlx::query_scalar!(
            r#"SELECT job AS "job!" FROM orchestrator.steps WHERE run_id = $1 AND name = 'images'"#,
            run_id
        )
        .fetch_one(&mut *tx)
        .await?;
        let all: Vec<ImageRender> = serde_json::from_value(stored["scenes"].clone())?;
        let jobs = all
            .into_iter()
            .filter(|j| scenes.contains(&j.scene_index))
            .map(|j| {
                serde_json::to_value(ImageRender {
                    seed: run.params.seed.wrapping_add(variation),
                    ..j
                })
            })
            .collect::<Result<Vec<Value>, _>>()?;
        sqlx::query!("DELETE FROM orchestrator.facts WHERE run_id = $1 AND kind = 'image' AND part = ANY($2)", run_id, &scenes)
            .execute(&mut *tx)
            .await?;
        dispatch(tx, limits, run_id, "images", jobs, stored).await?;
    }
    Ok(())
}
