//! Track read routes: list a tenant's tracks and show one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::page::TenantTable;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Track {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub mood: String,
    pub tempo_bpm: i32,
    pub duration_ms: i64,
    pub media_key: String,
    pub licence: String,
    pub created_at: DateTime<Utc>,
}

const TABLE: TenantTable = TenantTable {
    table: "music.tracks",
    columns: "id, run_id, tenant, mood, tempo_bpm, duration_ms, media_key, licence, created_at",
    newest_first_by: "created_at",
    noun: "track",
};

shared::tenant_table_routes! {
    row: Track,
    table: TABLE,
    list: "/v1/music",
    get: "/v1/music/{id}",
    title: "reelforge music",
    description: "music service: background tracks fitted to length and mood, with licence records.",
}
