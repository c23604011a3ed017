//! Narration read routes: list a tenant's narrations and show one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::page::TenantTable;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Narration {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub language: String,
    pub voice: String,
    pub media_key: String,
    pub duration_ms: i64,
    pub sample_rate: i32,
    pub created_at: DateTime<Utc>,
}

const TABLE: TenantTable = TenantTable {
    table: "tts.narrations",
    columns: "id, run_id, tenant, language, voice, media_key, duration_ms, sample_rate, created_at",
    newest_first_by: "created_at",
    noun: "narration",
};

shared::tenant_table_routes! {
    row: Narration,
    table: TABLE,
    list: "/v1/speech",
    get: "/v1/speech/{id}",
    title: "reelforge tts",
    description: "tts service: narration audio with word and sentence timings.",
}
