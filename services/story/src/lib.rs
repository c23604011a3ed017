//! story service: scripts split into scenes, per-platform metadata, creator copy.

mod config;
pub mod copy;
pub mod generator;
mod routes;
mod worker;
pub mod writing;

use std::sync::Arc;

use axum::Router;
use providers::{catalogue, setup::Shared, Chain, Text};
use shared::{privacy::TenantData, Context, Service, Worker};

pub use config::StoryConfig;

/// The story service as a fleet member.
#[derive(Default)]
pub struct StoryService {
    text: Shared<Chain<Text>>,
}

pub fn service() -> Arc<dyn Service> {
    Arc::new(StoryService::default())
}

impl StoryService {
    /// The text chain from `[providers]`: configured providers, then the offline writer.
    fn text(&self, ctx: &Context) -> anyhow::Result<Arc<Chain<Text>>> {
        self.text.get(ctx, |setup| {
            setup.chain(&catalogue::text(Arc::new(writing::OfflineWriter)))
        })
    }
}

impl Service for StoryService {
    fn name(&self) -> &'static str {
        "story"
    }

    fn prefix(&self) -> &'static str {
        "/v1/stories"
    }

    fn tenant_data(&self) -> Option<TenantData> {
        Some(TenantData::erasing(&["story.stories"]))
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        ctx.settings.service::<StoryConfig>("story")?;
        Ok(routes::router(
            self.prefix(),
            ctx.db.clone(),
            self.text(ctx)?,
        ))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        routes::openapi(self.prefix())
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let worker = worker::StoryWorker {
            db: ctx.db.clone(),
            chain: self.text(ctx)?,
        };
        Ok(vec![ctx.consume("jobs.story", "story", worker)])
    }
}
