//! Plan routes: plans (data, editable by admins), each tenant's plan, its quota standing and its
//! notifications.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::{
    auth::{Principal, Role},
    bus::Bus,
    extract::{Json, Path},
    ApiError, ApiResult,
};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::quota::{self, QuotaStatus, DEFAULT_PLAN};

/// What plan routes need: the database, and the bus whose Redis holds the published limits.
#[derive(Clone)]
pub struct PlanState {
    pub db: PgPool,
    pub bus: Bus,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Plan {
    pub name: String,
    /// Monthly cost quota in integer micro-dollars.
    pub monthly_quota_micros: i64,
    pub requests_per_minute: i32,
    pub updated_at: DateTime<Utc>,
}

/// New limits of a plan.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub monthly_quota_micros: i64,
    pub requests_per_minute: i32,
}

/// A tenant's plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPlan {
    pub plan: String,
}

/// Every plan, cheapest first.
#[utoipa::path(get, path = "/v1/billing/plans", operation_id = "list_plans", security(("bearer" = [])),
    responses((status = 200, body = Vec<Plan>), (status = 401, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    State(state): State<PlanState>,
) -> ApiResult<Json<Vec<Plan>>> {
    principal.require(Role::Viewer)?;
    let plans = sqlx::query_as!(Plan, r#"SELECT name, monthly_quota_micros, requests_per_minute, updated_at FROM billing.plans ORDER BY monthly_quota_micros"#)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(plans))
}

/// Changes a plan's quota and rate limit; every tenant on it gets them on its next request (admin).
#[utoipa::path(put, path = "/v1/billing/plans/{name}", operation_id = "update_plan", request_body = PlanInput, security(("bearer" = [])),
    responses((status = 200, body = Plan), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody), (status = 404, body = shared::error::ErrorBody),
              (status = 422, body = shared::error::ErrorBody)))]
pub async fn update(
    principal: Principal,
    State(state): State<PlanState>,
    Path(name): Path<String>,
    Json(input): Json<PlanInput>,
) -> ApiResult<Json<Plan>> {
    principal.require(Role::Admin)?;
    if input.monthly_quota_micros < 0 {
        return Err(ApiError::validation(
            "monthly_quota_micros",
            "must be zero or more micro-dollars",
        ));
    }
    if input.requests_per_minute < 1 {
        return Err(ApiError::validation(
            "requests_per_minute",
            "must be at least 1",
        ));
    }
    let plan = sqlx::query_as!(Plan, r#"UPDATE billing.plans SET monthly_quota_micros = $2, requests_per_minute = $3, updated_at = now()
         WHERE name = $1 RETURNING name, monthly_quota_micros, requests_per_minute, updated_at"#, &name, input.monthly_quota_micros, input.requests_per_minute)
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no plan `{name}`")))?;
    quota::publish_limits(&state.db, &state.bus).await?;
    Ok(Json(plan))
}

/// A tenant's plan (starter when none was set).
#[utoipa::path(get, path = "/v1/billing/tenants/{id}/plan", operation_id = "get_tenant_plan", security(("bearer" = [])),
    responses((status = 200, body = TenantPlan), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody)))]
pub async fn tenant_plan(
    principal: Principal,
    State(state): State<PlanState>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<TenantPlan>> {
    principal.require(Role::Viewer)?;
    principal.require_tenant(&tenant)?;
    let plan: Option<String> = sqlx::query_scalar!(
        "SELECT plan FROM billing.tenant_plans WHERE tenant = $1",
        &tenant
    )
    .fetch_optional(&state.db)
    .await?;
    Ok(Json(TenantPlan {
        plan: plan.unwrap_or_else(|| DEFAULT_PLAN.to_owned()),
    }))
}

/// Moves a tenant to a plan; its quota and rate limit apply from its next request (admin).
#[utoipa::path(put, path = "/v1/billing/tenants/{id}/plan", operation_id = "set_tenant_plan", request_body = TenantPlan, security(("bearer" = [])),
    responses((status = 200, body = QuotaStatus), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn set_tenant_plan(
    principal: Principal,
    State(state): State<PlanState>,
    Path(tenant): Path<String>,
    Json(input): Json<TenantPlan>,
) -> ApiResult<Json<QuotaStatus>> {
    principal.require(Role::Admin)?;
    let known: Option<String> = sqlx::query_scalar!(
        "SELECT name FROM billing.plans WHERE name = $1",
        &input.plan
    )
    .fetch_optional(&state.db)
    .await?;
    if known.is_none() {
        return Err(ApiError::validation(
            "plan",
            format!("no plan `{}`", input.plan),
        ));
    }
    sqlx::query!(
        "INSERT INTO billing.tenant_plans (tenant, plan) VALUES ($1, $2)
         ON CONFLICT (tenant) DO UPDATE SET plan = EXCLUDED.plan, changed_at = now()",
        &tenant,
        &input.plan
    )
    .execute(&state.db)
    .await?;
    quota::publish_limits(&state.db, &state.bus).await?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(quota::status(&mut conn, &tenant).await?))
}

/// A tenant's plan, quota and spend this month.
#[utoipa::path(get, path = "/v1/billing/tenants/{id}/quota", operation_id = "get_tenant_quota", security(("bearer" = [])),
    responses((status = 200, body = QuotaStatus), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody)))]
pub async fn tenant_quota(
    principal: Principal,
    State(state): State<PlanState>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<QuotaStatus>> {
    principal.require(Role::Viewer)?;
    principal.require_tenant(&tenant)?;
    let mut conn = state.db.acquire().await?;
    Ok(Json(quota::status(&mut conn, &tenant).await?))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Notification {
    pub id: uuid::Uuid,
    pub tenant: String,
    pub kind: String,
    pub detail: String,
    pub created_at: DateTime<Utc>,
}

/// A tenant's quota and anomaly notifications, newest first.
#[utoipa::path(get, path = "/v1/billing/tenants/{id}/notifications", operation_id = "list_tenant_notifications", security(("bearer" = [])),
    responses((status = 200, body = Vec<Notification>), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody)))]
pub async fn notifications(
    principal: Principal,
    State(state): State<PlanState>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<Notification>>> {
    principal.require(Role::Viewer)?;
    principal.require_tenant(&tenant)?;
    let rows = sqlx::query_as!(
        Notification,
        r#"SELECT id, tenant, kind, detail, created_at FROM billing.notifications
         WHERE tenant = $1 ORDER BY created_at DESC, id DESC LIMIT 200"#,
        &tenant
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows))
}
