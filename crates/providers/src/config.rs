//! `[providers]` configuration: per capability an ordered chain of providers, limits, cache, prices.

use std::{path::PathBuf, time::Duration};

use serde::Deserialize;
use shared::breaker::BreakerConfig;

use crate::chain::Policy;

/// The whole `[providers]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvidersConfig {
    /// A price table replacing the built-in `config/prices.toml`.
    pub prices_file: Option<PathBuf>,
    /// How long cached replies live; 0 turns the cache off.
    pub cache_ttl_secs: u64,
    /// Attempts across a whole chain, unless a chain sets its own.
    pub attempt_budget: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// A `retry-after` longer than this moves on to the next provider instead of waiting.
    pub max_retry_after_ms: u64,
    /// How long a provider is skipped after a quota or payment error.
    pub quota_cooldown_secs: u64,
    /// Defaults of every link's timeout and attempts.
    pub timeout_ms: u64,
    pub max_attempts: u32,
    pub breaker: BreakerConfig,
    /// The billing service paid calls reserve their estimate with; unset, budgets are not checked.
    pub billing: shared::peer::PeerConfig,
    /// How long a reservation is held for a call that never reports back.
    pub reservation_lease_secs: u64,
    pub text: ChainConfig,
    pub speech: ChainConfig,
    pub image: ChainConfig,
    pub music: ChainConfig,
    pub moderation: ChainConfig,
}

impl Default for ProvidersConfig {
    fn default() -> Self {
        Self {
            prices_file: None,
            cache_ttl_secs: 7 * 24 * 3600,
            attempt_budget: 6,
            backoff_base_ms: 250,
            backoff_max_ms: 8_000,
            max_retry_after_ms: 30_000,
            quota_cooldown_secs: 900,
            timeout_ms: 120_000,
            max_attempts: 3,
            breaker: BreakerConfig::default(),
            billing: shared::peer::PeerConfig::default(),
            reservation_lease_secs: 600,
            text: ChainConfig::default(),
            speech: ChainConfig::default(),
            image: ChainConfig::default(),
            music: ChainConfig::default(),
            moderation: ChainConfig::default(),
        }
    }
}

/// One capability's chain. Without `chain`, every provider whose key is set, then `offline`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainConfig {
    pub chain: Option<Vec<LinkSpec>>,
    pub attempt_budget: Option<u32>,
    pub cache: bool,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            chain: None,
            attempt_budget: None,
            cache: true,
        }
    }
}

/// A chain entry: `"provider"`, `"provider:model"`, or a table with limits and endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum LinkSpec {
    Short(String),
    Full(LinkConfig),
}

/// A provider in a chain with its own limits; `base_url` and `api_key_env` name any
/// OpenAI-compatible server (`provider = "openai-compatible"`) or override a known one's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    pub provider: String,
    pub model: Option<String>,
    pub timeout_ms: Option<u64>,
    pub max_attempts: Option<u32>,
    pub base_url: Option<String>,
    /// The environment variable holding this link's key (default: the provider SDK's usual one).
    pub api_key_env: Option<String>,
    /// A file holding this link's key (a mounted secret).
    pub api_key_file: Option<PathBuf>,
    /// Speech: the default voice.
    pub voice: Option<String>,
}

impl LinkSpec {
    pub fn resolve(&self) -> LinkConfig {
        match self {
            LinkSpec::Full(config) => config.clone(),
            LinkSpec::Short(text) => {
                let (provider, model) = match text.split_once(':') {
                    Some((provider, model)) => (provider.to_owned(), Some(model.to_owned())),
                    None => (text.clone(), None),
                };
                LinkConfig {
                    provider,
                    model,
                    ..LinkConfig::default()
                }
            }
        }
    }
}

impl ProvidersConfig {
    /// The price table calls are billed with: `prices_file` when set, else the built-in one.
    pub fn price_table(&self) -> anyhow::Result<crate::pricing::PriceTable> {
        match &self.prices_file {
            Some(path) => crate::pricing::PriceTable::load(path),
            None => crate::pricing::PriceTable::builtin(),
        }
    }

    /// The policy of one capability's chain.
    pub fn policy(&self, chain: &ChainConfig) -> Policy {
        Policy {
            attempt_budget: chain.attempt_budget.unwrap_or(self.attempt_budget),
            backoff_base: Duration::from_millis(self.backoff_base_ms),
            backoff_max: Duration::from_millis(self.backoff_max_ms),
            max_retry_after: Duration::from_millis(self.max_retry_after_ms),
            quota_cooldown: Duration::from_secs(self.quota_cooldown_secs),
            cache: chain.cache && self.cache_ttl_secs > 0,
        }
    }

    /// Checks limits that would make a chain useless.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.attempt_budget >= 1,
            "configuration key `providers.attempt_budget`: must be at least 1"
        );
        anyhow::ensure!(
            self.max_attempts >= 1,
            "configuration key `providers.max_attempts`: must be at least 1"
        );
        anyhow::ensure!(
            self.timeout_ms >= 1,
            "configuration key `providers.timeout_ms`: must be at least 1"
        );
        for (name, chain) in self.chains() {
            if let Some(links) = &chain.chain {
                anyhow::ensure!(
                    !links.is_empty(),
                    "configuration key `providers.{name}.chain`: lists no provider"
                );
            }
            if let Some(budget) = chain.attempt_budget {
                anyhow::ensure!(
                    budget >= 1,
                    "configuration key `providers.{name}.attempt_budget`: must be at least 1"
                );
            }
        }
        Ok(())
    }

    fn chains(&self) -> [(&'static str, &ChainConfig); 5] {
        [
            ("text", &self.text),
            ("speech", &self.speech),
            ("image", &self.image),
            ("music", &self.music),
            ("moderation", &self.moderation),
        ]
    }
}
