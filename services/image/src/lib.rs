//! image service: one image per scene, plus thumbnail base art.

mod images;
pub mod render;
mod worker;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{Context, Service, Worker};
use utoipa::OpenApi as _;

/// The image service as a fleet member.
pub struct ImageService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(ImageService)
}

impl Service for ImageService {
    fn name(&self) -> &'static str {
        "image"
    }

    fn prefix(&self) -> &'static str {
        "/v1/images"
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new()
            .route("/v1/images", get(images::list))
            .route("/v1/images/{id}", get(images::get))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        images::ApiDoc::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let worker = worker::ImageWorker {
            db: ctx.db.clone(),
            store: ctx.store.clone(),
        };
        Ok(vec![ctx.consume("jobs.image", "image", worker)])
    }
}
