//! Facts services report on the `events` stream that the orchestrator reads.

use serde::{Deserialize, Serialize};
use shared::{bus::Envelope, jobs::EVENTS, outbox, storage::MediaKey};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{jobs::Cue, steps::Step, Message};

/// `<service>.failed`: an attempt of a step failed with a reason; the run's owner retries it or
/// fails the run. The envelope's kind names the reporting service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepFailed {
    pub step: Step,
    pub attempt: i32,
    pub reason: String,
}

/// What every `<service>.completed` fact carries, whatever else it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub attempt: i32,
    #[serde(default)]
    pub cost_micros: i64,
}

/// Publishes `<service>.failed` for `step` of `run_id` through the outbox, so the owner of the run
/// can retry or fail it. The job itself is then acked: its failure is now a recorded fact.
pub async fn report_failure(
    pool: &PgPool,
    service: &str,
    step: Step,
    run_id: Uuid,
    attempt: i32,
    reason: &str,
) -> anyhow::Result<()> {
    tracing::warn!(%run_id, %step, attempt, reason, "job failed");
    let failed = StepFailed {
        step,
        attempt,
        reason: reason.to_owned(),
    };
    let envelope = Envelope::new(
        format!("{service}.failed"),
        Some(run_id),
        serde_json::to_value(&failed)?,
    );
    let mut tx = pool.begin().await?;
    outbox::enqueue(&mut tx, service, EVENTS, &envelope).await?;
    tx.commit().await?;
    Ok(())
}

/// One scene of a written story, as the rest of the run needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SceneOutline {
    pub narration: String,
    pub visual: String,
    pub mood: String,
}

/// The parts of a script the rest of the run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptOutline {
    pub title: String,
    pub scenes: Vec<SceneOutline>,
}

/// `story.completed` (the script carries more: per-platform metadata, for the manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryCompleted {
    pub script: ScriptOutline,
}

/// `speech.completed`: the narration and when each phrase is spoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechCompleted {
    pub attempt: i32,
    pub cost_micros: u64,
    pub narration_id: Uuid,
    pub media_key: MediaKey,
    pub duration_ms: u64,
    pub sample_rate: u32,
    /// The voices that spoke, and the language (`offline/en`).
    pub voice: String,
    pub provider: String,
    pub cues: Vec<Cue>,
}

/// `image.completed`: one scene's picture and its licence evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageCompleted {
    pub attempt: i32,
    pub cost_micros: u64,
    pub image_id: Uuid,
    pub scene_index: i32,
    pub media_key: MediaKey,
    pub width: u32,
    pub height: u32,
    pub provider: String,
    /// Where the picture came from and under which terms (provider or generator, seed, …).
    pub licence: serde_json::Value,
}

/// `music.completed`: the run's track and its licence evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicCompleted {
    pub attempt: i32,
    pub cost_micros: u64,
    pub track_id: Uuid,
    pub media_key: MediaKey,
    pub duration_ms: u64,
    pub provider: String,
    pub licence: serde_json::Value,
}

impl Message for SpeechCompleted {
    const KIND: &'static str = "speech.completed";
    const STREAM: &'static str = EVENTS;
}

impl Message for ImageCompleted {
    const KIND: &'static str = "image.completed";
    const STREAM: &'static str = EVENTS;
}

impl Message for MusicCompleted {
    const KIND: &'static str = "music.completed";
    const STREAM: &'static str = EVENTS;
}

/// Publishes `event` about `run_id` through the outbox inside the caller's transaction, so the
/// fact leaves exactly when the result it reports is committed.
pub async fn emit<E: Message>(
    tx: &mut sqlx::PgConnection,
    service: &str,
    run_id: Uuid,
    event: &E,
) -> anyhow::Result<()> {
    shared::jobs::emit(tx, service, E::KIND, run_id, serde_json::to_value(event)?).await
}

/// How a moderation round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Review,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What failed a moderation round: `text`, `narration`, `music` or `image` (with its scene).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationFailure {
    pub subject: String,
    #[serde(default)]
    pub scene_index: Option<i32>,
    /// Each rule or classifier finding, with its severity and whether it blocks.
    #[serde(default)]
    pub reasons: Vec<serde_json::Value>,
}

/// `moderation.completed`: the verdict of a round, what failed, and the review a final failing
/// round opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationCompleted {
    pub attempt: i32,
    #[serde(default)]
    pub cost_micros: u64,
    pub verdict: Verdict,
    #[serde(default)]
    pub failures: Vec<ModerationFailure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<Uuid>,
}

impl Message for ModerationCompleted {
    const KIND: &'static str = "moderation.completed";
    const STREAM: &'static str = EVENTS;
}

/// What a reviewer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum ReviewDecision {
    Approved,
    Rejected,
}

impl ReviewDecision {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// `review.decided`: a human approved or rejected a run held for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewDecided {
    pub review_id: Uuid,
    pub decision: ReviewDecision,
    #[serde(default)]
    pub reviewer: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl Message for ReviewDecided {
    const KIND: &'static str = "review.decided";
    const STREAM: &'static str = EVENTS;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_and_decision_names_are_their_wire_names() {
        for verdict in [Verdict::Pass, Verdict::Fail, Verdict::Review] {
            assert_eq!(
                serde_json::to_value(verdict).ok(),
                Some(serde_json::json!(verdict.as_str()))
            );
        }
        for decision in [ReviewDecision::Approved, ReviewDecision::Rejected] {
            assert_eq!(
                serde_json::to_value(decision).ok(),
                Some(serde_json::json!(decision.as_str()))
            );
        }
        assert_eq!(Verdict::Review.as_str(), "review");
    }
}

/// `publication.published`: a publication went live on its platform (distribution reports it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicationPublished {
    pub publication_id: Uuid,
    pub account_id: Uuid,
    pub platform: String,
    pub platform_post_id: String,
    #[serde(default)]
    pub permalink: Option<String>,
    /// The run's attempt of its `publish` step, when the run asked for the publication.
    #[serde(default)]
    pub attempt: Option<i32>,
    /// When it went live (older senders: the envelope's time).
    #[serde(default)]
    pub published_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Message for PublicationPublished {
    const KIND: &'static str = "publication.published";
    const STREAM: &'static str = EVENTS;
}

/// `insight.created`: the knowledge network learned something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsightCreated {
    pub id: Uuid,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub tenant: Option<String>,
    pub confidence: f64,
    pub summary: String,
}

impl Message for InsightCreated {
    const KIND: &'static str = "insight.created";
    const STREAM: &'static str = EVENTS;
}

/// `analytics.notification`: something about a tenant's results that people should act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsNotification {
    pub tenant: String,
    /// `completion.below_floor`, `completion.recovered`, `experiment.promoted`.
    pub kind: String,
    pub detail: serde_json::Value,
}

impl Message for AnalyticsNotification {
    const KIND: &'static str = "analytics.notification";
    const STREAM: &'static str = EVENTS;
}
