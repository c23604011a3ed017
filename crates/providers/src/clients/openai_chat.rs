//! OpenAI-compatible chat completions (OpenAI, Mistral, Groq, Together, HF router, Ollama, vLLM, LM Studio)
//! asking for JSON through `response_format: json_schema`.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::{
    capability::{Text, TextReply, TextRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

/// Where to call and with which key.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The provider's name in configuration and prices (`openai`, `mistral`, `ollama` …).
    pub provider: String,
    /// Ends before `/chat/completions`, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// `None` for local servers that take no key.
    pub api_key: Option<shared::config::Secret>,
    pub model: String,
}

pub struct OpenAiChat {
    endpoint: Endpoint,
    http: reqwest::Client,
}

impl OpenAiChat {
    pub fn new(endpoint: Endpoint) -> Result<Self, CallError> {
        Ok(Self {
            endpoint,
            http: http::client()?,
        })
    }
}

/// OpenAI reports exhausted credit as a 429 with this code.
const QUOTA_MARKERS: &[&str] = &["insufficient_quota"];

#[async_trait]
impl Client<Text> for OpenAiChat {
    fn provider(&self) -> &str {
        &self.endpoint.provider
    }

    fn model(&self) -> &str {
        &self.endpoint.model
    }

    async fn call(&self, request: &TextRequest) -> Result<Answer<TextReply>, CallError> {
        let url = format!(
            "{}/chat/completions",
            self.endpoint.base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.endpoint.model,
            "messages": [
                { "role": "system", "content": request.system },
                { "role": "user", "content": request.prompt }
            ],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "response_format": { "type": "json_schema", "json_schema": {
                "name": request.schema_name, "schema": strict_schema(&request.schema), "strict": true
            } }
        });
        let mut call = self.http.post(&url).json(&body);
        if let Some(key) = &self.endpoint.api_key {
            call = call.bearer_auth(key.expose());
        }
        let response = call.send().await.map_err(|e| http::network(&url, &e))?;
        let text = http::read_text(&url, response, QUOTA_MARKERS).await?;
        parse(&text)
    }
}

/// The schema as strict mode accepts it: string length bounds are not supported there, so they
/// are left out of the request (the chain still checks the reply against the full schema).
fn strict_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !matches!(key.as_str(), "minLength" | "maxLength"))
                .map(|(key, value)| (key.clone(), strict_schema(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strict_schema).collect()),
        other => other.clone(),
    }
}

/// The JSON content of a chat completion and its token usage.
fn parse(body: &str) -> Result<Answer<TextReply>, CallError> {
    let reply = http::parse_json(body)?;
    let usage = &reply["usage"];
    let units = Units {
        input_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
        cached_tokens: usage["prompt_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap_or(0),
        output_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
        ..Units::default()
    };
    let message = &reply["choices"][0]["message"];
    if let Some(refusal) = message["refusal"].as_str() {
        return Err(CallError::Refused {
            detail: format!("the model refused: {}", http::excerpt(refusal)),
        });
    }
    let content = message["content"]
        .as_str()
        .ok_or_else(|| CallError::InvalidOutput {
            detail: "the reply has no message content".to_owned(),
            units,
        })?;
    let json: Value =
        serde_json::from_str(strip_fences(content)).map_err(|e| CallError::InvalidOutput {
            detail: format!("the content is not JSON: {e}"),
            units,
        })?;
    Ok(Answer {
        reply: TextReply { json },
        units,
        model: reply["model"].as_str().map(str::to_owned),
    })
}

/// Some local models wrap JSON in a Markdown code fence even when asked not to.
pub(crate) fn strip_fences(content: &str) -> &str {
    let trimmed = content.trim();
    let Some(inner) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let inner = inner.trim_start_matches("json");
    inner.strip_suffix("```").unwrap_or(inner).trim()
}
