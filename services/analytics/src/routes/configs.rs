//! Versioned config routes: read the version in force, write a new one (validated against the
//! catalogue and the tenant's budget), list versions with their diffs, roll back.

use axum::{extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path},
    ApiError, ApiResult,
};
use utoipa::ToSchema;

use super::{check_tenant, AppState};
use crate::configs::{self, ConfigVersion, GenerationDefaults};

/// The version in force (`version` 0 with empty defaults before the first `PUT`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentConfig {
    pub tenant: String,
    pub version: i32,
    /// The document's fields (see `GenerationDefaults`), beside `tenant` and `version`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub document: GenerationDefaults,
}

/// The body of `POST /v1/configs/{tenant}/rollback`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    pub version: i32,
}

/// The tenant's generation defaults in force, answered as `{tenant, version, …}`.
#[utoipa::path(get, path = "/v1/configs/{tenant}", operation_id = "get_config", params(("tenant" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = CurrentConfig), (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 422, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<CurrentConfig>> {
    principal.require(Role::Viewer)?;
    principal.require_tenant(&tenant)?;
    check_tenant(&tenant)?;
    let current = configs::current(&state.db, &tenant).await?;
    Ok(Json(match current {
        Some(version) => CurrentConfig {
            tenant,
            version: version.version,
            document: version.document,
        },
        None => CurrentConfig {
            tenant,
            version: 0,
            document: GenerationDefaults::default(),
        },
    }))
}

/// Replaces the tenant's defaults with a new version (operator). `422` names a field outside the
/// catalogue, or providers whose estimated cost per run exceeds one of the tenant's budgets.
#[utoipa::path(put, path = "/v1/configs/{tenant}", operation_id = "put_config", params(("tenant" = String, Path)), request_body = GenerationDefaults, security(("bearer" = [])),
    responses((status = 200, body = CurrentConfig), (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 422, body = shared::error::ErrorBody), (status = 503, body = shared::error::ErrorBody)))]
pub async fn put(
    principal: Principal,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> ApiResult<Json<CurrentConfig>> {
    let claims = principal.require(Role::Operator)?;
    principal.require_tenant(&tenant)?;
    check_tenant(&tenant)?;
    if !body.is_object() {
        return Err(ApiError::validation(
            "body",
            "must be a JSON object of defaults",
        ));
    }
    let document: GenerationDefaults =
        serde_json::from_value(body).map_err(|e| ApiError::validation("body", e))?;
    document.validate(&state.catalogue)?;
    configs::check_budget(state.billing.as_ref(), &tenant, &document).await?;
    let written = configs::write(&state.db, &tenant, &document, &claims.sub, "put").await?;
    Ok(Json(CurrentConfig {
        tenant,
        version: written.version,
        document: written.document,
    }))
}

/// Every version, newest first, with who wrote it, when, why and what changed.
#[utoipa::path(get, path = "/v1/configs/{tenant}/versions", operation_id = "list_config_versions", params(("tenant" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<ConfigVersion>), (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 422, body = shared::error::ErrorBody)))]
pub async fn versions(
    principal: Principal,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Vec<ConfigVersion>>> {
    principal.require(Role::Viewer)?;
    principal.require_tenant(&tenant)?;
    check_tenant(&tenant)?;
    Ok(Json(configs::versions(&state.db, &tenant).await?))
}

/// Makes an earlier version's document the newest version again (operator); `404` for a version
/// the tenant never had.
#[utoipa::path(post, path = "/v1/configs/{tenant}/rollback", operation_id = "rollback_config", params(("tenant" = String, Path)), request_body = Rollback, security(("bearer" = [])),
    responses((status = 201, body = CurrentConfig), (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 404, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn rollback(
    principal: Principal,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Json(rollback): Json<Rollback>,
) -> ApiResult<(StatusCode, Json<CurrentConfig>)> {
    let claims = principal.require(Role::Operator)?;
    principal.require_tenant(&tenant)?;
    check_tenant(&tenant)?;
    let document = configs::version(&state.db, &tenant, rollback.version).await?;
    // The catalogue may have shrunk since: an old version must still be something runs can make.
    document.validate(&state.catalogue)?;
    let reason = format!("rollback to {}", rollback.version);
    let written = configs::write(&state.db, &tenant, &document, &claims.sub, &reason).await?;
    Ok((
        StatusCode::CREATED,
        Json(CurrentConfig {
            tenant,
            version: written.version,
            document: written.document,
        }),
    ))
}
