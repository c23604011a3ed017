//! Offset pagination for list routes: validated `limit`/`offset` and a `{items, next_offset}` page.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
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
