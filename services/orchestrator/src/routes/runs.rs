//! Run read routes: list a tenant's runs and show one run with its steps.

use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use shared::openapi::BearerAuth;
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path, Query},
    page::{Page, PageQuery},
    ApiError, ApiResult,
};
use strum::VariantNames as _;
use utoipa::{IntoParams, ToSchema};

use crate::{
    states::{RunState, StepState},
    AppState,
};
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct RunSummary {
    pub id: Uuid,
    pub tenant: String,
    pub topic: String,
    #[schema(value_type = crate::params::RunParams)]
    pub params: sqlx::types::Json<serde_json::Value>,
    pub state: RunState,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Step {
    pub name: String,
    pub state: StepState,
    pub attempts: i32,
    pub cost_micros: i64,
    /// Parts done out of `total` (images count scenes).
    pub progress: i32,
    pub total: i32,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunSummary,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RunFilter {
    /// Only runs in this state.
    pub state: Option<String>,
}

/// Lists runs, newest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/runs", params(RunFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<RunSummary>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    state: axum::extract::State<AppState>,
    Query(filter): Query<RunFilter>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<RunSummary>>> {
    principal.require(Role::Viewer)?;
    let wanted: Option<RunState> = filter
        .state
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|_| {
            ApiError::validation(
                "state",
                format!("must be one of {}", RunState::VARIANTS.join(", ")),
            )
        })?;
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as!(RunSummary, r#"SELECT id, tenant, topic, params AS "params: sqlx::types::Json<serde_json::Value>", state AS "state: RunState", error, created_at, updated_at, finished_at FROM orchestrator.runs
         WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR state = $2)
         ORDER BY created_at DESC, id LIMIT $3 OFFSET $4"#, principal.tenant_scope(), wanted as _, limit + 1, offset)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// One run with every step's state, attempts, timings, assets and cost.
#[utoipa::path(get, path = "/v1/runs/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = RunDetail), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    state: axum::extract::State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<RunDetail>> {
    principal.require(Role::Viewer)?;
    shared::telemetry::record_run_id(id);
    let run = sqlx::query_as!(RunSummary, r#"SELECT id, tenant, topic, params AS "params: sqlx::types::Json<serde_json::Value>", state AS "state: RunState", error, created_at, updated_at, finished_at FROM orchestrator.runs
         WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"#, id, principal.tenant_scope())
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("run {id} not found")))?;
    let steps = sqlx::query_as!(Step, r#"SELECT name, state AS "state: StepState", attempts, cost_micros, progress, total, error, started_at, finished_at
         FROM orchestrator.steps WHERE run_id = $1 ORDER BY position"#, id)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(RunDetail { run, steps }))
}

/// Looks a run up within the caller's tenant scope.
async fn visible_run(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<RunSummary> {
    sqlx::query_as!(RunSummary, r#"SELECT id, tenant, topic, params AS "params: sqlx::types::Json<serde_json::Value>", state AS "state: RunState", error, created_at, updated_at, finished_at FROM orchestrator.runs
         WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"#, id, principal.tenant_scope())
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("run {id} not found")))
}

/// Everything a finished run produced: story metadata, durations, costs, licences and output files.
#[derive(Debug, Serialize, ToSchema)]
pub struct Manifest {
    pub run: RunSummary,
    pub steps: Vec<Step>,
    pub total_cost_micros: i64,
    /// Title, scenes and per-platform metadata; null until the story is written.
    #[schema(value_type = Object, nullable)]
    pub story: serde_json::Value,
    /// Narration duration and caption cues.
    #[schema(value_type = Object)]
    pub narration: serde_json::Value,
    /// Licence records of every image and the music.
    #[schema(value_type = Vec<Object>)]
    pub licences: Vec<serde_json::Value>,
    /// Rendered files (videos, captions, thumbnails) with their media keys; null until rendered.
    #[schema(value_type = Object, nullable)]
    pub outputs: serde_json::Value,
}

/// The run's manifest (`metadata.json` of `reelforge make`); outputs are empty until the video step succeeds.
#[utoipa::path(get, path = "/v1/runs/{id}/manifest", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Manifest), (status = 404, body = shared::error::ErrorBody)))]
pub async fn manifest(
    principal: Principal,
    state: axum::extract::State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Manifest>> {
    principal.require(Role::Viewer)?;
    let run = visible_run(&state, &principal, id).await?;
    let steps = sqlx::query_as!(Step, r#"SELECT name, state AS "state: StepState", attempts, cost_micros, progress, total, error, started_at, finished_at
         FROM orchestrator.steps WHERE run_id = $1 ORDER BY position"#, id)
    .fetch_all(&state.db)
    .await?;
    let facts: Vec<(String, serde_json::Value)> = sqlx::query!(
        "SELECT kind, body FROM orchestrator.facts WHERE run_id = $1 ORDER BY kind, part",
        id
    )
    .fetch_all(&state.db)
    .await?
    .into_iter()
    .map(|fact| (fact.kind, fact.body))
    .collect();
    let first = |kind: &str| {
        facts
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    };
    let story = first("story");
    let speech = first("speech");
    let licences = facts
        .iter()
        .filter(|(k, _)| k == "image" || k == "music")
        .map(|(_, body)| body["licence"].clone())
        .collect();
    Ok(Json(Manifest {
        total_cost_micros: steps.iter().map(|s| s.cost_micros).sum(),
        run,
        steps,
        story: story["script"].clone(),
        narration: serde_json::json!({ "duration_ms": speech["duration_ms"], "cues": speech["cues"], "voice": speech["voice"] }),
        licences,
        outputs: first("video"),
    }))
}

#[derive(Debug, Serialize, sqlx::FromRow)]
struct RunEvent {
    id: i64,
    step: Option<String>,
    state: String,
    detail: Option<String>,
    at: DateTime<Utc>,
}

/// Progress as server-sent events (`event: progress`), from the start of the run until it finishes.
#[utoipa::path(get, path = "/v1/runs/{id}/events", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream", description = "one event per state change"), (status = 404, body = shared::error::ErrorBody)))]
pub async fn events(
    principal: Principal,
    state: axum::extract::State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Sse<impl futures::Stream<Item = Result<Event, std::convert::Infallible>>>> {
    principal.require(Role::Viewer)?;
    visible_run(&state, &principal, id).await?;
    let state = state.0;
    let stream = futures::stream::unfold((0_i64, false), move |(after, finished)| {
        let state = state.clone();
        async move {
            if finished {
                return None;
            }
            loop {
                let rows = sqlx::query_as!(RunEvent, r#"SELECT id, step, state, detail, at FROM orchestrator.run_events WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT 100"#, id, after)
                .fetch_all(&state.db)
                .await
                .unwrap_or_default();
                if let Some(last) = rows.last() {
                    let done = rows.iter().any(|e| e.step.is_none() && matches!(e.state.as_str(), "succeeded" | "published" | "failed" | "cancelled"));
                    let events: Vec<Result<Event, std::convert::Infallible>> = rows
                        .iter()
                        .map(|e| Ok(Event::default().event("progress").id(e.id.to_string()).json_data(e).unwrap_or_default()))
                        .collect();
                    return Some((futures::stream::iter(events), (last.id, done)));
                }
                tokio::select! {
                    _ = state.shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                }
            }
        }
    })
    .flatten();
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge orchestrator", description = "Pipeline runs and their steps."),
    paths(list, get, manifest, events),
    components(schemas(RunSummary, RunDetail, Step, Manifest, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
