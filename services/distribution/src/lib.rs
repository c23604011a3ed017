//! distribution service: platform accounts (OAuth2, tokens sealed at rest), preflight, uploads
//! through each platform's official API exactly once, quotas and deferrals, platform ids.

pub mod accounts;
mod config;
mod manifest;
mod metrics;
pub mod oauth;
pub mod platform;
mod preflight;
mod publications;
mod quota;
mod remote;
mod requests;
mod routes;
mod uploads;
mod worker;

use std::{sync::Arc, time::Duration};

use axum::Router;
use shared::{peer::Peer, privacy::TenantData, secrets::Keyring, Context, Service, Worker};
use utoipa::OpenApi as _;

pub use config::DistributionConfig;

/// The distribution service as a fleet member.
pub struct DistributionService;

pub fn service() -> Arc<dyn Service> {
    Arc::new(DistributionService)
}

/// What routes and workers share, built from the configuration.
fn state(ctx: &Context) -> anyhow::Result<routes::AppState> {
    let config: DistributionConfig = ctx.settings.service("distribution")?;
    let platforms: platform::PlatformsConfig = ctx.settings.section("platforms")?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(config.request_timeout_secs.max(1)))
        .build()?;
    let accounts = accounts::Accounts {
        db: ctx.db.clone(),
        keyring: Arc::new(Keyring::from_config(ctx.config())?),
        clients: Arc::new(platforms.clients()?),
        http,
        refresh_before: Duration::from_secs(config.refresh_before_secs),
    };
    Ok(routes::AppState {
        db: ctx.db.clone(),
        store: ctx.store.clone(),
        accounts,
        orchestrator: Peer::from_config(ctx, &config.orchestrator, "distribution")?,
        config: Arc::new(config),
    })
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
            "distribution.publication_events",
            "distribution.publications",
            "distribution.oauth_states",
            "distribution.accounts",
        ]))
    }

    fn router(&self, ctx: &Context) -> anyhow::Result<Router> {
        Ok(routes::router(state(ctx)?))
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        routes::ApiDoc::openapi()
    }

    fn workers(&self, ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        let state = state(ctx)?;
        let worker = worker::PublishWorker {
            pacing: state.config.pacing(),
            retries: state.config.retries(),
            metrics: metrics::PublishingMetrics::new(&ctx.metrics)?,
            app: state.clone(),
        };
        let (db, shutdown) = (ctx.db.clone(), ctx.shutdown.clone());
        let interval = Duration::from_millis(state.config.sweep_interval_ms.max(10));
        Ok(vec![
            ctx.consume("jobs.distribution", "distribution", worker),
            Worker::new("distribution:sweeper", move || {
                worker::sweep(db.clone(), interval, shutdown.clone())
            }),
        ])
    }
}

/// Re-seals every account's tokens under the first key of the configured keyring
/// (`reelforge secrets rotate`); returns how many accounts it re-sealed.
pub async fn rotate_secrets(
    db: &sqlx::PgPool,
    config: &shared::config::Config,
) -> anyhow::Result<u64> {
    let keyring = Keyring::from_config(config)?;
    accounts::reseal_all(db, &keyring).await
}
