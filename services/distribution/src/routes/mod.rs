//! The distribution service's HTTP surface: accounts under `/v1/accounts`, publications under
//! `/v1/publications`, and the state their handlers share.

pub mod accounts;
pub mod publications;

use std::sync::Arc;

use axum::{
    routing::{get, post},
    Router,
};
use shared::{openapi::BearerAuth, peer::Peer, storage::MediaStore};
use sqlx::PgPool;

use crate::{accounts::Accounts, config::DistributionConfig};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub store: Arc<dyn MediaStore>,
    pub accounts: Accounts,
    pub orchestrator: Option<Peer>,
    pub config: Arc<DistributionConfig>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/accounts", get(accounts::list))
        .route("/v1/accounts/connect", post(accounts::connect))
        .route("/v1/accounts/callback/{platform}", get(accounts::callback))
        .route(
            "/v1/accounts/{id}",
            get(accounts::get).delete(accounts::disconnect),
        )
        .route("/v1/accounts/{id}/token", post(accounts::token))
        .route(
            "/v1/publications",
            get(publications::list).post(publications::create),
        )
        .route("/v1/publications/{id}", get(publications::get))
        .route("/v1/publications/{id}/retry", post(publications::retry))
        .route("/v1/publications/{id}/cancel", post(publications::cancel))
        .with_state(state)
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge distribution", description = "Platform accounts (OAuth2, tokens sealed at rest) and publications sent through each platform's official API."),
    paths(accounts::connect, accounts::callback, accounts::list, accounts::get, accounts::disconnect, accounts::token,
          publications::create, publications::list, publications::get, publications::retry, publications::cancel),
    components(schemas(accounts::Account, accounts::AccountDetail, crate::quota::Standing, accounts::Connect, accounts::Consent, accounts::Connected, accounts::ConnectedAccount, accounts::TokenRequest, accounts::AccessToken,
                       publications::Publication, publications::PublicationDetail, publications::PublicationEvent,
                       crate::publications::NewPublication, crate::preflight::PreflightReport, crate::preflight::Check,
                       crate::preflight::FileFacts, crate::preflight::Metadata, crate::platform::Platform, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
