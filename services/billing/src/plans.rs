//! Plans: monthly cost quota and request rate limit, readable by any authenticated caller.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::{
    auth::{Principal, Role},
    extract::Json,
    openapi::BearerAuth,
    ApiResult,
};
use sqlx::PgPool;
use utoipa::ToSchema;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Plan {
    pub name: String,
    /// Monthly cost quota in integer micro-dollars.
    pub monthly_quota_micros: i64,
    pub requests_per_minute: i32,
    pub updated_at: DateTime<Utc>,
}

/// Every plan, cheapest first.
#[utoipa::path(get, path = "/v1/billing/plans", security(("bearer" = [])),
    responses((status = 200, body = Vec<Plan>), (status = 401, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    db: axum::extract::State<PgPool>,
) -> ApiResult<Json<Vec<Plan>>> {
    principal.require(Role::Viewer)?;
    let plans = sqlx::query_as::<_, Plan>(
        "SELECT name, monthly_quota_micros, requests_per_minute, updated_at FROM billing.plans ORDER BY monthly_quota_micros",
    )
    .fetch_all(&*db)
    .await?;
    Ok(Json(plans))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge billing", description = "Plans, quotas, usage and budgets."),
    paths(list),
    components(schemas(Plan, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
