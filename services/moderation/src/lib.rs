//! moderation service: decisions on text, images and audio, the review queue and its audit log.

pub mod audio_check;
pub mod classifier;
mod decisions;
pub mod image_check;
mod reviews;
pub mod text_check;
mod worker;

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    routing::{get, post},
    Router,
};
use providers::{catalogue, chain::Describe, registry, setup::Shared, Chain, Moderation};
use shared::{privacy::TenantData, Context, Service, Worker};
use text_check::{Category, Severity};
use utoipa::OpenApi as _;

/// `[services.moderation]` configuration: lexicons and the thresholds of every rule.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ModerationConfig {
    /// Findings at or above this severity fail the text.
    pub block_at: Severity,
    /// Use the built-in lexicon (categories in `lexicon` are added to it, replacing same-named ones).
    pub builtin_lexicon: bool,
    pub lexicon: BTreeMap<String, Category>,
    pub min_image_side: u32,
    /// Below this luma standard deviation an image counts as blank.
    pub min_image_contrast: f64,
    /// Perceptual hashes this close (in bits) mark two scenes as near-duplicates.
    pub near_duplicate_bits: u32,
    pub min_audio_rms_dbfs: f64,
    pub max_clipped_ratio: f64,
    pub max_narration_silence_ms: u64,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        Self {
            block_at: Severity::Medium,
            builtin_lexicon: true,
            lexicon: BTreeMap::new(),
            min_image_side: 1024,
            min_image_contrast: 6.0,
            near_duplicate_bits: 4,
            min_audio_rms_dbfs: -45.0,
            max_clipped_ratio: 0.001,
            max_narration_silence_ms: 3000,
        }
    }
}

impl ModerationConfig {
    /// The effective lexicon: built-in categories overlaid with configured ones.
    pub fn lexicon(&self) -> BTreeMap<String, Category> {
        let mut lexicon = if self.builtin_lexicon {
            text_check::default_lexicon()
        } else {
            BTreeMap::new()
        };
        lexicon.extend(self.lexicon.clone());
        lexicon
    }
}

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
            registry::build(
                &setup.config,
                &setup.config.moderation,
                &catalogue::moderation(Arc::new(offline)),
                &setup.layer,
                &setup.env,
            )
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
        Ok(Router::new()
            .route("/v1/moderation/decisions", get(decisions::list))
            .route("/v1/moderation/decisions/{id}", get(decisions::get))
            .route("/v1/moderation/reviews", get(reviews::list))
            .route(
                "/v1/moderation/reviews/{id}/approve",
                post(reviews::approve),
            )
            .route("/v1/moderation/reviews/{id}/reject", post(reviews::reject))
            .with_state(ctx.db.clone())
            .merge(providers::admin::router(
                self.prefix(),
                vec![chain as Arc<dyn Describe>],
            )))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        let mut document = decisions::ApiDoc::openapi();
        document.merge(reviews::ApiDoc::openapi());
        document.merge(providers::admin::openapi(self.prefix()));
        document
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
