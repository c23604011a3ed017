//! orchestrator service: owns pipeline runs and their steps.

mod runs;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{Context, Service};
use utoipa::OpenApi as _;

/// The orchestrator as a fleet service.
pub struct Orchestrator;

pub fn service() -> Arc<dyn Service> {
    Arc::new(Orchestrator)
}

impl Service for Orchestrator {
    fn name(&self) -> &'static str {
        "orchestrator"
    }

    fn prefix(&self) -> &'static str {
        "/v1/runs"
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new()
            .route("/v1/runs", get(runs::list))
            .route("/v1/runs/{id}", get(runs::get))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        runs::ApiDoc::openapi()
    }
}
