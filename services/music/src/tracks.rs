//! Track read routes: list a tenant's tracks and show one.

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
pub struct Track {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub mood: String,
    pub tempo_bpm: i32,
    pub duration_ms: i64,
    pub media_key: String,
    pub licence: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, run_id, tenant, mood, tempo_bpm, duration_ms, media_key, licence, created_at";

/// Lists tracks, newest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/music", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Track>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Track>>> {
    principal.require(Role::Viewer)?;
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as::<_, Track>(&format!(
        "SELECT {COLUMNS} FROM music.tracks WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(principal.tenant_scope())
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(&*db)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// One track by id.
#[utoipa::path(get, path = "/v1/music/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Track), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Track>> {
    principal.require(Role::Viewer)?;
    sqlx::query_as::<_, Track>(&format!(
        "SELECT {COLUMNS} FROM music.tracks WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"
    ))
    .bind(id)
    .bind(principal.tenant_scope())
    .fetch_optional(&*db)
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::not_found(format!("track {id} not found")))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge music", description = "music service: background tracks fitted to length and mood, with licence records."),
    paths(list, get),
    components(schemas(Track, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
