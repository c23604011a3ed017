//! A run as publishing needs it, read from the orchestrator's manifest
//! (`GET /v1/runs/{id}/manifest`): its renders, captions, thumbnails, per-platform copy, licence
//! evidence and whether moderation passed.

use axum::http::StatusCode;
use serde_json::Value;
use shared::{peer::Peer, storage::MediaKey, ApiError};
use uuid::Uuid;

/// One rendered file of the run.
#[derive(Debug, Clone)]
pub struct Render {
    pub format: String,
    pub media_key: MediaKey,
    pub width: u32,
    pub height: u32,
    pub duration_ms: u64,
    pub video_codec: String,
    pub audio_codec: String,
}

/// What a publication is made from.
#[derive(Debug, Clone)]
pub struct RunSource {
    pub run_id: Uuid,
    pub tenant: String,
    pub title: String,
    /// `story.metadata`: each platform's title, description, caption and hashtags.
    pub copy: Value,
    pub scene_count: usize,
    pub renders: Vec<Render>,
    pub captions_srt: Option<MediaKey>,
    pub language: String,
    /// `(width, height, media key)` of each thumbnail.
    pub thumbnails: Vec<(u32, u32, MediaKey)>,
    pub licences: Vec<Value>,
    /// Who spoke the narration (`provider`/`voice`), its evidence.
    pub narration_voice: Option<String>,
    /// The moderation step's state (`succeeded` once passed or approved).
    pub moderation: Option<String>,
}

impl RunSource {
    /// Reads the manifest of `run_id` from the orchestrator.
    pub async fn fetch(orchestrator: &Peer, run_id: Uuid) -> Result<RunSource, ApiError> {
        let path = shared::peer::path(&["v1", "runs", &run_id.to_string(), "manifest"])
            .map_err(ApiError::internal)?;
        let response = orchestrator
            .request(reqwest::Method::GET, &path)
            .map_err(ApiError::internal)?
            .send()
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "orchestrator_unavailable",
                    format!("cannot read run {run_id}: {e}"),
                )
            })?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(ApiError::not_found(format!("run {run_id} not found")));
        }
        if !response.status().is_success() {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "orchestrator_unavailable",
                format!(
                    "the orchestrator answered {} for run {run_id}",
                    response.status()
                ),
            ));
        }
        let manifest: Value = response.json().await.map_err(ApiError::internal)?;
        Ok(RunSource::from_manifest(run_id, &manifest))
    }

    pub fn from_manifest(run_id: Uuid, manifest: &Value) -> RunSource {
        let outputs = &manifest["outputs"];
        let renders = outputs["outputs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|output| {
                Some(Render {
                    format: output["format"].as_str()?.to_owned(),
                    media_key: MediaKey::parse(output["media_key"].as_str()?).ok()?,
                    width: output["width"]
                        .as_u64()
                        .and_then(|w| u32::try_from(w).ok())?,
                    height: output["height"]
                        .as_u64()
                        .and_then(|h| u32::try_from(h).ok())?,
                    duration_ms: output["duration_ms"].as_u64()?,
                    video_codec: output["probe"]["video_codec"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    audio_codec: output["probe"]["audio_codec"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                })
            })
            .collect();
        let thumbnails = outputs["thumbnails"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t["width"].as_u64().and_then(|w| u32::try_from(w).ok())?,
                    t["height"].as_u64().and_then(|h| u32::try_from(h).ok())?,
                    MediaKey::parse(t["media_key"].as_str()?).ok()?,
                ))
            })
            .collect();
        let story = &manifest["story"];
        RunSource {
            run_id,
            tenant: manifest["run"]["tenant"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            title: story["title"].as_str().unwrap_or_default().to_owned(),
            copy: story["metadata"].clone(),
            scene_count: story["scenes"].as_array().map_or(0, Vec::len),
            renders,
            captions_srt: outputs["captions"]["srt"]
                .as_str()
                .and_then(|k| MediaKey::parse(k).ok()),
            language: story["language"].as_str().unwrap_or("en").to_owned(),
            thumbnails,
            licences: manifest["licences"].as_array().cloned().unwrap_or_default(),
            narration_voice: manifest["narration"]["voice"].as_str().map(str::to_owned),
            moderation: manifest["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|step| step["name"] == "moderation")
                .and_then(|step| step["state"].as_str())
                .map(str::to_owned),
        }
    }

    pub fn render(&self, format: &str) -> Option<&Render> {
        self.renders.iter().find(|r| r.format == format)
    }

    /// The largest thumbnail of `format`'s shape, else the largest of any shape.
    pub fn thumbnail_for(&self, format: &str) -> Option<&MediaKey> {
        let shape = |(width, height, _): &&(u32, u32, MediaKey)| match format {
            "16:9" => width > height,
            "9:16" => width < height,
            _ => width == height,
        };
        let largest =
            |(width, height, _): &&(u32, u32, MediaKey)| u64::from(*width) * u64::from(*height);
        self.thumbnails
            .iter()
            .filter(shape)
            .max_by_key(largest)
            .or_else(|| self.thumbnails.iter().max_by_key(largest))
            .map(|(_, _, key)| key)
    }
}
