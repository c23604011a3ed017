//! OpenAI moderation (`omni-moderation-latest`) of text and images through `POST /moderations`.
//! Free of charge, so no units are reported.

use std::collections::BTreeMap;

use async_trait::async_trait;
use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde_json::{json, Value};

use crate::{
    capability::{CategoryScore, Moderation, ModerationReply, ModerationRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

/// OpenAI's API root, before `/moderations`.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The moderation model that also classifies images.
pub const DEFAULT_MODEL: &str = "omni-moderation-latest";

/// Where to call, with which key and model.
#[derive(Debug, Clone)]
pub struct OpenAiModerationConfig {
    /// Ends before `/moderations`, e.g. [`DEFAULT_BASE_URL`].
    pub base_url: String,
    pub api_key: shared::config::Secret,
    /// Usually [`DEFAULT_MODEL`].
    pub model: String,
}

/// Moderation of text and images by OpenAI's moderation endpoint.
pub struct OpenAiModeration {
    config: OpenAiModerationConfig,
    http: reqwest::Client,
}

impl OpenAiModeration {
    pub fn new(config: OpenAiModerationConfig) -> Result<Self, CallError> {
        Ok(Self {
            config,
            http: http::client()?,
        })
    }

    /// One moderation call with these input parts: its results and the model that answered.
    async fn moderate(&self, input: Vec<Value>) -> Result<(Vec<Value>, Option<String>), CallError> {
        let url = format!("{}/moderations", self.config.base_url.trim_end_matches('/'));
        let body = json!({ "model": self.config.model, "input": input });
        let response = self
            .http
            .post(&url)
            .bearer_auth(self.config.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| http::network(&url, &e))?;
        let text = http::read_text(&url, response, QUOTA_MARKERS).await?;
        let mut reply = http::parse_json(&text)?;
        let model = reply["model"].as_str().map(str::to_owned);
        match reply.get_mut("results").map(Value::take) {
            Some(Value::Array(results)) if !results.is_empty() => Ok((results, model)),
            _ => Err(CallError::invalid("the reply has no results")),
        }
    }
}

/// OpenAI reports exhausted credit as a 429 with this code.
const QUOTA_MARKERS: &[&str] = &["insufficient_quota"];

/// The input parts of each call: the endpoint takes at most one image per request, so the text
/// goes with the first image and every further image gets a call of its own.
fn batches(request: &ModerationRequest) -> Vec<Vec<Value>> {
    let image = |png: &[u8]| {
        json!({
            "type": "image_url",
            "image_url": { "url": format!("data:image/png;base64,{}", STANDARD.encode(png)) }
        })
    };
    let mut first = Vec::new();
    if let Some(text) = request.text.as_deref().filter(|t| !t.trim().is_empty()) {
        first.push(json!({ "type": "text", "text": text }));
    }
    let mut images = request.images.iter();
    if let Some(png) = images.next() {
        first.push(image(png));
    }
    let mut batches = Vec::new();
    if !first.is_empty() {
        batches.push(first);
    }
    batches.extend(images.map(|png| vec![image(png)]));
    batches
}

/// Flagged if any result is; per category flagged if any result flags it, with the highest score.
fn combine(results: &[Value]) -> Result<ModerationReply, CallError> {
    let mut flagged = false;
    let mut categories: BTreeMap<String, (bool, f64)> = BTreeMap::new();
    for result in results {
        flagged |= result["flagged"]
            .as_bool()
            .ok_or_else(|| CallError::invalid("a result has no flagged verdict"))?;
        if let Some(names) = result["categories"].as_object() {
            for (name, value) in names {
                let entry = categories.entry(name.clone()).or_insert((false, 0.0));
                entry.0 |= value.as_bool().unwrap_or(false);
            }
        }
        if let Some(scores) = result["category_scores"].as_object() {
            for (name, value) in scores {
                let entry = categories.entry(name.clone()).or_insert((false, 0.0));
                entry.1 = entry.1.max(value.as_f64().unwrap_or(0.0));
            }
        }
    }
    Ok(ModerationReply {
        flagged,
        categories: categories
            .into_iter()
            .map(|(category, (flagged, score))| CategoryScore {
                category,
                flagged,
                score,
            })
            .collect(),
    })
}

#[async_trait]
impl Client<Moderation> for OpenAiModeration {
    fn provider(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn call(
        &self,
        request: &ModerationRequest,
    ) -> Result<Answer<ModerationReply>, CallError> {
        let replies =
            futures::future::try_join_all(batches(request).into_iter().map(|b| self.moderate(b)))
                .await?;
        let model = replies.iter().find_map(|(_, model)| model.clone());
        let results: Vec<Value> = replies.into_iter().flat_map(|(r, _)| r).collect();
        Ok(Answer {
            reply: combine(&results)?,
            units: Units::default(),
            model,
        })
    }
}
