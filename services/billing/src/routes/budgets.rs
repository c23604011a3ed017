//! HTTP routes of budgets (admins set them, tenants read theirs) and reservations (services reserve
//! before a paid call, then settle or release).

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path},
    ApiResult,
};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::budgets::{self, Budget, BudgetInput, Leases, Reservation, ReserveInput};

/// What budget routes need.
#[derive(Clone)]
pub struct BudgetState {
    pub db: PgPool,
    pub leases: Leases,
}

/// Budgets with their current period's spend: all for admins, otherwise the caller tenant's,
/// provider and global ones.
#[utoipa::path(get, path = "/v1/billing/budgets", operation_id = "list_budgets", security(("bearer" = [])),
    responses((status = 200, body = Vec<Budget>), (status = 401, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    State(state): State<BudgetState>,
) -> ApiResult<Json<Vec<Budget>>> {
    principal.require(Role::Viewer)?;
    Ok(Json(
        budgets::list(&state.db, principal.tenant_scope()).await?,
    ))
}

/// Sets a budget; raising an exhausted one lets calls through at once (admin).
#[utoipa::path(put, path = "/v1/billing/budgets", operation_id = "set_budget", request_body = BudgetInput, security(("bearer" = [])),
    responses((status = 200, body = Budget), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn put(
    principal: Principal,
    State(state): State<BudgetState>,
    Json(input): Json<BudgetInput>,
) -> ApiResult<Json<Budget>> {
    principal.require(Role::Admin)?;
    Ok(Json(budgets::upsert(&state.db, &input).await?))
}

/// Removes a budget (admin).
#[utoipa::path(delete, path = "/v1/billing/budgets/{id}", operation_id = "delete_budget", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody), (status = 404, body = shared::error::ErrorBody)))]
pub async fn delete(
    principal: Principal,
    State(state): State<BudgetState>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    principal.require(Role::Admin)?;
    budgets::delete(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Holds an estimate against every applicable budget before a paid call (service). `402` with
/// `budget_exhausted` or `quota_exhausted` names what refused it.
#[utoipa::path(post, path = "/v1/billing/reservations", operation_id = "reserve_budget", request_body = ReserveInput, security(("bearer" = [])),
    responses((status = 201, body = Reservation), (status = 401, body = shared::error::ErrorBody),
              (status = 402, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 422, body = shared::error::ErrorBody)))]
pub async fn reserve(
    principal: Principal,
    State(state): State<BudgetState>,
    Json(input): Json<ReserveInput>,
) -> ApiResult<(StatusCode, Json<Reservation>)> {
    principal.require(Role::Service)?;
    let reservation = budgets::reserve(&state.db, &input, state.leases).await?;
    Ok((StatusCode::CREATED, Json(reservation)))
}

/// New work may start for this tenant.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct Admission {
    pub tenant: String,
    pub admitted: bool,
}

/// Whether a tenant may start new work: `402` naming the quota or budget that is used up.
#[utoipa::path(get, path = "/v1/billing/tenants/{id}/admission", operation_id = "tenant_admission", security(("bearer" = [])),
    responses((status = 200, body = Admission), (status = 401, body = shared::error::ErrorBody),
              (status = 402, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody)))]
pub async fn admission(
    principal: Principal,
    State(state): State<BudgetState>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Admission>> {
    principal.require(Role::Viewer)?;
    principal.require_tenant(&tenant)?;
    budgets::admit(&state.db, &tenant).await?;
    Ok(Json(Admission {
        tenant,
        admitted: true,
    }))
}

/// The real cost of the call a reservation was for.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleInput {
    pub cost_micros: i64,
}

/// Settles a reservation at the call's real cost; repeating it is harmless (service).
#[utoipa::path(post, path = "/v1/billing/reservations/{id}/settle", operation_id = "settle_reservation", request_body = SettleInput, security(("bearer" = [])),
    responses((status = 200, body = Reservation), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody), (status = 404, body = shared::error::ErrorBody),
              (status = 409, body = shared::error::ErrorBody)))]
pub async fn settle(
    principal: Principal,
    State(state): State<BudgetState>,
    Path(id): Path<Uuid>,
    Json(input): Json<SettleInput>,
) -> ApiResult<Json<Reservation>> {
    principal.require(Role::Service)?;
    Ok(Json(
        budgets::settle(&state.db, id, input.cost_micros).await?,
    ))
}

/// Gives a reservation's estimate back (the call failed or was not made); idempotent (service).
#[utoipa::path(post, path = "/v1/billing/reservations/{id}/release", operation_id = "release_reservation", security(("bearer" = [])),
    responses((status = 200, body = Reservation), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody), (status = 404, body = shared::error::ErrorBody)))]
pub async fn release(
    principal: Principal,
    State(state): State<BudgetState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Reservation>> {
    principal.require(Role::Service)?;
    Ok(Json(budgets::release(&state.db, id).await?))
}
