//! Decision read routes: list a tenant's decisions and show one.

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
pub struct Decision {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub subject_kind: String,
    pub subject_ref: String,
    pub verdict: String,
    #[schema(value_type = Vec<String>)]
    pub reasons: sqlx::types::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, run_id, tenant, subject_kind, subject_ref, verdict, reasons, created_at";

/// Lists decisions, newest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/moderation/decisions", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Decision>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Decision>>> {
    principal.require(Role::Viewer)?;
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as::<_, Decision>(&format!(
        "SELECT {COLUMNS} FROM moderation.decisions WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
    ))
    .bind(principal.tenant_scope())
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(&*db)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// One decision by id.
#[utoipa::path(get, path = "/v1/moderation/decisions/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Decision), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Decision>> {
    principal.require(Role::Viewer)?;
    sqlx::query_as::<_, Decision>(&format!("SELECT {COLUMNS} FROM moderation.decisions WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)"))
        .bind(id)
        .bind(principal.tenant_scope())
        .fetch_optional(&*db)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("decision {id} not found")))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge moderation", description = "moderation service: decisions on text, images and audio, the review queue and its audit log."),
    paths(list, get),
    components(schemas(Decision, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
