//! What a run created without explicit parameters should be made with, and why: the tenant's
//! running experiment assigns an arm; else the best arm of its last stopped experiment; else
//! its config. Parameters the run sets itself stay as set (and keep it out of an experiment over
//! them). With it, the tenant's top insights and best past titles as prompt context.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    configs::{self, GenerationDefaults},
    experiments::{self, overlay},
    insights,
};

/// Insights and titles handed to the story step.
const CONTEXT_ITEMS: usize = 5;

/// The body of `POST /v1/analytics/recommendations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendationRequest {
    pub tenant: String,
    /// The run being created: an experiment assigns it once, whatever asks again.
    pub run_id: Uuid,
    /// Parameters the run sets itself (`genre`, `tone`, …): an experiment over any of them
    /// leaves the run out, since its arm could not apply.
    #[serde(default)]
    pub fixed: Vec<String>,
}

/// What to make the run with where it did not say, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recommendation {
    pub params: GenerationDefaults,
    /// The tenant config version the defaults came from (absent before the first config).
    pub config_version: Option<i32>,
    pub experiment_id: Option<Uuid>,
    pub arm: Option<String>,
    pub reason: String,
    /// The tenant's top insights (decayed confidence × relevance), as sentences.
    pub insights: Vec<String>,
    /// The tenant's most viewed titles.
    pub best_titles: Vec<String>,
}

pub async fn recommend(
    db: &PgPool,
    request: &RecommendationRequest,
    now: DateTime<Utc>,
) -> anyhow::Result<Recommendation> {
    let tenant = request.tenant.as_str();
    let config = configs::current(db, tenant).await?;
    let config_version = config.as_ref().map(|c| c.version);
    let mut params = config.map(|c| c.document).unwrap_or_default();
    let base = match config_version {
        Some(version) => format!("tenant config version {version}"),
        None => "fleet defaults (the tenant has no config)".to_owned(),
    };
    let (mut experiment_id, mut arm_name) = (None, None);
    let running = experiments::running(db, tenant).await?;
    let (running, left_out) = match running {
        Some(experiment) if experiments::tests_any(&experiment, &request.fixed) => {
            (None, Some(experiment.name))
        }
        other => (other, None),
    };
    let base = match left_out {
        Some(name) => format!(
            "{base} (the run sets a parameter experiment `{name}` tests, so it is not in it)"
        ),
        None => base,
    };
    let reason = if let Some(experiment) = running {
        let (arm, how) = experiments::assign(db, &experiment, request.run_id).await?;
        overlay(&mut params, &arm.params)?;
        experiment_id = Some(experiment.id);
        arm_name = Some(arm.name.clone());
        format!(
            "experiment `{}` assigned arm `{}` ({how}); the rest from {base}",
            experiment.name, arm.name
        )
    } else if let Some((name, arm)) = best_of_last_stopped(db, tenant, now)
        .await?
        .filter(|_| request.fixed.is_empty())
    {
        overlay(&mut params, &arm.params)?;
        format!(
            "best measured arm `{}` of stopped experiment `{name}`; the rest from {base}",
            arm.name
        )
    } else {
        base
    };
    let insights = insights::ranked(db, Some(tenant), None, CONTEXT_ITEMS, now)
        .await?
        .into_iter()
        .map(|insight| insight.summary)
        .collect();
    let best_titles = sqlx::query_scalar!(
        r#"SELECT v.title AS "title!" FROM analytics.videos v
           JOIN LATERAL (SELECT views FROM analytics.metric_snapshots s WHERE s.publication_id = v.publication_id
                         ORDER BY captured_at DESC LIMIT 1) latest ON true
           WHERE v.tenant = $1 AND v.title <> ''
           GROUP BY v.title ORDER BY max(latest.views) DESC LIMIT $2"#,
        tenant,
        CONTEXT_ITEMS as i64
    )
    .fetch_all(db)
    .await?;
    Ok(Recommendation {
        params,
        config_version,
        experiment_id,
        arm: arm_name,
        reason,
        insights,
        best_titles,
    })
}

/// The arm with the best mean reward of the tenant's most recently stopped experiment (within 90
/// days), when every arm was measured at least `min_exposures` times.
async fn best_of_last_stopped(
    db: &PgPool,
    tenant: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(String, experiments::Arm)>> {
    let Some(id) = sqlx::query_scalar!(
        "SELECT id FROM analytics.experiments WHERE tenant = $1 AND state = 'stopped' AND ended_at > $2
         ORDER BY ended_at DESC LIMIT 1",
        tenant,
        now - chrono::Duration::days(90)
    )
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let experiment = experiments::get(db, id)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
    let results = experiments::results(db, experiment, now).await?;
    let min = u64::try_from(results.experiment.min_exposures).unwrap_or(1);
    if results.results.iter().any(|arm| arm.exposures < min) {
        return Ok(None);
    }
    let best = results
        .results
        .iter()
        .zip(&results.experiment.arms)
        .filter_map(|(result, arm)| result.mean_reward.map(|mean| (mean, arm)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    Ok(best.map(|(_, arm)| (results.experiment.name.clone(), arm.clone())))
}
