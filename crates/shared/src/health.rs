//! `/health/live` (no dependencies) and `/health/ready` (every real dependency, named when down).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use futures::future::BoxFuture;
use serde::Serialize;

/// One readiness probe: resolves to `Ok` when the dependency is usable.
pub type Check = Arc<dyn Fn() -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(String, Check)>,
}

#[derive(Debug, Serialize)]
struct ComponentReport {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

#[derive(Debug, Serialize)]
struct ReadinessReport {
    status: &'static str,
    components: BTreeMap<String, ComponentReport>,
}

impl Readiness {
    pub fn with(mut self, name: impl Into<String>, check: Check) -> Self {
        self.checks.push((name.into(), check));
        self
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/health/live", get(|| async { StatusCode::NO_CONTENT }))
            .route("/health/ready", get(ready))
            .with_state(self)
    }
}

async fn ready(State(readiness): State<Readiness>) -> impl IntoResponse {
    let results =
        futures::future::join_all(readiness.checks.iter().map(|(name, check)| async move {
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                Ok(Ok(())) => ComponentReport {
                    status: "up",
                    detail: None,
                },
                Ok(Err(error)) => ComponentReport {
                    status: "down",
                    detail: Some(format!("{error:#}")),
                },
                Err(_) => ComponentReport {
                    status: "down",
                    detail: Some(format!("no answer within {CHECK_TIMEOUT:?}")),
                },
            };
            (name.clone(), outcome)
        }))
        .await;
    let all_up = results.iter().all(|(_, r)| r.status == "up");
    let report = ReadinessReport {
        status: if all_up { "ready" } else { "unavailable" },
        components: results.into_iter().collect(),
    };
    let status = if all_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}
