//! Render read routes: list a tenant's renders and show one.

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
pub struct Render {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub format: String,
    pub width: i32,
    pub height: i32,
    pub duration_ms: i64,
    pub media_key: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, run_id, tenant, format, width, height, duration_ms, media_key, state, created_at";

/// Lists renders, newest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/videos", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Render>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Render>>> {
    principal.require(Role::Viewer)?;
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as::<_, Render>(&format!(
        "SELECT {COLUMNS} FROM video.renders WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(principal.tenant_scope())
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(&*db)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// One render by id.
#[utoipa::path(get, path = "/v1/videos/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Render), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Render>> {
    principal.require(Role::Viewer)?;
    sqlx::query_as::<_, Render>(&format!(
        "SELECT {COLUMNS} FROM video.renders WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"
    ))
    .bind(id)
    .bind(principal.tenant_scope())
    .fetch_optional(&*db)
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::not_found(format!("render {id} not found")))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge video", description = "video service: FFmpeg assembly into every aspect ratio, captions, thumbnails and output checks."),
    paths(list, get),
    components(schemas(Render, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
