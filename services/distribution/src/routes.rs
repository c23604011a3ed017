//! Read routes over accounts (never their tokens) and publications.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::{
    auth::Principal,
    extract::{Json, Query},
    openapi::BearerAuth,
    page::{Page, PageQuery, TenantTable},
    ApiResult,
};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

/// A connected platform account; its tokens stay encrypted in the database and are never returned.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Account {
    pub id: Uuid,
    pub tenant: String,
    pub platform: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Publication {
    pub id: Uuid,
    pub tenant: String,
    pub run_id: Uuid,
    pub account_id: Uuid,
    pub platform: String,
    pub state: String,
    pub platform_post_id: Option<String>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const ACCOUNTS: TenantTable = TenantTable {
    table: "distribution.accounts",
    columns: "id, tenant, platform, display_name, created_at",
    newest_first_by: "created_at",
    noun: "account",
};

const PUBLICATIONS: TenantTable = TenantTable {
    table: "distribution.publications",
    columns: "id, tenant, run_id, account_id, platform, state, platform_post_id, scheduled_at, published_at, created_at",
    newest_first_by: "created_at",
    noun: "publication",
};

/// Lists connected accounts; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/accounts", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Account>), (status = 401, body = shared::error::ErrorBody)))]
pub async fn accounts(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Account>>> {
    Ok(Json(ACCOUNTS.page(&db, &principal, &page).await?))
}

/// Lists publications, newest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/publications", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Publication>), (status = 401, body = shared::error::ErrorBody)))]
pub async fn publications(
    principal: Principal,
    db: axum::extract::State<PgPool>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Publication>>> {
    Ok(Json(PUBLICATIONS.page(&db, &principal, &page).await?))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "reelforge distribution", description = "Platform accounts and publications."),
    paths(accounts, publications),
    components(schemas(Account, Publication, shared::error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
