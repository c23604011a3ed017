//! Work one service asks of another, one type per `jobs.<service>` stream. Every job carries the
//! run it is for and the attempt it belongs to ([`Job`]); results are keyed on both.

use serde::{Deserialize, Serialize};
use shared::storage::MediaKey;
use uuid::Uuid;

use crate::Message;

/// A job: which run and attempt, and what to do. The orchestrator stamps `run_id` and `attempt`
/// when it dispatches the payload; consumers decode `Job<TheirPayload>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job<P> {
    pub run_id: Uuid,
    pub attempt: i32,
    #[serde(flatten)]
    pub payload: P,
}

/// A job reads as its payload (`job.tenant`), with `run_id` and `attempt` beside it.
impl<P> std::ops::Deref for Job<P> {
    type Target = P;

    fn deref(&self) -> &P {
        &self.payload
    }
}

impl<P: Message> Message for Job<P> {
    const KIND: &'static str = P::KIND;
    const STREAM: &'static str = P::STREAM;
}

/// What the story should be about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryBrief {
    pub topic: String,
    pub genre: String,
    pub tone: String,
    pub length_seconds: u32,
    pub language: String,
    pub seed: u64,
    /// The series this story is an episode of, when a schedule makes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesBible>,
    /// What the tenant's results taught (analytics' recommendation), for the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<LearnedContext>,
}

/// What analytics learned from a tenant's published videos, handed to the story writer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LearnedContext {
    /// The tenant's top insights, as sentences ("calm tone: +23 % completion vs dark, n = 40").
    #[serde(default)]
    pub insights: Vec<String>,
    /// The tenant's most viewed titles.
    #[serde(default)]
    pub best_titles: Vec<String>,
}

/// What every episode of a series keeps, and what it must not repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeriesBible {
    pub title: String,
    pub premise: String,
    #[serde(default)]
    pub characters: Vec<String>,
    #[serde(default)]
    pub tone: Option<String>,
    /// 1 for the first episode.
    pub episode: u32,
    /// Titles of the latest episodes, newest first.
    #[serde(default)]
    pub earlier_titles: Vec<String>,
}

/// `story.write`: the script of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryWrite {
    pub tenant: String,
    pub request: StoryBrief,
}

impl Message for StoryWrite {
    const KIND: &'static str = "story.write";
    const STREAM: &'static str = "jobs.story";
}

/// `speech.synthesize`: the narration of every scene, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechSynthesize {
    pub tenant: String,
    pub language: String,
    pub scenes: Vec<String>,
}

impl Message for SpeechSynthesize {
    const KIND: &'static str = "speech.synthesize";
    const STREAM: &'static str = "jobs.tts";
}

/// `image.render`: the picture of one scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRender {
    pub tenant: String,
    pub scene_index: i32,
    pub description: String,
    pub mood: String,
    pub seed: u64,
}

impl Message for ImageRender {
    const KIND: &'static str = "image.render";
    const STREAM: &'static str = "jobs.image";
}

/// `music.compose`: a track fitted to the narration's length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicCompose {
    pub tenant: String,
    pub mood: String,
    pub genre: String,
    pub duration_ms: u64,
    pub seed: u64,
}

impl Message for MusicCompose {
    const KIND: &'static str = "music.compose";
    const STREAM: &'static str = "jobs.music";
}

/// The words of a run, as moderation judges them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextSubject {
    pub title: String,
    pub narrations: Vec<String>,
}

/// One scene's picture, as moderation judges it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSubject {
    pub scene_index: i32,
    pub media_key: MediaKey,
}

/// A sound file, as moderation judges it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioSubject {
    pub media_key: MediaKey,
}

/// `moderation.check`: every asset of a run; `final_round` sends failures to human review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationCheck {
    pub tenant: String,
    pub final_round: bool,
    pub text: TextSubject,
    pub images: Vec<ImageSubject>,
    pub narration: AudioSubject,
    pub music: AudioSubject,
}

impl Message for ModerationCheck {
    const KIND: &'static str = "moderation.check";
    const STREAM: &'static str = "jobs.moderation";
}

/// An output aspect ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    #[serde(rename = "16:9")]
    Landscape,
    #[serde(rename = "9:16")]
    Portrait,
    #[serde(rename = "1:1")]
    Square,
}

/// A phrase of the narration and exactly when it is spoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub scene_index: usize,
    pub sentence_index: usize,
}

/// The narration a render is cut to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Narration {
    pub media_key: MediaKey,
    pub duration_ms: u64,
    pub cues: Vec<Cue>,
}

/// `video.render`: every requested format of a run in one pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoRender {
    pub tenant: String,
    pub title: String,
    pub formats: Vec<Format>,
    pub images: Vec<MediaKey>,
    pub narration: Narration,
    pub music_key: MediaKey,
    pub tail_ms: u64,
}

impl Message for VideoRender {
    const KIND: &'static str = "video.render";
    const STREAM: &'static str = "jobs.video";
}

/// Where a run publishes its video, and anything that overrides the copy the story wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishTarget {
    pub account_id: Uuid,
    /// `16:9`, `9:16` or `1:1`; by default the platform's (16:9 on YouTube, 9:16 elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `public`, `unlisted` or `private` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<String>,
    /// When the post goes public; unset, as soon as it is processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// `publication.request`: publish a finished run to each target (the run's `publish` step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicationRequest {
    pub tenant: String,
    pub targets: Vec<PublishTarget>,
}

impl Message for PublicationRequest {
    const KIND: &'static str = "publication.request";
    const STREAM: &'static str = "jobs.distribution";
}

/// `publication.upload`: send one publication to its platform (or resume sending it). The
/// publication's row holds everything else, including what was already created remotely; a
/// redelivery resumes from there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicationUpload {
    pub tenant: String,
    pub publication_id: Uuid,
}

impl Message for PublicationUpload {
    const KIND: &'static str = "publication.upload";
    const STREAM: &'static str = "jobs.distribution";
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_job_is_its_payload_with_run_and_attempt_and_tolerates_unknown_fields() -> anyhow::Result<()>
    {
        let run_id = Uuid::now_v7();
        let job = Job {
            run_id,
            attempt: 2,
            payload: ImageRender {
                tenant: "acme".into(),
                scene_index: 1,
                description: "a kite".into(),
                mood: "calm".into(),
                seed: 7,
            },
        };
        let mut value = serde_json::to_value(&job)?;
        assert_eq!(value["scene_index"], 1);
        assert_eq!(value["attempt"], 2);
        // A newer producer adds a field; this consumer still reads the job.
        value["priority"] = json!("high");
        let read: Job<ImageRender> = serde_json::from_value(value)?;
        assert_eq!(read, job);
        assert_eq!(<Job<ImageRender> as Message>::KIND, "image.render");
        Ok(())
    }

    #[test]
    fn formats_are_named_by_their_ratio() -> anyhow::Result<()> {
        let formats: Vec<Format> = serde_json::from_value(json!(["16:9", "9:16", "1:1"]))?;
        assert_eq!(
            formats,
            [Format::Landscape, Format::Portrait, Format::Square]
        );
        assert!(serde_json::from_value::<Format>(json!("4:3")).is_err());
        Ok(())
    }
}
