//! The knowledge network: insights written by analytics, operators and agents, read back ranked by
//! confidence decayed 20 % per 30 days × relevance to the asking tenant, each announced as an
//! `insight.created` event.

use chrono::{DateTime, Utc};
use messages::events::InsightCreated;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::{outbox, ApiError};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::learning::decay::{decayed_confidence, rank_score};

/// A tenant's own insights count fully; fleet-wide ones (no tenant) at this weight.
pub const FLEET_WIDE_RELEVANCE: f64 = 0.5;
const MAX_SUMMARY_CHARS: usize = 500;
const MAX_DATA_BYTES: usize = 16 * 1024;

/// The body of `POST /v1/insights`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInsight {
    /// Who learned it: `analytics`, `operator`, an agent's name…
    pub source: String,
    /// What kind of finding: `tone`, `length`, `slot`, `title`, `reply`…
    #[serde(rename = "type")]
    pub kind: String,
    /// The tenant it is about; absent for what holds fleet-wide.
    #[serde(default)]
    pub tenant: Option<String>,
    /// 0 to 1, as of `created_at`.
    pub confidence: f64,
    /// One sentence a person (or a prompt) can use.
    pub summary: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Value,
    /// When it was learned, for imports; never in the future (default now).
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// An insight as read back: `confidence` is decayed to now from `base_confidence`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Insight {
    pub id: Uuid,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub tenant: Option<String>,
    pub confidence: f64,
    pub base_confidence: f64,
    /// The rank: decayed confidence × relevance to the tenant asked about.
    pub score: f64,
    pub summary: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

impl NewInsight {
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let word = |field: &str, value: &str| {
            if value.is_empty()
                || value.len() > 64
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
            {
                Err(ApiError::validation(
                    field,
                    "must be 1 to 64 letters, digits, `_`, `-`, `.` or `:`",
                ))
            } else {
                Ok(())
            }
        };
        word("source", &self.source)?;
        word("type", &self.kind)?;
        if let Some(tenant) = &self.tenant {
            word("tenant", tenant)?;
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(ApiError::validation(
                "confidence",
                "must be between 0 and 1",
            ));
        }
        let summary = self.summary.trim();
        if summary.is_empty() || summary.chars().count() > MAX_SUMMARY_CHARS {
            return Err(ApiError::validation(
                "summary",
                format!("must be 1 to {MAX_SUMMARY_CHARS} characters"),
            ));
        }
        if self.data.to_string().len() > MAX_DATA_BYTES {
            return Err(ApiError::validation(
                "data",
                "must be at most 16 KiB of JSON",
            ));
        }
        if self.created_at.is_some_and(|at| at > now) {
            return Err(ApiError::validation(
                "created_at",
                "must not be in the future",
            ));
        }
        Ok(())
    }
}

/// Stores `insight` (replacing an earlier one with the same `fingerprint`, when given) and
/// announces it on the `events` stream in the same transaction. `None` when the fingerprinted
/// finding is already stored with the same data: a learning pass that learned nothing new
/// neither restarts its decay nor announces it again.
pub async fn record(
    db: &PgPool,
    insight: &NewInsight,
    fingerprint: Option<&str>,
) -> anyhow::Result<Option<Uuid>> {
    let mut tx = db.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO analytics.insights (id, source, kind, tenant, base_confidence, summary, data, fingerprint, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, now()))
         ON CONFLICT (fingerprint) WHERE fingerprint IS NOT NULL DO UPDATE
             SET base_confidence = EXCLUDED.base_confidence, summary = EXCLUDED.summary,
                 data = EXCLUDED.data, created_at = EXCLUDED.created_at
             WHERE analytics.insights.data IS DISTINCT FROM EXCLUDED.data
         RETURNING id",
        Uuid::now_v7(),
        insight.source,
        insight.kind,
        insight.tenant,
        insight.confidence,
        insight.summary.trim(),
        insight.data,
        fingerprint,
        insight.created_at
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let created = InsightCreated {
        id,
        source: insight.source.clone(),
        kind: insight.kind.clone(),
        tenant: insight.tenant.clone(),
        confidence: insight.confidence,
        summary: insight.summary.trim().to_owned(),
    };
    outbox::enqueue(
        &mut tx,
        crate::SERVICE,
        shared::jobs::EVENTS,
        &messages::envelope(&created, None)?,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Insights for `tenant` (its own and fleet-wide ones; all when `None`), optionally of one kind,
/// ranked by decayed confidence × relevance, best first.
pub async fn ranked(
    db: &PgPool,
    tenant: Option<&str>,
    kind: Option<&str>,
    limit: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Insight>> {
    let rows = sqlx::query!(
        "SELECT id, source, kind, tenant, base_confidence, summary, data, created_at FROM analytics.insights
         WHERE ($1::text IS NULL OR tenant = $1 OR tenant IS NULL) AND ($2::text IS NULL OR kind = $2)
         ORDER BY created_at DESC LIMIT 5000",
        tenant,
        kind
    )
    .fetch_all(db)
    .await?;
    let mut insights: Vec<Insight> = rows
        .into_iter()
        .map(|row| {
            let age = (now - row.created_at).to_std().unwrap_or_default();
            let confidence = decayed_confidence(row.base_confidence, age);
            let relevance = match (&row.tenant, tenant) {
                (None, Some(_)) => FLEET_WIDE_RELEVANCE,
                _ => 1.0,
            };
            Insight {
                id: row.id,
                source: row.source,
                kind: row.kind,
                tenant: row.tenant,
                confidence,
                base_confidence: row.base_confidence,
                score: rank_score(confidence, relevance),
                summary: row.summary,
                data: row.data,
                created_at: row.created_at,
            }
        })
        .collect();
    insights.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.created_at.cmp(&a.created_at))
    });
    insights.truncate(limit);
    Ok(insights)
}
