//! Decision read routes: list a tenant's decisions and show one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::page::TenantTable;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Decision {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub subject_kind: String,
    pub subject_ref: String,
    pub verdict: String,
    #[schema(value_type = Vec<String>)]
    pub reasons: sqlx::types::Json<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

const TABLE: TenantTable = TenantTable {
    table: "moderation.decisions",
    columns: "id, run_id, tenant, subject_kind, subject_ref, verdict, reasons, created_at",
    newest_first_by: "created_at",
    noun: "decision",
};

shared::tenant_table_routes! {
    row: Decision,
    table: TABLE,
    list: "/v1/moderation/decisions",
    get: "/v1/moderation/decisions/{id}",
    title: "reelforge moderation",
    description: "moderation service: decisions on text, images and audio, the review queue and its audit log.",
}
