//! The in-process fallback: the same sliding window, per process, while Redis cannot answer.
//! With N processes a tenant may get up to N times its limit during an outage.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use super::{Decision, RouteClass, Source};

/// Beyond this many windows, the ones holding no recent request are dropped.
const MAX_WINDOWS: usize = 10_000;

pub(super) struct LocalWindows {
    window: Duration,
    default_limit: u64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Admission times per `<class>:<tenant>`, oldest first.
    windows: HashMap<String, VecDeque<Instant>>,
    /// The limit Redis last reported per tenant.
    limits: HashMap<String, u64>,
}

impl LocalWindows {
    pub(super) fn new(window: Duration, default_limit: u64) -> Self {
        Self {
            window,
            default_limit,
            state: Mutex::default(),
        }
    }

    /// Keeps `limit` as the tenant's limit for when Redis is unavailable.
    pub(super) fn remember_limit(&self, tenant: &str, limit: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.limits.get(tenant) != Some(&limit) {
            state.limits.insert(tenant.to_owned(), limit);
        }
    }

    pub(super) fn check(&self, tenant: &str, class: RouteClass) -> Decision {
        let now = Instant::now();
        let window = self.window;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let limit = state
            .limits
            .get(tenant)
            .copied()
            .unwrap_or(self.default_limit);
        if state.windows.len() >= MAX_WINDOWS {
            state
                .windows
                .retain(|_, admitted| admitted.back().is_some_and(|at| now - *at < window));
        }
        let admitted = state
            .windows
            .entry(format!("{class}:{tenant}"))
            .or_default();
        while admitted.front().is_some_and(|at| now - *at >= window) {
            admitted.pop_front();
        }
        let count = admitted.len() as u64;
        let allowed = count < limit;
        if allowed {
            admitted.push_back(now);
        }
        let until_expired = |at: &Instant| (*at + window).saturating_duration_since(now);
        let retry_after = if allowed {
            Duration::ZERO
        } else {
            usize::try_from(count - limit)
                .ok()
                .filter(|_| limit > 0)
                .and_then(|freeing| admitted.get(freeing))
                .map_or(window, until_expired)
        };
        Decision {
            allowed,
            limit,
            remaining: limit.saturating_sub(admitted.len() as u64),
            retry_after,
            reset: admitted.back().map_or(Duration::ZERO, until_expired),
            source: Source::Local,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_the_limit_per_class_then_denies_until_the_oldest_leaves() {
        let windows = LocalWindows::new(Duration::from_millis(200), 2);
        for remaining in [1, 0] {
            let decision = windows.check("acme", RouteClass::Write);
            assert!(decision.allowed);
            assert_eq!(decision.remaining, remaining);
        }
        let denied = windows.check("acme", RouteClass::Write);
        assert!(!denied.allowed);
        assert!(denied.retry_after > Duration::ZERO && denied.retry_after <= denied.reset);
        assert!(windows.check("acme", RouteClass::Read).allowed);
        assert!(windows.check("globex", RouteClass::Write).allowed);
        std::thread::sleep(denied.retry_after);
        assert!(windows.check("acme", RouteClass::Write).allowed);
    }

    #[test]
    fn uses_the_limit_redis_last_reported() {
        let windows = LocalWindows::new(Duration::from_secs(60), 5);
        windows.remember_limit("acme", 1);
        assert!(windows.check("acme", RouteClass::Read).allowed);
        let denied = windows.check("acme", RouteClass::Read);
        assert_eq!((denied.allowed, denied.limit), (false, 1));
    }
}
