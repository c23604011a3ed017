//! Knowledge-network confidence decay: confidence loses 20 % every 30 days, and ranking by it.

use std::time::Duration;

/// Fraction of confidence kept after each 30 days of age.
pub const DECAY_PER_30_DAYS: f64 = 0.8;

/// Length of one decay period in seconds (30 days of 86,400 s).
const DECAY_PERIOD_SECONDS: f64 = 30.0 * 86_400.0;

/// Returns `base · 0.8^(age_days / 30)`, with `age_days` counted in fractional days.
///
/// The decay is continuous: 15 days keeps `0.8^0.5 ≈ 0.894` of the base, 30 days keeps
/// 0.8, 60 days 0.64. `Duration` is unsigned, so an age "in the future" cannot be passed;
/// callers computing ages from timestamps should clamp clock skew to zero first.
pub fn decayed_confidence(base: f64, age: Duration) -> f64 {
    let periods = age.as_secs_f64() / DECAY_PERIOD_SECONDS;
    base * DECAY_PER_30_DAYS.powf(periods)
}

/// Ranking score of a knowledge entry: its decayed confidence times its relevance.
///
/// Both factors are expected in `[0, 1]`, so the score is too; a stale but relevant entry
/// and a fresh but loosely related one are traded off multiplicatively, and either factor
/// at zero removes the entry from contention.
pub fn rank_score(decayed_confidence: f64, relevance: f64) -> f64 {
    decayed_confidence * relevance
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(count: f64) -> Duration {
        Duration::from_secs_f64(count * 86_400.0)
    }

    #[test]
    fn decays_by_a_fifth_every_thirty_days() {
        let expected = [(0.0, 1.0), (30.0, 0.8), (60.0, 0.64), (90.0, 0.512)];
        for (age_days, want) in expected {
            let got = decayed_confidence(1.0, days(age_days));
            assert!(
                (got - want).abs() < 1e-9,
                "{age_days} days: {got} != {want}"
            );
        }
    }

    #[test]
    fn fifteen_days_keeps_square_root_of_the_factor() {
        let got = decayed_confidence(1.0, days(15.0));
        assert!((got - 0.8_f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn decay_scales_with_base() {
        let got = decayed_confidence(0.5, days(30.0));
        assert!((got - 0.4).abs() < 1e-9);
    }

    #[test]
    fn rank_score_is_the_product() {
        assert!((rank_score(0.64, 0.5) - 0.32).abs() < 1e-12);
        assert_eq!(rank_score(0.0, 0.9), 0.0);
    }
}
