//! `Idempotency-Key` on POST: the first response is stored and replayed for the same key and body.

use std::sync::Arc;

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::{auth::Authenticator, error::ApiError};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

#[derive(Clone)]
pub struct IdempotencyState {
    pub pool: PgPool,
    pub max_body_bytes: usize,
    /// How long a key stays claimed by a request that never finished (its process died, or it
    /// timed out): after this, a retry with the same key takes it over instead of a 409.
    pub lease: std::time::Duration,
}

/// How long a completed key is replayed; older keys are forgotten (and pruned).
pub const RETENTION_HOURS: i32 = 24;

/// Middleware: replays a stored response, refuses a reused key with another body, else records.
pub async fn layer(
    State(state): State<IdempotencyState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    match handle(state, key, request, next).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: IdempotencyState,
    key: HeaderValue,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let key = key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| ApiError::validation(HEADER, "must be 1 to 255 visible ASCII characters"))?
        .to_owned();
    let (parts, body) = request.into_parts();
    // Keys are per caller: the same key from two subjects are two different requests.
    let scope = parts
        .extensions
        .get::<Arc<Authenticator>>()
        .and_then(|auth| {
            crate::auth::bearer_token(&parts.headers).and_then(|t| auth.verify(t).ok())
        })
        .map(|claims| format!("{}/{}", claims.tenant.unwrap_or_default(), claims.sub));
    let Some(scope) = scope else {
        // Unauthenticated: let the handler reject it; nothing is stored.
        return Ok(next.run(Request::from_parts(parts, body)).await);
    };
    let body = to_bytes(body, state.max_body_bytes).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body too large",
        )
    })?;
    let fingerprint = {
        let mut hasher = Sha256::new();
        hasher.update(parts.method.as_str());
        hasher.update(parts.uri.path());
        hasher.update(&body);
        hex::encode(hasher.finalize())
    };
    // Claimed when new, when forgotten (older than the retention), or when the request holding
    // it never finished within its lease.
    let claimed = sqlx::query!(
        "INSERT INTO fleet.idempotency_keys (scope, key, fingerprint) VALUES ($1, $2, $3)
         ON CONFLICT (scope, key) DO UPDATE
             SET fingerprint = EXCLUDED.fingerprint, created_at = now(), status = NULL,
                 content_type = NULL, body = NULL, completed_at = NULL
             WHERE fleet.idempotency_keys.created_at < now() - make_interval(hours => $4)
                OR (fleet.idempotency_keys.completed_at IS NULL
                    AND fleet.idempotency_keys.created_at < now() - make_interval(secs => $5))",
        &scope,
        &key,
        &fingerprint,
        RETENTION_HOURS,
        state.lease.as_secs_f64()
    )
    .execute(&state.pool)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        return replay(&state.pool, &scope, &key, &fingerprint).await;
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => {
            forget(&state.pool, &scope, &key).await;
            return Err(ApiError::internal(anyhow::anyhow!(
                "reading the response failed: {error}"
            )));
        }
    };
    if parts.status.is_server_error() {
        // A failure is not a result: the client may retry with the same key.
        forget(&state.pool, &scope, &key).await;
    } else {
        let content_type = parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        sqlx::query!("UPDATE fleet.idempotency_keys SET status = $3, content_type = $4, body = $5, completed_at = now()
             WHERE scope = $1 AND key = $2", &scope, &key, i32::from(parts.status.as_u16()), content_type, body.as_ref())
        .execute(&state.pool)
        .await?;
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

async fn forget(pool: &PgPool, scope: &str, key: &str) {
    let deleted = sqlx::query!(
        "DELETE FROM fleet.idempotency_keys WHERE scope = $1 AND key = $2",
        scope,
        key
    )
    .execute(pool)
    .await;
    if let Err(error) = deleted {
        tracing::warn!(error = %error, "could not release idempotency key");
    }
}

/// A recorded request: its fingerprint and, once complete, its response.
struct StoredResponse {
    fingerprint: String,
    status: Option<i32>,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
}

async fn replay(
    pool: &PgPool,
    scope: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Response, ApiError> {
    let stored = sqlx::query_as!(
        StoredResponse,
        "SELECT fingerprint, status, content_type, body FROM fleet.idempotency_keys WHERE scope = $1 AND key = $2",
        scope,
        key
    )
    .fetch_optional(pool)
    .await?;
    let Some(StoredResponse {
        fingerprint: stored_fingerprint,
        status,
        content_type,
        body,
    }) = stored
    else {
        return Err(ApiError::conflict(
            "idempotency_in_progress",
            "a request with this Idempotency-Key is in progress; retry shortly",
        ));
    };
    if stored_fingerprint != fingerprint {
        return Err(ApiError::validation(
            HEADER,
            "this key was already used with a different request body",
        ));
    }
    let Some(status) = status.and_then(|s| StatusCode::from_u16(u16::try_from(s).ok()?).ok())
    else {
        return Err(ApiError::conflict(
            "idempotency_in_progress",
            "a request with this Idempotency-Key is in progress; retry shortly",
        ));
    };
    let mut response = Response::builder()
        .status(status)
        .header(REPLAYED_HEADER, "true");
    if let Some(content_type) = content_type {
        response = response.header(axum::http::header::CONTENT_TYPE, content_type);
    }
    response
        .body(Body::from(body.unwrap_or_default()))
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
}
