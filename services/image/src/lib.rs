//! image service: one image per scene, plus thumbnail base art.

mod config;
pub mod painting;
pub mod render;
mod routes;
mod worker;

use std::sync::Arc;

use axum::{routing::get, Router};
use providers::{catalogue, chain::Describe, setup::Shared, Chain, Image};
use shared::{privacy::TenantData, Context, Service, Worker};
use utoipa::OpenApi as _;

pub use config::ImageConfig;

/// The image service as a fleet member.
#[derive(Default)]
pub struct ImageService {
    images: Shared<Chain<Image>>,
}

pub fn service() -> Arc<dyn Service> {
    Arc::new(ImageService::default())
}

impl ImageService {
    /// The image chain from `[providers]`: configured models, then the procedural painter.
    fn images(&self, ctx: &Context) -> anyhow::Result<Arc<Chain<Image>>> {
        self.images.get(ctx, |setup| {
            let catalogue = catalogue::image(Arc::new(painting::Painter));
            setup.chain(&catalogue)
        })
    }
}

impl Service for ImageService {
    fn name(&self) -> &'static str {
        "image"
    }

    fn prefix(&self) -> &'static str {
        "/v1/images"
    }

    fn tenant_data(&self) -> Option<TenantData> {
        Some(
            TenantData::erasing(&["image.images"])
                .with_media("SELECT media_key, tenant FROM image.images"),
        )
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        let own = Router::new()
            .route("/v1/images", get(routes::list))
            .route("/v1/images/{id}", get(routes::get))
            .with_state(ctx.db.clone());
        Ok(providers::admin::with_chains(
            self.prefix(),
            own,
            vec![self.images(ctx)? as Arc<dyn Describe>],
        ))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        providers::admin::with_openapi(self.prefix(), routes::ApiDoc::openapi())
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let config: ImageConfig = ctx.settings.service("image")?;
        let worker = worker::ImageWorker {
            db: ctx.db.clone(),
            store: ctx.store.clone(),
            chain: self.images(ctx)?,
            ffmpeg: config.ffmpeg_path,
        };
        Ok(vec![ctx.consume("jobs.image", "image", worker)])
    }
}
