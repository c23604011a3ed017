//! music service: background tracks fitted to length and mood, with licence records.

pub mod synth;
mod tracks;

mod worker;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{Context, Service, Worker};
use utoipa::OpenApi as _;

/// The music service as a fleet member.
pub struct MusicService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(MusicService)
}

impl Service for MusicService {
    fn name(&self) -> &'static str {
        "music"
    }

    fn prefix(&self) -> &'static str {
        "/v1/music"
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new()
            .route("/v1/music", get(tracks::list))
            .route("/v1/music/{id}", get(tracks::get))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        tracks::ApiDoc::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let worker = worker::MusicWorker {
            db: ctx.db.clone(),
            store: ctx.store.clone(),
        };
        Ok(vec![ctx.consume("jobs.music", "music", worker)])
    }
}
