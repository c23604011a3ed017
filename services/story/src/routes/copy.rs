//! `POST /v1/copy`: creator copy of one kind written through the provider chain, checked against
//! the kind's schema.

use std::sync::Arc;

use axum::extract::State;
use providers::{CallContext, CallOptions, Chain, Text};
use shared::{
    auth::{Principal, Role},
    extract::Json,
    ApiError, ApiResult,
};

use crate::copy::{CopyRequest, CopyResponse};

/// The story service's text chain, shared with the worker.
#[derive(Clone)]
pub struct CopyState {
    pub chain: Arc<Chain<Text>>,
}

/// Writes copy of one kind through the provider chain; the reply matches the kind's schema.
#[utoipa::path(post, path = "/v1/copy", request_body = CopyRequest, security(("bearer" = [])),
    responses((status = 200, body = CopyResponse), (status = 401, body = shared::error::ErrorBody),
        (status = 403, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody),
        (status = 502, body = shared::error::ErrorBody)))]
pub async fn write(
    principal: Principal,
    State(state): State<CopyState>,
    Json(request): Json<CopyRequest>,
) -> ApiResult<Json<CopyResponse>> {
    principal.require(Role::Operator)?;
    request.validate()?;
    let text_request = request.text_request().map_err(ApiError::internal)?;
    let context = CallContext {
        run_id: None,
        tenant: principal.tenant().to_owned(),
        service: "story".to_owned(),
    };
    let done = state
        .chain
        .call(
            &context,
            &text_request,
            CallOptions {
                cache: request.cache,
            },
        )
        .await
        .map_err(|error| {
            tracing::warn!(
                details = error.details(),
                "copy request failed at every provider"
            );
            ApiError::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "providers_failed",
                error.to_string(),
            )
        })?;
    Ok(Json(CopyResponse {
        kind: request.kind,
        result: done.reply.json,
        provider: done.provider,
        model: done.model,
        cost_micros: done.cost_micros,
        cache_hit: done.cache_hit,
    }))
}
