//! What a provider client is: one documented API answering one capability, and how its calls fail.

use std::time::Duration;

use async_trait::async_trait;

use crate::{capability::Capability, units::Units};

/// A reply and what it consumed.
#[derive(Debug, Clone)]
pub struct Answer<R> {
    pub reply: R,
    pub units: Units,
    /// The model that answered, when the provider names it (it may differ from the one asked).
    pub model: Option<String>,
}

impl<R> Answer<R> {
    pub fn new(reply: R, units: Units) -> Self {
        Self {
            reply,
            units,
            model: None,
        }
    }
}

/// Why a call failed, which decides what the chain does next.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// Worth retrying on the same provider: 429, 5xx, 529, a network error or a timeout.
    #[error("{detail}")]
    Transient {
        detail: String,
        /// The provider's `retry-after` / `retry-after-ms`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Bad or missing credentials (401/403): move on at once; the breaker counts it.
    #[error("{detail}")]
    Auth { detail: String },
    /// The provider refused this request (400, 404, 422, content policy): move on at once;
    /// not the provider's fault, so the breaker does not count it.
    #[error("{detail}")]
    Refused { detail: String },
    /// Quota exhausted or payment required (402, `insufficient_quota`): the breaker opens for a long cooldown.
    #[error("{detail}")]
    Quota { detail: String },
    /// The provider answered but the answer is unusable (malformed JSON, schema mismatch); worth a retry.
    /// `units` is what the call still consumed, so its cost is accounted.
    #[error("{detail}")]
    InvalidOutput { detail: String, units: Units },
}

impl CallError {
    pub fn transient(detail: impl Into<String>) -> Self {
        Self::Transient {
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::InvalidOutput {
            detail: detail.into(),
            units: Units::default(),
        }
    }

    /// `transient`, `auth`, `refused`, `quota` or `invalid_output`: the outcome label in usage and metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Transient { .. } => "transient",
            Self::Auth { .. } => "auth",
            Self::Refused { .. } => "refused",
            Self::Quota { .. } => "quota",
            Self::InvalidOutput { .. } => "invalid_output",
        }
    }
}

/// One provider's client for capability `C`: speaks its wire format, reports usage, classifies errors.
#[async_trait]
pub trait Client<C: Capability>: Send + Sync {
    /// The provider's name in configuration, usage and prices (`openai`, `anthropic`, `offline` …).
    fn provider(&self) -> &str;
    /// The model asked for.
    fn model(&self) -> &str;
    /// Whether calls cost money; free providers' replies are never cached.
    fn paid(&self) -> bool {
        true
    }
    async fn call(&self, request: &C::Request) -> Result<Answer<C::Reply>, CallError>;
}
