//! Tenant privacy requests (GDPR): a data export or an erasure, fanned out on the `privacy` stream
//! to every service that holds tenant data. Each service declares its tables; a worker per service
//! exports or erases them and records its part, so the request's owner can tell when all answered.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    bus::{Delivery, Envelope, Handler},
    outbox,
    storage::{MediaKey, MediaStore},
};

/// The stream privacy requests travel on; every participating service reads it in its own group.
pub const STREAM: &str = "privacy";
const KIND: &str = "privacy.requested";

/// Rows of one table that belong to a tenant: `filter` is a SQL condition on the table's rows in
/// which `$1` is the tenant.
#[derive(Debug, Clone, Copy)]
pub struct TenantRows {
    pub table: &'static str,
    pub filter: &'static str,
}

impl TenantRows {
    /// The rows whose `tenant` column is the tenant.
    pub const fn by_tenant(table: &'static str) -> Self {
        Self {
            table,
            filter: "tenant = $1",
        }
    }

    pub const fn filtered(table: &'static str, filter: &'static str) -> Self {
        Self { table, filter }
    }
}

/// What a service holds of a tenant, for export and erasure.
#[derive(Debug, Clone, Default)]
pub struct TenantData {
    /// Exported, then deleted on erasure, in this order (children before parents).
    pub erased: Vec<TenantRows>,
    /// Exported, and kept on erasure with their `tenant` column replaced by a pseudonym (ledgers
    /// kept for accounting).
    pub anonymised: Vec<TenantRows>,
    /// Queries returning `(media key, tenant)` for every file the service's rows refer to. Keys
    /// are content addresses that tenants may share: an erasure deletes the files that only the
    /// erased tenant's rows refer to.
    pub media: Vec<&'static str>,
}

impl TenantData {
    /// The rows of `tables` whose `tenant` column is the tenant, erased in this order.
    pub fn erasing(tables: &[&'static str]) -> Self {
        Self {
            erased: tables.iter().copied().map(TenantRows::by_tenant).collect(),
            ..Self::default()
        }
    }

    /// Adds a query returning `(media key, tenant)` pairs.
    pub fn with_media(mut self, keys_and_tenants: &'static str) -> Self {
        self.media.push(keys_and_tenants);
        self
    }

    /// The keys only `$1`'s rows refer to.
    fn unshared_media(&self) -> Option<String> {
        (!self.media.is_empty()).then(|| {
            format!(
                "SELECT key FROM ({}) AS used (key, tenant) WHERE key IS NOT NULL
                 GROUP BY key HAVING bool_and(tenant = $1)",
                self.media.join(" UNION ALL ")
            )
        })
    }
}

/// What a privacy request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RequestKind {
    Export,
    Erasure,
}

/// The message on [`STREAM`].
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Requested {
    request_id: Uuid,
    kind: RequestKind,
    tenant: String,
}

/// One service's answer to a request.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Part {
    pub service: String,
    /// Rows exported, or erased and anonymised.
    pub rows: i64,
    /// Media files deleted.
    pub files: i64,
    pub completed_at: DateTime<Utc>,
}

/// A request and how far the services have got with it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestStatus {
    pub id: Uuid,
    pub kind: RequestKind,
    pub tenant: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    /// `pending` until every service in `services` has answered, then `completed`.
    pub state: String,
    pub services: Vec<String>,
    pub parts: Vec<Part>,
    pub pending: Vec<String>,
}

impl RequestStatus {
    pub fn completed(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Records that `service` answers privacy requests: requests made from now on wait for it.
pub async fn register(db: &PgPool, service: &str) -> sqlx::Result<()> {
    sqlx::query!("INSERT INTO fleet.privacy_participants (service) VALUES ($1) ON CONFLICT (service) DO NOTHING", service)
    .execute(db)
    .await?;
    Ok(())
}

/// Records a request for `tenant` and sends it to every participant, through `sender`'s outbox.
pub async fn request(
    db: &PgPool,
    sender: &str,
    kind: RequestKind,
    tenant: &str,
    requested_by: &str,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    sqlx::query!(
        "INSERT INTO fleet.privacy_requests (id, kind, tenant, requested_by, services)
         SELECT $1, $2, $3, $4, coalesce(array_agg(service ORDER BY service), '{}')
         FROM fleet.privacy_participants",
        id,
        kind as _,
        tenant,
        requested_by
    )
    .execute(&mut *tx)
    .await?;
    let body = serde_json::to_value(Requested {
        request_id: id,
        kind,
        tenant: tenant.to_owned(),
    })?;
    outbox::enqueue(&mut tx, sender, STREAM, &Envelope::new(KIND, None, body)).await?;
    tx.commit().await?;
    Ok(id)
}

/// The request `id` of `tenant`, with its parts; `None` when there is no such request.
pub async fn status(db: &PgPool, tenant: &str, id: Uuid) -> sqlx::Result<Option<RequestStatus>> {
    let row: Option<(RequestKind, String, DateTime<Utc>, Vec<String>)> = sqlx::query_as(
        "SELECT kind, requested_by, requested_at, services FROM fleet.privacy_requests
         WHERE id = $1 AND tenant = $2",
    )
    .bind(id)
    .bind(tenant)
    .fetch_optional(db)
    .await?;
    let Some((kind, requested_by, requested_at, services)) = row else {
        return Ok(None);
    };
    let parts: Vec<Part> = sqlx::query_as(
        "SELECT service, rows, files, completed_at FROM fleet.privacy_parts
         WHERE request_id = $1 ORDER BY service",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    let pending: Vec<String> = services
        .iter()
        .filter(|service| !parts.iter().any(|part| &part.service == *service))
        .cloned()
        .collect();
    Ok(Some(RequestStatus {
        id,
        kind,
        tenant: tenant.to_owned(),
        requested_by,
        requested_at,
        state: if pending.is_empty() {
            "completed"
        } else {
            "pending"
        }
        .to_owned(),
        services,
        parts,
        pending,
    }))
}

/// The exported data of a completed export: `{service: {table: [rows]}}`.
pub async fn export_document(db: &PgPool, id: Uuid) -> sqlx::Result<serde_json::Value> {
    let parts: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT service, data FROM fleet.privacy_parts WHERE request_id = $1 ORDER BY service",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(serde_json::Value::Object(parts.into_iter().collect()))
}

/// The stand-in for `tenant` in rows kept after its erasure: stable for one request, and not
/// reversible without the tenant's name.
pub fn pseudonym(tenant: &str, request_id: Uuid) -> String {
    let digest = Sha256::new()
        .chain_update(tenant.as_bytes())
        .chain_update(request_id.as_bytes())
        .finalize();
    format!("erased-{}", &hex::encode(digest)[..16])
}

/// Answers privacy requests for one service, once per request.
pub struct PrivacyWorker {
    pub service: &'static str,
    pub data: TenantData,
    pub db: PgPool,
    pub store: Arc<dyn MediaStore>,
}

impl Handler for PrivacyWorker {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        let Ok(request) = serde_json::from_value::<Requested>(delivery.envelope.body.clone())
        else {
            tracing::warn!(id = %delivery.envelope.id, "not a privacy request; skipped");
            return Ok(());
        };
        let answered: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM fleet.privacy_parts WHERE request_id = $1 AND service = $2) AS "answered!""#, request.request_id, self.service)
        .fetch_one(&self.db)
        .await?;
        if answered {
            return Ok(());
        }
        match request.kind {
            RequestKind::Export => self.export(&request).await,
            RequestKind::Erasure => self.erase(&request).await,
        }
    }
}

impl PrivacyWorker {
    fn tables(&self) -> impl Iterator<Item = &TenantRows> {
        self.data.erased.iter().chain(&self.data.anonymised)
    }

    async fn export(&self, request: &Requested) -> anyhow::Result<()> {
        let mut tx = self.db.begin().await?;
        let mut data = BTreeMap::new();
        let mut rows = 0;
        for table in self.tables() {
            let exported: serde_json::Value = sqlx::query_scalar(&format!(
                "SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb) FROM {} t WHERE {}",
                table.table, table.filter
            ))
            .bind(&request.tenant)
            .fetch_one(&mut *tx)
            .await?;
            rows += exported.as_array().map_or(0, Vec::len) as i64;
            data.insert(table.table, exported);
        }
        record_part(&mut tx, request, self.service, rows, 0, &data).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn erase(&self, request: &Requested) -> anyhow::Result<()> {
        // Files first: a crash after this leaves rows pointing at nothing, which the redelivery
        // erases; the other order could leave files nobody knows about.
        let mut files = 0;
        if let Some(query) = self.data.unshared_media() {
            let keys: Vec<String> = sqlx::query_scalar(&query)
                .bind(&request.tenant)
                .fetch_all(&self.db)
                .await?;
            for key in keys {
                self.store.delete(&MediaKey::parse(&key)?).await?;
                files += 1;
            }
        }
        let pseudonym = pseudonym(&request.tenant, request.request_id);
        let mut tx = self.db.begin().await?;
        let mut rows = 0;
        for table in &self.data.erased {
            rows += sqlx::query(&format!(
                "DELETE FROM {} WHERE {}",
                table.table, table.filter
            ))
            .bind(&request.tenant)
            .execute(&mut *tx)
            .await?
            .rows_affected() as i64;
        }
        for table in &self.data.anonymised {
            rows += sqlx::query(&format!(
                "UPDATE {} SET tenant = $2 WHERE {}",
                table.table, table.filter
            ))
            .bind(&request.tenant)
            .bind(&pseudonym)
            .execute(&mut *tx)
            .await?
            .rows_affected() as i64;
        }
        record_part(
            &mut tx,
            request,
            self.service,
            rows,
            files,
            &BTreeMap::new(),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(service = self.service, request = %request.request_id, rows, files, "tenant data erased");
        Ok(())
    }
}

async fn record_part(
    tx: &mut PgConnection,
    request: &Requested,
    service: &str,
    rows: i64,
    files: i64,
    data: &BTreeMap<&str, serde_json::Value>,
) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO fleet.privacy_parts (request_id, service, rows, files, data)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id, service) DO NOTHING",
        request.request_id,
        service,
        rows,
        files,
        serde_json::to_value(data)?
    )
    .execute(tx)
    .await?;
    Ok(())
}
