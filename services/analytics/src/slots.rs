//! Posting slots learned from engagement: per platform, the UTC weekday × hour whose videos drew
//! the most interactions (likes, comments, shares) on average, once the platform has enough
//! videos to learn from; until then nothing, and schedules keep their defaults.

use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

/// Videos a slot needs before it can rank.
const MIN_VIDEOS_PER_SLOT: i64 = 2;

/// A learned posting slot.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Slot {
    pub platform: String,
    /// ISO weekday, 1 = Monday … 7 = Sunday (UTC).
    pub weekday: i32,
    /// Hour of the day, 0–23 (UTC).
    pub hour: i32,
    /// `HH:00`, the form schedules take.
    pub time: String,
    pub videos: i64,
    /// Mean likes + comments + shares per video published in this slot.
    pub mean_interactions: f64,
    pub mean_views: f64,
}

/// The `limit` best slots per platform of `tenant` (one platform when given), best first.
pub async fn best(
    db: &PgPool,
    tenant: &str,
    platform: Option<&str>,
    min_videos: i64,
    limit: usize,
) -> anyhow::Result<Vec<Slot>> {
    let rows = sqlx::query!(
        r#"WITH latest AS (
               SELECT v.platform, v.published_at, s.views, s.likes + s.comments + s.shares AS interactions
               FROM analytics.videos v
               JOIN LATERAL (SELECT views, likes, comments, shares FROM analytics.metric_snapshots s
                             WHERE s.publication_id = v.publication_id ORDER BY captured_at DESC LIMIT 1) s ON true
               WHERE v.tenant = $1 AND ($2::text IS NULL OR v.platform = $2)
           ),
           enough AS (SELECT platform FROM latest GROUP BY platform HAVING count(*) >= $3)
           SELECT platform AS "platform!",
                  extract(isodow FROM published_at AT TIME ZONE 'UTC')::int AS "weekday!",
                  extract(hour FROM published_at AT TIME ZONE 'UTC')::int AS "hour!",
                  count(*) AS "videos!",
                  avg(interactions)::float8 AS "mean_interactions!",
                  avg(views)::float8 AS "mean_views!"
           FROM latest WHERE platform IN (SELECT platform FROM enough)
           GROUP BY 1, 2, 3 HAVING count(*) >= $4
           ORDER BY 1, 5 DESC, 6 DESC"#,
        tenant,
        platform,
        min_videos,
        MIN_VIDEOS_PER_SLOT
    )
    .fetch_all(db)
    .await?;
    let mut slots: Vec<Slot> = Vec::new();
    for row in rows {
        if slots
            .iter()
            .filter(|slot| slot.platform == row.platform)
            .count()
            >= limit
        {
            continue;
        }
        slots.push(Slot {
            time: format!("{:02}:00", row.hour),
            platform: row.platform,
            weekday: row.weekday,
            hour: row.hour,
            videos: row.videos,
            mean_interactions: row.mean_interactions,
            mean_views: row.mean_views,
        });
    }
    Ok(slots)
}
