//! Image read routes: list a tenant's images and show one.

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
pub struct Image {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub scene_index: i32,
    pub prompt: String,
    pub width: i32,
    pub height: i32,
    pub media_key: String,
    pub provider: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, run_id, tenant, scene_index, prompt, width, height, media_key, provider, created_at";

/// Lists images, newest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/images", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Image>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Image>>> {
    principal.require(Role::Viewer)?;
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as::<_, Image>(&format!(
        "SELECT {COLUMNS} FROM image.images WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(principal.tenant_scope())
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(&*db)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// One image by id.
#[utoipa::path(get, path = "/v1/images/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Image), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Image>> {
    principal.require(Role::Viewer)?;
    sqlx::query_as::<_, Image>(&format!(
        "SELECT {COLUMNS} FROM image.images WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"
    ))
    .bind(id)
    .bind(principal.tenant_scope())
    .fetch_optional(&*db)
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::not_found(format!("image {id} not found")))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge image", description = "image service: one image per scene, plus thumbnail base art."),
    paths(list, get),
    components(schemas(Image, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
