//! Story read routes: list a tenant's stories and show one.

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
pub struct Story {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub title: String,
    pub language: String,
    pub genre: String,
    pub tone: String,
    pub seed: i64,
    pub scene_count: i32,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, run_id, tenant, title, language, genre, tone, seed, scene_count, created_at";

/// Lists stories, newest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/stories", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Story>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Story>>> {
    principal.require(Role::Viewer)?;
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as::<_, Story>(&format!(
        "SELECT {COLUMNS} FROM story.stories WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(principal.tenant_scope())
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(&*db)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// One story by id.
#[utoipa::path(get, path = "/v1/stories/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Story), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Story>> {
    principal.require(Role::Viewer)?;
    sqlx::query_as::<_, Story>(&format!(
        "SELECT {COLUMNS} FROM story.stories WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"
    ))
    .bind(id)
    .bind(principal.tenant_scope())
    .fetch_optional(&*db)
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::not_found(format!("story {id} not found")))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge story", description = "story service: scripts split into scenes, per-platform metadata, creator copy."),
    paths(list, get),
    components(schemas(Story, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
