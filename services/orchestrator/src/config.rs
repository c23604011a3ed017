//! `[services.orchestrator]`: the limits of a run, what the fleet can make, the billing peer —
//! and the state handlers and workers share, built from it.

use std::sync::Arc;

use shared::Context;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{limits::Limits, params::Catalogue};

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
    /// How often the scheduler looks for due schedule slots (default 1000).
    pub scheduler_interval_ms: Option<u64>,
}

/// What the orchestrator's handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<OrchestratorConfig>,
    pub shutdown: CancellationToken,
    pub billing: Option<shared::peer::Peer>,
}

impl AppState {
    pub(crate) fn from_context(ctx: &Context) -> anyhow::Result<AppState> {
        let config: OrchestratorConfig = ctx.settings.service("orchestrator")?;
        let billing = shared::peer::Peer::from_config(ctx, &config.billing, "orchestrator")?;
        Ok(AppState {
            db: ctx.db.clone(),
            config: Arc::new(config),
            shutdown: ctx.shutdown.clone(),
            billing,
        })
    }
}
