//! moderation service: decisions on text, images and audio, the review queue and its audit log.

pub mod audio_check;
pub mod classifier;
mod config;
pub mod image_check;
mod routes;
pub mod text_check;
mod worker;

use std::sync::Arc;

use axum::{
    routing::{get, post},
    Router,
};
use providers::{catalogue, chain::Describe, setup::Shared, Chain, Moderation};
use shared::{privacy::TenantData, Context, Service, Worker};
use utoipa::OpenApi as _;

pub use config::ModerationConfig;

/// The moderation service as a fleet member.
#[derive(Default)]
pub struct ModerationService {
    classifier: Shared<Chain<Moderation>>,
}

impl ModerationService {
    /// The classifier chain from `[providers]`: configured classifiers, then the lexicon.
    fn classifier(
        &self,
        ctx: &Context,
        config: &ModerationConfig,
    ) -> anyhow::Result<Arc<Chain<Moderation>>> {
        self.classifier.get(ctx, |setup| {
            let offline = classifier::LexiconClassifier {
                lexicon: Arc::new(config.lexicon()),
                block_at: config.block_at,
            };
            setup.chain(&catalogue::moderation(Arc::new(offline)))
        })
    }
}

pub fn service() -> Arc<dyn Service> {
    Arc::new(ModerationService::default())
}

impl Service for ModerationService {
    fn name(&self) -> &'static str {
        "moderation"
    }

    fn prefix(&self) -> &'static str {
        "/v1/moderation"
    }

    fn tenant_data(&self) -> Option<TenantData> {
        Some(TenantData::erasing(&[
            "moderation.decisions",
            "moderation.checks",
            "moderation.reviews",
        ]))
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        let config: ModerationConfig = ctx.settings.service("moderation")?;
        let chain = self.classifier(ctx, &config)?;
        let own = Router::new()
            .route("/v1/moderation/decisions", get(routes::decisions::list))
            .route("/v1/moderation/decisions/{id}", get(routes::decisions::get))
            .route("/v1/moderation/reviews", get(routes::reviews::list))
            .route(
                "/v1/moderation/reviews/{id}/approve",
                post(routes::reviews::approve),
            )
            .route(
                "/v1/moderation/reviews/{id}/reject",
                post(routes::reviews::reject),
            )
            .with_state(ctx.db.clone());
        Ok(providers::admin::with_chains(
            self.prefix(),
            own,
            vec![chain as Arc<dyn Describe>],
        ))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        let mut document = routes::decisions::ApiDoc::openapi();
        document.merge(routes::reviews::ApiDoc::openapi());
        providers::admin::with_openapi(self.prefix(), document)
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let config: ModerationConfig = ctx.settings.service("moderation")?;
        let worker = worker::ModerationWorker {
            db: ctx.db.clone(),
            store: ctx.store.clone(),
            chain: self.classifier(ctx, &config)?,
            config: Arc::new(config),
        };
        Ok(vec![ctx.consume("jobs.moderation", "moderation", worker)])
    }
}
