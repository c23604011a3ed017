//! Run commands: create a run (idempotency keys honoured by the fleet layer) and cancel one.

use axum::{extract::State, http::StatusCode};
use serde::Serialize;
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path},
    openapi::BearerAuth,
    ApiError, ApiResult,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    params::{RunParams, RunRequest},
    pipeline, AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRun {
    pub id: Uuid,
    pub state: String,
    pub params: RunParams,
}

/// Starts a run: validates the request (asking analytics for a recommendation when it leaves
/// genre, tone, length and language open), stores the run and its first job in one transaction.
#[utoipa::path(post, path = "/v1/runs", request_body = RunRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for the same key and body")),
    responses((status = 201, body = CreatedRun), (status = 400, body = shared::error::ErrorBody),
              (status = 402, body = shared::error::ErrorBody, description = "the tenant's quota or a budget is used up"),
              (status = 422, body = shared::error::ErrorBody),
              (status = 503, body = shared::error::ErrorBody, description = "too many runs in flight (`overloaded`, with Retry-After), or billing is configured but cannot verify the budget")))]
pub async fn create(
    principal: Principal,
    State(state): State<AppState>,
    Json(request): Json<RunRequest>,
) -> ApiResult<(StatusCode, Json<CreatedRun>)> {
    principal.require(Role::Operator)?;
    let (id, params) = crate::recommendation::resolve(&state, principal.tenant(), request).await?;
    create_runs(&state, principal.tenant(), &[(id, params.clone())]).await?;
    shared::telemetry::record_run_id(id);
    tracing::info!(topic = %params.topic, "run created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedRun {
            id,
            state: "queued".to_owned(),
            params,
        }),
    ))
}

/// Stores each `(id, validated params)` run for `tenant`, all or none, once billing admits the
/// tenant and the fleet has room for them; returns their ids in order.
pub(super) async fn create_runs(
    state: &AppState,
    tenant: &str,
    runs: &[(Uuid, RunParams)],
) -> ApiResult<Vec<Uuid>> {
    shed_when_overloaded(state, &state.db, runs.len()).await?;
    crate::admission::admit(state.billing.as_ref(), tenant).await?;
    let mut tx = state.db.begin().await?;
    // Counted again under a lock, so concurrent requests cannot all pass the check at once.
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('orchestrator.run_admission'))")
        .execute(&mut *tx)
        .await?;
    shed_when_overloaded(state, &mut *tx, runs.len()).await?;
    let mut ids = Vec::with_capacity(runs.len());
    for (id, params) in runs {
        pipeline::create_run(&mut tx, &state.config.limits, *id, tenant, params).await?;
        ids.push(*id);
    }
    tx.commit().await?;
    Ok(ids)
}

/// Refuses new work while `incoming` more runs would pass `max_active_runs` queued or running:
/// 503 `overloaded` with `Retry-After`, answered at once (load shedding), never a timeout.
async fn shed_when_overloaded<'c>(
    state: &AppState,
    db: impl sqlx::PgExecutor<'c>,
    incoming: usize,
) -> ApiResult<()> {
    let limits = &state.config.limits;
    let active: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM orchestrator.runs WHERE state IN ('queued', 'running')"#
    )
    .fetch_one(db)
    .await?;
    if active + i64::try_from(incoming).unwrap_or(i64::MAX) > limits.max_active_runs {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!(
                "{active} runs are in flight (the limit is {}); retry in {} s",
                limits.max_active_runs, limits.shed_retry_after_secs
            ),
        )
        .retry_after(limits.shed_retry_after_secs));
    }
    Ok(())
}

/// Cancels a run that has not finished.
#[utoipa::path(post, path = "/v1/runs/{id}/cancel", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 202, description = "cancelled"), (status = 404, body = shared::error::ErrorBody), (status = 409, body = shared::error::ErrorBody)))]
pub async fn cancel(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    principal.require(Role::Operator)?;
    shared::telemetry::record_run_id(id);
    let owner: Option<String> =
        sqlx::query_scalar!("SELECT tenant FROM orchestrator.runs WHERE id = $1", id)
            .fetch_optional(&state.db)
            .await?;
    match (owner, principal.tenant_scope()) {
        (None, _) => return Err(ApiError::not_found(format!("run {id} not found"))),
        (Some(owner), Some(scope)) if owner != scope => {
            return Err(ApiError::not_found(format!("run {id} not found")))
        }
        _ => {}
    }
    if pipeline::cancel(&state.db, id).await? {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError::conflict(
            "run_finished",
            format!("run {id} has already finished"),
        ))
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, cancel), components(schemas(RunRequest, RunParams, crate::params::RunRecommendation, messages::jobs::LearnedContext, CreatedRun)), modifiers(&BearerAuth))]
pub struct ApiDoc;
