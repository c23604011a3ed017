//! The bounds of a run: attempts per step, moderation rounds, backoff, step deadlines, and how
//! many runs may be in flight before new ones are shed.

use std::time::Duration;

/// Limits of the DAG, from `[services.orchestrator]`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Attempts per step before the run fails (retries use exponential backoff).
    pub max_attempts: i32,
    /// Moderation rounds (each failing round regenerates the failing assets) before human review.
    pub moderation_rounds: i32,
    pub backoff_base_ms: u64,
    pub timeouts_secs: StepTimeouts,
    /// Runs queued or running at once; beyond it new runs get 503 with `Retry-After` (load
    /// shedding), so an overloaded fleet says so at once instead of timing out.
    pub max_active_runs: i64,
    /// The `Retry-After` of a shed run request, in seconds.
    pub shed_retry_after_secs: u64,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct StepTimeouts {
    pub story: u64,
    pub speech: u64,
    pub images: u64,
    pub music: u64,
    pub moderation: u64,
    pub video: u64,
    /// Publishing waits out platform quotas (a day, at worst) before this deadline fails it.
    pub publish: u64,
}

impl Default for StepTimeouts {
    fn default() -> Self {
        Self {
            story: 120,
            speech: 300,
            images: 300,
            music: 180,
            moderation: 180,
            video: 1200,
            publish: 3 * 86_400,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            moderation_rounds: 2,
            backoff_base_ms: 1000,
            timeouts_secs: StepTimeouts::default(),
            max_active_runs: 2000,
            shed_retry_after_secs: 30,
        }
    }
}

impl Limits {
    pub(crate) fn timeout(&self, step: &str) -> Duration {
        let t = &self.timeouts_secs;
        Duration::from_secs(match step {
            "story" => t.story,
            "speech" => t.speech,
            "images" => t.images,
            "music" => t.music,
            "moderation" => t.moderation,
            "publish" => t.publish,
            _ => t.video,
        })
    }

    /// Equal-jitter exponential backoff before attempt `attempt + 1`: uniform in [c/2, c] where
    /// c = min(60 s, base × 2^attempt), so a retry never comes right away.
    pub(crate) fn backoff(&self, attempt: i32) -> Duration {
        let ceiling = self
            .backoff_base_ms
            .saturating_mul(1 << attempt.clamp(0, 6))
            .min(60_000);
        Duration::from_millis(rand::random_range(ceiling / 2..=ceiling.max(1)))
    }
}
