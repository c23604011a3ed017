//! `[services.orchestrator]`: the limits of a run, the billing and analytics peers —
//! and the state handlers and workers share, built from it.

use std::sync::Arc;

use shared::Context;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use messages::catalogue::Catalogue;

use crate::limits::Limits;

/// `[services.orchestrator]` configuration.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct OrchestratorConfig {
    #[serde(flatten)]
    pub limits: Limits,
    /// The billing service asked before each run starts; unset, runs are not checked.
    pub billing: shared::peer::PeerConfig,
    /// The analytics service asked for a recommendation when a run leaves its creative choices
    /// open; unset, such runs get the fleet defaults.
    pub analytics: shared::peer::PeerConfig,
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
    pub analytics: Option<shared::peer::Peer>,
    /// What runs may ask for (`[catalogue]`).
    pub catalogue: Arc<Catalogue>,
}

impl AppState {
    pub(crate) fn from_context(ctx: &Context) -> anyhow::Result<AppState> {
        let config: OrchestratorConfig = ctx.settings.service("orchestrator")?;
        let billing = shared::peer::Peer::from_config(ctx, &config.billing, "orchestrator")?;
        let analytics = shared::peer::Peer::from_config(ctx, &config.analytics, "orchestrator")?;
        Ok(AppState {
            db: ctx.db.clone(),
            config: Arc::new(config),
            shutdown: ctx.shutdown.clone(),
            billing,
            analytics,
            catalogue: Arc::new(ctx.settings.section("catalogue")?),
        })
    }
}
