//! Text generation behind one trait, so paid LLM providers stand in front of the offline writer.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::{
    generator::{generate, Script, StoryRequest},
    pricing::TokenUsage,
};

/// What a paid call consumed, for usage and cost accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct CallUsage {
    pub model: String,
    pub tokens: TokenUsage,
    pub latency_ms: u64,
}

/// A script, the provider that wrote it, and what the call consumed (`None` for the offline writer).
#[derive(Debug)]
pub struct Written {
    pub script: Script,
    pub provider: &'static str,
    pub usage: Option<CallUsage>,
}

/// Writes a script for a request.
pub trait StoryProvider: Send + Sync {
    fn name(&self) -> &'static str;
    fn write(&self, request: StoryRequest) -> BoxFuture<'_, anyhow::Result<Written>>;
}

/// The built-in, seeded, template-based writer: no network, no cost, same seed → same story.
pub struct OfflineProvider;

impl StoryProvider for OfflineProvider {
    fn name(&self) -> &'static str {
        "offline"
    }

    fn write(&self, request: StoryRequest) -> BoxFuture<'_, anyhow::Result<Written>> {
        Box::pin(async move {
            let script = tokio::task::spawn_blocking(move || generate(&request)).await?;
            Ok(Written {
                script,
                provider: self.name(),
                usage: None,
            })
        })
    }
}

/// Tries each provider in order and falls back to the next when one fails.
pub struct FallbackChain {
    pub providers: Vec<Arc<dyn StoryProvider>>,
}

impl StoryProvider for FallbackChain {
    fn name(&self) -> &'static str {
        "chain"
    }

    fn write(&self, request: StoryRequest) -> BoxFuture<'_, anyhow::Result<Written>> {
        Box::pin(async move {
            let mut failures = Vec::new();
            for provider in &self.providers {
                match provider.write(request.clone()).await {
                    Ok(written) => return Ok(written),
                    Err(error) => {
                        tracing::warn!(
                            provider = provider.name(),
                            error = format!("{error:#}"),
                            "falling back to the next story provider"
                        );
                        failures.push(format!("{}: {error:#}", provider.name()));
                    }
                }
            }
            Err(anyhow::anyhow!(
                "every story provider failed: {}",
                failures.join("; ")
            ))
        })
    }
}
