//! The analytics service's HTTP surface: snapshots and reports under `/v1/analytics`, versioned
//! configs under `/v1/configs`, experiments under `/v1/experiments`, the knowledge network under
//! `/v1/insights`, and the state their handlers share.

pub mod configs;
pub mod experiments;
pub mod learning;
pub mod reports;
pub mod snapshots;

use std::sync::Arc;

use axum::{
    extract::FromRef,
    routing::{get, post},
    Router,
};
use messages::catalogue::Catalogue;
use shared::{auth::Principal, openapi::BearerAuth, peer::Peer, ApiError};
use sqlx::PgPool;
use utoipa::OpenApi as _;

use crate::config::AnalyticsConfig;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<AnalyticsConfig>,
    pub catalogue: Arc<Catalogue>,
    pub billing: Option<Peer>,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.db.clone()
    }
}

/// The tenant a request is about: scoped callers their own (naming another is 403), admins and
/// services the one they name (required).
pub fn tenant_for(principal: &Principal, named: Option<&str>) -> Result<String, ApiError> {
    match (principal.tenant_scope(), named) {
        (Some(own), named) => {
            principal.require_tenant(named.unwrap_or(own))?;
            Ok(own.to_owned())
        }
        (None, Some(named)) => {
            check_tenant(named)?;
            Ok(named.to_owned())
        }
        (None, None) => Err(ApiError::validation("tenant", "name the tenant")),
    }
}

/// The tenant a read is about, when it may span tenants: scoped callers their own (naming
/// another is 403), admins and services the one they name, or every tenant (`None`).
pub fn optional_tenant(
    principal: &Principal,
    named: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match (principal.tenant_scope(), named) {
        (None, None) => Ok(None),
        (_, named) => tenant_for(principal, named).map(Some),
    }
}

/// A tenant name as the fleet writes them: 1 to 64 letters, digits, `_`, `-` or `.`.
pub fn check_tenant(tenant: &str) -> Result<(), ApiError> {
    let valid = !tenant.is_empty()
        && tenant.len() <= 64
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if valid {
        Ok(())
    } else {
        Err(ApiError::validation(
            "tenant",
            "must be 1 to 64 letters, digits, `_`, `-` or `.`",
        ))
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/analytics/snapshots", get(snapshots::list))
        .route("/v1/analytics/snapshots/{id}", get(snapshots::get))
        .route("/v1/analytics/videos/{id}", get(reports::video))
        .route("/v1/analytics/summary", get(reports::summary))
        .route("/v1/analytics/slots", get(reports::learned_slots))
        .route(
            "/v1/analytics/recommendations",
            post(learning::recommendation),
        )
        .route("/v1/configs/{tenant}", get(configs::get).put(configs::put))
        .route("/v1/configs/{tenant}/versions", get(configs::versions))
        .route("/v1/configs/{tenant}/rollback", post(configs::rollback))
        .route(
            "/v1/experiments",
            get(experiments::list).post(experiments::create),
        )
        .route("/v1/experiments/{id}", get(experiments::get))
        .route("/v1/experiments/{id}/stop", post(experiments::stop))
        .route(
            "/v1/insights",
            get(learning::list_insights).post(learning::create_insight),
        )
        .with_state(state)
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge analytics", description = "Platform metrics per publication, reports, versioned configs, experiments and bandits, and the knowledge network."),
    paths(reports::video, reports::summary, reports::learned_slots, learning::recommendation, learning::create_insight, learning::list_insights,
          configs::get, configs::put, configs::versions, configs::rollback,
          experiments::create, experiments::list, experiments::get, experiments::stop),
    components(schemas(reports::VideoReport, reports::Pull, reports::Point, crate::summary::Summary, crate::summary::SummaryRow, crate::slots::Slot,
                       crate::recommend::RecommendationRequest, crate::recommend::Recommendation, crate::insights::NewInsight, crate::insights::Insight,
                       learning::Created, configs::CurrentConfig, configs::Rollback, crate::configs::GenerationDefaults, crate::configs::ProviderChoices,
                       crate::configs::ConfigVersion, crate::experiments::NewExperiment, crate::experiments::Experiment, crate::experiments::Arm,
                       crate::experiments::ExperimentResults, crate::experiments::ArmResult, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
struct LearningDoc;

/// The service's whole OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = snapshots::ApiDoc::openapi();
    document.merge(LearningDoc::openapi());
    document
}
