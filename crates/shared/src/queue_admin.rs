//! Per-service queue administration: depth of the service's `jobs.<name>` stream and redrive of its dead letters.

use axum::{
    extract::State,
    routing::{get, post},
    Router,
};
use serde::Serialize;

use crate::{
    auth::{Principal, Role},
    bus::Bus,
    extract::Json,
    ApiResult,
};

/// The work stream of a service, by the fleet's naming convention.
pub fn jobs_stream(service: &str) -> String {
    format!("jobs.{service}")
}

#[derive(Clone)]
struct QueueState {
    bus: Bus,
    stream: String,
    group: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueReport {
    pub stream: String,
    pub length: u64,
    pub lag: u64,
    pub pending: u64,
    pub dead_letters: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RedriveReport {
    pub stream: String,
    pub redriven: usize,
}

/// `GET <prefix>/admin/queue` (operator) and `POST <prefix>/admin/queue/redrive` (admin).
pub fn router(prefix: &str, service: &str, bus: Bus) -> Router {
    let state = QueueState {
        bus,
        stream: jobs_stream(service),
        group: service.to_owned(),
    };
    Router::new()
        .route(&format!("{prefix}/admin/queue"), get(report))
        .route(&format!("{prefix}/admin/queue/redrive"), post(redrive))
        .with_state(state)
}

/// Depth of this service's work stream.
#[utoipa::path(get, path = "/PREFIX/admin/queue", security(("bearer" = [])),
    responses((status = 200, body = QueueReport), (status = 403, body = crate::error::ErrorBody)))]
async fn report(
    principal: Principal,
    State(state): State<QueueState>,
) -> ApiResult<Json<QueueReport>> {
    principal.require(Role::Operator)?;
    let stats = state.bus.stats(&state.stream, &state.group).await?;
    Ok(Json(QueueReport {
        stream: state.stream,
        length: stats.length,
        lag: stats.lag,
        pending: stats.pending,
        dead_letters: stats.dead_letters,
    }))
}

/// Moves every dead letter of this service's work stream back onto it (admin).
#[utoipa::path(post, path = "/PREFIX/admin/queue/redrive", security(("bearer" = [])),
    responses((status = 200, body = RedriveReport), (status = 403, body = crate::error::ErrorBody)))]
async fn redrive(
    principal: Principal,
    State(state): State<QueueState>,
) -> ApiResult<Json<RedriveReport>> {
    principal.require(Role::Admin)?;
    let redriven = state.bus.redrive(&state.stream).await?;
    Ok(Json(RedriveReport {
        stream: state.stream,
        redriven,
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(report, redrive),
    components(schemas(QueueReport, RedriveReport))
)]
struct QueueApiDoc;

/// The queue routes' OpenAPI paths under `prefix`, to merge into a service's document.
pub fn openapi(prefix: &str) -> utoipa::openapi::OpenApi {
    let mut document = <QueueApiDoc as utoipa::OpenApi>::openapi();
    let paths = std::mem::take(&mut document.paths.paths);
    document.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (path.replacen("/PREFIX", prefix, 1), item))
        .collect();
    document
}
