//! story service: scripts split into scenes, per-platform metadata, creator copy.

pub mod generator;
pub mod openai;
pub mod pricing;
pub mod provider;
mod stories;
mod worker;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{Context, Service, Worker};
use utoipa::OpenApi as _;

/// `[services.story]` configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct StoryConfig {
    /// Model asked through the OpenAI-compatible API when `OPENAI_API_KEY` is set.
    pub openai_model: String,
    /// A price table replacing the built-in `config/prices.toml`.
    pub prices_file: Option<std::path::PathBuf>,
}

impl Default for StoryConfig {
    fn default() -> Self {
        Self {
            openai_model: "gpt-4o-mini".to_owned(),
            prices_file: None,
        }
    }
}

impl StoryConfig {
    /// The chain: an OpenAI-compatible model when a key is set, then the offline writer.
    pub fn providers(&self) -> anyhow::Result<provider::FallbackChain> {
        let mut providers: Vec<Arc<dyn provider::StoryProvider>> = Vec::new();
        if let Some(config) = openai::OpenAiConfig::from_env(&self.openai_model) {
            providers.push(Arc::new(openai::OpenAiProvider::new(config)?));
        }
        providers.push(Arc::new(provider::OfflineProvider));
        Ok(provider::FallbackChain { providers })
    }
}

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
        let config: StoryConfig = ctx.settings.service("story")?;
        let prices = match &config.prices_file {
            Some(path) => pricing::PriceTable::load(path)?,
            None => pricing::PriceTable::builtin()?,
        };
        let worker = worker::StoryWorker {
            db: ctx.db.clone(),
            provider: Arc::new(config.providers()?),
            prices: Arc::new(prices),
        };
        Ok(vec![ctx.consume("jobs.story", "story", worker)])
    }
}
