//! Story read routes: list a tenant's stories and show one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::page::TenantTable;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Story {
    pub id: Uuid,
    pub run_id: Option<Uuid>,
    pub tenant: String,
    pub title: String,
    pub language: String,
    pub genre: String,
    pub tone: String,
    pub seed: i64,
    pub scene_count: i32,
    pub created_at: DateTime<Utc>,
}

const TABLE: TenantTable = TenantTable {
    table: "story.stories",
    columns: "id, run_id, tenant, title, language, genre, tone, seed, scene_count, created_at",
    newest_first_by: "created_at",
    noun: "story",
};

shared::tenant_table_routes! {
    row: Story,
    table: TABLE,
    list: "/v1/stories",
    get: "/v1/stories/{id}",
    title: "reelforge story",
    description: "story service: scripts split into scenes, per-platform metadata, creator copy.",
}
