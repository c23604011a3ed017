//! A new run's parameters: what the request sets, and for the choices it leaves open (genre,
//! tone, length, language) what analytics recommends — an experiment's arm, a stopped
//! experiment's best arm, or the tenant's config — recorded on the run with the reason and the
//! story's context. Analytics being down never stops a run: it gets the fleet defaults and says why.

use messages::{catalogue::Catalogue, jobs::LearnedContext};
use serde::Deserialize;
use serde_json::json;
use shared::{peer::Peer, ApiError};
use uuid::Uuid;

use crate::{
    params::{RunParams, RunRecommendation, RunRequest},
    AppState,
};

/// The parts of analytics' answer the orchestrator uses.
#[derive(Debug, Deserialize)]
struct Answer {
    params: Suggested,
    config_version: Option<i32>,
    experiment_id: Option<Uuid>,
    arm: Option<String>,
    reason: String,
    #[serde(default)]
    insights: Vec<String>,
    #[serde(default)]
    best_titles: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Suggested {
    genre: Option<String>,
    tone: Option<String>,
    length_seconds: Option<u32>,
    language: Option<String>,
}

/// A fresh run id and the run's validated parameters.
pub async fn resolve(
    state: &AppState,
    tenant: &str,
    request: RunRequest,
) -> Result<(Uuid, RunParams), ApiError> {
    let run_id = Uuid::now_v7();
    let params = resolve_run(
        state.analytics.as_ref(),
        &state.catalogue,
        tenant,
        run_id,
        request,
    )
    .await?;
    Ok((run_id, params))
}

/// The validated parameters of the run `run_id` of `tenant` (the scheduler's runs come here too).
pub async fn resolve_run(
    analytics: Option<&Peer>,
    catalogue: &Catalogue,
    tenant: &str,
    run_id: Uuid,
    mut request: RunRequest,
) -> Result<RunParams, ApiError> {
    let fixed = request.fixed_choices();
    let Some(analytics) = analytics.filter(|_| fixed.len() < 4) else {
        return request.validate(catalogue);
    };
    let recommendation = match ask(analytics, tenant, run_id, &fixed).await {
        Ok(answer) => {
            let suggested = answer.params;
            request.genre = request
                .genre
                .or(suggested.genre.filter(|g| catalogue.has_genre(g)));
            request.tone = request
                .tone
                .or(suggested.tone.filter(|t| catalogue.has_tone(t)));
            request.language = request
                .language
                .or(suggested.language.filter(|l| catalogue.has_language(l)));
            request.length_seconds = request
                .length_seconds
                .or(suggested.length_seconds.filter(|n| (10..=180).contains(n)));
            RunRecommendation {
                config_version: answer.config_version,
                experiment_id: answer.experiment_id,
                arm: answer.arm,
                reason: answer.reason,
                context: LearnedContext {
                    insights: answer.insights,
                    best_titles: answer.best_titles,
                },
            }
        }
        Err(error) => {
            tracing::warn!(%run_id, error = format!("{error:#}"), "analytics gave no recommendation; using the fleet defaults");
            RunRecommendation {
                config_version: None,
                experiment_id: None,
                arm: None,
                reason: format!("analytics unavailable ({error:#}); fleet defaults"),
                context: LearnedContext::default(),
            }
        }
    };
    let mut params = request.validate(catalogue)?;
    params.recommendation = Some(recommendation);
    Ok(params)
}

async fn ask(
    analytics: &Peer,
    tenant: &str,
    run_id: Uuid,
    fixed: &[&str],
) -> anyhow::Result<Answer> {
    Ok(analytics
        .request(reqwest::Method::POST, "/v1/analytics/recommendations")?
        .json(&json!({ "tenant": tenant, "run_id": run_id, "fixed": fixed }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}
