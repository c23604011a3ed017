//! Publication routes: create (preflight first; `dry_run` stops there), list, get with every call
//! and platform reply, retry and cancel.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path, Query},
    page::{Page, PageQuery, TenantTable},
    ApiError, ApiResult,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{accounts::Account, accounts::ACCOUNTS, AppState};
use crate::{
    manifest::RunSource,
    platform::{not_configured, Platform},
    preflight::PreflightReport,
    publications::{self, NewPublication},
};

/// A publication and where it stands.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Publication {
    pub id: Uuid,
    pub tenant: String,
    pub run_id: Uuid,
    pub account_id: Uuid,
    pub platform: String,
    pub format: String,
    pub media_key: String,
    pub video_sha256: String,
    pub video_bytes: i64,
    /// `queued`, `uploading`, `processing`, `published`, `deferred`, `failed` or `cancelled`.
    pub state: String,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub publish_at: Option<DateTime<Utc>>,
    /// When a deferred publication resumes by itself.
    pub resume_at: Option<DateTime<Utc>>,
    pub platform_post_id: Option<String>,
    pub permalink: Option<String>,
    /// Problems that did not fail the publication (a thumbnail refused, say).
    #[schema(value_type = Vec<Object>)]
    pub warnings: serde_json::Value,
    pub error: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

const PUBLICATIONS: TenantTable = TenantTable {
    table: "distribution.publications",
    columns: "id, tenant, run_id, account_id, platform, format, media_key, video_sha256, video_bytes, state, metadata, publish_at, resume_at, \
              platform_post_id, permalink, warnings, error, attempts, created_at, updated_at, published_at",
    newest_first_by: "created_at",
    noun: "publication",
};

/// A call made for a publication and the platform's reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicationEvent {
    pub attempt: i32,
    pub action: String,
    pub status: Option<i32>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// A publication with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicationDetail {
    #[serde(flatten)]
    pub publication: Publication,
    pub events: Vec<PublicationEvent>,
}

/// Creates a publication from a finished run (or, with `dry_run`, only checks it).
#[utoipa::path(operation_id = "create_publication", post, path = "/v1/publications", request_body = NewPublication, security(("bearer" = [])),
    responses((status = 201, body = Publication), (status = 200, description = "dry run: the preflight report", body = PreflightReport),
              (status = 404, body = shared::error::ErrorBody, description = "no such account or run"),
              (status = 409, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody),
              (status = 503, body = shared::error::ErrorBody, description = "the orchestrator cannot be reached")))]
pub async fn create(
    principal: Principal,
    State(state): State<AppState>,
    Json(request): Json<NewPublication>,
) -> ApiResult<Response> {
    principal.require(Role::Operator)?;
    let account: Account = ACCOUNTS
        .one(&state.db, &principal, request.account_id)
        .await?;
    let platform: Platform = account.platform.parse().map_err(|_| {
        ApiError::internal(anyhow::anyhow!(
            "account {} has platform {}",
            account.id,
            account.platform
        ))
    })?;
    if state.accounts.client(platform).is_none() {
        return Err(not_configured(platform));
    }
    let orchestrator = state.orchestrator.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "orchestrator_unavailable",
            "services.distribution.orchestrator.url is not set, so runs cannot be read",
        )
    })?;
    let source = RunSource::fetch(orchestrator, request.run_id).await?;
    if source.tenant != account.tenant {
        return Err(ApiError::not_found(format!(
            "run {} not found",
            request.run_id
        )));
    }
    let report = publications::preflight(
        state.store.as_ref(),
        platform,
        &account.status,
        &request,
        &source,
    )
    .await?;
    if request.dry_run {
        return Ok(Json(report).into_response());
    }
    if !report.ok {
        return Err(publications::refusal(&report));
    }
    let id =
        publications::insert(&state.db, &account.tenant, &request, &report, &source, None).await?;
    let publication: Publication = PUBLICATIONS.one(&state.db, &principal, id).await?;
    Ok((StatusCode::CREATED, Json(publication)).into_response())
}

/// Lists publications, newest first; non-admins see only their tenant's.
#[utoipa::path(operation_id = "list_publications", get, path = "/v1/publications", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Publication>), (status = 401, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Publication>>> {
    Ok(Json(PUBLICATIONS.page(&state.db, &principal, &page).await?))
}

/// One publication with every call made for it and what the platform answered.
#[utoipa::path(operation_id = "get_publication", get, path = "/v1/publications/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PublicationDetail), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<PublicationDetail>> {
    let publication: Publication = PUBLICATIONS.one(&state.db, &principal, id).await?;
    let events = sqlx::query_as!(
        PublicationEvent,
        "SELECT attempt, action, status, detail, at FROM distribution.publication_events WHERE publication_id = $1 ORDER BY id",
        id
    )
    .fetch_all(&state.db)
    .await?;
    Ok(Json(PublicationDetail {
        publication,
        events,
    }))
}

/// Sends a failed or deferred publication again now (after reconnecting its account, say).
#[utoipa::path(operation_id = "retry_publication", post, path = "/v1/publications/{id}/retry", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 202, body = Publication), (status = 404, body = shared::error::ErrorBody), (status = 409, body = shared::error::ErrorBody)))]
pub async fn retry(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<Publication>)> {
    principal.require(Role::Operator)?;
    let publication: Publication = PUBLICATIONS.one(&state.db, &principal, id).await?;
    let mut tx = state.db.begin().await?;
    let requeued = sqlx::query!(
        "UPDATE distribution.publications SET state = 'queued', resume_at = NULL, error = NULL, lease_until = NULL, updated_at = now()
         WHERE id = $1 AND state IN ('failed', 'deferred')",
        id
    )
    .execute(&mut *tx)
    .await;
    if requeued
        .as_ref()
        .is_err_and(publications::repeats_a_publication)
    {
        return Err(ApiError::conflict(
            "duplicate_publication",
            "this file has since gone to the account in another publication",
        ));
    }
    if requeued?.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "not_retryable",
            format!(
                "publication {id} is {}; only failed or deferred ones are retried",
                publication.state
            ),
        ));
    }
    publications::enqueue_upload(&mut tx, &publication.tenant, id, publication.run_id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(PUBLICATIONS.one(&state.db, &principal, id).await?),
    ))
}

/// Cancels a publication that has not started sending.
#[utoipa::path(operation_id = "cancel_publication", post, path = "/v1/publications/{id}/cancel", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Publication), (status = 404, body = shared::error::ErrorBody), (status = 409, body = shared::error::ErrorBody)))]
pub async fn cancel(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Publication>> {
    principal.require(Role::Operator)?;
    let publication: Publication = PUBLICATIONS.one(&state.db, &principal, id).await?;
    let cancelled = sqlx::query!(
        "UPDATE distribution.publications SET state = 'cancelled', error = 'cancelled by a user', updated_at = now()
         WHERE id = $1 AND (state IN ('deferred', 'failed') OR (state = 'queued' AND remote = '{}'::jsonb AND (lease_until IS NULL OR lease_until < now())))",
        id
    )
    .execute(&state.db)
    .await?;
    if cancelled.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "not_cancellable",
            format!(
                "publication {id} is {} and has begun sending; it cannot be cancelled",
                publication.state
            ),
        ));
    }
    Ok(Json(PUBLICATIONS.one(&state.db, &principal, id).await?))
}
