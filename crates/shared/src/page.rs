//! Offset pagination for list routes: validated `limit`/`offset`, a `{items, next_offset}` page,
//! and the tenant-scoped listing of one table that most read routes are.

use serde::{Deserialize, Serialize};
use sqlx::{postgres::PgRow, FromRow, PgPool};
use uuid::Uuid;

use crate::{
    auth::{Principal, Role},
    error::ApiError,
};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u32>,
}

impl PageQuery {
    /// `(limit, offset)` ready for SQL; a limit out of range is a 422 naming it.
    pub fn bounds(&self) -> Result<(i64, i64), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        Ok((i64::from(limit), i64::from(self.offset.unwrap_or(0))))
    }
}

/// One page of a list; `next_offset` is absent on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with `limit + 1`, so the extra row reveals a next page.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64, offset: i64) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        Page {
            items: rows,
            next_offset: has_more.then_some(offset + limit),
        }
    }
}

/// One table's read routes, scoped to the caller's tenant (admins and services see every tenant):
/// a page of rows newest first, or one row by id. The table needs `id` and `tenant` columns.
#[derive(Debug, Clone, Copy)]
pub struct TenantTable {
    /// `schema.table`.
    pub table: &'static str,
    /// The columns selected, matching the row type's fields.
    pub columns: &'static str,
    /// The timestamp column rows are listed newest first by (ties broken by `id`).
    pub newest_first_by: &'static str,
    /// What one row is called, for the 404 (`narration 0190… not found`).
    pub noun: &'static str,
}

impl TenantTable {
    /// The page `query` asks for, to a viewer or above.
    pub async fn page<T>(
        &self,
        db: &PgPool,
        principal: &Principal,
        query: &PageQuery,
    ) -> Result<Page<T>, ApiError>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        principal.require(Role::Viewer)?;
        let (limit, offset) = query.bounds()?;
        let sql = format!(
            "SELECT {} FROM {} WHERE ($1::text IS NULL OR tenant = $1)
             ORDER BY {} DESC, id LIMIT $2 OFFSET $3",
            self.columns, self.table, self.newest_first_by
        );
        let rows = sqlx::query_as::<_, T>(&sql)
            .bind(principal.tenant_scope())
            .bind(limit + 1)
            .bind(offset)
            .fetch_all(db)
            .await?;
        Ok(Page::from_overfetch(rows, limit, offset))
    }

    /// The row `id`, to a viewer or above; 404 when it does not exist or is another tenant's.
    pub async fn one<T>(&self, db: &PgPool, principal: &Principal, id: Uuid) -> Result<T, ApiError>
    where
        T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    {
        principal.require(Role::Viewer)?;
        let sql = format!(
            "SELECT {} FROM {} WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)",
            self.columns, self.table
        );
        sqlx::query_as::<_, T>(&sql)
            .bind(id)
            .bind(principal.tenant_scope())
            .fetch_optional(db)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("{} {id} not found", self.noun)))
    }
}

/// The two read routes of a [`TenantTable`] (`list`: a page newest first; `get`: one by id, 404
/// otherwise) and their OpenAPI document `ApiDoc`, in the module that invokes it. The crate
/// invoking it depends on `shared`, `axum`, `sqlx`, `uuid` and `utoipa` under those names.
///
/// ```ignore
/// shared::tenant_table_routes! {
///     row: Track, table: TABLE, list: "/v1/music", get: "/v1/music/{id}",
///     title: "reelforge music", description: "background tracks fitted to length and mood",
/// }
/// ```
#[macro_export]
macro_rules! tenant_table_routes {
    (row: $row:ident, table: $table:ident, list: $list:tt, get: $get:tt,
     title: $title:tt, description: $description:tt $(,)?) => {
        /// Lists rows newest first; non-admins see only their tenant's.
        #[utoipa::path(get, path = $list, params(shared::page::PageQuery), security(("bearer" = [])),
            responses((status = 200, body = shared::page::Page<$row>), (status = 401, body = shared::error::ErrorBody),
                      (status = 422, body = shared::error::ErrorBody)))]
        pub async fn list(
            principal: $crate::auth::Principal,
            db: ::axum::extract::State<::sqlx::PgPool>,
            query: $crate::extract::Query<$crate::page::PageQuery>,
        ) -> $crate::ApiResult<$crate::extract::Json<$crate::page::Page<$row>>> {
            Ok($crate::extract::Json($table.page(&db, &principal, &query.0).await?))
        }

        /// One row by id; 404 when it does not exist or is another tenant's.
        #[utoipa::path(get, path = $get, params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
            responses((status = 200, body = $row), (status = 404, body = shared::error::ErrorBody)))]
        pub async fn get(
            principal: $crate::auth::Principal,
            db: ::axum::extract::State<::sqlx::PgPool>,
            id: $crate::extract::Path<::uuid::Uuid>,
        ) -> $crate::ApiResult<$crate::extract::Json<$row>> {
            $table.one(&db, &principal, id.0).await.map($crate::extract::Json)
        }

        // `modifiers` takes a bare name, not a path.
        use $crate::openapi::BearerAuth as TenantTableBearerAuth;

        #[derive(utoipa::OpenApi)]
        #[openapi(
            info(title = $title, description = $description),
            paths(list, get),
            components(schemas($row, shared::error::ErrorBody)),
            modifiers(&TenantTableBearerAuth)
        )]
        pub struct ApiDoc;
    };
}
