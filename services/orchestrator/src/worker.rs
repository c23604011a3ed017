//! The orchestrator's workers: the consumer applying facts from the `events` stream to their runs,
//! the watchdog timing out overdue steps and sending due retries, and the scheduler firing due
//! schedule slots.

use std::time::Duration;

use shared::bus::{Delivery, Handler};

use crate::{pipeline, AppState};

/// Applies every fact on the `events` stream to its run.
pub(crate) struct EventHandler(pub(crate) AppState);

impl Handler for EventHandler {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        pipeline::apply(&self.0.db, &self.0.config.limits, &delivery.envelope).await
    }
}

/// Times out overdue steps and sends retries whose backoff elapsed, once a second.
pub(crate) async fn watchdog(state: AppState) -> anyhow::Result<()> {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    while !state.shutdown.is_cancelled() {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = interval.tick() => {}
        }
        if let Err(error) = pipeline::tick(&state.db, &state.config.limits).await {
            tracing::warn!(error = format!("{error:#}"), "watchdog tick failed");
        }
    }
    Ok(())
}

/// Fires the schedule slots that are due, every `scheduler_interval_ms` (default 1 s).
pub(crate) async fn scheduler(state: AppState) -> anyhow::Result<()> {
    let period = Duration::from_millis(state.config.scheduler_interval_ms.unwrap_or(1_000).max(10));
    let mut interval = tokio::time::interval(period);
    while !state.shutdown.is_cancelled() {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = interval.tick() => {}
        }
        let now = chrono::Utc::now();
        let learned =
            crate::learned_slots::due_tenants(&state.db, state.analytics.as_ref(), now).await;
        let learning = crate::schedules::Learning {
            analytics: state.analytics.as_ref(),
            slots: &learned,
        };
        let fired = crate::schedules::fire_due(
            &state.db,
            &state.catalogue,
            &state.config.limits,
            learning,
            now,
        )
        .await;
        if let Err(error) = fired {
            tracing::warn!(error = format!("{error:#}"), "scheduler tick failed");
        }
    }
    Ok(())
}
