//! Pre-flight cost estimate of a run: the units each paid step will likely consume, priced with the
//! same dated price table the provider layer bills with.

use std::sync::Arc;

use axum::extract::State;
use providers::{
    pricing::{cost_micros, PriceTable},
    units::Units,
};
use serde::{Deserialize, Serialize};
use shared::{
    auth::{Principal, Role},
    extract::Json,
    ApiError, ApiResult,
};
use utoipa::ToSchema;

/// Narration pace used for the estimate: about 2.5 words, 15 characters, per second.
const CHARACTERS_PER_SECOND: u64 = 15;
/// A story prompt (instructions and schema) and its metadata overhead, in tokens.
const STORY_PROMPT_TOKENS: u64 = 1_200;
const STORY_OVERHEAD_TOKENS: u64 = 400;
/// Tokens per narrated second (2.5 words × 1.4 tokens per word, rounded up).
const STORY_TOKENS_PER_SECOND: u64 = 4;
/// One scene image per this many seconds, at least three.
const SECONDS_PER_SCENE: u64 = 6;

/// A run's parameters; each step names `provider:model` (offline, free, when absent).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EstimateRequest {
    pub length_seconds: u64,
    /// Scene images; from the length when absent.
    #[serde(default)]
    pub scenes: Option<u64>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub speech: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub music: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepEstimate {
    pub step: String,
    pub provider: String,
    pub model: String,
    #[schema(value_type = Object)]
    pub units: Units,
    pub cost_micros: u64,
    /// False when the price table has no entry for this model (then it costs 0 here).
    pub priced: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Estimate {
    pub steps: Vec<StepEstimate>,
    pub total_cost_micros: u64,
    pub assumptions: String,
}

fn step(
    prices: &PriceTable,
    name: &str,
    field: &str,
    choice: Option<&str>,
    units: Units,
) -> Result<StepEstimate, ApiError> {
    let (provider, model) = match choice {
        None | Some("offline") => ("offline", "offline"),
        Some(text) => text.split_once(':').ok_or_else(|| {
            ApiError::validation(
                field,
                "must be `provider:model` (e.g. `openai:gpt-4o-mini`)",
            )
        })?,
    };
    let today = chrono::Utc::now().date_naive();
    let price = prices.price(provider, model, today);
    let free = provider == "offline";
    Ok(StepEstimate {
        step: name.to_owned(),
        provider: provider.to_owned(),
        model: model.to_owned(),
        units,
        cost_micros: price.map_or(0, |p| cost_micros(p, &units)),
        priced: free || price.is_some(),
    })
}

/// The estimated cost of each paid step of a run and the total.
#[utoipa::path(post, path = "/v1/billing/estimate", operation_id = "estimate_run_cost", request_body = EstimateRequest, security(("bearer" = [])),
    responses((status = 200, body = Estimate), (status = 401, body = shared::error::ErrorBody),
              (status = 422, body = shared::error::ErrorBody)))]
pub async fn estimate(
    principal: Principal,
    State(prices): State<Arc<PriceTable>>,
    Json(request): Json<EstimateRequest>,
) -> ApiResult<Json<Estimate>> {
    principal.require(Role::Viewer)?;
    if !(5..=3600).contains(&request.length_seconds) {
        return Err(ApiError::validation(
            "length_seconds",
            "must be between 5 and 3600",
        ));
    }
    let seconds = request.length_seconds;
    let scenes = request
        .scenes
        .unwrap_or_else(|| seconds.div_ceil(SECONDS_PER_SCENE).max(3));
    if !(1..=500).contains(&scenes) {
        return Err(ApiError::validation("scenes", "must be between 1 and 500"));
    }
    let steps = vec![
        step(
            &prices,
            "story",
            "text",
            request.text.as_deref(),
            Units {
                input_tokens: STORY_PROMPT_TOKENS,
                output_tokens: seconds * STORY_TOKENS_PER_SECOND + STORY_OVERHEAD_TOKENS,
                ..Units::default()
            },
        )?,
        step(
            &prices,
            "speech",
            "speech",
            request.speech.as_deref(),
            Units {
                characters: seconds * CHARACTERS_PER_SECOND,
                ..Units::default()
            },
        )?,
        step(
            &prices,
            "images",
            "image",
            request.image.as_deref(),
            Units {
                images: scenes,
                output_tokens: scenes * providers::capability::IMAGE_OUTPUT_TOKENS,
                ..Units::default()
            },
        )?,
        step(
            &prices,
            "music",
            "music",
            request.music.as_deref(),
            Units {
                millis: seconds * 1000,
                ..Units::default()
            },
        )?,
    ];
    Ok(Json(Estimate {
        total_cost_micros: steps.iter().map(|s| s.cost_micros).sum(),
        steps,
        assumptions: format!(
            "{CHARACTERS_PER_SECOND} narrated characters and {STORY_TOKENS_PER_SECOND} story tokens per second plus {STORY_PROMPT_TOKENS} prompt and {STORY_OVERHEAD_TOKENS} metadata tokens; one image per {SECONDS_PER_SCENE} s (at least 3), at most {} output tokens each where images are priced by tokens; music billed per second of track; moderation free; no retries or cache hits",
            providers::capability::IMAGE_OUTPUT_TOKENS
        ),
    }))
}
