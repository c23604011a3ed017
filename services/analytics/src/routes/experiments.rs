//! Experiment routes: start one (A/B or bandit), list, read results (posteriors, P(best),
//! exposures, the promotion verdict), stop.

use axum::{extract::State, http::StatusCode};
use chrono::Utc;
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path},
    ApiError, ApiResult,
};
use uuid::Uuid;

use super::{tenant_for, AppState};
use crate::experiments::{self, Experiment, ExperimentResults, NewExperiment};

/// Starts an experiment over one or more parameters (operator); `409` while the tenant runs another.
#[utoipa::path(post, path = "/v1/experiments", operation_id = "create_experiment", request_body = NewExperiment, security(("bearer" = [])),
    responses((status = 201, body = Experiment), (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 409, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn create(
    principal: Principal,
    State(state): State<AppState>,
    Json(new): Json<NewExperiment>,
) -> ApiResult<(StatusCode, Json<Experiment>)> {
    let claims = principal.require(Role::Operator)?;
    let tenant = tenant_for(&principal, new.tenant.as_deref())?;
    new.validate(&state.catalogue)?;
    let experiment = experiments::create(&state.db, &tenant, &new, &claims.sub).await?;
    tracing::info!(experiment = %experiment.id, tenant, method = experiment.method, "experiment started");
    Ok((StatusCode::CREATED, Json(experiment)))
}

/// The caller tenant's experiments (every tenant's for admins), newest first.
#[utoipa::path(get, path = "/v1/experiments", operation_id = "list_experiments", security(("bearer" = [])),
    responses((status = 200, body = Vec<Experiment>), (status = 401, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<Experiment>>> {
    principal.require(Role::Viewer)?;
    Ok(Json(
        experiments::list(&state.db, principal.tenant_scope()).await?,
    ))
}

async fn visible(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<Experiment, ApiError> {
    let experiment = experiments::get(&state.db, id).await?;
    if principal.require_tenant(&experiment.tenant).is_err() {
        return Err(ApiError::not_found(format!("experiment {id} not found")));
    }
    Ok(experiment)
}

/// The experiment with each arm's assigned runs, measured exposures, mean reward, posterior and
/// P(best), and what the promotion rule says.
#[utoipa::path(get, path = "/v1/experiments/{id}", operation_id = "get_experiment", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ExperimentResults), (status = 401, body = shared::error::ErrorBody), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ExperimentResults>> {
    principal.require(Role::Viewer)?;
    let experiment = visible(&state, &principal, id).await?;
    Ok(Json(
        experiments::results(&state.db, experiment, Utc::now()).await?,
    ))
}

/// Ends a running experiment without a winner (operator); runs created afterwards get the config.
#[utoipa::path(post, path = "/v1/experiments/{id}/stop", operation_id = "stop_experiment", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Experiment), (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 404, body = shared::error::ErrorBody)))]
pub async fn stop(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Experiment>> {
    principal.require(Role::Operator)?;
    visible(&state, &principal, id).await?;
    Ok(Json(experiments::stop(&state.db, id).await?))
}
