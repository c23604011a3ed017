//! `[services.distribution]`: the orchestrator whose manifests publications are made from, and how
//! uploads pace, retry and hold their lease. Platforms' clients live in `[platforms]` (`platform`).

use std::time::Duration;

use serde::Deserialize;
use shared::peer::PeerConfig;

/// `[services.distribution]` configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistributionConfig {
    /// The orchestrator, asked for a run's manifest (`reelforge serve` points it at itself).
    pub orchestrator: PeerConfig,
    /// Bytes per upload request (rounded down to a multiple of 256 KiB for YouTube).
    pub chunk_bytes: u64,
    /// How long a worker holds a publication without renewing its lease; after that, another takes over.
    pub lease_secs: u64,
    /// How often the sweeper requeues due and abandoned publications.
    pub sweep_interval_ms: u64,
    /// Processing status polls: how often, and for how long before the publication waits its turn again.
    pub poll_interval_ms: u64,
    pub poll_for_secs: u64,
    /// Transient failures are retried this many times per claim, with full-jitter backoff from
    /// `retry_base_ms` up to `retry_cap_ms`; then the publication is deferred, never failed.
    pub retry_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_cap_ms: u64,
    /// An access token this close to expiry is refreshed before use.
    pub refresh_before_secs: u64,
    /// How long a user has to finish a platform's consent screen.
    pub oauth_state_ttl_secs: u64,
    /// Per-request timeout of platform calls (uploads of one chunk included).
    pub request_timeout_secs: u64,
    /// Each platform's posting quota (`quota`).
    pub quotas: crate::quota::Quotas,
}

impl Default for DistributionConfig {
    fn default() -> Self {
        Self {
            orchestrator: PeerConfig::default(),
            chunk_bytes: 8 * 1024 * 1024,
            lease_secs: 120,
            sweep_interval_ms: 5_000,
            poll_interval_ms: 5_000,
            poll_for_secs: 600,
            retry_attempts: 6,
            retry_base_ms: 1_000,
            retry_cap_ms: 60_000,
            refresh_before_secs: 300,
            oauth_state_ttl_secs: 900,
            request_timeout_secs: 300,
            quotas: crate::quota::Quotas::default(),
        }
    }
}

impl DistributionConfig {
    pub fn pacing(&self) -> crate::uploads::Pacing {
        crate::uploads::Pacing {
            chunk_bytes: self.chunk_bytes.max(1),
            lease: Duration::from_secs(self.lease_secs.max(1)),
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            poll_for: Duration::from_secs(self.poll_for_secs),
        }
    }

    pub fn retries(&self) -> crate::worker::Retries {
        crate::worker::Retries {
            attempts: self.retry_attempts.max(1),
            base: Duration::from_millis(self.retry_base_ms.max(1)),
            cap: Duration::from_millis(self.retry_cap_ms.max(self.retry_base_ms).max(1)),
        }
    }
}
