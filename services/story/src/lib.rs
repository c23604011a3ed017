//! story service: scripts split into scenes, per-platform metadata, creator copy.

pub mod copy;
pub mod generator;
mod stories;
mod worker;
pub mod writing;

use std::sync::Arc;

use axum::{
    routing::{get, post},
    Router,
};
use providers::{catalogue, chain::Describe, registry, setup::Shared, Chain, Text};
use shared::{privacy::TenantData, Context, Service, Worker};
use utoipa::OpenApi as _;

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
            registry::build(
                &setup.config,
                &setup.config.text,
                &catalogue::text(Arc::new(writing::OfflineWriter)),
                &setup.layer,
                &setup.env,
            )
        })
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(copy::write),
    components(schemas(copy::CopyRequest, copy::CopyResponse, copy::CopyKind))
)]
struct CopyApiDoc;

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
        let chain = self.text(ctx)?;
        let chains: Vec<Arc<dyn Describe>> = vec![chain.clone()];
        Ok(Router::new()
            .route("/v1/stories", get(stories::list))
            .route("/v1/stories/{id}", get(stories::get))
            .with_state(ctx.db.clone())
            .merge(
                Router::new()
                    .route("/v1/copy", post(copy::write))
                    .with_state(copy::CopyState { chain }),
            )
            .merge(providers::admin::router(self.prefix(), chains)))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        let mut document = stories::ApiDoc::openapi();
        document.merge(CopyApiDoc::openapi());
        document.merge(providers::admin::openapi(self.prefix()));
        document
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let worker = worker::StoryWorker {
            db: ctx.db.clone(),
            chain: self.text(ctx)?,
        };
        Ok(vec![ctx.consume("jobs.story", "story", worker)])
    }
}
