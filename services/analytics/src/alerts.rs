//! Notifications people act on (`analytics.notification` on the events stream), and the
//! threshold monitor: a tenant's 7-day completion rate falling below the floor is announced once,
//! and again when it recovers.

use chrono::{DateTime, Utc};
use messages::events::AnalyticsNotification;
use serde_json::json;
use shared::outbox;
use sqlx::{PgConnection, PgPool};

/// Videos with a known completion rate a tenant needs in the window before it is judged.
const MIN_VIDEOS: i64 = 3;

/// Records a notification for `tenant` in the caller's transaction.
pub async fn notify_in(
    tx: &mut PgConnection,
    tenant: &str,
    kind: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    let notification = AnalyticsNotification {
        tenant: tenant.to_owned(),
        kind: kind.to_owned(),
        detail,
    };
    outbox::enqueue(
        tx,
        crate::SERVICE,
        shared::jobs::EVENTS,
        &messages::envelope(&notification, None)?,
    )
    .await?;
    Ok(())
}

/// Records a notification for `tenant`.
pub async fn notify(
    db: &PgPool,
    tenant: &str,
    kind: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    notify_in(&mut tx, tenant, kind, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Compares every tenant's 7-day completion rate (videos published in the 7 days before `now`,
/// their latest known completion) with `floor`; announces each crossing once. Returns how many
/// notifications it sent.
pub async fn check_completion(
    db: &PgPool,
    floor: f64,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let rates = sqlx::query!(
        r#"SELECT v.tenant, avg(latest.completion_rate) AS "rate!", count(*) AS "videos!"
           FROM analytics.videos v
           JOIN LATERAL (SELECT completion_rate FROM analytics.metric_snapshots s
                         WHERE s.publication_id = v.publication_id AND s.completion_rate IS NOT NULL AND s.captured_at <= $1
                         ORDER BY captured_at DESC LIMIT 1) latest ON true
           WHERE v.published_at > $1 - interval '7 days' AND v.published_at <= $1
           GROUP BY v.tenant HAVING count(*) >= $2"#,
        now,
        MIN_VIDEOS
    )
    .fetch_all(db)
    .await?;
    let mut sent = 0;
    for rate in rates {
        let below = rate.rate < floor;
        let mut tx = db.begin().await?;
        // Passes run concurrently (replicas, or a pass still running when the next starts): one
        // tenant's crossing is judged by one pass at a time, or both would announce it.
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtext('analytics.completion:' || $1))",
            rate.tenant
        )
        .execute(&mut *tx)
        .await?;
        let was_below = sqlx::query_scalar!(
            "SELECT below FROM analytics.completion_alerts WHERE tenant = $1 FOR UPDATE",
            rate.tenant
        )
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO analytics.completion_alerts (tenant, below, rate, changed_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant) DO UPDATE SET rate = EXCLUDED.rate,
                 below = EXCLUDED.below,
                 changed_at = CASE WHEN analytics.completion_alerts.below = EXCLUDED.below
                                   THEN analytics.completion_alerts.changed_at ELSE EXCLUDED.changed_at END",
            rate.tenant,
            below,
            rate.rate,
            now
        )
        .execute(&mut *tx)
        .await?;
        let kind = match (was_below, below) {
            (Some(false) | None, true) => Some("completion.below_floor"),
            (Some(true), false) => Some("completion.recovered"),
            _ => None,
        };
        if let Some(kind) = kind {
            let detail =
                json!({ "completion_rate_7d": rate.rate, "floor": floor, "videos": rate.videos });
            notify_in(&mut tx, &rate.tenant, kind, detail).await?;
            tracing::warn!(
                tenant = rate.tenant,
                rate = rate.rate,
                floor,
                kind,
                "completion threshold crossed"
            );
            sent += 1;
        }
        tx.commit().await?;
    }
    Ok(sent)
}
