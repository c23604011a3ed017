//! Knowledge-network and recommendation routes: write and read ranked insights; recommend a
//! new run's parameters with the context its story should see.

use axum::{extract::State, http::StatusCode};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use shared::{
    auth::{Principal, Role},
    extract::{Json, Query},
    ApiError, ApiResult,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use crate::{
    insights::{self, Insight, NewInsight},
    recommend::{self, Recommendation, RecommendationRequest},
};

/// `GET /v1/insights` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InsightsQuery {
    /// The tenant asked about: its own insights and fleet-wide ones (others read their own).
    pub tenant: Option<String>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// At most this many (default 20, at most 200).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: Uuid,
}

/// Records an insight (service or operator; fleet-wide ones, without a tenant, need a service or
/// an admin) and announces it as `insight.created`. `created_at` may date an import, never the
/// future.
#[utoipa::path(post, path = "/v1/insights", operation_id = "create_insight", request_body = NewInsight, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 422, body = shared::error::ErrorBody)))]
pub async fn create_insight(
    principal: Principal,
    State(state): State<AppState>,
    Json(insight): Json<NewInsight>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    principal.require(Role::Operator)?;
    match (&insight.tenant, principal.tenant_scope()) {
        (Some(tenant), _) => principal.require_tenant(tenant)?,
        (None, Some(_)) => {
            return Err(ApiError::forbidden(
                "fleet-wide insights need a service or admin token",
            ))
        }
        (None, None) => {}
    }
    insight.validate(Utc::now())?;
    let id = insights::record(&state.db, &insight, None)
        .await?
        .ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "an insight without a fingerprint was not stored"
            ))
        })?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Insights ranked by confidence decayed 20 % per 30 days (`c · 0.8^(age/30 d)`) × relevance
/// (the tenant's own 1, fleet-wide 0.5); `confidence` is the decayed value, `base_confidence` the
/// stored one.
#[utoipa::path(get, path = "/v1/insights", operation_id = "list_insights", params(InsightsQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<Insight>), (status = 401, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list_insights(
    principal: Principal,
    State(state): State<AppState>,
    Query(query): Query<InsightsQuery>,
) -> ApiResult<Json<Vec<Insight>>> {
    principal.require(Role::Viewer)?;
    let tenant = super::optional_tenant(&principal, query.tenant.as_deref())?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::validation("limit", "must be 1 to 200"));
    }
    Ok(Json(
        insights::ranked(
            &state.db,
            tenant.as_deref(),
            query.kind.as_deref(),
            limit,
            Utc::now(),
        )
        .await?,
    ))
}

/// What a new run of the tenant should be made with where it did not say, why, and the context
/// its story should see (service, or an operator of the tenant). Assigns the run to the tenant's
/// running experiment, once.
#[utoipa::path(post, path = "/v1/analytics/recommendations", operation_id = "recommend_run", request_body = RecommendationRequest, security(("bearer" = [])),
    responses((status = 200, body = Recommendation), (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 422, body = shared::error::ErrorBody)))]
pub async fn recommendation(
    principal: Principal,
    State(state): State<AppState>,
    Json(request): Json<RecommendationRequest>,
) -> ApiResult<Json<Recommendation>> {
    principal.require(Role::Operator)?;
    principal.require_tenant(&request.tenant)?;
    super::check_tenant(&request.tenant)?;
    Ok(Json(
        recommend::recommend(&state.db, &request, Utc::now()).await?,
    ))
}
