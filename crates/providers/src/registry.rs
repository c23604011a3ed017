//! The provider catalogue and chain building: which providers serve which capability, the SDKs'
//! usual environment variables, defaults, and validation of configured chains.

use std::{sync::Arc, time::Duration};

use shared::{breaker::CircuitBreaker, config::Secret};

use crate::{
    capability::Capability,
    chain::{Chain, Layer, Link},
    config::{ChainConfig, LinkConfig, ProvidersConfig},
    setup::Env,
};

/// A provider the catalogue knows: how to find its key and endpoint, and its default model.
#[derive(Debug, Clone, Copy)]
pub struct Known {
    pub provider: &'static str,
    /// Any of these variables holds the key; empty when the provider needs none.
    pub key_envs: &'static [&'static str],
    /// A variable overriding the base URL.
    pub base_env: Option<&'static str>,
    pub default_base: &'static str,
    pub default_model: &'static str,
    /// Without a key, the provider counts as available when this variable is set (local servers).
    pub presence_env: Option<&'static str>,
}

/// A link with its key and endpoint found.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub provider: String,
    pub model: String,
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub voice: Option<String>,
}

/// Builds the client of one resolved link for capability `C`.
pub type Make<C> = dyn Fn(&Resolved, &Env) -> anyhow::Result<Arc<dyn crate::Client<C>>>;

/// A capability's catalogue: known providers in default order, how to build each, the offline client.
pub struct Catalogue<C: Capability> {
    pub known: Vec<Known>,
    pub make: Box<Make<C>>,
    pub offline: Arc<dyn crate::Client<C>>,
}

/// Builds the chain of capability `C` from its configuration; refuses unknown providers and
/// listed providers whose key is missing, naming the configuration key.
pub fn build<C: Capability>(
    config: &ProvidersConfig,
    chain: &ChainConfig,
    catalogue: &Catalogue<C>,
    layer: &Layer,
    env: &Env,
) -> anyhow::Result<Chain<C>> {
    let key = format!("providers.{}.chain", C::NAME);
    let specs: Vec<LinkConfig> = match &chain.chain {
        Some(list) => list.iter().map(|spec| spec.resolve()).collect(),
        None => catalogue
            .known
            .iter()
            .filter(|known| available(known, env))
            .map(|known| LinkConfig {
                provider: known.provider.to_owned(),
                ..LinkConfig::default()
            })
            .chain([LinkConfig {
                provider: "offline".to_owned(),
                ..LinkConfig::default()
            }])
            .collect(),
    };
    let mut links = Vec::with_capacity(specs.len());
    for spec in &specs {
        let client = if spec.provider == "offline" {
            catalogue.offline.clone()
        } else {
            let resolved = resolve(spec, catalogue, env)
                .map_err(|error| anyhow::anyhow!("configuration key `{key}`: {error}"))?;
            (catalogue.make)(&resolved, env)
                .map_err(|error| anyhow::anyhow!("configuration key `{key}`: {error}"))?
        };
        links.push(Link {
            client,
            timeout: Duration::from_millis(spec.timeout_ms.unwrap_or(config.timeout_ms)),
            max_attempts: spec.max_attempts.unwrap_or(config.max_attempts).max(1),
            breaker: Arc::new(CircuitBreaker::new(config.breaker.clone())),
        });
    }
    let names: Vec<String> = links
        .iter()
        .map(|l| format!("{}:{}", l.client.provider(), l.client.model()))
        .collect();
    tracing::info!(capability = C::NAME, chain = ?names, "provider chain");
    Ok(Chain::new(links, config.policy(chain), layer.clone()))
}

fn available(known: &Known, env: &Env) -> bool {
    known.key_envs.iter().any(|name| env(name).is_some())
        || known.presence_env.is_some_and(|name| env(name).is_some())
}

fn resolve<C: Capability>(
    spec: &LinkConfig,
    catalogue: &Catalogue<C>,
    env: &Env,
) -> anyhow::Result<Resolved> {
    let known = catalogue.known.iter().find(|k| k.provider == spec.provider);
    let Some(known) = known else {
        let names: Vec<&str> = catalogue
            .known
            .iter()
            .map(|k| k.provider)
            .chain(["offline"])
            .collect();
        anyhow::bail!(
            "unknown {} provider `{}` (known: {})",
            C::NAME,
            spec.provider,
            names.join(", ")
        );
    };
    let api_key = if let Some(path) = &spec.api_key_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the key file {} of `{}`: {e}",
                path.display(),
                spec.provider
            )
        })?;
        Some(Secret::new(text.trim()))
    } else if let Some(name) = &spec.api_key_env {
        Some(Secret::new(env(name).ok_or_else(|| {
            anyhow::anyhow!(
                "provider `{}` is listed but {name} is not set",
                spec.provider
            )
        })?))
    } else if known.key_envs.is_empty() {
        None
    } else {
        let found = known.key_envs.iter().find_map(|name| env(name));
        Some(Secret::new(found.ok_or_else(|| {
            anyhow::anyhow!(
                "provider `{}` is listed but {} is not set",
                spec.provider,
                known.key_envs.join(" or ")
            )
        })?))
    };
    let base_url = spec
        .base_url
        .clone()
        .or_else(|| known.base_env.and_then(|name| env(name)))
        .unwrap_or_else(|| known.default_base.to_owned());
    Ok(Resolved {
        provider: spec.provider.clone(),
        model: spec
            .model
            .clone()
            .unwrap_or_else(|| known.default_model.to_owned()),
        base_url,
        api_key,
        voice: spec.voice.clone(),
    })
}
