//! billing service: usage ledger, prices, plans, quotas, rate limits and budgets.

mod plans;

use std::sync::Arc;

use axum::{routing::get, Router};
use shared::{Context, Service};
use utoipa::OpenApi as _;

/// The billing service as a fleet member.
pub struct BillingService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(BillingService)
}

impl Service for BillingService {
    fn name(&self) -> &'static str {
        "billing"
    }

    fn prefix(&self) -> &'static str {
        "/v1/billing"
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new()
            .route("/v1/billing/plans", get(plans::list))
            .with_state(ctx.db.clone()))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        plans::ApiDoc::openapi()
    }
}
