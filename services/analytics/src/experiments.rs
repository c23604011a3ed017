//! Experiments over a tenant's generation parameters: 2–5 arms, A/B with deterministic bucketing
//! by run id or a Thompson-sampling bandit; evidence from the videos' metrics, each arm's
//! posterior and P(best), and the promotion of a winner into the tenant's config.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::SeedableRng as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::ApiError;
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    configs::{self, GenerationDefaults},
    learning::{
        bandit::{self, ArmEvidence, Posterior, RewardModel},
        bucketing,
    },
};
use messages::catalogue::Catalogue;

/// Monte Carlo draws behind each P(best).
const DRAWS: usize = 20_000;

/// One arm: a name and the parameters it sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    pub name: String,
    pub params: GenerationDefaults,
    /// Share of runs under A/B (default 1: equal split); ignored by the bandit.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// The body of `POST /v1/experiments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExperiment {
    pub name: String,
    /// The tenant whose runs it assigns (default: the caller's).
    #[serde(default)]
    pub tenant: Option<String>,
    /// `ab` (fixed split) or `bandit` (Thompson sampling).
    pub method: String,
    /// `completion_rate`, `views_48h` or `ctr`.
    pub reward: String,
    pub arms: Vec<Arm>,
    /// Measured runs each arm needs before the bandit reallocates or a winner is promoted (default 20).
    #[serde(default)]
    pub min_exposures: Option<i32>,
    /// P(best) a winner needs (default 0.95).
    #[serde(default)]
    pub promote_at: Option<f64>,
}

/// An experiment as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Experiment {
    pub id: Uuid,
    pub tenant: String,
    pub name: String,
    pub method: String,
    pub reward: String,
    pub arms: Vec<Arm>,
    pub min_exposures: i32,
    pub promote_at: f64,
    /// `running`, `promoted` or `stopped`.
    pub state: String,
    pub winner: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Where one arm stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArmResult {
    pub name: String,
    /// Runs assigned to the arm.
    pub assigned: i64,
    /// Runs whose reward is measured: the exposures the posterior counts.
    pub exposures: u64,
    pub mean_reward: Option<f64>,
    #[schema(value_type = Object)]
    pub posterior: Posterior,
    pub probability_best: f64,
}

/// `GET /v1/experiments/{id}`: the experiment with each arm's evidence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExperimentResults {
    #[serde(flatten)]
    pub experiment: Experiment,
    pub results: Vec<ArmResult>,
    /// What the promotion rule says now.
    pub verdict: String,
}

impl NewExperiment {
    pub fn validate(&self, catalogue: &Catalogue) -> Result<(), ApiError> {
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err(ApiError::validation("name", "must be 1 to 200 characters"));
        }
        if let Some(tenant) = &self.tenant {
            crate::routes::check_tenant(tenant)?;
        }
        if !["ab", "bandit"].contains(&self.method.as_str()) {
            return Err(ApiError::validation("method", "must be `ab` or `bandit`"));
        }
        if !["completion_rate", "views_48h", "ctr"].contains(&self.reward.as_str()) {
            return Err(ApiError::validation(
                "reward",
                "must be `completion_rate`, `views_48h` or `ctr`",
            ));
        }
        if !(2..=5).contains(&self.arms.len()) {
            return Err(ApiError::validation(
                "arms",
                "an experiment has 2 to 5 arms",
            ));
        }
        let mut fields: Option<Vec<String>> = None;
        for (index, arm) in self.arms.iter().enumerate() {
            if arm.name.trim().is_empty() || arm.name.len() > 64 {
                return Err(ApiError::validation(
                    "arms",
                    format!("arm {index} needs a name of 1 to 64 characters"),
                ));
            }
            if self.arms[..index]
                .iter()
                .any(|other| other.name == arm.name)
            {
                return Err(ApiError::validation(
                    "arms",
                    format!("arm `{}` is named twice", arm.name),
                ));
            }
            if arm.weight == 0 || arm.weight > 1000 {
                return Err(ApiError::validation(
                    "arms",
                    format!("arm `{}`: weight must be 1 to 1000", arm.name),
                ));
            }
            arm.params.validate(catalogue).map_err(|e| {
                ApiError::validation("arms", format!("arm `{}`: {}", arm.name, e.detail()))
            })?;
            let set = set_fields(&arm.params)?;
            if set.is_empty() {
                return Err(ApiError::validation(
                    "arms",
                    format!("arm `{}` sets no parameter", arm.name),
                ));
            }
            match &fields {
                None => fields = Some(set),
                Some(first) if *first != set => {
                    return Err(ApiError::validation(
                        "arms",
                        format!(
                            "every arm must set the same parameters ({}); `{}` sets {}",
                            first.join(", "),
                            arm.name,
                            set.join(", ")
                        ),
                    ))
                }
                Some(_) => {}
            }
            if self.arms[..index]
                .iter()
                .any(|other| other.params == arm.params)
            {
                return Err(ApiError::validation(
                    "arms",
                    format!("arm `{}` repeats another arm's parameters", arm.name),
                ));
            }
        }
        if self
            .min_exposures
            .is_some_and(|n| !(1..=100_000).contains(&n))
        {
            return Err(ApiError::validation("min_exposures", "must be 1 to 100000"));
        }
        if self.promote_at.is_some_and(|p| !(p > 0.5 && p < 1.0)) {
            return Err(ApiError::validation(
                "promote_at",
                "must be above 0.5 and below 1",
            ));
        }
        Ok(())
    }
}

/// Whether the experiment's arms set any of `parameters`.
pub fn tests_any(experiment: &Experiment, parameters: &[String]) -> bool {
    experiment.arms.first().is_some_and(|arm| {
        set_fields(&arm.params)
            .unwrap_or_default()
            .iter()
            .any(|field| parameters.contains(field))
    })
}

/// Whether a document's field leaves the parameter to others: null, an empty list, or an object
/// (the providers) whose every entry is null.
fn is_unset(value: &Value) -> bool {
    value.is_null()
        || value == &json!([])
        || value
            .as_object()
            .is_some_and(|entries| entries.values().all(Value::is_null))
}

/// The parameters a document sets (its non-empty fields), sorted.
fn set_fields(params: &GenerationDefaults) -> Result<Vec<String>, ApiError> {
    let Value::Object(fields) = serde_json::to_value(params).map_err(ApiError::internal)? else {
        return Ok(Vec::new());
    };
    let mut set: Vec<String> = fields
        .into_iter()
        .filter(|(_, v)| !is_unset(v))
        .map(|(k, _)| k)
        .collect();
    set.sort();
    Ok(set)
}

/// The posterior each reward is modelled with. A video's completion rate is a continuous mean
/// with its own spread: a Normal posterior from the sample variance is calibrated where a Beta
/// fed fractional successes is far too wide. Views are heavy-tailed: Normal on `ln(1 + views)`.
/// Click-through is a rate of clicks among impressions: Beta, fed each video's rate.
fn model(reward: &str) -> RewardModel {
    if reward == "ctr" {
        RewardModel::Bernoulli
    } else {
        RewardModel::Normal
    }
}

struct Row {
    id: Uuid,
    tenant: String,
    name: String,
    method: String,
    reward: String,
    arms: Value,
    min_exposures: i32,
    promote_at: f64,
    state: String,
    winner: Option<String>,
    created_by: String,
    created_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Experiment {
    type Error = anyhow::Error;
    fn try_from(row: Row) -> anyhow::Result<Experiment> {
        Ok(Experiment {
            id: row.id,
            tenant: row.tenant,
            name: row.name,
            method: row.method,
            reward: row.reward,
            arms: serde_json::from_value(row.arms)?,
            min_exposures: row.min_exposures,
            promote_at: row.promote_at,
            state: row.state,
            winner: row.winner,
            created_by: row.created_by,
            created_at: row.created_at,
            ended_at: row.ended_at,
        })
    }
}

/// Starts an experiment; a tenant runs one at a time (409 while another runs).
pub async fn create(
    db: &PgPool,
    tenant: &str,
    new: &NewExperiment,
    author: &str,
) -> Result<Experiment, ApiError> {
    let row = sqlx::query_as!(
        Row,
        "INSERT INTO analytics.experiments (id, tenant, name, method, reward, arms, min_exposures, promote_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant) WHERE state = 'running' DO NOTHING
         RETURNING id, tenant, name, method, reward, arms, min_exposures, promote_at, state, winner, created_by, created_at, ended_at",
        Uuid::now_v7(),
        tenant,
        new.name.trim(),
        new.method,
        new.reward,
        serde_json::to_value(&new.arms).map_err(ApiError::internal)?,
        new.min_exposures.unwrap_or(20),
        new.promote_at.unwrap_or(0.95),
        author
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::conflict("experiment_running", format!("tenant `{tenant}` already runs an experiment; stop it first")))?;
    Ok(Experiment::try_from(row)?)
}

pub async fn get(db: &PgPool, id: Uuid) -> Result<Experiment, ApiError> {
    let row = sqlx::query_as!(
        Row,
        "SELECT id, tenant, name, method, reward, arms, min_exposures, promote_at, state, winner, created_by, created_at, ended_at
         FROM analytics.experiments WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("experiment {id} not found")))?;
    Ok(Experiment::try_from(row)?)
}

/// The tenant's running experiment, if any.
pub async fn running(db: &PgPool, tenant: &str) -> anyhow::Result<Option<Experiment>> {
    let row = sqlx::query_as!(
        Row,
        "SELECT id, tenant, name, method, reward, arms, min_exposures, promote_at, state, winner, created_by, created_at, ended_at
         FROM analytics.experiments WHERE tenant = $1 AND state = 'running'",
        tenant
    )
    .fetch_optional(db)
    .await?;
    row.map(Experiment::try_from).transpose()
}

/// Every tenant's running experiment.
pub async fn all_running(db: &PgPool) -> anyhow::Result<Vec<Experiment>> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT id, tenant, name, method, reward, arms, min_exposures, promote_at, state, winner, created_by, created_at, ended_at
         FROM analytics.experiments WHERE state = 'running'"
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Experiment::try_from).collect()
}

/// Every experiment of `tenant` (all tenants' when `None`), newest first.
pub async fn list(db: &PgPool, tenant: Option<&str>) -> anyhow::Result<Vec<Experiment>> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT id, tenant, name, method, reward, arms, min_exposures, promote_at, state, winner, created_by, created_at, ended_at
         FROM analytics.experiments WHERE ($1::text IS NULL OR tenant = $1) ORDER BY created_at DESC LIMIT 500",
        tenant
    )
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Experiment::try_from).collect()
}

/// Ends a running experiment without a winner.
pub async fn stop(db: &PgPool, id: Uuid) -> Result<Experiment, ApiError> {
    sqlx::query!(
        "UPDATE analytics.experiments SET state = 'stopped', ended_at = now() WHERE id = $1 AND state = 'running'",
        id
    )
    .execute(db)
    .await?;
    get(db, id).await
}

/// The arm of `run_id`: decided once (A/B by hashing the run id, the bandit by a Thompson draw
/// over the evidence so far) and stored, so asking again answers the same.
pub async fn assign(
    db: &PgPool,
    experiment: &Experiment,
    run_id: Uuid,
) -> anyhow::Result<(Arm, String)> {
    if let Some(arm) = sqlx::query_scalar!(
        "SELECT arm FROM analytics.assignments WHERE run_id = $1",
        run_id
    )
    .fetch_optional(db)
    .await?
    {
        return arm_named(experiment, &arm);
    }
    let (index, how) = if experiment.method == "ab" {
        let weights: Vec<u32> = experiment.arms.iter().map(|arm| arm.weight).collect();
        let index = bucketing::bucket(&experiment.id.to_string(), &run_id.to_string(), &weights);
        (index, "A/B bucket of the run id".to_owned())
    } else {
        let evidence = evidence(db, experiment, Utc::now()).await?;
        let posteriors: Vec<Posterior> = evidence
            .iter()
            .map(|e| bandit::posterior(model(&experiment.reward), e))
            .collect();
        let exposures: Vec<u64> = evidence.iter().map(|e| e.exposures).collect();
        let mut rng = rand_chacha::ChaCha8Rng::from_os_rng();
        let min = u64::try_from(experiment.min_exposures).unwrap_or(1);
        let index = bandit::choose_arm(&posteriors, &exposures, min, &mut rng);
        let how = if exposures.iter().any(|&n| n < min) {
            format!("bandit warm-up: every arm needs {min} measured runs")
        } else {
            "Thompson sample of the arms' posteriors".to_owned()
        };
        (index, how)
    };
    let arm = experiment
        .arms
        .get(index)
        .ok_or_else(|| anyhow::anyhow!("experiment {} has no arm {index}", experiment.id))?;
    let stored = sqlx::query_scalar!(
        "INSERT INTO analytics.assignments (run_id, experiment_id, tenant, arm) VALUES ($1, $2, $3, $4)
         ON CONFLICT (run_id) DO UPDATE SET run_id = EXCLUDED.run_id RETURNING arm",
        run_id,
        experiment.id,
        experiment.tenant,
        arm.name
    )
    .fetch_one(db)
    .await?;
    if stored != arm.name {
        return arm_named(experiment, &stored);
    }
    Ok((arm.clone(), how))
}

fn arm_named(experiment: &Experiment, name: &str) -> anyhow::Result<(Arm, String)> {
    let arm = experiment.arms.iter().find(|arm| arm.name == name).cloned();
    let arm =
        arm.ok_or_else(|| anyhow::anyhow!("experiment {} has no arm `{name}`", experiment.id))?;
    Ok((arm, "assigned earlier".to_owned()))
}

/// Each arm's evidence: one exposure per assigned run whose reward is measured.
pub async fn evidence(
    db: &PgPool,
    experiment: &Experiment,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<ArmEvidence>> {
    let rewards = crate::rewards::per_run(db, experiment.id, &experiment.reward, now).await?;
    let mut by_arm: HashMap<&str, ArmEvidence> = HashMap::new();
    for (arm, reward) in &rewards {
        let evidence = by_arm.entry(arm.as_str()).or_default();
        match experiment.reward.as_str() {
            "views_48h" => evidence.record_views(*reward),
            "ctr" => evidence.record_completion(*reward),
            _ => evidence.record_value(reward.clamp(0.0, 1.0)),
        }
    }
    Ok(experiment
        .arms
        .iter()
        .map(|arm| by_arm.remove(arm.name.as_str()).unwrap_or_default())
        .collect())
}

/// The mean reward an arm measured, on the reward's own scale.
fn mean_reward(reward: &str, evidence: &ArmEvidence) -> Option<f64> {
    let exposures = evidence.exposures as f64;
    (evidence.exposures > 0).then(|| match reward {
        "views_48h" => (evidence.sum / exposures).exp_m1(),
        "ctr" => evidence.successes / exposures,
        _ => evidence.sum / exposures,
    })
}

/// The experiment with each arm's posterior, P(best) and exposures, and the promotion verdict.
pub async fn results(
    db: &PgPool,
    experiment: Experiment,
    now: DateTime<Utc>,
) -> anyhow::Result<ExperimentResults> {
    let evidence = evidence(db, &experiment, now).await?;
    let assigned: HashMap<String, i64> = sqlx::query!(
        r#"SELECT arm, count(*) AS "count!" FROM analytics.assignments WHERE experiment_id = $1 GROUP BY arm"#,
        experiment.id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|row| (row.arm, row.count))
    .collect();
    let posteriors: Vec<Posterior> = evidence
        .iter()
        .map(|e| bandit::posterior(model(&experiment.reward), e))
        .collect();
    // Seeded by the experiment, so the same evidence reads the same P(best) every time.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(experiment.id.as_u64_pair().0);
    let probability_best = bandit::probability_best(&posteriors, DRAWS, &mut rng);
    let exposures: Vec<u64> = evidence.iter().map(|e| e.exposures).collect();
    let min = u64::try_from(experiment.min_exposures).unwrap_or(1);
    let promotion = bandit::promotion(&probability_best, &exposures, min, experiment.promote_at);
    let verdict = match (&experiment.state[..], &promotion) {
        ("promoted", _) => format!(
            "promoted `{}`",
            experiment.winner.clone().unwrap_or_default()
        ),
        ("stopped", _) => "stopped without a winner".to_owned(),
        (_, Some(promotion)) => format!(
            "`{}` wins with P(best) {:.3}; promoted at the next learning pass",
            experiment
                .arms
                .get(promotion.arm)
                .map(|a| a.name.as_str())
                .unwrap_or_default(),
            promotion.probability_best
        ),
        (_, None) if exposures.iter().any(|&n| n < min) => {
            format!("collecting: every arm needs {min} measured runs")
        }
        (_, None) => format!("no arm has P(best) ≥ {} yet", experiment.promote_at),
    };
    let results = experiment
        .arms
        .iter()
        .zip(evidence.iter().zip(posteriors).zip(probability_best))
        .map(
            |(arm, ((evidence, posterior), probability_best))| ArmResult {
                name: arm.name.clone(),
                assigned: assigned.get(&arm.name).copied().unwrap_or(0),
                exposures: evidence.exposures,
                mean_reward: mean_reward(&experiment.reward, evidence),
                posterior,
                probability_best,
            },
        )
        .collect();
    Ok(ExperimentResults {
        experiment,
        results,
        verdict,
    })
}

/// Applies the promotion rule: a winner's parameters become the tenant's config (a new version
/// authored by the experiment) and the experiment ends. Returns the winner's name when promoted.
pub async fn promote_if_won(
    db: &PgPool,
    experiment: Experiment,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    if experiment.state != "running" {
        return Ok(None);
    }
    let results = results(db, experiment, now).await?;
    let probabilities: Vec<f64> = results.results.iter().map(|r| r.probability_best).collect();
    let exposures: Vec<u64> = results.results.iter().map(|r| r.exposures).collect();
    let experiment = results.experiment;
    let min = u64::try_from(experiment.min_exposures).unwrap_or(1);
    let Some(promotion) = bandit::promotion(&probabilities, &exposures, min, experiment.promote_at)
    else {
        return Ok(None);
    };
    let Some(winner) = experiment.arms.get(promotion.arm) else {
        return Ok(None);
    };
    let ended = sqlx::query!(
        "UPDATE analytics.experiments SET state = 'promoted', winner = $2, ended_at = now() WHERE id = $1 AND state = 'running'",
        experiment.id,
        winner.name
    )
    .execute(db)
    .await?;
    if ended.rows_affected() == 0 {
        return Ok(None);
    }
    let mut document = configs::current(db, &experiment.tenant)
        .await?
        .map(|c| c.document)
        .unwrap_or_default();
    overlay(&mut document, &winner.params)?;
    let reason = format!(
        "promoted arm `{}` of experiment {} (P(best) {:.3})",
        winner.name, experiment.id, promotion.probability_best
    );
    configs::write(
        db,
        &experiment.tenant,
        &document,
        &format!("experiment:{}", experiment.id),
        &reason,
    )
    .await?;
    crate::alerts::notify(
        db,
        &experiment.tenant,
        "experiment.promoted",
        json!({ "experiment_id": experiment.id, "name": experiment.name, "winner": winner.name, "probability_best": promotion.probability_best }),
    )
    .await?;
    tracing::info!(experiment = %experiment.id, winner = winner.name, "experiment promoted its winner");
    Ok(Some(winner.name.clone()))
}

/// Sets on `base` every field `over` sets.
pub fn overlay(base: &mut GenerationDefaults, over: &GenerationDefaults) -> anyhow::Result<()> {
    let (Value::Object(mut merged), Value::Object(over)) =
        (serde_json::to_value(&*base)?, serde_json::to_value(over)?)
    else {
        anyhow::bail!("a config document is not an object");
    };
    for (field, value) in over {
        if is_unset(&value) {
            continue;
        }
        match (merged.get_mut(&field), &value) {
            (Some(Value::Object(inner)), Value::Object(values)) => {
                for (key, v) in values.iter().filter(|(_, v)| !v.is_null()) {
                    inner.insert(key.clone(), v.clone());
                }
            }
            _ => {
                merged.insert(field, value);
            }
        }
    }
    *base = serde_json::from_value(Value::Object(merged))?;
    Ok(())
}
