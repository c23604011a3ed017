//! Snapshot read routes: list a tenant's metric snapshots (one per pull) and show one.

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
    /// `null` where the platform does not report watch time.
    pub watch_seconds: Option<i64>,
    /// 0 to 1; `null` where the platform gives no watch time to compute it from.
    pub completion_rate: Option<f64>,
    pub impressions: Option<i64>,
    pub click_rate: Option<f64>,
    pub run_id: Option<Uuid>,
    pub pull_ordinal: Option<i16>,
    pub captured_at: DateTime<Utc>,
}

const TABLE: TenantTable = TenantTable {
    table: "analytics.metric_snapshots",
    columns: "id, tenant, publication_id, platform, views, likes, comments, shares, watch_seconds, completion_rate, impressions, click_rate, run_id, pull_ordinal, captured_at",
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
