//! What a provider call consumed (tokens, characters, images, compute time), as priced by the
//! dated price table. Its own module so capabilities and clients both use it without a cycle.

use serde::{Deserialize, Serialize};

/// What a call consumed, as the provider reported it; priced with the dated price table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Units {
    /// Prompt tokens, cached ones included.
    #[serde(default)]
    pub input_tokens: u64,
    /// Prompt tokens served from the provider's prompt cache.
    #[serde(default)]
    pub cached_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    /// Characters synthesised (speech).
    #[serde(default)]
    pub characters: u64,
    #[serde(default)]
    pub images: u64,
    /// Billed compute or audio time, in milliseconds (Replicate's `predict_time`).
    #[serde(default)]
    pub millis: u64,
}
