//! Tenant privacy routes: erase a tenant's data across the fleet, export it, follow a request.
//! The orchestrator owns them (it owns runs); every service answers through the `privacy` stream.

use std::time::Duration;

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path},
    openapi::BearerAuth,
    privacy::{self, RequestKind, RequestStatus},
    ApiError, ApiResult,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;

/// How long `GET …/export` waits for every service before answering 202 with where to look.
const EXPORT_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// A privacy request's progress, with the exported data once an export is complete.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyRequestView {
    #[serde(flatten)]
    pub request: RequestStatus,
    /// `{service: {table: [rows]}}`; only on a completed export.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

/// Erases the tenant's personal data and media in every service; ledger rows stay, under a
/// pseudonym, for accounting. Refused while the tenant has runs in flight (cancel them first).
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/data", params(("tenant" = String, Path)),
    security(("bearer" = [])),
    responses((status = 202, body = PrivacyRequestView, description = "erasure under way; follow `Location`"),
              (status = 200, body = PrivacyRequestView, description = "already erased everywhere"),
              (status = 403, body = shared::error::ErrorBody),
              (status = 409, body = shared::error::ErrorBody, description = "`tenant_busy`: runs still in flight")))]
pub async fn erase_tenant_data(
    principal: Principal,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> ApiResult<Response> {
    let claims = principal.require(Role::Admin)?;
    let in_flight: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM orchestrator.runs WHERE tenant = $1 AND finished_at IS NULL"#,
        &tenant
    )
    .fetch_one(&state.db)
    .await?;
    if in_flight > 0 {
        return Err(ApiError::conflict(
            "tenant_busy",
            format!("tenant {tenant} has {in_flight} runs in flight; cancel them, then erase"),
        ));
    }
    let id = privacy::request(
        &state.db,
        "orchestrator",
        RequestKind::Erasure,
        &tenant,
        &claims.sub,
    )
    .await?;
    tracing::info!(%tenant, request = %id, "tenant erasure requested");
    answer(&state, &tenant, id).await
}

/// Exports everything the fleet holds of the tenant as JSON; waits up to 10 s for every service,
/// then answers 202 with the request to follow. Admins, or the tenant's own operators.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/export", params(("tenant" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = PrivacyRequestView, description = "the complete export"),
              (status = 202, body = PrivacyRequestView, description = "still being assembled; follow `Location`"),
              (status = 403, body = shared::error::ErrorBody)))]
pub async fn export_tenant_data(
    principal: Principal,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> ApiResult<Response> {
    let claims = authorise(&principal, &tenant)?;
    let id = privacy::request(
        &state.db,
        "orchestrator",
        RequestKind::Export,
        &tenant,
        &claims.sub,
    )
    .await?;
    let deadline = tokio::time::Instant::now() + EXPORT_WAIT;
    while tokio::time::Instant::now() < deadline {
        let done = privacy::status(&state.db, &tenant, id)
            .await?
            .is_some_and(|status| status.completed());
        if done {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    answer(&state, &tenant, id).await
}

/// A privacy request of the tenant: its progress, and the data of a completed export.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/privacy-requests/{id}",
    params(("tenant" = String, Path), ("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PrivacyRequestView, description = "completed"),
              (status = 202, body = PrivacyRequestView, description = "services still answering"),
              (status = 404, body = shared::error::ErrorBody)))]
pub async fn privacy_request(
    principal: Principal,
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, Uuid)>,
) -> ApiResult<Response> {
    authorise(&principal, &tenant)?;
    answer(&state, &tenant, id).await
}

/// Operators and up; admins reach every tenant, operators only their own.
fn authorise<'a>(principal: &'a Principal, tenant: &str) -> ApiResult<&'a shared::auth::Claims> {
    let claims = principal.require(Role::Operator)?;
    principal.require_tenant(tenant)?;
    Ok(claims)
}

/// 200 with the request (and an export's data) when every service has answered, else 202 with
/// `Location` pointing at the request.
async fn answer(state: &AppState, tenant: &str, id: Uuid) -> ApiResult<Response> {
    let request = privacy::status(&state.db, tenant, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("privacy request {id} not found")))?;
    let completed = request.completed();
    let data = if completed && request.kind == RequestKind::Export {
        Some(privacy::export_document(&state.db, id).await?)
    } else {
        None
    };
    let status = if completed {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut headers = HeaderMap::new();
    let location =
        shared::peer::path(&["v1", "tenants", tenant, "privacy-requests", &id.to_string()])
            .ok()
            .and_then(|path| HeaderValue::from_str(&path).ok());
    if let Some(location) = location {
        headers.insert(header::LOCATION, location);
    }
    Ok((status, headers, Json(PrivacyRequestView { request, data })).into_response())
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(erase_tenant_data, export_tenant_data, privacy_request),
    components(schemas(PrivacyRequestView, RequestStatus, privacy::Part, RequestKind)),
    modifiers(&BearerAuth))]
pub struct ApiDoc;
