//! `publication.published` → a tracked video: the run's choices read from the orchestrator's
//! manifest (attribution) and one pull per cadence offset, all in one transaction; a re-delivered
//! event changes nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use messages::events::PublicationPublished;
use serde_json::Value;
use shared::{
    bus::{Delivery, Handler},
    peer::Peer,
};
use sqlx::PgPool;
use uuid::Uuid;

/// The choices a video is attributed to, read from its run's manifest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attribution {
    pub tenant: String,
    pub title: String,
    pub duration_ms: Option<i64>,
    pub genre: Option<String>,
    pub tone: Option<String>,
    pub length_seconds: Option<i32>,
    pub language: Option<String>,
    pub voice: Option<String>,
    pub config_version: Option<i32>,
    pub experiment_id: Option<Uuid>,
    pub arm: Option<String>,
    pub params: Value,
}

impl Attribution {
    /// Reads what the orchestrator's manifest (`GET /v1/runs/{id}/manifest`) says about the run.
    pub fn from_manifest(manifest: &Value) -> Option<Attribution> {
        let run = &manifest["run"];
        let params = &run["params"];
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let recommendation = &params["recommendation"];
        Some(Attribution {
            tenant: text(&run["tenant"])?,
            title: text(&manifest["story"]["title"]).unwrap_or_default(),
            duration_ms: manifest["outputs"]["outputs"][0]["duration_ms"].as_i64(),
            genre: text(&params["genre"]),
            tone: text(&params["tone"]),
            length_seconds: params["length_seconds"]
                .as_i64()
                .and_then(|n| i32::try_from(n).ok()),
            language: text(&params["language"]),
            voice: text(&manifest["narration"]["voice"]),
            config_version: recommendation["config_version"]
                .as_i64()
                .and_then(|n| i32::try_from(n).ok()),
            experiment_id: recommendation["experiment_id"]
                .as_str()
                .and_then(|id| id.parse().ok()),
            arm: text(&recommendation["arm"]),
            params: params.clone(),
        })
    }
}

/// Consumes the `events` stream for `publication.published`.
pub struct Tracker {
    pub db: PgPool,
    pub orchestrator: Option<Peer>,
    pub cadence: Vec<Duration>,
}

impl Handler for Tracker {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        if delivery.envelope.kind != <PublicationPublished as messages::Message>::KIND {
            return Ok(());
        }
        let published: PublicationPublished = messages::decode(delivery)?;
        let Some(run_id) = delivery.envelope.run_id else {
            anyhow::bail!(
                "publication {} was published without a run",
                published.publication_id
            );
        };
        let already = sqlx::query_scalar!(
            "SELECT EXISTS (SELECT 1 FROM analytics.videos WHERE publication_id = $1)",
            published.publication_id
        )
        .fetch_one(&self.db)
        .await?;
        if already.unwrap_or(false) {
            return Ok(());
        }
        let attribution = self.attribution(run_id).await?;
        let published_at = published
            .published_at
            .or_else(|| sent_at(delivery.envelope.id))
            .unwrap_or_else(Utc::now);
        track(
            &self.db,
            &published,
            run_id,
            &attribution,
            published_at,
            &self.cadence,
        )
        .await
    }
}

/// When a message was sent, read from its UUIDv7 id.
fn sent_at(id: Uuid) -> Option<DateTime<Utc>> {
    let (seconds, nanos) = id.get_timestamp()?.to_unix();
    DateTime::from_timestamp(i64::try_from(seconds).ok()?, nanos)
}

impl Tracker {
    async fn attribution(&self, run_id: Uuid) -> anyhow::Result<Attribution> {
        let Some(orchestrator) = &self.orchestrator else {
            anyhow::bail!(
                "services.analytics.orchestrator.url is not set: cannot attribute run {run_id}"
            );
        };
        let path = shared::peer::path(&["v1", "runs", &run_id.to_string(), "manifest"])?;
        let manifest: Value = orchestrator
            .request(reqwest::Method::GET, &path)?
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Attribution::from_manifest(&manifest)
            .ok_or_else(|| anyhow::anyhow!("the manifest of run {run_id} names no tenant"))
    }
}

/// Records the video and its pulls (due `cadence[n]` after `published_at`).
pub async fn track(
    db: &PgPool,
    published: &PublicationPublished,
    run_id: Uuid,
    attribution: &Attribution,
    published_at: DateTime<Utc>,
    cadence: &[Duration],
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let inserted = sqlx::query!(
        "INSERT INTO analytics.videos (publication_id, tenant, run_id, account_id, platform, platform_post_id, published_at,
             title, duration_ms, genre, tone, length_seconds, language, voice, config_version, experiment_id, arm, params)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (publication_id) DO NOTHING",
        published.publication_id,
        attribution.tenant,
        run_id,
        published.account_id,
        published.platform,
        published.platform_post_id,
        published_at,
        attribution.title,
        attribution.duration_ms,
        attribution.genre,
        attribution.tone,
        attribution.length_seconds,
        attribution.language,
        attribution.voice,
        attribution.config_version,
        attribution.experiment_id,
        attribution.arm,
        attribution.params
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 1 {
        let ordinals: Vec<i16> = (0..cadence.len())
            .filter_map(|n| i16::try_from(n).ok())
            .collect();
        let due: Vec<DateTime<Utc>> = cadence
            .iter()
            .map(|offset| Ok(published_at + chrono::Duration::from_std(*offset)?))
            .collect::<anyhow::Result<_>>()?;
        sqlx::query!(
            "INSERT INTO analytics.pulls (publication_id, ordinal, due_at)
             SELECT $1, ordinal, due_at FROM unnest($2::smallint[], $3::timestamptz[]) AS t (ordinal, due_at)
             ON CONFLICT DO NOTHING",
            published.publication_id,
            &ordinals,
            &due
        )
        .execute(&mut *tx)
        .await?;
        tracing::info!(publication_id = %published.publication_id, platform = published.platform, pulls = ordinals.len(), "tracking a published video");
    }
    tx.commit().await?;
    Ok(())
}
