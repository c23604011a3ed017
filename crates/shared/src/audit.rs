//! The audit log: every mutating request made with an admin token, and every change through an
//! `/admin/` route, recorded with who, what and the outcome; `GET /v1/audit` (admin) reads it.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::Response,
    routing::get,
    Router,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::openapi::BearerAuth;

use crate::{
    auth::{bearer_token, Authenticator, Principal, Role},
    extract::{Json, Query},
    page::{Page, PageQuery},
    ApiResult,
};

/// Middleware: records the request after it is answered, when it is an admin action.
pub async fn layer(State(pool): State<PgPool>, request: Request, next: Next) -> Response {
    let mutating = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !mutating {
        return next.run(request).await;
    }
    // The rate-limit layer hands on the verified caller; with limits off, verify here.
    let principal = request
        .extensions()
        .get::<Principal>()
        .cloned()
        .or_else(|| {
            let auth = request.extensions().get::<Arc<Authenticator>>()?;
            let token = bearer_token(request.headers())?;
            auth.verify(token).ok().map(Principal)
        });
    let path = request.uri().path().to_owned();
    let method = request.method().to_string();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let Some(Principal(claims)) = principal else {
        return response;
    };
    if claims.role != Role::Admin && !path.contains("/admin/") {
        return response;
    }
    let recorded = sqlx::query!(
        "INSERT INTO fleet.audit_log (subject, role, tenant, method, path, status, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &claims.sub,
        format!("{:?}", claims.role).to_lowercase(),
        claims.tenant.as_deref(),
        &method,
        &path,
        i32::from(response.status().as_u16()),
        request_id
    )
    .execute(&pool)
    .await;
    if let Err(error) = recorded {
        // The action happened; losing its record is logged loudly rather than undoing it.
        tracing::error!(error = %error, subject = %claims.sub, method, path, "audit record not written");
    }
    response
}

/// One recorded admin action.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub subject: String,
    pub role: String,
    pub tenant: Option<String>,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub request_id: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only actions of this subject.
    pub subject: Option<String>,
    /// Only actions at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u32>,
}

/// The audit log, newest first (admin).
#[utoipa::path(get, path = "/v1/audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<AuditEntry>), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn list(
    principal: Principal,
    State(pool): State<PgPool>,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    principal.require(Role::Admin)?;
    let (limit, offset) = PageQuery {
        limit: query.limit,
        offset: query.offset,
    }
    .bounds()?;
    let rows = sqlx::query_as!(AuditEntry, r#"SELECT id, at, subject, role, tenant, method, path, status, request_id FROM fleet.audit_log
         WHERE ($1::text IS NULL OR subject = $1) AND ($2::timestamptz IS NULL OR at >= $2)
         ORDER BY id DESC LIMIT $3 OFFSET $4"#, query.subject.as_deref(), query.since, limit + 1, offset)
    .fetch_all(&pool)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// `GET /v1/audit`, served by every process (the log is one table).
pub fn router(pool: PgPool) -> Router {
    Router::new().route("/v1/audit", get(list)).with_state(pool)
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge fleet", description = "Routes every process serves: the audit log."),
    paths(list),
    components(schemas(AuditEntry, Page<AuditEntry>, crate::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
struct AuditDoc;

/// The fleet's own routes (the audit log), documented apart from any one service.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi as _;
    let mut document = AuditDoc::openapi();
    crate::openapi::document_shared_responses(&mut document);
    document
}
