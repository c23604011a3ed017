//! Worker supervision: each background worker restarts with backoff when it fails, panics or
//! stops early; restarts are counted in metrics and readiness reports a worker while it is down.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::{future::BoxFuture, FutureExt as _};
use prometheus::{IntCounterVec, IntGaugeVec, Opts};
use tokio_util::{sync::CancellationToken, task::AbortOnDropHandle};

use crate::{health::Check, metrics::Metrics};

type Start = Box<dyn FnMut() -> BoxFuture<'static, anyhow::Result<()>> + Send>;

/// A named background task: `start` makes a fresh run of it each time the supervisor (re)starts it.
/// A run returns once the fleet's shutdown token is cancelled and its work is drained.
pub struct Worker {
    name: String,
    start: Start,
}

impl Worker {
    pub fn new<F, Fut>(name: impl Into<String>, mut start: F) -> Worker
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Worker {
            name: name.into(),
            start: Box::new(move || start().boxed()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("name", &self.name).finish()
    }
}

/// Which workers are down and why, shared by the supervisors and the readiness check.
#[derive(Clone, Default)]
pub struct WorkerHealth {
    down: Arc<Mutex<BTreeMap<String, String>>>,
}

impl WorkerHealth {
    fn set(&self, name: &str, reason: Option<String>) {
        if let Ok(mut down) = self.down.lock() {
            match reason {
                Some(reason) => down.insert(name.to_owned(), reason),
                None => down.remove(name),
            };
        }
    }

    /// Names and reasons of the workers currently down.
    pub fn down(&self) -> BTreeMap<String, String> {
        self.down.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// A readiness check failing while any worker is down, naming it.
    pub fn check(&self) -> Check {
        let health = self.clone();
        Arc::new(move || {
            let down = health.down();
            async move {
                if down.is_empty() {
                    return Ok(());
                }
                let list: Vec<String> = down
                    .iter()
                    .map(|(name, reason)| format!("{name}: {reason}"))
                    .collect();
                anyhow::bail!("worker down: {}", list.join("; "))
            }
            .boxed()
        })
    }
}

/// The supervisors' metric families, shared by every service of a process.
pub struct SupervisorMetrics {
    restarts: IntCounterVec,
    up: IntGaugeVec,
}

impl SupervisorMetrics {
    pub fn register(metrics: &Metrics) -> anyhow::Result<Arc<SupervisorMetrics>> {
        metrics.extension(|registry| {
            let restarts = IntCounterVec::new(
                Opts::new(
                    "worker_restarts_total",
                    "Restarts of a background worker after it failed, panicked or stopped early",
                ),
                &["worker"],
            )?;
            let up = IntGaugeVec::new(
                Opts::new(
                    "worker_up",
                    "1 while a background worker runs, 0 while it is down",
                ),
                &["worker"],
            )?;
            registry.register(Box::new(restarts.clone()))?;
            registry.register(Box::new(up.clone()))?;
            Ok(SupervisorMetrics { restarts, up })
        })
    }
}

/// Backoff between restarts: doubles from `first` up to `max`, back to `first` after a run that
/// lasted longer than `max` (a worker that ran fine for a while is not penalised for old crashes).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(100),
            max: Duration::from_secs(30),
        }
    }
}

/// Runs `worker` until `shutdown`, restarting it whenever a run ends early.
pub async fn supervise(
    mut worker: Worker,
    shutdown: CancellationToken,
    health: WorkerHealth,
    metrics: Arc<SupervisorMetrics>,
    backoff: Backoff,
) {
    let name = worker.name.clone();
    let up = metrics.up.with_label_values(&[&name]);
    let mut wait = backoff.first;
    loop {
        let started = Instant::now();
        up.set(1);
        // A task of its own, so a panic is caught at its join handle; aborted if we are.
        let run = AbortOnDropHandle::new(tokio::spawn((worker.start)()));
        let outcome = run.await;
        if shutdown.is_cancelled() {
            if let Some(reason) = failure(outcome) {
                tracing::error!(worker = %name, reason, "worker failed while draining");
            }
            up.set(0);
            return;
        }
        let reason = failure(outcome).unwrap_or_else(|| "stopped before shutdown".to_owned());
        up.set(0);
        metrics.restarts.with_label_values(&[&name]).inc();
        health.set(&name, Some(reason.clone()));
        if started.elapsed() > backoff.max {
            wait = backoff.first;
        }
        tracing::error!(worker = %name, reason, restart_in_ms = wait.as_millis() as u64, "worker down; restarting");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(backoff.max);
        health.set(&name, None);
    }
}

/// Why a run ended, or `None` when it returned `Ok`.
fn failure(outcome: Result<anyhow::Result<()>, tokio::task::JoinError>) -> Option<String> {
    match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(format!("{error:#}")),
        Err(error) if error.is_panic() => {
            let payload = error.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown payload".to_owned());
            Some(format!("panicked: {message}"))
        }
        Err(_) => Some("cancelled".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_panicking_worker_is_restarted_counted_and_reported_down_meanwhile(
    ) -> anyhow::Result<()> {
        let metrics = Metrics::new()?;
        let supervisor_metrics = SupervisorMetrics::register(&metrics)?;
        let health = WorkerHealth::default();
        let shutdown = CancellationToken::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (runs, shutdown) = (runs.clone(), shutdown.clone());
            Worker::new("flaky", move || {
                let (runs, shutdown) = (runs.clone(), shutdown.clone());
                async move {
                    if runs.fetch_add(1, Ordering::SeqCst) < 2 {
                        panic!("boom");
                    }
                    shutdown.cancelled().await;
                    Ok(())
                }
            })
        };
        let backoff = Backoff {
            first: Duration::from_millis(200),
            max: Duration::from_secs(5),
        };
        let supervisor = tokio::spawn(supervise(
            worker,
            shutdown.clone(),
            health.clone(),
            supervisor_metrics.clone(),
            backoff,
        ));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let down = health.down();
        assert_eq!(
            down.get("flaky").map(String::as_str),
            Some("panicked: boom")
        );
        assert!((health.check())().await.is_err());
        // 200 ms then 400 ms of backoff, then the third run stays up.
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert!(health.down().is_empty());
        assert!((health.check())().await.is_ok());
        assert_eq!(
            supervisor_metrics
                .restarts
                .with_label_values(&["flaky"])
                .get(),
            2
        );
        assert_eq!(supervisor_metrics.up.with_label_values(&["flaky"]).get(), 1);
        shutdown.cancel();
        supervisor.await?;
        Ok(())
    }

    #[tokio::test]
    async fn an_erroring_worker_names_its_error_and_one_that_returns_early_is_restarted(
    ) -> anyhow::Result<()> {
        let metrics = Metrics::new()?;
        let supervisor_metrics = SupervisorMetrics::register(&metrics)?;
        let health = WorkerHealth::default();
        let shutdown = CancellationToken::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let worker = {
            let runs = runs.clone();
            Worker::new("early", move || {
                let runs = runs.clone();
                async move {
                    match runs.fetch_add(1, Ordering::SeqCst) {
                        0 => anyhow::bail!("lost the database"),
                        _ => Ok(()),
                    }
                }
            })
        };
        let backoff = Backoff {
            first: Duration::from_secs(10),
            max: Duration::from_secs(10),
        };
        let supervisor = tokio::spawn(supervise(
            worker,
            shutdown.clone(),
            health.clone(),
            supervisor_metrics,
            backoff,
        ));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            health.down().get("early").map(String::as_str),
            Some("lost the database")
        );
        // Shutdown during the backoff ends the supervisor at once.
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(1), supervisor).await??;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        Ok(())
    }
}
