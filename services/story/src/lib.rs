//! story service: scripts split into scenes, per-platform metadata, creator copy.

pub mod generator;
pub mod provider;
mod stories;
mod worker;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{Context, Service, Worker};
use utoipa::OpenApi as _;

/// The story service as a fleet member.
pub struct StoryService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(StoryService)
}

impl Service for StoryService {
    fn name(&self) -> &'static str {
        "story"
    }

    fn prefix(&self) -> &'static str {
        "/v1/stories"
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new()
            .route("/v1/stories", get(stories::list))
            .route("/v1/stories/{id}", get(stories::get))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        stories::ApiDoc::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let worker = worker::StoryWorker {
            db: ctx.db.clone(),
            provider: Arc::new(provider::OfflineProvider),
        };
        Ok(vec![ctx.consume("jobs.story", "story", worker)])
    }
}
