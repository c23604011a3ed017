//! The summary report: a tenant's videos published in a window, grouped by one of the choices
//! that made them, with views, watch time, completion (only where the platform reports it),
//! engagement and the week-over-week trend, as JSON or CSV.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

/// What the summary can group by.
pub const GROUPINGS: &[&str] = &[
    "platform",
    "genre",
    "tone",
    "length_bucket",
    "language",
    "voice",
    "slot",
    "experiment_arm",
];

/// `GET /v1/analytics/summary` query.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// Admins and services name the tenant; others read their own.
    pub tenant: Option<String>,
    /// Videos published from (RFC 3339; default 28 days before `to`).
    pub from: Option<DateTime<Utc>>,
    /// … until (exclusive; default now). Metrics are as of this instant.
    pub to: Option<DateTime<Utc>>,
    /// One of `platform`, `genre`, `tone`, `length_bucket`, `language`, `voice`, `slot`
    /// (weekday and hour, UTC) or `experiment_arm` (default `platform`).
    pub group_by: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SummaryRow {
    pub group: String,
    pub videos: i64,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    /// Total watch time where the platform reports it; `null` when none of the videos has it.
    pub watch_seconds: Option<i64>,
    /// Mean completion over the videos whose platform reports it; `null` when none does.
    pub completion_rate: Option<f64>,
    /// How many videos the completion rate is known for.
    pub completion_known: i64,
    /// (likes + comments + shares) / views; `null` without views.
    pub engagement_rate: Option<f64>,
    /// Views gained in the 7 days before `to`, and in the 7 days before those.
    pub views_last_7d: i64,
    pub views_prior_7d: i64,
    /// `views_last_7d / views_prior_7d − 1`; `null` when the prior week gained nothing.
    pub week_over_week: Option<f64>,
}

/// The report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub tenant: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: String,
    pub rows: Vec<SummaryRow>,
}

/// Groups the videos of `tenant` (every tenant's when `None`) published in `[from, to)`.
pub async fn summarise(
    db: &PgPool,
    tenant: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: &str,
) -> anyhow::Result<Vec<SummaryRow>> {
    let week_ago = to - chrono::Duration::days(7);
    let fortnight_ago = to - chrono::Duration::days(14);
    let rows = sqlx::query!(
        r#"WITH chosen AS (
               SELECT publication_id,
                   CASE $4
                       WHEN 'platform' THEN platform
                       WHEN 'genre' THEN genre
                       WHEN 'tone' THEN tone
                       WHEN 'language' THEN language
                       WHEN 'voice' THEN voice
                       WHEN 'slot' THEN to_char(published_at AT TIME ZONE 'UTC', 'Dy HH24":00"')
                       WHEN 'experiment_arm' THEN CASE WHEN arm IS NULL THEN NULL ELSE experiment_id::text || '/' || arm END
                       WHEN 'length_bucket' THEN length_bucket
                   END AS grp
               FROM analytics.videos
               WHERE ($1::text IS NULL OR tenant = $1) AND published_at >= $2 AND published_at < $3
           )
           SELECT COALESCE(chosen.grp, 'unknown') AS "group!",
                  count(*) AS "videos!",
                  COALESCE(sum(latest.views), 0)::bigint AS "views!",
                  COALESCE(sum(latest.likes), 0)::bigint AS "likes!",
                  COALESCE(sum(latest.comments), 0)::bigint AS "comments!",
                  COALESCE(sum(latest.shares), 0)::bigint AS "shares!",
                  sum(latest.watch_seconds)::bigint AS watch_seconds,
                  avg(latest.completion_rate) AS completion_rate,
                  count(latest.completion_rate) AS "completion_known!",
                  COALESCE(sum(COALESCE(latest.views, 0) - COALESCE(week_ago.views, 0)), 0)::bigint AS "views_last_7d!",
                  COALESCE(sum(COALESCE(week_ago.views, 0) - COALESCE(fortnight_ago.views, 0)), 0)::bigint AS "views_prior_7d!"
           FROM chosen
           -- One index probe per video and instant (metric_snapshots_publication_captured_at).
           LEFT JOIN LATERAL (
               SELECT s.views, s.likes, s.comments, s.shares, s.watch_seconds, s.completion_rate
               FROM analytics.metric_snapshots s
               WHERE s.publication_id = chosen.publication_id AND s.captured_at <= $3
               ORDER BY s.captured_at DESC LIMIT 1
           ) latest ON true
           LEFT JOIN LATERAL (
               SELECT s.views FROM analytics.metric_snapshots s
               WHERE s.publication_id = chosen.publication_id AND s.captured_at <= $5
               ORDER BY s.captured_at DESC LIMIT 1
           ) week_ago ON true
           LEFT JOIN LATERAL (
               SELECT s.views FROM analytics.metric_snapshots s
               WHERE s.publication_id = chosen.publication_id AND s.captured_at <= $6
               ORDER BY s.captured_at DESC LIMIT 1
           ) fortnight_ago ON true
           GROUP BY 1 ORDER BY 1"#,
        tenant,
        from,
        to,
        group_by,
        week_ago,
        fortnight_ago
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let interactions = row.likes + row.comments + row.shares;
            SummaryRow {
                engagement_rate: (row.views > 0).then(|| interactions as f64 / row.views as f64),
                week_over_week: (row.views_prior_7d > 0)
                    .then(|| row.views_last_7d as f64 / row.views_prior_7d as f64 - 1.0),
                group: row.group,
                videos: row.videos,
                views: row.views,
                likes: row.likes,
                comments: row.comments,
                shares: row.shares,
                watch_seconds: row.watch_seconds,
                completion_rate: row.completion_rate,
                completion_known: row.completion_known,
                views_last_7d: row.views_last_7d,
                views_prior_7d: row.views_prior_7d,
            }
        })
        .collect())
}

/// The rows as CSV with a header line; unknown values are empty cells.
pub fn to_csv(rows: &[SummaryRow]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row)?;
    }
    if rows.is_empty() {
        writer.write_record([
            "group",
            "videos",
            "views",
            "likes",
            "comments",
            "shares",
            "watch_seconds",
            "completion_rate",
            "completion_known",
            "engagement_rate",
            "views_last_7d",
            "views_prior_7d",
            "week_over_week",
        ])?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}
