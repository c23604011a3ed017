//! orchestrator service: owns pipeline runs, drives each run's DAG over Redis Streams.

mod admission;
mod commands;
mod limits;
mod moderation_round;
mod params;
mod pipeline;
mod privacy;
mod runs;

use std::{sync::Arc, time::Duration};

use axum::{
    routing::{delete, get, post},
    Router,
};
use shared::{
    bus::{Delivery, Handler},
    privacy::{TenantData, TenantRows},
    Context, Service, Worker,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi as _;

pub use params::{Catalogue, RunParams, RunRequest};
pub use pipeline::{Limits, STEPS};

/// `[services.orchestrator]` configuration.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct OrchestratorConfig {
    #[serde(flatten)]
    pub limits: Limits,
    #[serde(flatten)]
    pub catalogue: Catalogue,
    /// The billing service asked before each run starts; unset, runs are not checked.
    pub billing: shared::peer::PeerConfig,
}

/// The rows that belong to the tenant's runs (`$1` the tenant).
const OF_TENANT_RUNS: &str = "run_id IN (SELECT id FROM orchestrator.runs WHERE tenant = $1)";

/// What the orchestrator's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<OrchestratorConfig>,
    pub shutdown: CancellationToken,
    pub billing: Option<shared::peer::Peer>,
}

/// The orchestrator as a fleet service.
pub struct Orchestrator;

pub fn service() -> Arc<dyn Service> {
    Arc::new(Orchestrator)
}

fn state(ctx: &Context) -> anyhow::Result<AppState> {
    let config: OrchestratorConfig = ctx.settings.service("orchestrator")?;
    let billing = shared::peer::Peer::from_config(ctx, &config.billing, "orchestrator")?;
    Ok(AppState {
        db: ctx.db.clone(),
        config: Arc::new(config),
        shutdown: ctx.shutdown.clone(),
        billing,
    })
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
        Ok(Router::new()
            .route("/v1/runs", get(runs::list).post(commands::create))
            .route("/v1/runs/{id}", get(runs::get))
            .route("/v1/runs/{id}/manifest", get(runs::manifest))
            .route("/v1/runs/{id}/events", get(runs::events))
            .route("/v1/runs/{id}/cancel", post(commands::cancel))
            .route(
                "/v1/tenants/{tenant}/data",
                delete(privacy::erase_tenant_data),
            )
            .route(
                "/v1/tenants/{tenant}/export",
                get(privacy::export_tenant_data),
            )
            .route(
                "/v1/tenants/{tenant}/privacy-requests/{id}",
                get(privacy::privacy_request),
            )
            .with_state(state(ctx)?))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        let mut document = runs::ApiDoc::openapi();
        document.merge(commands::ApiDoc::openapi());
        document.merge(privacy::ApiDoc::openapi());
        document
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let state = state(ctx)?;
        let events = ctx.consume("events", "orchestrator", EventHandler(state.clone()));
        let watchdog = Worker::new("orchestrator:watchdog", move || watchdog(state.clone()));
        Ok(vec![events, watchdog])
    }
}

/// Applies every fact on the `events` stream to its run.
struct EventHandler(AppState);

impl Handler for EventHandler {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        pipeline::apply(&self.0.db, &self.0.config.limits, &delivery.envelope).await
    }
}

/// Times out overdue steps and sends retries whose backoff elapsed, once a second.
async fn watchdog(state: AppState) -> anyhow::Result<()> {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    while !state.shutdown.is_cancelled() {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = interval.tick() => {}
        }
        if let Err(error) = pipeline::tick(&state.db, &state.config.limits).await {
            tracing::warn!(error = format!("{error:#}"), "watchdog tick failed");
        }
    }
    Ok(())
}
