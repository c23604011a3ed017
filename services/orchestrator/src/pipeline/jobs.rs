//! The jobs a run sends, built from its parameters and the facts its steps recorded: the story
//! brief, the moderation check once every asset exists, and the render.

use anyhow::Context as _;
use messages::{
    events::{ImageCompleted, MusicCompleted, SpeechCompleted, StoryCompleted},
    jobs::{
        AudioSubject, Format, ImageSubject, ModerationCheck, Narration, StoryBrief, StoryWrite,
        TextSubject, VideoRender,
    },
};
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    steps::{dispatch, fact, record, step_state, LockedRun},
    Limits, STEPS, TAIL_MS,
};
use crate::{params::RunParams, states::StepState};

/// Creates a run with its steps and dispatches the story job, in the caller's transaction.
pub async fn create_run(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    tenant: &str,
    params: &RunParams,
) -> anyhow::Result<()> {
    sqlx::query!("INSERT INTO orchestrator.runs (id, tenant, topic, params, state) VALUES ($1, $2, $3, $4, 'queued')", run_id, tenant, &params.topic, sqlx::types::Json(params) as _)
        .execute(&mut *tx)
        .await?;
    let publishes = (!params.publish.is_empty()).then_some("publish");
    for (position, step) in STEPS.iter().copied().chain(publishes).enumerate() {
        sqlx::query!("INSERT INTO orchestrator.steps (run_id, name, state, position) VALUES ($1, $2, 'pending', $3)", run_id, step, position as i32)
            .execute(&mut *tx)
            .await?;
    }
    record(tx, run_id, None, "queued", Some(&params.topic)).await?;
    dispatch_story(tx, limits, run_id, tenant, params, 0).await
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
            series: params.series.clone(),
            learned: params.recommendation.as_ref().map(|r| r.context.clone()),
        },
    })?;
    dispatch(tx, limits, run_id, "story", vec![job.clone()], job).await
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
        let images: Vec<Value> = sqlx::query_scalar!("SELECT body FROM orchestrator.facts WHERE run_id = $1 AND kind = 'image' ORDER BY part", run_id)
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
pub(super) async fn maybe_moderate(
    tx: &mut PgConnection,
    limits: &Limits,
    run_id: Uuid,
    run: &LockedRun,
) -> anyhow::Result<()> {
    let steps = sqlx::query!(
        r#"SELECT name, state AS "state: StepState" FROM orchestrator.steps WHERE run_id = $1"#,
        run_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let state_of = |name: &str| {
        steps
            .iter()
            .find(|step| step.name == name)
            .map(|step| step.state)
    };
    let assets_ready = ["speech", "images", "music"]
        .iter()
        .all(|step| state_of(step) == Some(StepState::Succeeded));
    if !assets_ready || state_of("moderation") != Some(StepState::Pending) {
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
