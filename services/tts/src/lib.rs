//! tts service: narration audio with word and sentence timings.

mod narrations;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{Context, Service};
use utoipa::OpenApi as _;

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
}
