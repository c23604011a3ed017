//! Snapshot read routes: list a tenant's snapshots and show one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::page::TenantTable;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Snapshot {
    pub id: Uuid,
    pub tenant: String,
    pub publication_id: Uuid,
    pub platform: String,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub watch_seconds: i64,
    pub captured_at: DateTime<Utc>,
}

const TABLE: TenantTable = TenantTable {
    table: "analytics.metric_snapshots",
    columns: "id, tenant, publication_id, platform, views, likes, comments, shares, watch_seconds, captured_at",
    newest_first_by: "captured_at",
    noun: "snapshot",
};

shared::tenant_table_routes! {
    row: Snapshot,
    table: TABLE,
    list: "/v1/analytics/snapshots",
    get: "/v1/analytics/snapshots/{id}",
    title: "reelforge analytics",
    description: "analytics service: platform metrics per publication, reports and insights.",
}
