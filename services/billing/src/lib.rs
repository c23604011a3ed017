//! billing service: usage ledger and rollups, plans and quotas, published rate limits, budgets with
//! reservations, anomaly alerts, the cost API and pre-flight estimates.

pub mod alerts;
pub mod budgets;
pub mod config;
pub mod ledger;
pub mod quota;
mod routes;
mod worker;

use std::sync::Arc;

use axum::Router;
use shared::{
    privacy::{TenantData, TenantRows},
    Context, Service, Worker,
};
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
        routes::router(ctx)
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        routes::ApiDoc::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let config = config::settings(ctx)?;
        let alerts = alerts::Alerts::new(config.clone(), &ctx.metrics)?;
        let mut workers: Vec<Worker> = (0..config.ingest_consumers)
            .map(|_| {
                let writer = ledger::LedgerWriter {
                    db: ctx.db.clone(),
                    alerts: alerts.clone(),
                };
                worker::ingest(ctx, writer, config.ingest_batch)
            })
            .collect();
        workers.push(worker::sweep_leases(ctx, config.sweep_interval_ms));
        workers.push(worker::publish_limits(ctx));
        Ok(workers)
    }
}
