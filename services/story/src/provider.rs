//! Text generation behind one trait, so paid LLM providers can stand in for the offline writer.

use futures::future::BoxFuture;

use crate::generator::{generate, Script, StoryRequest};

/// Writes a script for a request.
pub trait StoryProvider: Send + Sync {
    /// Name recorded with the story and its usage.
    fn name(&self) -> &'static str;
    fn write(&self, request: StoryRequest) -> BoxFuture<'static, anyhow::Result<Script>>;
}

/// The built-in, seeded, template-based writer: no network, no cost, same seed → same story.
pub struct OfflineProvider;

impl StoryProvider for OfflineProvider {
    fn name(&self) -> &'static str {
        "offline"
    }

    fn write(&self, request: StoryRequest) -> BoxFuture<'static, anyhow::Result<Script>> {
        Box::pin(async move { Ok(tokio::task::spawn_blocking(move || generate(&request)).await?) })
    }
}
