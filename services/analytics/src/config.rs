//! `[services.analytics]`: the pull cadence and its retries, where each platform's analytics API
//! answers, the peers analytics calls, and the thresholds of what it learns.

use std::time::Duration;

use serde::Deserialize;
use shared::peer::PeerConfig;

/// `[services.analytics]` configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// When each video's metrics are pulled, in hours after publication (default 1, 6, 24, 72,
    /// 168, 672: an hour, six hours, a day, three days, a week, four weeks).
    pub cadence_hours: Vec<f64>,
    /// How often the puller looks for due pulls (default 1000 ms).
    pub pull_interval_ms: u64,
    /// Pulls claimed per round (default 200); one platform call covers many of them.
    pub pull_batch: i64,
    /// How long a claimed pull is held before another worker may take it over (default 300 s).
    pub pull_lease_secs: u64,
    /// Attempts before a pull is recorded failed (default 6).
    pub pull_max_attempts: i32,
    /// First retry delay, doubled per attempt up to `retry_cap_secs` (defaults 60 s and 6 h).
    pub retry_base_secs: u64,
    pub retry_cap_secs: u64,
    /// How often experiments, insights and alerts are brought up to date (default 60 s).
    pub learn_interval_ms: u64,
    /// A tenant's 7-day completion rate below this emits `completion.below_floor` (default 0.35).
    pub completion_floor: f64,
    /// Videos a comparison needs on each side before it becomes an insight (default 10).
    pub insight_min_videos: i64,
    /// Videos of a platform a tenant needs before learned posting slots replace the defaults (default 30).
    pub slot_min_videos: i64,
    /// Where the platforms' analytics APIs answer (tests point them at fakes).
    pub youtube_analytics_url: String,
    pub youtube_reporting_url: String,
    pub tiktok_url: String,
    pub graph_url: String,
    pub graph_version: String,
    /// Timeout of each platform call (default 30 s).
    pub request_timeout_secs: u64,
    /// Runs' parameters and manifests come from the orchestrator; metric tokens from
    /// distribution's accounts; cost estimates and budgets from billing (config validation).
    pub orchestrator: PeerConfig,
    pub distribution: PeerConfig,
    pub billing: PeerConfig,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            cadence_hours: vec![1.0, 6.0, 24.0, 72.0, 168.0, 672.0],
            pull_interval_ms: 1_000,
            pull_batch: 200,
            pull_lease_secs: 300,
            pull_max_attempts: 6,
            retry_base_secs: 60,
            retry_cap_secs: 6 * 3600,
            learn_interval_ms: 60_000,
            completion_floor: 0.35,
            insight_min_videos: 10,
            slot_min_videos: 30,
            youtube_analytics_url: "https://youtubeanalytics.googleapis.com".into(),
            youtube_reporting_url: "https://youtubereporting.googleapis.com".into(),
            tiktok_url: "https://open.tiktokapis.com".into(),
            graph_url: "https://graph.facebook.com".into(),
            graph_version: "v21.0".into(),
            request_timeout_secs: 30,
            orchestrator: PeerConfig::default(),
            distribution: PeerConfig::default(),
            billing: PeerConfig::default(),
        }
    }
}

impl AnalyticsConfig {
    /// The cadence as offsets from publication, refusing what cannot be a schedule.
    pub fn cadence(&self) -> anyhow::Result<Vec<Duration>> {
        anyhow::ensure!(
            !self.cadence_hours.is_empty() && self.cadence_hours.len() <= 32,
            "services.analytics.cadence_hours must list 1 to 32 offsets"
        );
        let mut offsets = Vec::with_capacity(self.cadence_hours.len());
        for hours in &self.cadence_hours {
            anyhow::ensure!(
                hours.is_finite() && *hours >= 0.0 && *hours <= 24.0 * 366.0,
                "services.analytics.cadence_hours: {hours} is not between 0 and a year"
            );
            offsets.push(Duration::from_secs_f64(hours * 3600.0));
        }
        anyhow::ensure!(
            offsets.windows(2).all(|pair| pair[0] < pair[1]),
            "services.analytics.cadence_hours must increase"
        );
        Ok(offsets)
    }

    /// The delay before retry number `attempt` (1-based) of a pull.
    pub fn retry_delay(&self, attempt: i32, asked: Option<Duration>) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let backoff = Duration::from_secs(self.retry_base_secs.max(1))
            .saturating_mul(1 << exponent)
            .min(Duration::from_secs(self.retry_cap_secs.max(1)));
        asked.map_or(backoff, |asked| asked.max(backoff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cadence_decays_from_an_hour_to_four_weeks() -> anyhow::Result<()> {
        let cadence = AnalyticsConfig::default().cadence()?;
        assert_eq!(cadence.first(), Some(&Duration::from_secs(3600)));
        assert_eq!(cadence.last(), Some(&Duration::from_secs(28 * 24 * 3600)));
        Ok(())
    }

    #[test]
    fn a_cadence_that_does_not_increase_is_refused() {
        let config = AnalyticsConfig {
            cadence_hours: vec![6.0, 1.0],
            ..AnalyticsConfig::default()
        };
        assert!(config.cadence().is_err());
    }

    #[test]
    fn retries_back_off_to_the_cap_and_honour_a_longer_ask() {
        let config = AnalyticsConfig::default();
        assert_eq!(config.retry_delay(1, None), Duration::from_secs(60));
        assert_eq!(config.retry_delay(3, None), Duration::from_secs(240));
        assert_eq!(config.retry_delay(30, None), Duration::from_secs(6 * 3600));
        let asked = Duration::from_secs(7200);
        assert_eq!(config.retry_delay(1, Some(asked)), asked);
    }
}
