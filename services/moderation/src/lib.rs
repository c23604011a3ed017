//! moderation service: decisions on text, images and audio, the review queue and its audit log.

mod decisions;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{Context, Service};
use utoipa::OpenApi as _;

/// The moderation service as a fleet member.
pub struct ModerationService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(ModerationService)
}

impl Service for ModerationService {
    fn name(&self) -> &'static str {
        "moderation"
    }

    fn prefix(&self) -> &'static str {
        "/v1/moderation"
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new()
            .route("/v1/moderation/decisions", get(decisions::list))
            .route("/v1/moderation/decisions/{id}", get(decisions::get))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        decisions::ApiDoc::openapi()
    }
}
