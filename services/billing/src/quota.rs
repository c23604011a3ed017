//! Monthly cost quotas: a tenant's plan (starter when none is set), its spend this month, the
//! notifications when spend crosses 80 %, 95 % and 100 % of the quota (stored and emitted as events),
//! and the plans' request limits published for the shared rate-limit layer.

use axum::http::StatusCode;
use chrono::{Datelike as _, NaiveDate, Utc};
use redis::AsyncCommands as _;
use serde::Serialize;
use shared::{
    bus::{Bus, Envelope},
    outbox, rate_limit, ApiError,
};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

/// The plan of a tenant without one.
pub const DEFAULT_PLAN: &str = "starter";
/// Percentages of the quota that raise a notification.
const THRESHOLDS: [i64; 3] = [80, 95, 100];

/// A notification stored and emitted as a `billing.notification` event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notice {
    pub tenant: String,
    pub kind: String,
    pub detail: String,
}

/// Where a tenant stands against its plan this month.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct QuotaStatus {
    pub tenant: String,
    pub plan: String,
    pub monthly_quota_micros: i64,
    pub spent_micros: i64,
    pub requests_per_minute: i32,
}

impl QuotaStatus {
    /// `402 quota_exhausted` naming the plan once this month's spend has reached its quota.
    pub fn admit(&self) -> Result<(), ApiError> {
        if self.spent_micros < self.monthly_quota_micros {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "quota_exhausted",
            format!(
            "the monthly cost quota of plan `{}` ({}) is used up for tenant `{}` ({} spent this month); upgrade the plan or wait for next month",
            self.plan,
            dollars(self.monthly_quota_micros),
            self.tenant,
            dollars(self.spent_micros)
            ),
        ))
    }
}

/// `$12.345678` from micro-dollars.
pub fn dollars(micros: i64) -> String {
    format!("${}.{:06}", micros / 1_000_000, (micros % 1_000_000).abs())
}

/// The first day of the current UTC month.
pub fn this_month() -> NaiveDate {
    let today = Utc::now().date_naive();
    today.with_day(1).unwrap_or(today)
}

/// The tenant's plan and spend this month.
pub async fn status(db: &mut PgConnection, tenant: &str) -> sqlx::Result<QuotaStatus> {
    let mut statuses = statuses(db, &[tenant.to_owned()]).await?;
    statuses.pop().ok_or(sqlx::Error::RowNotFound)
}

/// Plans and spend this month of several tenants, in one query.
pub async fn statuses(db: &mut PgConnection, tenants: &[String]) -> sqlx::Result<Vec<QuotaStatus>> {
    sqlx::query_as!(
        QuotaStatus,
        r#"SELECT t.tenant AS "tenant!", p.name AS plan, p.monthly_quota_micros, p.requests_per_minute,
                COALESCE(c.cost_micros, 0)::int8 AS "spent_micros!"
         FROM unnest($1::text[]) AS t(tenant)
         LEFT JOIN billing.tenant_plans tp ON tp.tenant = t.tenant
         JOIN billing.plans p ON p.name = COALESCE(tp.plan, $3)
         LEFT JOIN billing.monthly_charges c ON c.tenant = t.tenant AND c.month = $2"#,
        tenants,
        this_month(),
        DEFAULT_PLAN
    )
    .fetch_all(db)
    .await
}

/// Stores (once per tenant, month and threshold) and emits a notification for every threshold the
/// tenants' spend has crossed; returns the new ones.
pub async fn note_crossings(
    tx: &mut PgConnection,
    tenants: &[String],
) -> anyhow::Result<Vec<Notice>> {
    let month = this_month();
    let mut notices = Vec::new();
    for quota in statuses(tx, tenants).await? {
        let tenant = &quota.tenant;
        if quota.monthly_quota_micros <= 0 {
            continue;
        }
        for threshold in THRESHOLDS {
            if i128::from(quota.spent_micros) * 100
                < i128::from(quota.monthly_quota_micros) * i128::from(threshold)
            {
                break;
            }
            let notice = Notice {
                tenant: tenant.clone(),
                kind: format!("quota_{threshold}"),
                detail: format!(
                    "tenant `{tenant}` has used {threshold} % of the monthly cost quota of plan `{}`: {} of {}",
                    quota.plan,
                    dollars(quota.spent_micros),
                    dollars(quota.monthly_quota_micros)
                ),
            };
            if store(tx, month, &notice).await? {
                notices.push(notice);
            }
        }
    }
    Ok(notices)
}

/// Stores `notice` unless this tenant already had its kind this month; emits it when new.
pub async fn store(
    tx: &mut PgConnection,
    month: NaiveDate,
    notice: &Notice,
) -> anyhow::Result<bool> {
    let id = uuid::Uuid::now_v7();
    let inserted = sqlx::query!("INSERT INTO billing.notifications (id, tenant, month, kind, detail) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant, month, kind) DO NOTHING", id, &notice.tenant, month, &notice.kind, &notice.detail)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        let mut envelope =
            Envelope::new("billing.notification", None, serde_json::to_value(notice)?);
        envelope.id = id;
        outbox::enqueue(tx, "billing", "events", &envelope).await?;
    }
    Ok(inserted)
}

/// Writes every tenant's requests per minute (and the default plan's, for tenants without one) to
/// the hash the shared rate-limit layer reads.
pub async fn publish_limits(db: &PgPool, bus: &Bus) -> anyhow::Result<()> {
    let rows: Vec<(String, i32)> = sqlx::query!(
        r#"SELECT t.tenant AS "tenant!", p.requests_per_minute AS "requests_per_minute!"
           FROM billing.tenant_plans t JOIN billing.plans p ON p.name = t.plan
           UNION ALL SELECT $2, requests_per_minute FROM billing.plans WHERE name = $1"#,
        DEFAULT_PLAN,
        rate_limit::DEFAULT_LIMIT_FIELD
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|limit| (limit.tenant, limit.requests_per_minute))
    .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let mut conn = bus.redis().await?;
    let () = conn
        .hset_multiple(rate_limit::limits_key(bus), &rows)
        .await?;
    Ok(())
}
