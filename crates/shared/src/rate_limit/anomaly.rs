//! Flags a tenant whose requests this minute are far above its own baseline, in this process.
//!
//! The baseline is an exponentially weighted moving average of the tenant's per-minute counts,
//! over the minutes in which it made requests. A minute is anomalous when its count exceeds
//! `max(10, 5 × baseline)` once three minutes have been seen; a minute is folded into the
//! baseline capped at that threshold, so a surge raises the baseline only gradually. While
//! flagged, `reelforge_rate_anomaly{tenant}` is 1 and one warning is logged per minute.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{SystemTime, UNIX_EPOCH},
};

use prometheus::IntGaugeVec;

const SMOOTHING: f64 = 0.2;
const WARM_UP_MINUTES: u32 = 3;
const FLOOR_PER_MINUTE: f64 = 10.0;
const SURGE_FACTOR: f64 = 5.0;
/// A tenant idle this long is forgotten, baseline and all.
const FORGET_AFTER_MINUTES: u64 = 24 * 60;

pub(super) struct AnomalyDetector {
    gauge: IntGaugeVec,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    minute: u64,
    tenants: HashMap<String, TenantRate>,
}

struct TenantRate {
    minute: u64,
    count: u64,
    baseline: f64,
    minutes_seen: u32,
    flagged: bool,
}

impl TenantRate {
    fn threshold(&self) -> f64 {
        (SURGE_FACTOR * self.baseline).max(FLOOR_PER_MINUTE)
    }

    /// Folds the finished minute into the baseline and starts `minute`.
    fn start(&mut self, minute: u64) {
        let finished = self.count as f64;
        self.baseline = if self.minutes_seen == 0 {
            finished
        } else {
            let folded = finished.min(self.threshold());
            SMOOTHING * folded + (1.0 - SMOOTHING) * self.baseline
        };
        self.minutes_seen = self.minutes_seen.saturating_add(1);
        self.minute = minute;
        self.count = 0;
    }
}

impl AnomalyDetector {
    pub(super) fn new(gauge: IntGaugeVec) -> Self {
        Self {
            gauge,
            state: Mutex::default(),
        }
    }

    pub(super) fn observe(&self, tenant: &str) {
        let minute = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs() / 60)
            .unwrap_or_default();
        self.observe_at(tenant, minute);
    }

    /// Counts one request of `tenant` in `minute`; returns whether the minute is anomalous.
    fn observe_at(&self, tenant: &str, minute: u64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.minute != minute {
            state.minute = minute;
            self.sweep(&mut state.tenants, minute);
        }
        if !state.tenants.contains_key(tenant) {
            let fresh = TenantRate {
                minute,
                count: 0,
                baseline: 0.0,
                minutes_seen: 0,
                flagged: false,
            };
            state.tenants.insert(tenant.to_owned(), fresh);
        }
        let Some(rate) = state.tenants.get_mut(tenant) else {
            return false;
        };
        if rate.minute != minute {
            rate.start(minute);
        }
        rate.count += 1;
        let anomalous =
            rate.minutes_seen >= WARM_UP_MINUTES && rate.count as f64 > rate.threshold();
        if anomalous && !rate.flagged {
            rate.flagged = true;
            self.gauge.with_label_values(&[tenant]).set(1);
            tracing::warn!(
                tenant,
                requests_this_minute = rate.count,
                baseline_per_minute = rate.baseline,
                "request rate far above the tenant's baseline"
            );
        }
        anomalous
    }

    /// At a new minute: clears every flag of the minute before and forgets long-idle tenants.
    fn sweep(&self, tenants: &mut HashMap<String, TenantRate>, minute: u64) {
        tenants.retain(|tenant, rate| {
            if rate.flagged {
                rate.flagged = false;
                self.gauge.with_label_values(&[tenant]).set(0);
            }
            let keep = rate.minute + FORGET_AFTER_MINUTES > minute;
            if !keep {
                let _ = self.gauge.remove_label_values(&[tenant]);
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use prometheus::Opts;

    use super::*;

    fn detector() -> anyhow::Result<AnomalyDetector> {
        let gauge = IntGaugeVec::new(Opts::new("rate_anomaly", "test"), &["tenant"])?;
        Ok(AnomalyDetector::new(gauge))
    }

    fn requests(detector: &AnomalyDetector, tenant: &str, minute: u64, count: u64) -> bool {
        (0..count)
            .map(|_| detector.observe_at(tenant, minute))
            .last()
            .unwrap_or(false)
    }

    #[test]
    fn flags_a_surge_over_five_times_the_baseline_after_warm_up() -> anyhow::Result<()> {
        let fresh = detector()?;
        assert!(
            !requests(&fresh, "acme", 0, 500),
            "no baseline yet: never flagged"
        );
        let detector = detector()?;
        for minute in 0..3 {
            assert!(!requests(&detector, "acme", minute, 20));
        }
        assert!(!requests(&detector, "acme", 3, 100), "exactly 5 × 20");
        assert!(detector.observe_at("acme", 3), "the 101st request is over");
        assert_eq!(detector.gauge.with_label_values(&["acme"]).get(), 1);
        assert!(!requests(&detector, "globex", 3, 5), "tenants are separate");
        detector.observe_at("globex", 4);
        assert_eq!(
            detector.gauge.with_label_values(&["acme"]).get(),
            0,
            "a new minute clears the flag"
        );
        Ok(())
    }

    #[test]
    fn a_quiet_tenant_is_flagged_only_above_the_floor() -> anyhow::Result<()> {
        let detector = detector()?;
        for minute in 0..3 {
            requests(&detector, "acme", minute, 1);
        }
        assert!(!requests(&detector, "acme", 3, 10));
        assert!(detector.observe_at("acme", 3));
        Ok(())
    }
}
