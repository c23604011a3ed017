//! `GET <prefix>/admin/providers`: each chain of the service, its providers and their breakers.

use std::sync::Arc;

use axum::{extract::State, routing::get, Router};
use shared::{
    auth::{Principal, Role},
    extract::Json,
    ApiResult,
};
use utoipa::OpenApi as _;

use crate::chain::{ChainView, Describe};

#[derive(Clone)]
struct Chains(Arc<Vec<Arc<dyn Describe>>>);

/// The chains a service uses, under its prefix (operator role).
fn router(prefix: &str, chains: Vec<Arc<dyn Describe>>) -> Router {
    Router::new()
        .route(&format!("{prefix}/admin/providers"), get(list))
        .with_state(Chains(Arc::new(chains)))
}

/// A service's `own` routes with the admin view of its `chains` beside them.
pub fn with_chains(prefix: &str, own: Router, chains: Vec<Arc<dyn Describe>>) -> Router {
    own.merge(router(prefix, chains))
}

/// A service's `own` OpenAPI document with the admin view's paths merged in.
pub fn with_openapi(prefix: &str, mut own: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    own.merge(openapi(prefix));
    own
}

/// The route's OpenAPI paths under `prefix`, to merge into a service's document.
fn openapi(prefix: &str) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let paths = std::mem::take(&mut document.paths.paths);
    document.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (path.replacen("/PREFIX", prefix, 1), item))
        .collect();
    document
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list), components(schemas(ChainView, crate::chain::LinkView)))]
struct ApiDoc;

/// The provider chains of this service with each provider's circuit breaker state (operator).
#[utoipa::path(get, path = "/PREFIX/admin/providers", operation_id = "list_provider_chains", security(("bearer" = [])),
    responses((status = 200, body = [ChainView]), (status = 403, body = shared::error::ErrorBody)))]
async fn list(
    principal: Principal,
    State(chains): State<Chains>,
) -> ApiResult<Json<Vec<ChainView>>> {
    principal.require(Role::Operator)?;
    Ok(Json(
        chains.0.iter().map(|chain| chain.describe()).collect(),
    ))
}
