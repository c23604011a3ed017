//! tts service: narration audio with word and sentence timings.

mod config;
mod routes;
pub mod speech;
mod worker;

use std::sync::Arc;

use axum::{routing::get, Router};
use providers::{catalogue, chain::Describe, setup::Shared, Chain, Speech};
use shared::{health::Check, jobs::program_check, privacy::TenantData, Context, Service, Worker};
use utoipa::OpenApi as _;

pub use config::TtsConfig;

/// The tts service as a fleet member.
#[derive(Default)]
pub struct TtsService {
    speech: Shared<Chain<Speech>>,
}

pub fn service() -> Arc<dyn Service> {
    Arc::new(TtsService::default())
}

impl TtsService {
    /// The speech chain from `[providers]`: configured voices, then espeak-ng.
    fn speech(&self, ctx: &Context) -> anyhow::Result<Arc<Chain<Speech>>> {
        let config: TtsConfig = ctx.settings.service("tts")?;
        self.speech.get(ctx, |setup| {
            let offline = speech::Espeak {
                program: config.espeak_path.clone(),
                rate: config.words_per_minute,
            };
            setup.chain(&catalogue::speech(Arc::new(offline)))
        })
    }
}

impl Service for TtsService {
    fn name(&self) -> &'static str {
        "tts"
    }

    fn prefix(&self) -> &'static str {
        "/v1/speech"
    }

    fn tenant_data(&self) -> Option<TenantData> {
        Some(
            TenantData::erasing(&["tts.narrations"])
                .with_media("SELECT media_key, tenant FROM tts.narrations"),
        )
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        let own = Router::new()
            .route("/v1/speech", get(routes::list))
            .route("/v1/speech/{id}", get(routes::get))
            .with_state(ctx.db.clone());
        Ok(providers::admin::with_chains(
            self.prefix(),
            own,
            vec![self.speech(ctx)? as Arc<dyn Describe>],
        ))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        providers::admin::with_openapi(self.prefix(), routes::ApiDoc::openapi())
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let worker = worker::SpeechWorker {
            db: ctx.db.clone(),
            store: ctx.store.clone(),
            config: ctx.settings.service("tts")?,
            chain: self.speech(ctx)?,
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
