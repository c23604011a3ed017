//! billing service: usage ledger and rollups, plans and quotas, published rate limits, budgets with
//! reservations, anomaly alerts, the cost API and pre-flight estimates.

pub mod alerts;
mod budget_routes;
pub mod budgets;
pub mod config;
mod costs;
mod estimate;
pub mod ledger;
mod plans;
pub mod quota;
mod workers;

use std::sync::Arc;

use axum::{
    routing::{delete, get, post, put},
    Router,
};
use providers::{config::ProvidersConfig, pricing::PriceTable};
use shared::{
    openapi::BearerAuth,
    privacy::{TenantData, TenantRows},
    Context, Service, Worker,
};
use utoipa::OpenApi as _;

/// The billing service as a fleet member.
pub struct BillingService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(BillingService)
}

fn settings(ctx: &Context) -> anyhow::Result<config::BillingConfig> {
    let config: config::BillingConfig = ctx.settings.service("billing")?;
    config.validate()?;
    Ok(config)
}

/// The price table the provider layer bills with (its `providers.prices_file` when set).
fn prices(ctx: &Context) -> anyhow::Result<PriceTable> {
    ctx.settings
        .section::<ProvidersConfig>("providers")?
        .price_table()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge billing", description = "Usage ledger, costs, plans, quotas, budgets and reservations."),
    paths(plans::list, plans::update, plans::tenant_plan, plans::set_tenant_plan, plans::tenant_quota,
          plans::notifications, costs::report, costs::top, estimate::estimate, budget_routes::list,
          budget_routes::put, budget_routes::delete, budget_routes::admission, budget_routes::reserve, budget_routes::settle,
          budget_routes::release),
    components(schemas(plans::Plan, plans::PlanInput, plans::TenantPlan, plans::Notification,
                       quota::QuotaStatus, costs::CostReport, costs::CostRow, costs::Spender,
                       estimate::EstimateRequest, estimate::Estimate, estimate::StepEstimate,
                       budgets::Budget, budgets::BudgetInput, budgets::ReserveInput, budgets::Reservation,
                       budgets::Hold, budget_routes::SettleInput, budget_routes::Admission, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

impl Service for BillingService {
    fn name(&self) -> &'static str {
        "billing"
    }

    fn prefix(&self) -> &'static str {
        "/v1/billing"
    }

    /// Plans, budgets and notifications go; the ledger and its rollups stay for accounting, under a
    /// pseudonym.
    fn tenant_data(&self) -> Option<TenantData> {
        Some(TenantData {
            erased: vec![
                TenantRows::by_tenant("billing.notifications"),
                TenantRows::by_tenant("billing.tenant_plans"),
                TenantRows::filtered(
                    "billing.budget_spend",
                    "budget_id IN (SELECT id FROM billing.budgets WHERE scope = 'tenant' AND subject = $1)",
                ),
                TenantRows::filtered("billing.budgets", "scope = 'tenant' AND subject = $1"),
            ],
            anonymised: vec![
                TenantRows::by_tenant("billing.ledger"),
                TenantRows::by_tenant("billing.daily_rollups"),
                TenantRows::by_tenant("billing.monthly_rollups"),
                TenantRows::by_tenant("billing.monthly_charges"),
                TenantRows::by_tenant("billing.reservations"),
            ],
            media: Vec::new(),
        })
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        let config = settings(ctx)?;
        let plans = plans::PlanState {
            db: ctx.db.clone(),
            bus: ctx.bus.clone(),
        };
        let budgets = budget_routes::BudgetState {
            db: ctx.db.clone(),
            leases: budgets::Leases {
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
                    .with_state(Arc::new(prices(ctx)?)),
            )
            .merge(
                Router::new()
                    .route(
                        "/v1/billing/budgets",
                        get(budget_routes::list).put(budget_routes::put),
                    )
                    .route("/v1/billing/budgets/{id}", delete(budget_routes::delete))
                    .route(
                        "/v1/billing/tenants/{id}/admission",
                        get(budget_routes::admission),
                    )
                    .route("/v1/billing/reservations", post(budget_routes::reserve))
                    .route(
                        "/v1/billing/reservations/{id}/settle",
                        post(budget_routes::settle),
                    )
                    .route(
                        "/v1/billing/reservations/{id}/release",
                        post(budget_routes::release),
                    )
                    .with_state(budgets),
            ))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        ApiDoc::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let config = settings(ctx)?;
        let alerts = alerts::Alerts::new(config.clone(), &ctx.metrics)?;
        let mut workers: Vec<Worker> = (0..config.ingest_consumers)
            .map(|_| {
                let writer = ledger::LedgerWriter {
                    db: ctx.db.clone(),
                    alerts: alerts.clone(),
                };
                workers::ingest(ctx, writer, config.ingest_batch)
            })
            .collect();
        workers.push(workers::sweep_leases(ctx, config.sweep_interval_ms));
        workers.push(workers::publish_limits(ctx));
        Ok(workers)
    }
}
