//! The learning pass, run on an interval: promote experiments whose winner is clear, turn
//! comparisons of a tenant's recent videos into insights ("calm tone: +23 % completion vs tense,
//! n = 40"), and watch each tenant's completion rate against its floor.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::{
    alerts,
    config::AnalyticsConfig,
    experiments,
    insights::{self, NewInsight},
};

/// The choices compared for insights, and how a video's group is named.
const DIMENSIONS: &[&str] = &["tone", "genre", "length_bucket"];
/// Videos published this long ago at most feed insights.
const WINDOW_DAYS: i64 = 30;

/// One group of videos under a dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub videos: i64,
    pub mean: f64,
    pub variance: f64,
}

/// Runs [`learn_once`] every `interval` until shutdown.
pub async fn run(
    db: PgPool,
    config: std::sync::Arc<AnalyticsConfig>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let interval = Duration::from_millis(config.learn_interval_ms.max(10));
    loop {
        if let Err(error) = learn_once(&db, &config, Utc::now()).await {
            tracing::warn!(error = format!("{error:#}"), "learning pass failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// One pass as of `now`; returns how many insights it wrote or changed.
pub async fn learn_once(
    db: &PgPool,
    config: &AnalyticsConfig,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    for experiment in experiments::all_running(db).await? {
        experiments::promote_if_won(db, experiment, now).await?;
    }
    alerts::check_completion(db, config.completion_floor, now).await?;
    let tenants = sqlx::query_scalar!(
        "SELECT DISTINCT tenant FROM analytics.videos WHERE published_at > $1",
        now - chrono::Duration::days(WINDOW_DAYS)
    )
    .fetch_all(db)
    .await?;
    let mut written = 0;
    for tenant in tenants {
        for dimension in DIMENSIONS {
            let groups = completion_by(db, &tenant, dimension, now).await?;
            if let Some(insight) =
                compare(&tenant, dimension, &groups, config.insight_min_videos, now)
            {
                let fingerprint = format!("analytics:{tenant}:completion:{dimension}");
                if insights::record(db, &insight, Some(&fingerprint))
                    .await?
                    .is_some()
                {
                    written += 1;
                }
            }
        }
    }
    Ok(written)
}

/// Completion of the tenant's recent videos grouped by `dimension`.
async fn completion_by(
    db: &PgPool,
    tenant: &str,
    dimension: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Group>> {
    let rows = sqlx::query!(
        r#"SELECT grp AS "grp!", count(*) AS "videos!", avg(rate) AS "mean!", COALESCE(var_samp(rate), 0) AS "variance!"
           FROM (
               SELECT CASE $3
                          WHEN 'tone' THEN v.tone
                          WHEN 'genre' THEN v.genre
                          ELSE v.length_bucket
                      END AS grp,
                      latest.completion_rate AS rate
               FROM analytics.videos v
               JOIN LATERAL (SELECT completion_rate FROM analytics.metric_snapshots s
                             WHERE s.publication_id = v.publication_id AND s.completion_rate IS NOT NULL
                             ORDER BY captured_at DESC LIMIT 1) latest ON true
               WHERE v.tenant = $1 AND v.published_at > $2
           ) chosen
           WHERE grp IS NOT NULL
           GROUP BY grp"#,
        tenant,
        now - chrono::Duration::days(WINDOW_DAYS),
        dimension
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Group {
            name: row.grp,
            videos: row.videos,
            mean: row.mean,
            variance: row.variance,
        })
        .collect())
}

/// The best group against the worst, when both have `min_videos`: an insight whose confidence is
/// how sure a two-sided Welch z-test is that they differ.
pub fn compare(
    tenant: &str,
    dimension: &str,
    groups: &[Group],
    min_videos: i64,
    now: DateTime<Utc>,
) -> Option<NewInsight> {
    let measured: Vec<&Group> = groups
        .iter()
        .filter(|g| g.videos >= min_videos.max(2))
        .collect();
    let best = measured.iter().max_by(|a, b| a.mean.total_cmp(&b.mean))?;
    let worst = measured.iter().min_by(|a, b| a.mean.total_cmp(&b.mean))?;
    if best.name == worst.name || worst.mean <= 0.0 {
        return None;
    }
    let standard_error =
        (best.variance / best.videos as f64 + worst.variance / worst.videos as f64).sqrt();
    let z = if standard_error > 0.0 {
        (best.mean - worst.mean) / standard_error
    } else {
        10.0
    };
    let confidence = (2.0 * standard_normal_cdf(z) - 1.0).clamp(0.0, 1.0);
    let lift = best.mean / worst.mean - 1.0;
    let label = dimension.replace('_', " ");
    let summary = format!(
        "{} {label}: {:+.0} % completion vs {} (n = {} vs {})",
        best.name,
        lift * 100.0,
        worst.name,
        best.videos,
        worst.videos
    );
    Some(NewInsight {
        source: "analytics".into(),
        kind: dimension.to_owned(),
        tenant: Some(tenant.to_owned()),
        confidence,
        summary,
        data: json!({
            "metric": "completion_rate", "better": best.name, "worse": worst.name, "lift": lift,
            "better_mean": best.mean, "worse_mean": worst.mean, "better_videos": best.videos, "worse_videos": worst.videos, "z": z,
        }),
        created_at: Some(now),
    })
}

/// Φ(z), from the Abramowitz–Stegun 7.1.26 approximation of erf (error below 1.5e-7).
pub fn standard_normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, videos: i64, mean: f64, variance: f64) -> Group {
        Group {
            name: name.into(),
            videos,
            mean,
            variance,
        }
    }

    #[test]
    fn the_normal_cdf_matches_its_table() {
        assert!((standard_normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((standard_normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((standard_normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }

    #[test]
    fn a_clear_difference_becomes_a_confident_insight_naming_both_sides() -> anyhow::Result<()> {
        let groups = [
            group("calm", 40, 0.62, 0.01),
            group("dark", 38, 0.50, 0.01),
            group("whimsical", 3, 0.9, 0.0),
        ];
        let insight = compare("acme", "tone", &groups, 10, Utc::now())
            .ok_or_else(|| anyhow::anyhow!("no insight"))?;
        assert_eq!(
            insight.summary,
            "calm tone: +24 % completion vs dark (n = 40 vs 38)"
        );
        assert!(insight.confidence > 0.99, "{}", insight.confidence);
        Ok(())
    }

    #[test]
    fn too_few_videos_or_a_single_group_teach_nothing() {
        assert!(compare(
            "acme",
            "tone",
            &[group("calm", 40, 0.6, 0.01)],
            10,
            Utc::now()
        )
        .is_none());
        let thin = [group("calm", 9, 0.6, 0.01), group("dark", 40, 0.5, 0.01)];
        assert!(compare("acme", "tone", &thin, 10, Utc::now()).is_none());
    }

    #[test]
    fn noise_gives_low_confidence() -> anyhow::Result<()> {
        let groups = [group("calm", 12, 0.51, 0.09), group("dark", 12, 0.50, 0.09)];
        let insight = compare("acme", "tone", &groups, 10, Utc::now())
            .ok_or_else(|| anyhow::anyhow!("no insight"))?;
        assert!(insight.confidence < 0.2, "{}", insight.confidence);
        Ok(())
    }
}
