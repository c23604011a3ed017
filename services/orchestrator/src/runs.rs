//! Run read routes: list a tenant's runs and show one run with its steps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::openapi::BearerAuth;
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path, Query},
    page::{Page, PageQuery},
    ApiError, ApiResult,
};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct RunSummary {
    pub id: Uuid,
    pub tenant: String,
    pub topic: String,
    pub state: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Step {
    pub name: String,
    pub state: String,
    pub attempts: i32,
    #[schema(value_type = Vec<String>)]
    pub asset_ids: sqlx::types::Json<serde_json::Value>,
    pub cost_micros: i64,
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

const STATES: &[&str] = &[
    "queued",
    "running",
    "waiting_review",
    "succeeded",
    "failed",
    "cancelled",
];

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
    state: axum::extract::State<PgPool>,
    Query(filter): Query<RunFilter>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<RunSummary>>> {
    principal.require(Role::Viewer)?;
    if let Some(wanted) = &filter.state {
        if !STATES.contains(&wanted.as_str()) {
            return Err(ApiError::validation(
                "state",
                format!("must be one of {}", STATES.join(", ")),
            ));
        }
    }
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as::<_, RunSummary>(
        "SELECT id, tenant, topic, state, error, created_at, updated_at, finished_at FROM orchestrator.runs
         WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR state = $2)
         ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
    )
    .bind(principal.tenant_scope())
    .bind(&filter.state)
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(&*state)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// One run with every step's state, attempts, timings, assets and cost.
#[utoipa::path(get, path = "/v1/runs/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = RunDetail), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    state: axum::extract::State<PgPool>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<RunDetail>> {
    principal.require(Role::Viewer)?;
    shared::telemetry::record_run_id(id);
    let run = sqlx::query_as::<_, RunSummary>(
        "SELECT id, tenant, topic, state, error, created_at, updated_at, finished_at FROM orchestrator.runs
         WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)",
    )
    .bind(id)
    .bind(principal.tenant_scope())
    .fetch_optional(&*state)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("run {id} not found")))?;
    let steps = sqlx::query_as::<_, Step>(
        "SELECT name, state, attempts, asset_ids, cost_micros, error, started_at, finished_at
         FROM orchestrator.steps WHERE run_id = $1 ORDER BY started_at NULLS LAST, name",
    )
    .bind(id)
    .fetch_all(&*state)
    .await?;
    Ok(Json(RunDetail { run, steps }))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge orchestrator", description = "Pipeline runs and their steps."),
    paths(list, get),
    components(schemas(RunSummary, RunDetail, Step, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
