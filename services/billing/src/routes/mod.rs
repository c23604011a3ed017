//! Billing's HTTP surface: plans and quotas, the cost API, estimates, budgets and reservations.

mod budgets;
mod costs;
mod estimate;
mod plans;

use std::sync::Arc;

use axum::{
    routing::{delete, get, post, put},
    Router,
};
use shared::{openapi::BearerAuth, Context};

use crate::quota;

pub(crate) fn router(ctx: &Context) -> anyhow::Result<Router> {
    let config = crate::config::settings(ctx)?;
    let plans = plans::PlanState {
        db: ctx.db.clone(),
        bus: ctx.bus.clone(),
    };
    let budgets = budgets::BudgetState {
        db: ctx.db.clone(),
        leases: crate::budgets::Leases {
            default_secs: config.reservation_ttl_secs,
            max_secs: config.max_reservation_ttl_secs,
        },
    };
    Ok(Router::new()
        .route("/v1/billing/plans", get(plans::list))
        .route("/v1/billing/plans/{name}", put(plans::update))
        .route(
            "/v1/billing/tenants/{id}/plan",
            get(plans::tenant_plan).put(plans::set_tenant_plan),
        )
        .route("/v1/billing/tenants/{id}/quota", get(plans::tenant_quota))
        .route(
            "/v1/billing/tenants/{id}/notifications",
            get(plans::notifications),
        )
        .with_state(plans)
        .merge(
            Router::new()
                .route("/v1/billing/costs", get(costs::report))
                .route("/v1/billing/costs/top", get(costs::top))
                .with_state(ctx.db.clone()),
        )
        .merge(
            Router::new()
                .route("/v1/billing/estimate", post(estimate::estimate))
                .with_state(Arc::new(crate::config::prices(ctx)?)),
        )
        .merge(
            Router::new()
                .route("/v1/billing/budgets", get(budgets::list).put(budgets::put))
                .route("/v1/billing/budgets/{id}", delete(budgets::delete))
                .route(
                    "/v1/billing/tenants/{id}/admission",
                    get(budgets::admission),
                )
                .route("/v1/billing/reservations", post(budgets::reserve))
                .route(
                    "/v1/billing/reservations/{id}/settle",
                    post(budgets::settle),
                )
                .route(
                    "/v1/billing/reservations/{id}/release",
                    post(budgets::release),
                )
                .with_state(budgets),
        ))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge billing", description = "Usage ledger, costs, plans, quotas, budgets and reservations."),
    paths(plans::list, plans::update, plans::tenant_plan, plans::set_tenant_plan, plans::tenant_quota,
          plans::notifications, costs::report, costs::top, estimate::estimate, budgets::list,
          budgets::put, budgets::delete, budgets::admission, budgets::reserve, budgets::settle,
          budgets::release),
    components(schemas(plans::Plan, plans::PlanInput, plans::TenantPlan, plans::Notification,
                       quota::QuotaStatus, costs::CostReport, costs::CostRow, costs::Spender,
                       estimate::EstimateRequest, estimate::Estimate, estimate::StepEstimate,
                       crate::budgets::Budget, crate::budgets::BudgetInput, crate::budgets::ReserveInput, crate::budgets::Reservation,
                       crate::budgets::Hold, budgets::SettleInput, budgets::Admission, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub(crate) struct ApiDoc;
