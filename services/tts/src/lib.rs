//! tts service: narration audio with word and sentence timings.

mod narrations;
pub mod speech;
mod worker;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{health::Check, jobs::program_check, Context, Service, Worker};
use utoipa::OpenApi as _;

/// `[services.tts]` configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct TtsConfig {
    pub espeak_path: String,
    pub ffmpeg_path: String,
    /// Speaking rate of the offline voice.
    pub words_per_minute: u32,
}

impl Default for TtsConfig {
    fn default() -> Self {
        Self {
            espeak_path: "espeak-ng".to_owned(),
            ffmpeg_path: "ffmpeg".to_owned(),
            words_per_minute: 165,
        }
    }
}

/// The tts service as a fleet member.
pub struct TtsService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(TtsService)
}

impl Service for TtsService {
    fn name(&self) -> &'static str {
        "tts"
    }

    fn prefix(&self) -> &'static str {
        "/v1/speech"
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new()
            .route("/v1/speech", get(narrations::list))
            .route("/v1/speech/{id}", get(narrations::get))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        narrations::ApiDoc::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let worker = worker::SpeechWorker {
            db: ctx.db.clone(),
            store: ctx.store.clone(),
            config: ctx.settings.service("tts")?,
        };
        Ok(vec![ctx.consume("jobs.tts", "tts", worker)])
    }

    fn readiness(&self, ctx: &Context) -> Vec<(String, Check)> {
        let config: TtsConfig = ctx.settings.service("tts").unwrap_or_default();
        vec![
            (
                "tts.espeak-ng".to_owned(),
                program_check(config.espeak_path, "--version"),
            ),
            (
                "tts.ffmpeg".to_owned(),
                program_check(config.ffmpeg_path, "-version"),
            ),
        ]
    }
}
