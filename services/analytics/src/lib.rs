//! analytics service: platform metrics per publication, reports and insights.

mod config;
mod routes;

use axum::{routing::get, Router};
use shared::{privacy::TenantData, Context, Service};
use std::sync::Arc;

use utoipa::OpenApi as _;

pub use config::AnalyticsConfig;

/// The analytics service as a fleet member.
pub struct AnalyticsService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(AnalyticsService)
}

impl Service for AnalyticsService {
    fn name(&self) -> &'static str {
        "analytics"
    }

    fn prefix(&self) -> &'static str {
        "/v1/analytics"
    }

    fn tenant_data(&self) -> Option<TenantData> {
        Some(TenantData::erasing(&["analytics.metric_snapshots"]))
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        ctx.settings.service::<AnalyticsConfig>("analytics")?;
        Ok(Router::new()
            .route("/v1/analytics/snapshots", get(routes::list))
            .route("/v1/analytics/snapshots/{id}", get(routes::get))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        routes::ApiDoc::openapi()
    }
}
