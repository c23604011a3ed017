//! analytics service: metrics pulled from the platforms per publication, attribution and reports,
//! versioned tenant configs, experiments and bandits, the knowledge network, and the
//! recommendations that feed all of it back into the next runs.

mod alerts;
pub mod collect;
mod config;
pub mod configs;
pub mod experiments;
pub mod insights;
pub mod learner;
pub mod learning;
pub mod pulls;
mod recommend;
mod rewards;
mod routes;
mod slots;
pub mod summary;
pub mod tracking;
mod worker;

use std::sync::Arc;

use shared::{privacy::TenantData, Context, Service, Worker};

pub use config::AnalyticsConfig;

/// The service's name: its consumer group, outbox rows and peer subject.
const SERVICE: &str = "analytics";

/// The analytics service as a fleet member.
pub struct AnalyticsService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(AnalyticsService)
}

impl Service for AnalyticsService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn prefix(&self) -> &'static str {
        "/v1/analytics"
    }

    fn tenant_data(&self) -> Option<TenantData> {
        Some(TenantData::erasing(&[
            "analytics.metric_snapshots",
            "analytics.assignments",
            "analytics.experiments",
            "analytics.config_versions",
            "analytics.insights",
            "analytics.completion_alerts",
            "analytics.videos",
        ]))
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<axum::Router> {
        Ok(routes::router(worker::state(ctx)?))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        routes::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        worker::workers(ctx)
    }
}
