//! The middleware: names the caller from its bearer token, checks its window, answers 429 with
//! `Retry-After` when denied, and sets the `RateLimit-*` headers (IETF draft) on every answer.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{Decision, RateLimiter, RouteClass};
use crate::{
    auth::{bearer_token, Authenticator, Principal, Role},
    error::ApiError,
};

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// What the middleware needs: the limiter and the authenticator that names the caller.
#[derive(Clone)]
pub struct RateLimitState {
    pub limiter: Arc<RateLimiter>,
    pub auth: Arc<Authenticator>,
}

/// Middleware limiting callers with a valid token by tenant (admins without one by subject).
/// Not limited: health, metrics and OpenAPI routes, `service` tokens, and requests without a
/// valid token (authentication rejects those later).
pub async fn layer(State(state): State<RateLimitState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let exempt =
        path.starts_with("/health/") || path == "/metrics" || path.ends_with("/openapi.json");
    if !state.limiter.config().enabled || exempt {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let claims = bearer_token(&parts.headers).and_then(|token| state.auth.verify(token).ok());
    let caller = claims
        .as_ref()
        .and_then(|claims| match (claims.role, &claims.tenant) {
            (Role::Service, _) => None,
            (_, Some(tenant)) => Some(tenant.clone()),
            (Role::Admin, None) => Some(format!("sub:{}", claims.sub)),
            (_, None) => Some("default".to_owned()),
        });
    // Verified once here; the `Principal` extractor takes it instead of verifying again.
    if let Some(claims) = claims {
        parts.extensions.insert(Principal(claims));
    }
    let request = Request::from_parts(parts, body);
    let Some(tenant) = caller else {
        return next.run(request).await;
    };
    let class = RouteClass::of(request.method());
    let decision = state.limiter.check(&tenant, class).await;
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        denied(&state.limiter, &tenant, class, &decision)
    };
    set_headers(response.headers_mut(), &decision);
    response
}

fn denied(limiter: &RateLimiter, tenant: &str, class: RouteClass, decision: &Decision) -> Response {
    let retry_after = whole_seconds(decision.retry_after).max(1);
    let detail = format!(
        "rate limit exceeded: {} requests per {} s for tenant {tenant} ({class} routes); retry in {retry_after} s",
        decision.limit,
        limiter.config().window_secs,
    );
    let mut response =
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", detail).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

fn set_headers(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(LIMIT, HeaderValue::from(decision.limit));
    headers.insert(REMAINING, HeaderValue::from(decision.remaining));
    headers.insert(RESET, HeaderValue::from(whole_seconds(decision.reset)));
}

/// Rounded up, so waiting that long is always enough.
fn whole_seconds(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis().div_ceil(1000)).unwrap_or(u64::MAX)
}
