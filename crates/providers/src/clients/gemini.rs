//! Gemini `generateContent` for structured text, with the JSON Schema translated into the OpenAPI
//! subset `responseSchema` accepts.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use crate::{
    capability::{Text, TextReply, TextRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

use super::json_reply;

/// The provider's name in configuration, usage and prices.
pub const PROVIDER: &str = "gemini";
/// Where the API lives unless configured otherwise.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// Where to call, with which key and model.
#[derive(Debug, Clone)]
pub struct GeminiConfig {
    /// Ends before `/v1beta/models/…`, e.g. `https://generativelanguage.googleapis.com`.
    pub base_url: String,
    pub api_key: shared::config::Secret,
    /// e.g. `gemini-2.0-flash` (a leading `models/` is accepted).
    pub model: String,
}

impl GeminiConfig {
    /// The public API with this key and model.
    pub fn new(api_key: shared::config::Secret, model: impl Into<String>) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key,
            model: model.into(),
        }
    }
}

pub struct Gemini {
    config: GeminiConfig,
    http: reqwest::Client,
}

impl Gemini {
    pub fn new(config: GeminiConfig) -> Result<Self, CallError> {
        Ok(Self {
            config,
            http: http::client()?,
        })
    }
}

/// Finish and block reasons that mean the content policy stopped the answer.
const REFUSALS: &[&str] = &[
    "SAFETY",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_SAFETY",
];

#[async_trait]
impl Client<Text> for Gemini {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn call(&self, request: &TextRequest) -> Result<Answer<TextReply>, CallError> {
        let model = self.config.model.trim_start_matches("models/");
        let url = format!(
            "{}/v1beta/models/{model}:generateContent",
            self.config.base_url.trim_end_matches('/')
        );
        let mut body = json!({
            "contents": [{ "role": "user", "parts": [{ "text": request.prompt }] }],
            "generationConfig": {
                "temperature": request.temperature,
                "maxOutputTokens": request.max_tokens,
                "responseMimeType": "application/json",
                "responseSchema": response_schema(&request.schema),
            },
        });
        // An empty text part is rejected, so no system instruction at all when there is none.
        if !request.system.trim().is_empty() {
            body["systemInstruction"] = json!({ "parts": [{ "text": request.system }] });
        }
        let response = self
            .http
            .post(&url)
            .header("x-goog-api-key", self.config.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| http::network(&url, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| http::network(&url, &e))?;
        if !status.is_success() {
            return Err(classify(
                http::classify(status, &headers, &text, &[]),
                &text,
            ));
        }
        parse(&text)
    }
}

/// Gemini-specific corrections to the usual status mapping: an invalid key is a 400
/// `INVALID_ARGUMENT` with reason `API_KEY_INVALID`, and a 429 names its wait in a `RetryInfo`
/// detail (`"retryDelay": "37s"`) rather than a header.
fn classify(error: CallError, body: &str) -> CallError {
    match error {
        CallError::Refused { detail } if body.contains("API_KEY_INVALID") => {
            CallError::Auth { detail }
        }
        CallError::Transient {
            detail,
            retry_after: None,
        } => CallError::Transient {
            detail,
            retry_after: retry_delay(body),
        },
        other => other,
    }
}

/// The `retryDelay` of a `google.rpc.RetryInfo` error detail, e.g. `"37s"` or `"1.5s"`.
fn retry_delay(body: &str) -> Option<Duration> {
    let error: Value = serde_json::from_str(body).ok()?;
    error["error"]["details"]
        .as_array()?
        .iter()
        .find_map(|d| d["retryDelay"].as_str())
        .and_then(|d| d.trim().strip_suffix('s'))
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The JSON text of the first candidate and its token usage.
fn parse(body: &str) -> Result<Answer<TextReply>, CallError> {
    let reply = http::parse_json(body)?;
    let usage = &reply["usageMetadata"];
    let count = |name: &str| usage[name].as_u64().unwrap_or(0);
    let units = Units {
        // The prompt count already includes the cached content.
        input_tokens: count("promptTokenCount"),
        cached_tokens: count("cachedContentTokenCount"),
        // Thinking models bill their thoughts as output.
        output_tokens: count("candidatesTokenCount") + count("thoughtsTokenCount"),
        ..Units::default()
    };
    if let Some(reason) = reply["promptFeedback"]["blockReason"].as_str() {
        return Err(CallError::Refused {
            detail: format!("the prompt was blocked: {reason}"),
        });
    }
    let candidate = &reply["candidates"][0];
    if let Some(reason) = candidate["finishReason"]
        .as_str()
        .filter(|r| REFUSALS.contains(r))
    {
        return Err(CallError::Refused {
            detail: format!("the answer was blocked: {reason}"),
        });
    }
    let text: String = candidate["content"]["parts"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p["thought"] != true)
                .filter_map(|p| p["text"].as_str())
                .collect()
        })
        .unwrap_or_default();
    if text.trim().is_empty() {
        return Err(CallError::InvalidOutput {
            detail: format!(
                "the reply has no text (finish reason {})",
                candidate["finishReason"].as_str().unwrap_or("none")
            ),
            units,
        });
    }
    let json = json_reply::parse(&text, units)?;
    Ok(Answer {
        reply: TextReply { json },
        units,
        model: reply["modelVersion"].as_str().map(str::to_owned),
    })
}

/// The keywords of Gemini's `Schema` object (a subset of OpenAPI 3.0); anything else is rejected
/// with a 400, so it is dropped. The chain still checks the reply against the full schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// A JSON Schema translated into Gemini's `responseSchema`: unsupported keywords
/// (`additionalProperties`, `$schema`, `$id`, `const`, …) removed at every level, `type` arrays
/// such as `["string", "null"]` turned into one type plus `nullable`, `oneOf` read as `anyOf`, a
/// string `const` as a one-value `enum`, and type names upper-cased (`STRING`, `OBJECT`, …).
pub fn response_schema(schema: &Value) -> Value {
    let Value::Object(object) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        let key = if key == "oneOf" {
            "anyOf"
        } else {
            key.as_str()
        };
        match key {
            "type" => {
                let (kind, nullable) = gemini_type(value);
                if let Some(kind) = kind {
                    out.insert("type".to_owned(), Value::String(kind));
                }
                if nullable {
                    out.insert("nullable".to_owned(), Value::Bool(true));
                }
            }
            "const" => {
                if let Value::String(only) = value {
                    out.entry("enum").or_insert_with(|| json!([only]));
                }
            }
            "properties" => {
                if let Value::Object(properties) = value {
                    let properties = properties
                        .iter()
                        .map(|(name, sub)| (name.clone(), response_schema(sub)))
                        .collect();
                    out.insert(key.to_owned(), Value::Object(properties));
                }
            }
            "items" => {
                out.insert(key.to_owned(), response_schema(value));
            }
            "anyOf" => {
                if let Value::Array(options) = value {
                    out.insert(
                        key.to_owned(),
                        Value::Array(options.iter().map(response_schema).collect()),
                    );
                }
            }
            _ if SCHEMA_KEYWORDS.contains(&key) => {
                out.insert(key.to_owned(), value.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// The upper-cased type and whether `null` was among the allowed types.
fn gemini_type(value: &Value) -> (Option<String>, bool) {
    match value {
        Value::String(kind) if kind == "null" => (None, true),
        Value::String(kind) => (Some(kind.to_uppercase()), false),
        Value::Array(kinds) => {
            let names: Vec<&str> = kinds.iter().filter_map(Value::as_str).collect();
            let kind = names
                .iter()
                .find(|k| **k != "null")
                .map(|k| k.to_uppercase());
            (kind, names.contains(&"null"))
        }
        _ => (None, false),
    }
}
