//! Account routes: connect (the consent URL, with state and PKCE), the platform's callback (code
//! exchanged, grant sealed and stored), list, get and disconnect. Tokens are never returned.

use axum::{extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path, Query},
    page::{Page, PageQuery, TenantTable},
    ApiError, ApiResult,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use crate::{
    oauth,
    platform::{not_configured, Platform},
};

/// A connected platform account; its tokens stay sealed in the database and are never returned.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Account {
    pub id: Uuid,
    pub tenant: String,
    pub platform: String,
    pub platform_account_id: String,
    pub display_name: String,
    /// `active`, `reconnect_required` (the grant was revoked) or `disconnected`.
    pub status: String,
    pub status_reason: Option<String>,
    pub access_expires_at: Option<DateTime<Utc>>,
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const ACCOUNTS: TenantTable = TenantTable {
    table: "distribution.accounts",
    columns: "id, tenant, platform, platform_account_id, display_name, status, status_reason, access_expires_at, scopes, created_at, updated_at",
    newest_first_by: "created_at",
    noun: "account",
};

/// `POST /v1/accounts/connect`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Connect {
    pub platform: Platform,
    /// Where the platform sends the user back: this fleet's `/v1/accounts/callback/{platform}`,
    /// or a page that forwards `code` and `state` to it. Must be registered with the platform.
    pub redirect_uri: String,
}

/// Where to send the user to grant access.
#[derive(Debug, Serialize, ToSchema)]
pub struct Consent {
    pub authorize_url: String,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}

/// Starts connecting an account: the platform's consent URL, with a single-use state.
#[utoipa::path(operation_id = "connect_account", post, path = "/v1/accounts/connect", request_body = Connect, security(("bearer" = [])),
    responses((status = 200, body = Consent), (status = 422, body = shared::error::ErrorBody)))]
pub async fn connect(
    principal: Principal,
    State(state): State<AppState>,
    Json(request): Json<Connect>,
) -> ApiResult<Json<Consent>> {
    principal.require(Role::Operator)?;
    let client = state
        .accounts
        .client(request.platform)
        .ok_or_else(|| not_configured(request.platform))?;
    let redirect = url::Url::parse(&request.redirect_uri)
        .map_err(|e| ApiError::validation("redirect_uri", e))?;
    if !matches!(redirect.scheme(), "https" | "http") || redirect.fragment().is_some() {
        return Err(ApiError::validation(
            "redirect_uri",
            "must be an http(s) URL without a fragment",
        ));
    }
    let oauth_state = oauth::random_token(32);
    let verifier = oauth::uses_pkce(request.platform).then(|| oauth::random_token(48));
    let sealed_verifier = verifier
        .as_ref()
        .map(|v| {
            state
                .accounts
                .keyring
                .seal(v.as_bytes(), oauth_state.as_bytes())
        })
        .transpose()?;
    let expires_at = Utc::now()
        + chrono::Duration::seconds(
            i64::try_from(state.config.oauth_state_ttl_secs).unwrap_or(900),
        );
    sqlx::query!(
        "INSERT INTO distribution.oauth_states (state, tenant, platform, redirect_uri, code_verifier_sealed, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &oauth_state,
        principal.tenant(),
        request.platform.as_str(),
        &request.redirect_uri,
        sealed_verifier,
        expires_at
    )
    .execute(&state.db)
    .await?;
    let challenge = verifier.as_deref().map(oauth::pkce_challenge);
    Ok(Json(Consent {
        authorize_url: oauth::authorize_url(
            client,
            &oauth_state,
            &request.redirect_uri,
            challenge.as_deref(),
        )?,
        state: oauth_state,
        expires_at,
    }))
}

/// What the platform sends back to the callback.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set when the user declined.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The accounts a callback connected.
#[derive(Debug, Serialize, ToSchema)]
pub struct Connected {
    pub accounts: Vec<ConnectedAccount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectedAccount {
    pub id: Uuid,
    pub platform: Platform,
    pub platform_account_id: String,
    pub display_name: String,
}

/// The platform's redirect: checks the single-use state, exchanges the code and stores the grant.
/// Authenticated by the state itself (the user's browser carries no token here).
#[utoipa::path(operation_id = "account_callback", get, path = "/v1/accounts/callback/{platform}", params(("platform" = Platform, Path), CallbackQuery),
    responses((status = 200, body = Connected), (status = 400, body = shared::error::ErrorBody), (status = 502, body = shared::error::ErrorBody)))]
pub async fn callback(
    State(state): State<AppState>,
    Path(platform): Path<String>,
    Query(query): Query<CallbackQuery>,
) -> ApiResult<Json<Connected>> {
    let platform: Platform = platform.parse().map_err(|_| {
        ApiError::not_found(format!(
            "no platform `{platform}` (youtube, tiktok, instagram or facebook)"
        ))
    })?;
    let oauth_state = query
        .state
        .as_deref()
        .ok_or_else(|| ApiError::validation("state", "is required"))?;
    let pending = sqlx::query!(
        "DELETE FROM distribution.oauth_states WHERE state = $1 AND platform = $2 RETURNING tenant, redirect_uri, code_verifier_sealed, expires_at",
        oauth_state,
        platform.as_str()
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "invalid_state", "unknown or already used state; start connecting again"))?;
    if pending.expires_at < Utc::now() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "state_expired",
            "the consent took too long; start connecting again",
        ));
    }
    if let Some(error) = query.error {
        let reason = query.error_description.unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "consent_denied",
            format!("{platform} answered {error}: {reason}"),
        ));
    }
    let code = query
        .code
        .as_deref()
        .ok_or_else(|| ApiError::validation("code", "is required"))?;
    let client = state
        .accounts
        .client(platform)
        .ok_or_else(|| not_configured(platform))?;
    let verifier = pending
        .code_verifier_sealed
        .map(|sealed| state.accounts.keyring.open(&sealed, oauth_state.as_bytes()))
        .transpose()?
        .map(String::from_utf8)
        .transpose()
        .map_err(ApiError::internal)?;
    let platform_error = |failure: crate::remote::Failure| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "platform_error",
            format!("{platform} refused the grant: {failure}"),
        )
    };
    let grant = oauth::exchange_code(
        &state.accounts.http,
        client,
        code,
        &pending.redirect_uri,
        verifier.as_deref(),
    )
    .await
    .map_err(platform_error)?;
    let identities = oauth::identities(&state.accounts.http, client, &grant)
        .await
        .map_err(platform_error)?;
    if identities.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_accounts",
            format!("the {platform} grant reaches no channel, Page or professional account to publish to"),
        ));
    }
    let mut accounts = Vec::new();
    for identity in identities {
        let id = state
            .accounts
            .store(&pending.tenant, platform, &identity)
            .await?;
        tracing::info!(account_id = %id, %platform, tenant = pending.tenant, "account connected");
        accounts.push(ConnectedAccount {
            id,
            platform,
            platform_account_id: identity.platform_account_id,
            display_name: identity.display_name,
        });
    }
    Ok(Json(Connected { accounts }))
}

/// Lists connected accounts; non-admins see only their tenant's.
#[utoipa::path(operation_id = "list_accounts", get, path = "/v1/accounts", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Account>), (status = 401, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Account>>> {
    Ok(Json(ACCOUNTS.page(&state.db, &principal, &page).await?))
}

/// An account and where it stands against its platform's posting quota.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDetail {
    #[serde(flatten)]
    pub account: Account,
    pub quota: crate::quota::Standing,
}

/// One account, with its remaining quota.
#[utoipa::path(operation_id = "get_account", get, path = "/v1/accounts/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = AccountDetail), (status = 404, body = shared::error::ErrorBody)))]
pub async fn get(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<AccountDetail>> {
    let account: Account = ACCOUNTS.one(&state.db, &principal, id).await?;
    let platform: Platform = account.platform.parse().map_err(|_| {
        ApiError::internal(anyhow::anyhow!(
            "account {id} has platform {}",
            account.platform
        ))
    })?;
    let mut conn = state.db.acquire().await?;
    let quota =
        crate::quota::standing(&mut conn, &state.config.quotas, platform, id, Utc::now()).await?;
    Ok(Json(AccountDetail { account, quota }))
}

/// Disconnects an account: its tokens are erased and its waiting publications cancelled; its
/// publication history stays.
#[utoipa::path(operation_id = "disconnect_account", delete, path = "/v1/accounts/{id}", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = shared::error::ErrorBody)))]
pub async fn disconnect(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    principal.require(Role::Operator)?;
    let account: Account = ACCOUNTS.one(&state.db, &principal, id).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query!(
        "UPDATE distribution.accounts SET status = 'disconnected', status_reason = 'disconnected by a user', token_ciphertext = ''::bytea,
             token_key_id = '', access_expires_at = NULL, updated_at = now() WHERE id = $1",
        account.id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE distribution.publications SET state = 'cancelled', error = 'account disconnected', updated_at = now()
         WHERE account_id = $1 AND state IN ('queued', 'deferred')",
        account.id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST /v1/accounts/{id}/token`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// A token the platform just refused: a new one is obtained unless it was already replaced.
    #[serde(default)]
    pub refused: Option<String>,
}

/// A usable access token, for the fleet's own reads of the account (analytics pulls).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessToken {
    pub platform: String,
    pub platform_account_id: String,
    pub access_token: String,
}

/// A usable access token of the account (refreshed first when it is about to expire, or when the
/// caller names one the platform refused). Only services may ask: people never see tokens. `409
/// reconnect_required` when the grant is gone; `503` when the platform cannot be reached.
#[utoipa::path(operation_id = "account_token", post, path = "/v1/accounts/{id}/token", params(("id" = Uuid, Path)), request_body = TokenRequest, security(("bearer" = [])),
    responses((status = 200, body = AccessToken), (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 404, body = shared::error::ErrorBody), (status = 409, body = shared::error::ErrorBody), (status = 503, body = shared::error::ErrorBody)))]
pub async fn token(
    principal: Principal,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(request): Json<TokenRequest>,
) -> ApiResult<(
    [(axum::http::HeaderName, &'static str); 1],
    Json<AccessToken>,
)> {
    if principal.0.role != Role::Service {
        return Err(ApiError::forbidden(
            "only fleet services may read access tokens",
        ));
    }
    let platform = sqlx::query_scalar!(
        "SELECT platform FROM distribution.accounts WHERE id = $1",
        id
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("account {id} not found")))?;
    let outcome = match &request.refused {
        Some(refused) => state.accounts.after_refusal(id, refused).await,
        None => state.accounts.credential(id).await,
    };
    let credential = outcome.map_err(|failure| match failure {
        crate::remote::Failure::Revoked(reason) => ApiError::conflict("reconnect_required", reason),
        crate::remote::Failure::Transient {
            reason,
            retry_after,
        } => {
            let error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "platform_unavailable",
                reason,
            );
            match retry_after {
                Some(pause) => error.retry_after(pause.as_secs().max(1)),
                None => error,
            }
        }
        other => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "token_unavailable",
            other.to_string(),
        ),
    })?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(AccessToken {
            platform,
            platform_account_id: credential.platform_account_id,
            access_token: credential.access_token,
        }),
    ))
}
