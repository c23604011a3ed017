//! distribution service: platform accounts, uploads through official APIs, publication records.

mod config;
mod routes;

use axum::{routing::get, Router};
use shared::{privacy::TenantData, Context, Service};
use std::sync::Arc;

use utoipa::OpenApi as _;

pub use config::DistributionConfig;

/// The distribution service as a fleet member.
pub struct DistributionService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(DistributionService)
}

impl Service for DistributionService {
    fn name(&self) -> &'static str {
        "distribution"
    }

    fn prefix(&self) -> &'static str {
        "/v1/publications"
    }

    fn tenant_data(&self) -> Option<TenantData> {
        Some(TenantData::erasing(&[
            "distribution.publications",
            "distribution.accounts",
        ]))
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        ctx.settings.service::<DistributionConfig>("distribution")?;
        Ok(Router::new()
            .route("/v1/publications", get(routes::publications))
            .route("/v1/accounts", get(routes::accounts))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        routes::ApiDoc::openapi()
    }
}
