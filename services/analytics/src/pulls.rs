//! The puller: claims due pulls (leased, so a crashed worker's are taken over), asks each
//! platform once per account for all of them with a token from distribution, stores one snapshot
//! per pull (a repeated pull changes nothing) and reschedules failures with backoff; a spent
//! platform quota stops that platform's calls for the round.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde_json::json;
use shared::peer::Peer;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    collect::{self, PullError, VideoMetrics},
    config::AnalyticsConfig,
};

/// A claimed pull and the video it is about.
#[derive(Debug, Clone)]
struct Due {
    publication_id: Uuid,
    ordinal: i16,
    attempts: i32,
    account_id: Uuid,
    platform: String,
    platform_post_id: String,
    published_at: DateTime<Utc>,
    duration_ms: Option<i64>,
    tenant: String,
    run_id: Uuid,
}

/// Pulls metrics from the platforms.
#[derive(Clone)]
pub struct Puller {
    pub db: PgPool,
    /// Where metric tokens come from (`POST /v1/accounts/{id}/token`).
    pub distribution: Option<Peer>,
    pub http: reqwest::Client,
    pub config: Arc<AnalyticsConfig>,
}

impl Puller {
    /// Runs [`Puller::pull_once`] every `pull_interval_ms` until shutdown.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let interval = Duration::from_millis(self.config.pull_interval_ms.max(10));
        loop {
            match self.pull_once(Utc::now()).await {
                Ok(0) => {}
                Ok(pulled) => {
                    tracing::debug!(pulled, "pulled metrics");
                    continue;
                }
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "metric pull round failed")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// One round as of `now`: claims up to `pull_batch` due pulls and settles each; returns how
    /// many it claimed.
    pub async fn pull_once(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        let claimed = self.claim(now).await?;
        let count = claimed.len();
        let mut by_account: BTreeMap<(String, Uuid), Vec<Due>> = BTreeMap::new();
        for due in claimed {
            by_account
                .entry((due.platform.clone(), due.account_id))
                .or_default()
                .push(due);
        }
        // Platforms whose quota a call of this round found spent: `(reason, retry after)`.
        let mut spent: HashMap<String, (String, Option<Duration>)> = HashMap::new();
        for ((platform, account_id), pulls) in by_account {
            let (current, superseded) = latest_per_video(pulls);
            self.supersede(&superseded, now).await?;
            let outcome = match spent.get(&platform) {
                Some((reason, retry_after)) => Err(PullError::Quota {
                    reason: reason.clone(),
                    retry_after: *retry_after,
                }),
                None => self.collect(&platform, account_id, &current, now).await,
            };
            match outcome {
                Ok(metrics) => self.store(&current, &metrics, now).await?,
                Err(error) => {
                    if let PullError::Quota {
                        reason,
                        retry_after,
                    } = &error
                    {
                        tracing::warn!(
                            platform,
                            reason,
                            "platform analytics quota spent; deferring its pulls"
                        );
                        spent.insert(platform.clone(), (reason.clone(), *retry_after));
                    }
                    self.reschedule(&current, &error, now).await?;
                }
            }
        }
        Ok(count)
    }

    async fn claim(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Due>> {
        let rows = sqlx::query!(
            "UPDATE analytics.pulls p SET lease_until = $1 + make_interval(secs => $3), attempts = p.attempts + 1
             FROM analytics.videos v
             WHERE v.publication_id = p.publication_id AND (p.publication_id, p.ordinal) IN (
                 SELECT publication_id, ordinal FROM analytics.pulls
                 WHERE state = 'due' AND due_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
                 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING p.publication_id, p.ordinal, p.attempts, v.account_id, v.platform, v.platform_post_id,
                       v.published_at, v.duration_ms, v.tenant, v.run_id",
            now,
            self.config.pull_batch.max(1),
            self.config.pull_lease_secs.max(1) as f64
        )
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| Due {
                publication_id: row.publication_id,
                ordinal: row.ordinal,
                attempts: row.attempts,
                account_id: row.account_id,
                platform: row.platform,
                platform_post_id: row.platform_post_id,
                published_at: row.published_at,
                duration_ms: row.duration_ms,
                tenant: row.tenant,
                run_id: row.run_id,
            })
            .collect())
    }

    /// Asks the platform about every video of one account, with one token fetch (and one more
    /// after the platform refused the first).
    async fn collect(
        &self,
        platform: &str,
        account_id: Uuid,
        pulls: &[Due],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, VideoMetrics>, PullError> {
        let token = self.token(account_id, None).await?;
        match self.ask(platform, &token, pulls, now).await {
            Err(PullError::Refused(reason)) => {
                tracing::info!(%account_id, platform, reason, "metric token refused; asking for a new one");
                let token = self.token(account_id, Some(&token)).await?;
                self.ask(platform, &token, pulls, now).await
            }
            outcome => outcome,
        }
    }

    async fn ask(
        &self,
        platform: &str,
        token: &str,
        pulls: &[Due],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, VideoMetrics>, PullError> {
        let ids: Vec<String> = pulls
            .iter()
            .map(|due| due.platform_post_id.clone())
            .collect();
        let config = &self.config;
        match platform {
            "youtube" => {
                let today = collect::pacific_date(now);
                let start = pulls
                    .iter()
                    .map(|due| collect::pacific_date(due.published_at))
                    .min()
                    .unwrap_or(today);
                let mut metrics = collect::youtube::video_metrics(
                    &self.http,
                    &config.youtube_analytics_url,
                    token,
                    &ids,
                    start,
                    today,
                )
                .await?;
                // Thumbnail reach comes from the Reporting API's daily reports, a few days late;
                // its absence or failure leaves impressions and click rate unknown.
                let reported_day = today - chrono::Duration::days(3);
                match collect::youtube::thumbnail_report(
                    &self.http,
                    &config.youtube_reporting_url,
                    token,
                    collect::youtube::REACH_BASIC_REPORT_TYPE,
                    reported_day,
                )
                .await
                {
                    Ok(reach) => {
                        for (id, (impressions, click_rate)) in reach {
                            if let Some(video) = metrics.get_mut(&id) {
                                video.impressions = Some(impressions);
                                video.click_rate = Some(click_rate.clamp(0.0, 1.0));
                            }
                        }
                    }
                    Err(error) => tracing::info!(%error, "thumbnail reach report unavailable"),
                }
                Ok(metrics)
            }
            "tiktok" => {
                collect::tiktok::video_metrics(&self.http, &config.tiktok_url, token, &ids).await
            }
            "instagram" | "facebook" => {
                let mut metrics = HashMap::new();
                for id in ids {
                    let video = if platform == "instagram" {
                        collect::meta::instagram_metrics(
                            &self.http,
                            &config.graph_url,
                            &config.graph_version,
                            token,
                            &id,
                        )
                        .await?
                    } else {
                        collect::meta::facebook_metrics(
                            &self.http,
                            &config.graph_url,
                            &config.graph_version,
                            token,
                            &id,
                        )
                        .await?
                    };
                    metrics.insert(id, video);
                }
                Ok(metrics)
            }
            other => Err(PullError::Permanent(format!(
                "no analytics client for platform `{other}`"
            ))),
        }
    }

    /// An access token for the account from distribution; `refused` names one the platform refused.
    async fn token(&self, account_id: Uuid, refused: Option<&str>) -> Result<String, PullError> {
        let Some(distribution) = &self.distribution else {
            return Err(PullError::Permanent(
                "services.analytics.distribution.url is not set: no metric tokens".into(),
            ));
        };
        let path = shared::peer::path(&["v1", "accounts", &account_id.to_string(), "token"])
            .map_err(|e| PullError::Permanent(e.to_string()))?;
        let reply = distribution
            .request(reqwest::Method::POST, &path)
            .map_err(|e| PullError::Permanent(e.to_string()))?
            .json(&json!({ "refused": refused }))
            .send()
            .await
            .map_err(|e| PullError::Transient {
                reason: format!("distribution unreachable: {e}"),
                retry_after: None,
            })?;
        let status = reply.status();
        let body: serde_json::Value = reply.json().await.unwrap_or_default();
        let detail = body["detail"].as_str().unwrap_or_default().to_owned();
        match status.as_u16() {
            200 => body["access_token"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| PullError::Transient {
                    reason: "distribution sent no access token".into(),
                    retry_after: None,
                }),
            // The grant is gone until someone reconnects the account: try again much later.
            409 => Err(PullError::Transient {
                reason: format!("account {account_id} must be reconnected: {detail}"),
                retry_after: Some(Duration::from_secs(self.config.retry_cap_secs)),
            }),
            404 => Err(PullError::Permanent(format!(
                "account {account_id} no longer exists"
            ))),
            _ => Err(PullError::Transient {
                reason: format!("distribution answered {status}: {detail}"),
                retry_after: None,
            }),
        }
    }

    /// Stores one snapshot per pull the platform reported on and marks the pulls done, in one
    /// transaction.
    async fn store(
        &self,
        pulls: &[Due],
        metrics: &HashMap<String, VideoMetrics>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let mut tx = self.db.begin().await?;
        for due in pulls {
            let Some(video) = metrics.get(&due.platform_post_id) else {
                // The platform left the video out (deleted, made private): no numbers to record,
                // and none invented.
                let note = "the platform reported nothing for this video (deleted or private?)";
                done(&mut tx, due, Some(note), now).await?;
                continue;
            };
            let completion = due
                .duration_ms
                .and_then(|ms| video.completion_percent(ms as f64 / 1000.0))
                .or(video.average_view_percentage)
                .map(|percent| (percent / 100.0).clamp(0.0, 1.0));
            sqlx::query!(
                "INSERT INTO analytics.metric_snapshots (id, tenant, publication_id, platform, views, likes, comments, shares,
                     watch_seconds, completion_rate, impressions, click_rate, run_id, pull_ordinal, captured_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 ON CONFLICT (publication_id, pull_ordinal) DO NOTHING",
                Uuid::now_v7(),
                due.tenant,
                due.publication_id,
                due.platform,
                video.views,
                video.likes,
                video.comments,
                video.shares,
                video.watch_seconds,
                completion,
                video.impressions,
                video.click_rate,
                due.run_id,
                due.ordinal,
                now
            )
            .execute(&mut *tx)
            .await?;
            done(&mut tx, due, None, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A failed pull is tried again after a backoff, or recorded failed after its last attempt.
    async fn reschedule(
        &self,
        pulls: &[Due],
        error: &PullError,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let retry_after = match error {
            PullError::Transient { retry_after, .. } | PullError::Quota { retry_after, .. } => {
                *retry_after
            }
            PullError::Refused(_) | PullError::Permanent(_) => None,
        };
        let permanent = matches!(error, PullError::Permanent(_));
        let reason = error.to_string();
        for due in pulls {
            let give_up = permanent || due.attempts >= self.config.pull_max_attempts;
            let delay = self.config.retry_delay(due.attempts, retry_after);
            let next = now + chrono::Duration::from_std(delay)?;
            sqlx::query!(
                "UPDATE analytics.pulls SET state = CASE WHEN $3 THEN 'failed' ELSE 'due' END, due_at = CASE WHEN $3 THEN due_at ELSE $4 END,
                     lease_until = NULL, error = $5
                 WHERE publication_id = $1 AND ordinal = $2",
                due.publication_id,
                due.ordinal,
                give_up,
                next,
                reason
            )
            .execute(&self.db)
            .await?;
            if give_up {
                tracing::warn!(publication_id = %due.publication_id, ordinal = due.ordinal, reason, "metric pull failed for good");
            }
        }
        Ok(())
    }

    /// Earlier pulls of a video caught up by a later one in the same round are done without a
    /// snapshot of their own (the platform can only tell today's numbers).
    async fn supersede(&self, pulls: &[Due], now: DateTime<Utc>) -> anyhow::Result<()> {
        let mut connection = self.db.acquire().await?;
        for due in pulls {
            let note = "superseded by a later pull in the same round";
            done(&mut connection, due, Some(note), now).await?;
        }
        Ok(())
    }
}

/// Marks a pull done, with a note when it recorded no snapshot.
async fn done(
    tx: &mut sqlx::PgConnection,
    due: &Due,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE analytics.pulls SET state = 'done', done_at = $3, lease_until = NULL, error = $4
         WHERE publication_id = $1 AND ordinal = $2",
        due.publication_id,
        due.ordinal,
        now,
        note
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Splits pulls into the latest per video and those it supersedes.
fn latest_per_video(pulls: Vec<Due>) -> (Vec<Due>, Vec<Due>) {
    let mut latest: HashMap<Uuid, Due> = HashMap::new();
    let mut superseded = Vec::new();
    for due in pulls {
        match latest.get(&due.publication_id) {
            Some(kept) if kept.ordinal >= due.ordinal => superseded.push(due),
            _ => {
                if let Some(previous) = latest.insert(due.publication_id, due) {
                    superseded.push(previous);
                }
            }
        }
    }
    (latest.into_values().collect(), superseded)
}
