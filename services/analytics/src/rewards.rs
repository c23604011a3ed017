//! What each run of an experiment earned: its videos' completion rate or thumbnail click rate
//! (latest known), or its views 48 hours after publication (interpolated between pulls).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// One publication's arm, publication time and `(captured_at, views)` points.
type Series = (String, DateTime<Utc>, Vec<(DateTime<Utc>, i64)>);

/// `(arm, reward)` for every assigned run of `experiment_id` whose reward is measured; a run
/// published on several platforms counts once (mean rate, or views summed).
pub async fn per_run(
    db: &PgPool,
    experiment_id: Uuid,
    reward: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, f64)>> {
    if reward == "views_48h" {
        return views_at_48h(db, experiment_id, now).await;
    }
    let rows = sqlx::query!(
        r#"SELECT a.arm, avg(latest.rate) AS "reward!"
           FROM analytics.assignments a
           JOIN analytics.videos v ON v.run_id = a.run_id
           JOIN LATERAL (
               SELECT CASE WHEN $2 = 'ctr' THEN s.click_rate ELSE s.completion_rate END AS rate
               FROM analytics.metric_snapshots s
               WHERE s.publication_id = v.publication_id
                 AND (CASE WHEN $2 = 'ctr' THEN s.click_rate ELSE s.completion_rate END) IS NOT NULL
               ORDER BY s.captured_at DESC LIMIT 1
           ) latest ON true
           WHERE a.experiment_id = $1
           GROUP BY a.arm, a.run_id"#,
        experiment_id,
        reward
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|row| (row.arm, row.reward)).collect())
}

async fn views_at_48h(
    db: &PgPool,
    experiment_id: Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, f64)>> {
    let horizon = Duration::hours(48);
    let rows = sqlx::query!(
        r#"SELECT a.arm, a.run_id, v.publication_id, v.published_at, s.captured_at, s.views
           FROM analytics.assignments a
           JOIN analytics.videos v ON v.run_id = a.run_id
           JOIN analytics.metric_snapshots s ON s.publication_id = v.publication_id
           WHERE a.experiment_id = $1 AND v.published_at <= $2
           ORDER BY a.run_id, v.publication_id, s.captured_at"#,
        experiment_id,
        now - horizon
    )
    .fetch_all(db)
    .await?;
    let mut series: BTreeMap<(Uuid, Uuid), Series> = BTreeMap::new();
    for row in rows {
        series
            .entry((row.run_id, row.publication_id))
            .or_insert_with(|| (row.arm.clone(), row.published_at, Vec::new()))
            .2
            .push((row.captured_at, row.views));
    }
    let mut per_run: BTreeMap<Uuid, (String, f64)> = BTreeMap::new();
    for ((run_id, _), (arm, published_at, points)) in series {
        if let Some(views) = interpolate(&points, published_at + horizon, published_at) {
            per_run.entry(run_id).or_insert((arm, 0.0)).1 += views;
        }
    }
    Ok(per_run.into_values().collect())
}

/// Views at `at`, linear between the snapshots around it (from 0 at publication); `None` when no
/// snapshot was taken at or after `at` yet.
pub fn interpolate(
    points: &[(DateTime<Utc>, i64)],
    at: DateTime<Utc>,
    published_at: DateTime<Utc>,
) -> Option<f64> {
    let after = points.iter().position(|(time, _)| *time >= at)?;
    let (t1, v1) = points[after];
    let (t0, v0) = if after == 0 {
        (published_at, 0)
    } else {
        points[after - 1]
    };
    let span = (t1 - t0).num_milliseconds();
    if span <= 0 {
        return Some(v1 as f64);
    }
    let share = (at - t0).num_milliseconds() as f64 / span as f64;
    Some(v0 as f64 + (v1 - v0) as f64 * share)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_at_48h_lie_on_the_line_between_the_pulls_around_it() {
        let published = Utc::now();
        let at = |hours| published + Duration::hours(hours);
        let points = [(at(24), 1_000), (at(72), 4_000)];
        assert_eq!(interpolate(&points, at(48), published), Some(2_500.0));
        assert_eq!(interpolate(&points[..1], at(48), published), None);
        assert_eq!(
            interpolate(&[(at(96), 800)], at(48), published),
            Some(400.0)
        );
    }
}
