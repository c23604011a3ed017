//! Anthropic Messages API (`POST /v1/messages`) for structured text: Anthropic has no
//! `response_format`, so the JSON Schema goes into the system prompt and the first text block is
//! parsed as JSON.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::{
    capability::{Text, TextReply, TextRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

use super::json_reply;

/// The provider's name in configuration, usage and prices.
pub const PROVIDER: &str = "anthropic";
/// Where the API lives unless configured otherwise (`ANTHROPIC_BASE_URL`).
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version every request declares.
pub const API_VERSION: &str = "2023-06-01";

/// Where to call, with which key and model.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// Ends before `/v1/messages`, e.g. `https://api.anthropic.com`.
    pub base_url: String,
    pub api_key: shared::config::Secret,
    /// e.g. `claude-3-5-haiku-latest`.
    pub model: String,
}

impl AnthropicConfig {
    /// The public API with this key and model.
    pub fn new(api_key: shared::config::Secret, model: impl Into<String>) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key,
            model: model.into(),
        }
    }
}

pub struct Anthropic {
    config: AnthropicConfig,
    http: reqwest::Client,
}

impl Anthropic {
    pub fn new(config: AnthropicConfig) -> Result<Self, CallError> {
        Ok(Self {
            config,
            http: http::client()?,
        })
    }
}

/// Exhausted credit arrives as a 400 `invalid_request_error` ("Your credit balance is too low"),
/// a 402 `billing_error`, or a 429 whose `error_code` is `enforced_spend_limit_reached`.
const QUOTA_MARKERS: &[&str] = &[
    "credit balance",
    "billing_error",
    "enforced_spend_limit_reached",
];

#[async_trait]
impl Client<Text> for Anthropic {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn call(&self, request: &TextRequest) -> Result<Answer<TextReply>, CallError> {
        let url = format!("{}/v1/messages", self.config.base_url.trim_end_matches('/'));
        let body = json!({
            "model": self.config.model,
            "max_tokens": request.max_tokens,
            "system": json_reply::system_with_schema(&request.system, &request.schema),
            "messages": [{ "role": "user", "content": request.prompt }],
            // Anthropic takes 0 to 1 (OpenAI-style requests may ask for up to 2).
            "temperature": request.temperature.clamp(0.0, 1.0),
        });
        let response = self
            .http
            .post(&url)
            .header("x-api-key", self.config.api_key.expose())
            .header("anthropic-version", API_VERSION)
            .json(&body)
            .send()
            .await
            .map_err(|e| http::network(&url, &e))?;
        let text = http::read_text(&url, response, QUOTA_MARKERS).await?;
        parse(&text)
    }
}

/// The JSON in the first text block of a message, and its token usage.
fn parse(body: &str) -> Result<Answer<TextReply>, CallError> {
    let reply = http::parse_json(body)?;
    let usage = &reply["usage"];
    let count = |name: &str| usage[name].as_u64().unwrap_or(0);
    let cache_read = count("cache_read_input_tokens");
    let units = Units {
        input_tokens: count("input_tokens") + cache_read + count("cache_creation_input_tokens"),
        cached_tokens: cache_read,
        output_tokens: count("output_tokens"),
        ..Units::default()
    };
    let text = reply["content"]
        .as_array()
        .and_then(|blocks| {
            blocks
                .iter()
                .find(|b| b["type"] == "text")
                .and_then(|b| b["text"].as_str())
        })
        .map(str::to_owned);
    if reply["stop_reason"] == "refusal" {
        return Err(CallError::Refused {
            detail: format!(
                "the model refused: {}",
                http::excerpt(text.as_deref().unwrap_or("stop_reason refusal"))
            ),
        });
    }
    let text = text.ok_or_else(|| CallError::InvalidOutput {
        detail: "the message has no text block".to_owned(),
        units,
    })?;
    let json: Value = json_reply::parse(&text, units)?;
    Ok(Answer {
        reply: TextReply { json },
        units,
        model: reply["model"].as_str().map(str::to_owned),
    })
}
