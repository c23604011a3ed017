//! video service: FFmpeg assembly into every aspect ratio, captions, thumbnails and output checks.

mod renders;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{Context, Service};
use utoipa::OpenApi as _;

/// The video service as a fleet member.
pub struct VideoService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(VideoService)
}

impl Service for VideoService {
    fn name(&self) -> &'static str {
        "video"
    }

    fn prefix(&self) -> &'static str {
        "/v1/videos"
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new()
            .route("/v1/videos", get(renders::list))
            .route("/v1/videos/{id}", get(renders::get))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        renders::ApiDoc::openapi()
    }
}
