//! Schedule routes (create, list, get, pause), the calendar of planned and made runs, and runs
//! started in a batch.

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path, Query},
    openapi::BearerAuth,
    page::{Page, PageQuery, TenantTable},
    ApiError, ApiResult,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    params::RunRequest,
    schedules::{self, NewSchedule},
    AppState,
};

/// A stored schedule.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Schedule {
    pub id: Uuid,
    pub tenant: String,
    pub name: String,
    pub cron: String,
    pub time_zone: String,
    /// The request it was made from (topics or series, run settings, publish targets, catch-up).
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    pub enabled: bool,
    pub next_fire_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

const SCHEDULES: TenantTable = TenantTable {
    table: "orchestrator.schedules",
    columns: "id, tenant, name, cron, time_zone, request, enabled, next_fire_at, created_at",
    newest_first_by: "created_at",
    noun: "schedule",
};

/// Creates a schedule; its first slot is the first one after now.
#[utoipa::path(operation_id = "create_schedule", post, path = "/v1/schedules", request_body = NewSchedule, security(("bearer" = [])),
    responses((status = 201, body = Schedule), (status = 422, body = shared::error::ErrorBody)))]
pub async fn create(
    principal: Principal,
    State(state): State<AppState>,
    Json(request): Json<NewSchedule>,
) -> ApiResult<(StatusCode, Json<Schedule>)> {
    principal.require(Role::Operator)?;
    let valid = request.validate(&state.catalogue)?;
    let next = schedules::next_slot(&valid.cron, valid.time_zone, Utc::now())
        .ok_or_else(|| ApiError::validation("cron", "has no slot in the future"))?;
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO orchestrator.schedules (id, tenant, name, cron, time_zone, request, next_fire_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        principal.tenant(),
        valid.request.name.trim(),
        &valid.request.cron,
        valid.time_zone.name(),
        serde_json::to_value(&valid.request).map_err(ApiError::internal)?,
        next
    )
    .execute(&state.db)
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(SCHEDULES.one(&state.db, &principal, id).await?),
    ))
}

/// Lists schedules; non-admins see only their tenant's.
#[utoipa::path(operation_id = "list_schedules", get, path = "/v1/schedules", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Schedule>)))]
pub async fn list(
    principal: Principal,
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Schedule>>> {
    Ok(Json(SCHEDULES.page(&state.db, &principal, &page).await?))
}

/// One schedule.
#[utoipa::path(operation_id = "get_schedule", get, path = "/v1/schedules/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Schedule), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Schedule>> {
    Ok(Json(SCHEDULES.one(&state.db, &principal, id).await?))
}

/// Deletes a schedule; the runs it made stay.
#[utoipa::path(operation_id = "delete_schedule", delete, path = "/v1/schedules/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = shared::error::ErrorBody)))]
pub async fn delete(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    principal.require(Role::Operator)?;
    let schedule: Schedule = SCHEDULES.one(&state.db, &principal, id).await?;
    sqlx::query!(
        "DELETE FROM orchestrator.schedules WHERE id = $1",
        schedule.id
    )
    .execute(&state.db)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/calendar?from&to`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One entry of the calendar: a run made, or a slot a schedule will fire; and a post it plans.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarEntry {
    pub at: DateTime<Utc>,
    /// `run` (made), `planned_run` (a schedule's future slot) or `publication` (a post a run plans).
    pub kind: String,
    pub schedule_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub detail: String,
}

/// Runs made and planned, and the posts they plan, between `from` and `to` (at most 31 days).
#[utoipa::path(operation_id = "calendar", get, path = "/v1/calendar", params(CalendarQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<CalendarEntry>), (status = 422, body = shared::error::ErrorBody)))]
pub async fn calendar(
    principal: Principal,
    State(state): State<AppState>,
    Query(range): Query<CalendarQuery>,
) -> ApiResult<Json<Vec<CalendarEntry>>> {
    principal.require(Role::Viewer)?;
    if range.to <= range.from || range.to - range.from > chrono::Duration::days(31) {
        return Err(ApiError::validation(
            "to",
            "must be after `from`, at most 31 days later",
        ));
    }
    let scope = principal.tenant_scope();
    let mut entries = Vec::new();
    let runs = sqlx::query!(
        r#"SELECT id, topic, params, created_at FROM orchestrator.runs
           WHERE created_at >= $1 AND created_at < $2 AND ($3::text IS NULL OR tenant = $3) ORDER BY created_at LIMIT 1000"#,
        range.from,
        range.to,
        scope
    )
    .fetch_all(&state.db)
    .await?;
    for run in runs {
        entries.push(CalendarEntry {
            at: run.created_at,
            kind: "run".into(),
            schedule_id: None,
            run_id: Some(run.id),
            account_id: None,
            detail: run.topic,
        });
        for target in run.params["publish"].as_array().into_iter().flatten() {
            let at = target["publish_at"]
                .as_str()
                .and_then(|at| at.parse::<DateTime<Utc>>().ok())
                .unwrap_or(run.created_at);
            entries.push(CalendarEntry {
                at,
                kind: "publication".into(),
                schedule_id: None,
                run_id: Some(run.id),
                account_id: target["account_id"].as_str().and_then(|id| id.parse().ok()),
                detail: target["privacy"].as_str().unwrap_or("private").to_owned(),
            });
        }
    }
    let schedules = sqlx::query!(
        "SELECT id, name, cron, time_zone FROM orchestrator.schedules WHERE enabled AND ($1::text IS NULL OR tenant = $1)",
        scope
    )
    .fetch_all(&state.db)
    .await?;
    let from = range.from.max(Utc::now());
    for schedule in schedules {
        let (Ok(cron), Ok(zone)) = (
            schedules::parse_cron(&schedule.cron),
            schedule.time_zone.parse::<chrono_tz::Tz>(),
        ) else {
            continue;
        };
        for slot in schedules::slots_between(&cron, zone, from, range.to, 500) {
            entries.push(CalendarEntry {
                at: slot,
                kind: "planned_run".into(),
                schedule_id: Some(schedule.id),
                run_id: None,
                account_id: None,
                detail: schedule.name.clone(),
            });
        }
    }
    entries.sort_by_key(|entry| entry.at);
    Ok(Json(entries))
}

/// `POST /v1/runs/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// 1 to 50 runs, each as `POST /v1/runs` takes it.
    pub runs: Vec<RunRequest>,
}

/// The runs a batch started, in the order asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCreated {
    pub ids: Vec<Uuid>,
}

/// Starts several runs at once: all are checked first, then stored in one transaction (all or none).
#[utoipa::path(operation_id = "create_runs_batch", post, path = "/v1/runs/batch", request_body = Batch, security(("bearer" = [])),
    responses((status = 201, body = BatchCreated), (status = 422, body = shared::error::ErrorBody), (status = 503, body = shared::error::ErrorBody)))]
pub async fn batch(
    principal: Principal,
    State(state): State<AppState>,
    Json(batch): Json<Batch>,
) -> ApiResult<(StatusCode, Json<BatchCreated>)> {
    principal.require(Role::Operator)?;
    if batch.runs.is_empty() || batch.runs.len() > 50 {
        return Err(ApiError::validation("runs", "give 1 to 50 runs"));
    }
    let mut all = Vec::new();
    for (index, request) in batch.runs.into_iter().enumerate() {
        let run = crate::recommendation::resolve(&state, principal.tenant(), request)
            .await
            .map_err(|e| ApiError::validation(format!("runs[{index}]"), e.detail()))?;
        all.push(run);
    }
    let ids = super::commands::create_runs(&state, principal.tenant(), &all).await?;
    Ok((StatusCode::CREATED, Json(BatchCreated { ids })))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, get, delete, calendar, batch),
    components(schemas(Schedule, NewSchedule, schedules::Series, schedules::ScheduledTarget, schedules::CatchUp, CalendarEntry, Batch, BatchCreated)),
    modifiers(&BearerAuth))]
pub struct ApiDoc;
