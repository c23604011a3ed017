//! orchestrator service: owns pipeline runs, drives each run's DAG over Redis Streams.

mod admission;
mod config;
mod learned_slots;
mod limits;
mod params;
mod pipeline;
mod recommendation;
mod routes;
mod schedules;
mod states;
mod worker;

use std::sync::Arc;

use axum::Router;
use shared::{
    privacy::{TenantData, TenantRows},
    Context, Service, Worker,
};

pub use config::{AppState, OrchestratorConfig};
pub use params::{RunParams, RunRecommendation, RunRequest};
pub use pipeline::{Limits, STEPS};
pub use states::{RunState, StepState};

/// The rows that belong to the tenant's runs (`$1` the tenant).
const OF_TENANT_RUNS: &str = "run_id IN (SELECT id FROM orchestrator.runs WHERE tenant = $1)";

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

    /// Runs with their steps, events and facts, and earlier exports; the audit log stays, under a
    /// pseudonym.
    fn tenant_data(&self) -> Option<TenantData> {
        Some(TenantData {
            erased: vec![
                TenantRows::filtered(
                    "orchestrator.schedule_fires",
                    "schedule_id IN (SELECT id FROM orchestrator.schedules WHERE tenant = $1)",
                ),
                TenantRows::by_tenant("orchestrator.schedules"),
                TenantRows::filtered("orchestrator.facts", OF_TENANT_RUNS),
                TenantRows::filtered("orchestrator.run_events", OF_TENANT_RUNS),
                TenantRows::filtered("orchestrator.steps", OF_TENANT_RUNS),
                TenantRows::by_tenant("orchestrator.runs"),
                // Earlier exports hold copies of the data; the erasure's own record stays.
                TenantRows::filtered("fleet.privacy_requests", "tenant = $1 AND kind = 'export'"),
            ],
            anonymised: vec![TenantRows::by_tenant("fleet.audit_log")],
            media: Vec::new(),
        })
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(routes::router(AppState::from_context(ctx)?))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        routes::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let state = AppState::from_context(ctx)?;
        let events = ctx.consume(
            "events",
            "orchestrator",
            worker::EventHandler(state.clone()),
        );
        let scheduler_state = state.clone();
        let watchdog = Worker::new("orchestrator:watchdog", move || {
            worker::watchdog(state.clone())
        });
        let scheduler = Worker::new("orchestrator:scheduler", move || {
            worker::scheduler(scheduler_state.clone())
        });
        Ok(vec![events, watchdog, scheduler])
    }
}
