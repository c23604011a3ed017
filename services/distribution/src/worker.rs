//! The publishing worker: claims a publication with a lease, sends it (retrying transient failures
//! with backoff), and settles it — published, deferred until a quota or pause passes, or failed
//! with the platform's reason and a notification. A sweeper requeues publications whose time has
//! come and those whose worker vanished (its lease ran out), so none is ever lost.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use messages::jobs::PublicationUpload;
use serde_json::json;
use shared::{
    bus::{Delivery, Handler},
    storage::MediaKey,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    accounts::{notify, require_reconnection},
    metrics::PublishingMetrics,
    publications::enqueue_upload,
    remote::{backoff, Failure, Journal},
    uploads::{Claimed, Pacing, Upload},
};

/// Retry policy of transient failures within one claim.
#[derive(Debug, Clone)]
pub struct Retries {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

pub struct PublishWorker {
    pub pacing: Pacing,
    pub retries: Retries,
    pub metrics: Arc<PublishingMetrics>,
    /// The database, media store, accounts and orchestrator peer the routes use too.
    pub app: crate::routes::AppState,
}

impl Handler for PublishWorker {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        if delivery.envelope.kind == <messages::jobs::PublicationRequest as messages::Message>::KIND
        {
            return crate::requests::handle(&self.app, delivery).await;
        }
        let job: PublicationUpload = messages::decode(delivery)?;
        let Some((claimed, attempt)) = self.claim(job.publication_id).await? else {
            // Finished, cancelled, waiting for its time, or held by a live worker (whose lease the
            // sweeper watches): nothing to do for this message.
            return Ok(());
        };
        if let Some(resume_at) = self.take_quota(&claimed).await? {
            let mut tx = self.app.db.begin().await?;
            let reason = format!("the account's {} quota is used up", claimed.platform);
            defer(&mut tx, &claimed, &reason, resume_at).await?;
            tx.commit().await?;
            self.metrics.outcome(claimed.platform, "deferred");
            return Ok(());
        }
        let journal = Journal {
            db: self.app.db.clone(),
            publication_id: claimed.id,
            tenant: claimed.tenant.clone(),
            attempt,
        };
        let outcome = self.send(claimed.clone(), &journal).await;
        self.settle(&claimed, outcome).await
    }
}

impl PublishWorker {
    /// Takes the lease of a publication that is due and not held by a live worker; returns it
    /// with the number of this attempt.
    async fn claim(&self, id: uuid::Uuid) -> anyhow::Result<Option<(Claimed, i32)>> {
        let row = sqlx::query!(
            r#"UPDATE distribution.publications SET state = CASE WHEN state = 'queued' THEN 'uploading' ELSE state END,
                   lease_until = now() + make_interval(secs => $2), attempts = attempts + 1, updated_at = now()
               WHERE id = $1 AND state IN ('queued', 'uploading', 'processing') AND (lease_until IS NULL OR lease_until < now())
               RETURNING attempts, tenant, run_id, run_attempt, account_id, platform, media_key, video_bytes, metadata, extras, publish_at, remote, warnings"#,
            id,
            self.pacing.lease.as_secs_f64()
        )
        .fetch_optional(&self.app.db)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let claimed = Claimed {
            id,
            tenant: row.tenant,
            run_id: row.run_id,
            run_attempt: row.run_attempt,
            account_id: row.account_id,
            platform: row
                .platform
                .parse()
                .map_err(|_| anyhow::anyhow!("unknown platform {}", row.platform))?,
            media_key: MediaKey::parse(&row.media_key)?,
            video_bytes: u64::try_from(row.video_bytes)?,
            metadata: serde_json::from_value(row.metadata)?,
            extras: row.extras,
            publish_at: row.publish_at,
            remote: row.remote,
            warnings: row.warnings.as_array().cloned().unwrap_or_default(),
        };
        Ok(Some((claimed, row.attempts)))
    }

    /// Counts a publication against its account's quota when its upload first starts; returns
    /// when to come back instead if the quota is used up. The account's row lock makes
    /// concurrent claims for one account count one at a time.
    async fn take_quota(&self, claimed: &Claimed) -> anyhow::Result<Option<chrono::DateTime<Utc>>> {
        let mut tx = self.app.db.begin().await?;
        sqlx::query!(
            "SELECT id FROM distribution.accounts WHERE id = $1 FOR UPDATE",
            claimed.account_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let counted = sqlx::query_scalar!("SELECT sent_at IS NOT NULL AS \"counted!\" FROM distribution.publications WHERE id = $1", claimed.id)
            .fetch_one(&mut *tx)
            .await?;
        if counted {
            return Ok(None);
        }
        let standing = crate::quota::standing(
            &mut tx,
            &self.app.config.quotas,
            claimed.platform,
            claimed.account_id,
            Utc::now(),
        )
        .await?;
        if standing.remaining == 0 {
            self.metrics
                .quota_remaining(claimed.platform, claimed.account_id, 0);
            return Ok(Some(
                standing
                    .resets_at
                    .unwrap_or_else(|| Utc::now() + chrono::Duration::hours(24)),
            ));
        }
        sqlx::query!(
            "UPDATE distribution.publications SET sent_at = now() WHERE id = $1",
            claimed.id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.metrics
            .quota_remaining(claimed.platform, claimed.account_id, standing.remaining - 1);
        Ok(None)
    }

    /// Sends the publication, retrying transient failures with backoff while the claim lasts.
    async fn send(
        &self,
        claimed: Claimed,
        journal: &Journal,
    ) -> Result<crate::uploads::Published, Failure> {
        let client = self.app.accounts.client(claimed.platform).ok_or_else(|| {
            Failure::Permanent(format!(
                "{} is not configured on this fleet",
                claimed.platform
            ))
        })?;
        let mut try_number = 0;
        // What each try records remotely is kept in memory as well, so the next try resumes from it.
        let mut publication = claimed;
        loop {
            let credential = self.app.accounts.credential(publication.account_id).await;
            let outcome = match credential {
                Ok(credential) => {
                    let mut upload = Upload {
                        db: &self.app.db,
                        http: &self.app.accounts.http,
                        client,
                        accounts: &self.app.accounts,
                        store: self.app.store.clone(),
                        journal,
                        pacing: &self.pacing,
                        metrics: &self.metrics,
                        publication,
                        credential,
                    };
                    let outcome = upload.run().await;
                    publication = upload.publication;
                    outcome
                }
                Err(failure) => Err(failure),
            };
            match outcome {
                Err(Failure::Transient {
                    reason,
                    retry_after,
                }) if try_number + 1 < self.retries.attempts => {
                    let pause =
                        backoff(try_number, self.retries.base, self.retries.cap, retry_after);
                    tracing::info!(publication_id = %publication.id, reason, pause_ms = pause.as_millis() as u64, "transient failure; retrying");
                    self.keep_lease(&publication, pause).await?;
                    tokio::time::sleep(pause).await;
                    try_number += 1;
                }
                other => return other,
            }
        }
    }

    async fn keep_lease(&self, claimed: &Claimed, pause: Duration) -> Result<(), Failure> {
        sqlx::query!(
            "UPDATE distribution.publications SET lease_until = now() + make_interval(secs => $2) WHERE id = $1",
            claimed.id,
            (pause + self.pacing.lease).as_secs_f64()
        )
        .execute(&self.app.db)
        .await?;
        Ok(())
    }

    /// Records how the claim ended and gives up the lease.
    async fn settle(
        &self,
        claimed: &Claimed,
        outcome: Result<crate::uploads::Published, Failure>,
    ) -> anyhow::Result<()> {
        let mut tx = self.app.db.begin().await?;
        match outcome {
            Ok(published) => {
                sqlx::query!(
                    "UPDATE distribution.publications SET state = 'published', platform_post_id = $2, permalink = $3, published_at = now(),
                         lease_until = NULL, error = NULL, updated_at = now() WHERE id = $1",
                    claimed.id,
                    &published.platform_post_id,
                    published.permalink
                )
                .execute(&mut *tx)
                .await?;
                self.metrics.outcome(claimed.platform, "published");
                emit(&mut tx, claimed, "publication.published", json!({ "platform_post_id": published.platform_post_id, "permalink": published.permalink, "published_at": Utc::now() })).await?;
                tracing::info!(publication_id = %claimed.id, platform = %claimed.platform, post = published.platform_post_id, "published");
            }
            Err(Failure::Transient {
                reason,
                retry_after,
            }) => {
                let pause =
                    retry_after.map_or(self.retries.cap, |asked| asked.max(self.retries.cap));
                defer(
                    &mut tx,
                    claimed,
                    &reason,
                    Utc::now() + chrono::Duration::from_std(pause)?,
                )
                .await?;
                self.metrics.outcome(claimed.platform, "deferred");
            }
            Err(Failure::Quota { reason, resume_at }) => {
                let resume_at = resume_at
                    .unwrap_or_else(|| crate::quota::next_reset(claimed.platform, Utc::now()));
                defer(&mut tx, claimed, &reason, resume_at).await?;
                self.metrics.outcome(claimed.platform, "deferred");
            }
            Err(failure) => {
                if let Failure::Revoked(reason) = &failure {
                    require_reconnection(&mut tx, claimed.account_id, reason).await?;
                }
                let reason = failure.to_string();
                sqlx::query!(
                    "UPDATE distribution.publications SET state = 'failed', error = $2, lease_until = NULL, updated_at = now() WHERE id = $1",
                    claimed.id,
                    &reason
                )
                .execute(&mut *tx)
                .await?;
                self.metrics.outcome(claimed.platform, "failed");
                emit(
                    &mut tx,
                    claimed,
                    "publication.failed",
                    json!({ "reason": reason }),
                )
                .await?;
                notify(&mut tx, &claimed.tenant, "publication.failed", json!({ "publication_id": claimed.id, "platform": claimed.platform, "reason": reason })).await?;
                tracing::warn!(publication_id = %claimed.id, platform = %claimed.platform, reason, "publication failed; needs a person");
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Parks a publication until `resume_at`; the sweeper requeues it then.
async fn defer(
    tx: &mut sqlx::PgConnection,
    claimed: &Claimed,
    reason: &str,
    resume_at: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE distribution.publications SET state = 'deferred', resume_at = $2, error = $3, lease_until = NULL, updated_at = now() WHERE id = $1",
        claimed.id,
        resume_at,
        reason
    )
    .execute(&mut *tx)
    .await?;
    tracing::info!(publication_id = %claimed.id, %resume_at, reason, "publication deferred");
    Ok(())
}

/// Publishes a `publication.*` fact about the run the publication belongs to.
async fn emit(
    tx: &mut sqlx::PgConnection,
    claimed: &Claimed,
    kind: &str,
    mut body: serde_json::Value,
) -> anyhow::Result<()> {
    body["publication_id"] = json!(claimed.id);
    if let Some(attempt) = claimed.run_attempt {
        body["attempt"] = json!(attempt);
    }
    body["account_id"] = json!(claimed.account_id);
    body["platform"] = json!(claimed.platform);
    shared::jobs::emit(tx, "distribution", kind, claimed.run_id, body).await
}

/// Every `interval`: requeues deferred publications whose time has come, and publications whose
/// worker's lease ran out (it crashed or was killed), each with a fresh upload job.
pub async fn sweep(
    db: PgPool,
    interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        if let Err(error) = sweep_once(&db).await {
            tracing::warn!(%error, "publication sweep failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// One sweep: requeues up to 100 publications.
async fn sweep_once(db: &PgPool) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let due = sqlx::query!(
        "UPDATE distribution.publications SET state = CASE WHEN state = 'deferred' THEN 'queued' ELSE state END,
             resume_at = NULL, lease_until = NULL, updated_at = now()
         WHERE id IN (SELECT id FROM distribution.publications
                      WHERE (state = 'deferred' AND resume_at <= now())
                         OR (state IN ('queued', 'uploading', 'processing') AND lease_until < now())
                         OR (state = 'queued' AND lease_until IS NULL AND updated_at < now() - interval '2 minutes')
                      ORDER BY updated_at LIMIT 100 FOR UPDATE SKIP LOCKED)
         RETURNING id, tenant, run_id"
    )
    .fetch_all(&mut *tx)
    .await?;
    for publication in &due {
        enqueue_upload(
            &mut tx,
            &publication.tenant,
            publication.id,
            publication.run_id,
        )
        .await?;
    }
    tx.commit().await?;
    if !due.is_empty() {
        tracing::info!(requeued = due.len(), "publications requeued");
    }
    Ok(())
}
