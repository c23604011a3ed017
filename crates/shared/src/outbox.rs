//! Transactional outbox: a domain change and its message commit together; a relay publishes them.

use std::time::Duration;

use sqlx::{postgres::PgListener, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::bus::{Bus, Envelope};

const CHANNEL: &str = "reelforge_outbox";
/// How long Redis remembers that an outbox row was published, guarding against relay crashes.
const DEDUP_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// After Redis lost its data, rows published this recently are published again: whatever of
/// them was not consumed yet is gone with the streams (consumers are idempotent).
const REPLAY_WINDOW: Duration = Duration::from_secs(3600);
/// A key whose value changes whenever Redis starts empty: the relays' sign of data loss.
const EPOCH_KEY: &str = "bus-epoch";

/// Records `envelope` for `stream` inside the caller's transaction.
pub async fn enqueue(
    tx: &mut PgConnection,
    service: &str,
    stream: &str,
    envelope: &Envelope,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO fleet.outbox (service, stream, envelope) VALUES ($1, $2, $3)",
        service,
        stream,
        sqlx::types::Json(envelope) as _
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("SELECT pg_notify($1, $2)", CHANNEL, service)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Records many envelopes (each for its own service and stream) inside the caller's transaction,
/// in one statement: a batch costs one round trip, however large.
pub async fn enqueue_many(
    tx: &mut PgConnection,
    rows: &[(&str, &str, &Envelope)],
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let services: Vec<&str> = rows.iter().map(|(service, _, _)| *service).collect();
    let streams: Vec<&str> = rows.iter().map(|(_, stream, _)| *stream).collect();
    let envelopes: Vec<sqlx::types::Json<&Envelope>> = rows
        .iter()
        .map(|(_, _, envelope)| sqlx::types::Json(*envelope))
        .collect();
    sqlx::query!(
        "INSERT INTO fleet.outbox (service, stream, envelope)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::jsonb[])",
        &services as _,
        &streams as _,
        &envelopes as _
    )
    .execute(&mut *tx)
    .await?;
    let mut notified: Vec<&str> = services.clone();
    notified.sort_unstable();
    notified.dedup();
    for service in notified {
        sqlx::query!("SELECT pg_notify($1, $2)", CHANNEL, service)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The Redis key that remembers an outbox row was published: a relay that crashed after
/// publishing and before committing finds it on its next attempt and does not publish again.
/// Keyed by the envelope's UUID, never the row id: a restored or replaced database restarts its
/// ids at 1, and its rows must not be mistaken for ones an earlier database published.
pub fn dedup_key(envelope: &Envelope) -> String {
    format!("outbox:{}", envelope.id)
}

/// Moves committed outbox rows of some services to the bus, each exactly once.
pub struct Relay {
    pool: PgPool,
    bus: Bus,
    services: Vec<String>,
    batch: i64,
    poll: Duration,
    /// The Redis epoch this relay last saw; a different (or missing) one means data loss.
    epoch: Option<String>,
}

impl Relay {
    pub fn new(pool: PgPool, bus: Bus, services: Vec<String>) -> Self {
        Self {
            pool,
            bus,
            services,
            batch: 100,
            poll: Duration::from_secs(1),
            epoch: None,
        }
    }

    /// Notices when Redis has started empty (restarted without persistence, flushed, replaced)
    /// and marks this relay's recently published rows unpublished, so they are published again.
    /// Returns how many rows it marked.
    pub async fn replay_after_data_loss(&mut self) -> anyhow::Result<u64> {
        let mut conn = self.bus.redis().await?;
        let key = self.bus.key(EPOCH_KEY);
        let created: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(uuid::Uuid::new_v4().to_string())
            .arg("NX")
            .query_async(&mut conn)
            .await?;
        let current: String = redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
        let lost = match &self.epoch {
            Some(seen) => *seen != current,
            // First look: an epoch we had to create means Redis holds nothing of ours.
            None => created.is_some(),
        };
        self.epoch = Some(current);
        if !lost {
            return Ok(0);
        }
        let marked = sqlx::query!(
            "UPDATE fleet.outbox SET published_at = NULL
             WHERE service = ANY($1) AND published_at > now() - make_interval(secs => $2)",
            &self.services,
            REPLAY_WINDOW.as_secs_f64()
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        if marked > 0 {
            tracing::warn!(
                rows = marked,
                "Redis started empty; publishing the last hour's outbox rows again"
            );
        }
        Ok(marked)
    }

    /// Publishes one batch; returns how many rows it published.
    pub async fn relay_once(&self) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await?;
        let rows: Vec<(i64, String, sqlx::types::Json<Envelope>)> = sqlx::query!(
            r#"SELECT id, stream, envelope AS "envelope: sqlx::types::Json<Envelope>" FROM fleet.outbox
               WHERE published_at IS NULL AND service = ANY($1)
               ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED"#,
            &self.services as _,
            self.batch
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|row| (row.id, row.stream, row.envelope))
        .collect();
        // One round trip per stream, entries in row order within each.
        let mut by_stream: Vec<(&str, Vec<(String, &Envelope)>)> = Vec::new();
        for (_, stream, envelope) in &rows {
            let entry = (dedup_key(envelope), &envelope.0);
            match by_stream.iter_mut().find(|(name, _)| name == stream) {
                Some((_, entries)) => entries.push(entry),
                None => by_stream.push((stream, vec![entry])),
            }
        }
        for (stream, entries) in &by_stream {
            self.bus.publish_once(stream, entries, DEDUP_TTL).await?;
        }
        let ids: Vec<i64> = rows.iter().map(|(id, _, _)| *id).collect();
        sqlx::query!(
            "UPDATE fleet.outbox SET published_at = now() WHERE id = ANY($1)",
            &ids
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Relays until `shutdown`, woken by NOTIFY and by a slow poll as a safety net.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut listener) => listener.listen(CHANNEL).await.map(|_| listener).ok(),
            Err(_) => None,
        };
        let mut epoch_checked: Option<tokio::time::Instant> = None;
        while !shutdown.is_cancelled() {
            // Once per poll interval, not per batch: a backlog drains without extra round trips.
            if epoch_checked.is_none_or(|at| at.elapsed() >= self.poll) {
                epoch_checked = Some(tokio::time::Instant::now());
                if let Err(error) = self.replay_after_data_loss().await {
                    tracing::warn!(error = format!("{error:#}"), "cannot read the Redis epoch");
                }
            }
            match self.relay_once().await {
                Ok(count) if count as i64 == self.batch => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(
                    error = format!("{error:#}"),
                    "outbox relay failed; retrying"
                ),
            }
            let notified = async {
                match listener.as_mut() {
                    Some(listener) => {
                        let _ = listener.try_recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(self.poll) => {}
                _ = notified => {}
            }
        }
        Ok(())
    }
}
