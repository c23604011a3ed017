//! Snapshot read routes: list a tenant's snapshots and show one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path, Query},
    openapi::BearerAuth,
    page::{Page, PageQuery},
    ApiError, ApiResult,
};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Snapshot {
    pub id: Uuid,
    pub tenant: String,
    pub publication_id: Uuid,
    pub platform: String,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub watch_seconds: i64,
    pub captured_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, tenant, publication_id, platform, views, likes, comments, shares, watch_seconds, captured_at";

/// Lists snapshots, newest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/analytics/snapshots", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Snapshot>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Snapshot>>> {
    principal.require(Role::Viewer)?;
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as::<_, Snapshot>(&format!(
        "SELECT {COLUMNS} FROM analytics.metric_snapshots WHERE ($1::text IS NULL OR tenant = $1) ORDER BY captured_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(principal.tenant_scope())
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(&*db)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// One snapshot by id.
#[utoipa::path(get, path = "/v1/analytics/snapshots/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Snapshot), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Snapshot>> {
    principal.require(Role::Viewer)?;
    sqlx::query_as::<_, Snapshot>(&format!("SELECT {COLUMNS} FROM analytics.metric_snapshots WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"))
        .bind(id)
        .bind(principal.tenant_scope())
        .fetch_optional(&*db)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("snapshot {id} not found")))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge analytics", description = "analytics service: platform metrics per publication, reports and insights."),
    paths(list, get),
    components(schemas(Snapshot, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
