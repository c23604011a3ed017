//! The story service's HTTP surface: written stories (read), creator copy (write), and the
//! provider chain's admin routes.

mod copy;
mod stories;

use std::sync::Arc;

use axum::{
    routing::{get, post},
    Router,
};
use providers::{chain::Describe, Chain, Text};
use sqlx::PgPool;
use utoipa::OpenApi as _;

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(copy::write),
    components(schemas(
        crate::copy::CopyRequest,
        crate::copy::CopyResponse,
        crate::copy::CopyKind
    ))
)]
struct CopyApiDoc;

pub(crate) fn router(prefix: &str, db: PgPool, chain: Arc<Chain<Text>>) -> Router {
    let chains: Vec<Arc<dyn Describe>> = vec![chain.clone()];
    let own = Router::new()
        .route("/v1/stories", get(stories::list))
        .route("/v1/stories/{id}", get(stories::get))
        .with_state(db)
        .merge(
            Router::new()
                .route("/v1/copy", post(copy::write))
                .with_state(copy::CopyState { chain }),
        );
    providers::admin::with_chains(prefix, own, chains)
}

pub(crate) fn openapi(prefix: &str) -> utoipa::openapi::OpenApi {
    let mut document = stories::ApiDoc::openapi();
    document.merge(CopyApiDoc::openapi());
    providers::admin::with_openapi(prefix, document)
}
