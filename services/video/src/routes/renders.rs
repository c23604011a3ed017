//! Render read routes: list a tenant's renders and show one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::page::TenantTable;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Render {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub format: String,
    pub width: i32,
    pub height: i32,
    pub duration_ms: i64,
    pub media_key: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
}

const TABLE: TenantTable = TenantTable {
    table: "video.renders",
    columns: "id, run_id, tenant, format, width, height, duration_ms, media_key, state, created_at",
    newest_first_by: "created_at",
    noun: "render",
};

shared::tenant_table_routes! {
    row: Render,
    table: TABLE,
    list: "/v1/videos",
    get: "/v1/videos/{id}",
    title: "reelforge video",
    description: "video service: FFmpeg assembly into every aspect ratio, captions, thumbnails and output checks.",
}
