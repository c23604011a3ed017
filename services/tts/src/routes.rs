//! Narration read routes: list a tenant's narrations and show one.

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
pub struct Narration {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub language: String,
    pub voice: String,
    pub media_key: String,
    pub duration_ms: i64,
    pub sample_rate: i32,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, run_id, tenant, language, voice, media_key, duration_ms, sample_rate, created_at";

/// Lists narrations, newest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/speech", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Narration>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Narration>>> {
    principal.require(Role::Viewer)?;
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as::<_, Narration>(&format!(
        "SELECT {COLUMNS} FROM tts.narrations WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(principal.tenant_scope())
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(&*db)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// One narration by id.
#[utoipa::path(get, path = "/v1/speech/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Narration), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Narration>> {
    principal.require(Role::Viewer)?;
    sqlx::query_as::<_, Narration>(&format!(
        "SELECT {COLUMNS} FROM tts.narrations WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"
    ))
    .bind(id)
    .bind(principal.tenant_scope())
    .fetch_optional(&*db)
    .await?
    .map(Json)
    .ok_or_else(|| ApiError::not_found(format!("narration {id} not found")))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge tts", description = "tts service: narration audio with word and sentence timings."),
    paths(list, get),
    components(schemas(Narration, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
