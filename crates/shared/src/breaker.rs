//! A circuit breaker for calls to one outbound dependency: opens on a failure ratio over a window,
//! lets one probe through after a cooldown (half-open), and closes again when the probe succeeds.

use std::{
    collections::VecDeque,
    sync::Mutex,
    time::{Duration, Instant},
};

/// When a breaker opens and for how long.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct BreakerConfig {
    /// Outcomes older than this are forgotten.
    pub window_ms: u64,
    /// No opinion before this many outcomes in the window.
    pub min_requests: usize,
    /// Opens when failures / outcomes reaches this.
    pub failure_ratio: f64,
    pub cooldown_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window_ms: 60_000,
            min_requests: 5,
            failure_ratio: 0.5,
            cooldown_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
struct Inner {
    state: State,
    outcomes: VecDeque<(Instant, bool)>,
}

/// Thread-safe; share it (in an `Arc`) between every caller of the dependency.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner {
                state: State::Closed,
                outcomes: VecDeque::new(),
            }),
        }
    }

    /// Whether a call may go out now. After the cooldown exactly one probe is let through.
    pub fn allow(&self) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return true;
        };
        match inner.state {
            State::Closed => true,
            State::Open { until } if Instant::now() >= until => {
                inner.state = State::HalfOpen { probing: true };
                true
            }
            State::Open { .. } => false,
            State::HalfOpen { probing: true } => false,
            State::HalfOpen { probing: false } => {
                inner.state = State::HalfOpen { probing: true };
                true
            }
        }
    }

    /// Records the outcome of a call that `allow` let through.
    pub fn record(&self, success: bool) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let now = Instant::now();
        let cooldown = Duration::from_millis(self.config.cooldown_ms);
        match inner.state {
            State::HalfOpen { .. } => {
                inner.outcomes.clear();
                inner.state = if success {
                    State::Closed
                } else {
                    State::Open {
                        until: now + cooldown,
                    }
                };
            }
            State::Closed | State::Open { .. } => {
                inner.outcomes.push_back((now, success));
                let window = Duration::from_millis(self.config.window_ms);
                while inner
                    .outcomes
                    .front()
                    .is_some_and(|(at, _)| now.duration_since(*at) > window)
                {
                    inner.outcomes.pop_front();
                }
                let total = inner.outcomes.len();
                let failures = inner.outcomes.iter().filter(|(_, ok)| !ok).count();
                if total >= self.config.min_requests
                    && failures as f64 >= self.config.failure_ratio * total as f64
                {
                    inner.outcomes.clear();
                    inner.state = State::Open {
                        until: now + cooldown,
                    };
                }
            }
        }
    }

    /// Opens at once for `cooldown` (for example after a quota or payment error).
    pub fn trip_for(&self, cooldown: Duration) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.outcomes.clear();
            inner.state = State::Open {
                until: Instant::now() + cooldown,
            };
        }
    }

    /// `closed`, `open` or `half_open`, for metrics and admin views.
    pub fn state(&self) -> &'static str {
        match self.inner.lock().map(|i| i.state) {
            Ok(State::Closed) | Err(_) => "closed",
            Ok(State::Open { .. }) => "open",
            Ok(State::HalfOpen { .. }) => "half_open",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            window_ms: 10_000,
            min_requests: 4,
            failure_ratio: 0.5,
            cooldown_ms: 60,
        })
    }

    #[test]
    fn opens_at_the_failure_ratio_once_enough_calls_were_seen() {
        let breaker = breaker();
        for success in [false, false, true] {
            assert!(breaker.allow());
            breaker.record(success);
        }
        assert_eq!(
            breaker.state(),
            "closed",
            "three calls are below min_requests"
        );
        breaker.record(true);
        assert_eq!(
            breaker.state(),
            "open",
            "2 failures of 4 reach the 50 % ratio"
        );
        assert!(!breaker.allow());
    }

    #[test]
    fn after_the_cooldown_one_probe_decides() {
        let breaker = breaker();
        breaker.trip_for(Duration::from_millis(30));
        assert!(!breaker.allow());
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allow(), "the probe goes through");
        assert!(!breaker.allow(), "only one probe at a time");
        breaker.record(false);
        assert_eq!(breaker.state(), "open", "a failed probe reopens");
        std::thread::sleep(Duration::from_millis(70));
        assert!(breaker.allow());
        breaker.record(true);
        assert_eq!(breaker.state(), "closed", "a successful probe closes");
        assert!(breaker.allow());
    }
}
