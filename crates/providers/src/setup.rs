//! Building a service's provider layer from the fleet context: configuration, prices, cache,
//! usage sink, metrics, and where keys come from.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use shared::Context;

use crate::{
    budget::BudgetGate,
    cache::ResponseCache,
    capability::Capability,
    chain::{Chain, Layer},
    config::{ChainConfig, ProvidersConfig},
    metrics::ProviderMetrics,
    registry::{self, Catalogue},
    usage::UsageSink,
};

/// Looks up an environment variable; tests pass their own instead of mutating the process's.
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment, ignoring empty values.
pub fn process_env() -> Env {
    Arc::new(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
}

/// The layer a service builds its chains on.
pub struct Setup {
    pub config: ProvidersConfig,
    pub layer: Layer,
    pub env: Env,
}

impl Setup {
    /// Reads `[providers]` and loads the price table.
    pub fn start(ctx: &Context) -> anyhow::Result<Setup> {
        let config: ProvidersConfig = ctx.settings.section("providers")?;
        config.validate()?;
        let prices = config.price_table()?;
        let cache = (config.cache_ttl_secs > 0).then(|| {
            ResponseCache::new(ctx.bus.clone(), Duration::from_secs(config.cache_ttl_secs))
        });
        let usage = UsageSink::new(ctx.db.clone());
        let metrics = ctx.metrics.extension(ProviderMetrics::register)?;
        let budget = shared::peer::Peer::from_config(ctx, &config.billing, "provider-layer")?
            .map(|billing| Arc::new(BudgetGate::new(billing, config.reservation_lease_secs)));
        Ok(Setup {
            config,
            layer: Layer {
                prices: Arc::new(prices),
                cache,
                usage,
                metrics,
                budget,
            },
            env: process_env(),
        })
    }

    /// The chain of `C` that `[providers.<capability>]` configures, from `catalogue`.
    pub fn chain<C: Capability>(&self, catalogue: &Catalogue<C>) -> anyhow::Result<Chain<C>> {
        registry::build(
            &self.config,
            self.chain_config(C::NAME)?,
            catalogue,
            &self.layer,
            &self.env,
        )
    }

    fn chain_config(&self, capability: &str) -> anyhow::Result<&ChainConfig> {
        let config = &self.config;
        Ok(match capability {
            "text" => &config.text,
            "speech" => &config.speech,
            "image" => &config.image,
            "music" => &config.music,
            "moderation" => &config.moderation,
            other => anyhow::bail!("no [providers.{other}] chain exists"),
        })
    }
}

/// A service's chains, built once per process on first use and shared by its routes and workers.
pub struct Shared<T> {
    cell: Mutex<Option<Arc<T>>>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Self {
            cell: Mutex::new(None),
        }
    }
}

impl<T> Shared<T> {
    /// The chains, built by `build` on the layer of `ctx` the first time.
    pub fn get(
        &self,
        ctx: &Context,
        build: impl FnOnce(&Setup) -> anyhow::Result<T>,
    ) -> anyhow::Result<Arc<T>> {
        let mut cell = self
            .cell
            .lock()
            .map_err(|_| anyhow::anyhow!("provider setup lock poisoned"))?;
        if let Some(built) = cell.as_ref() {
            return Ok(built.clone());
        }
        let setup = Setup::start(ctx)?;
        let value = Arc::new(build(&setup)?);
        *cell = Some(value.clone());
        Ok(value)
    }
}
