//! Image read routes: list a tenant's images and show one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::page::TenantTable;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Image {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub scene_index: i32,
    pub prompt: String,
    pub width: i32,
    pub height: i32,
    pub media_key: String,
    pub provider: String,
    pub created_at: DateTime<Utc>,
}

const TABLE: TenantTable = TenantTable {
    table: "image.images",
    columns:
        "id, run_id, tenant, scene_index, prompt, width, height, media_key, provider, created_at",
    newest_first_by: "created_at",
    noun: "image",
};

shared::tenant_table_routes! {
    row: Image,
    table: TABLE,
    list: "/v1/images",
    get: "/v1/images/{id}",
    title: "reelforge image",
    description: "image service: one image per scene, plus thumbnail base art.",
}
