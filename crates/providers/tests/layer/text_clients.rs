//! The Anthropic, Gemini and Replicate clients against fake servers speaking each wire format:
//! what they send, what they read back, usage, and how each error is classified.

use std::time::Duration;

use anyhow::{anyhow, bail};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use providers::{
    capability::{ImageRequest, MusicRequest, TextRequest},
    clients::{
        anthropic::{Anthropic, AnthropicConfig},
        gemini::{self, Gemini, GeminiConfig},
        replicate::{ReplicateConfig, ReplicateImage, ReplicateMusic, ReplicateText},
    },
    CallError, Capability, Client, Units,
};
use serde_json::{json, Value};
use shared::config::Secret;
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

const ANTHROPIC_KEY: &str = "sk-ant-test-key";
const GEMINI_KEY: &str = "gemini-test-key";
const REPLICATE_TOKEN: &str = "r8_test_token";
const FAST_POLL: Duration = Duration::from_millis(10);

/// A request for `{"title": …}`; its schema has keywords Gemini rejects.
fn text_request() -> TextRequest {
    TextRequest {
        task: "story".into(),
        params: json!({ "topic": "harbour" }),
        system: "You write short video scripts.".into(),
        prompt: "Write a title about a quiet harbour.".into(),
        schema_name: "story".into(),
        schema: json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": { "title": { "type": "string", "minLength": 1 } },
            "required": ["title"],
            "additionalProperties": false
        }),
        temperature: 0.5,
        max_tokens: 800,
    }
}

fn image_request() -> ImageRequest {
    ImageRequest {
        prompt: "a quiet harbour at dawn".into(),
        negative_prompt: "text, watermark".into(),
        width: 768,
        height: 1344,
        seed: 42,
    }
}

fn music_request() -> MusicRequest {
    MusicRequest {
        prompt: "calm ambient piano".into(),
        duration_ms: 12_001,
        seed: 7,
    }
}

/// The error a call must have returned.
fn failure<T>(result: Result<T, CallError>) -> anyhow::Result<CallError> {
    match result {
        Ok(_) => bail!("expected an error, got a reply"),
        Err(error) => Ok(error),
    }
}

fn is_transient_after(error: &CallError, wait: Duration) -> bool {
    matches!(error, CallError::Transient { retry_after: Some(d), .. } if *d == wait)
}

/// The JSON bodies the fake received on `route`.
async fn bodies(server: &MockServer, route: &str) -> anyhow::Result<Vec<Value>> {
    let requests = server
        .received_requests()
        .await
        .ok_or_else(|| anyhow!("request recording is off"))?;
    requests
        .iter()
        .filter(|r| r.url.path() == route)
        .map(|r| Ok(r.body_json::<Value>()?))
        .collect()
}

// ---------------------------------------------------------------- Anthropic

const MESSAGES: &str = "/v1/messages";

fn anthropic(server: &MockServer) -> anyhow::Result<Anthropic> {
    let mut config = AnthropicConfig::new(Secret::new(ANTHROPIC_KEY), "claude-3-5-haiku-latest");
    config.base_url = server.uri();
    Ok(Anthropic::new(config)?)
}

fn anthropic_error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "type": "error",
        "error": { "type": kind, "message": message },
        "request_id": "req_011"
    }))
}

/// What the Anthropic client returns when the fake answers `response`.
async fn anthropic_outcome(
    response: ResponseTemplate,
) -> anyhow::Result<Result<providers::Answer<providers::capability::TextReply>, CallError>> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    Ok(anthropic(&server)?.call(&text_request()).await)
}

#[tokio::test]
async fn anthropic_sends_the_schema_in_the_system_prompt_and_reads_the_first_text_block(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let request = text_request();
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .and(header("x-api-key", ANTHROPIC_KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(body_partial_json(json!({
            "model": "claude-3-5-haiku-latest",
            "max_tokens": 800,
            "temperature": 0.5,
            "messages": [{ "role": "user", "content": request.prompt }]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01", "type": "message", "role": "assistant",
            "model": "claude-3-5-haiku-20241022",
            "content": [
                { "type": "thinking", "thinking": "a title…", "signature": "x" },
                { "type": "text", "text": "```json\n{\"title\": \"Harbour at dawn\"}\n```" },
                { "type": "text", "text": "ignored" }
            ],
            "stop_reason": "end_turn",
            "usage": {
                "input_tokens": 100, "cache_read_input_tokens": 40,
                "cache_creation_input_tokens": 10, "output_tokens": 25
            }
        })))
        .expect(1)
        .mount(&server)
        .await;

    let answer = anthropic(&server)?.call(&request).await?;
    assert_eq!(answer.reply.json, json!({ "title": "Harbour at dawn" }));
    assert_eq!(
        answer.units,
        Units {
            input_tokens: 150,
            cached_tokens: 40,
            output_tokens: 25,
            ..Units::default()
        }
    );
    assert_eq!(answer.model.as_deref(), Some("claude-3-5-haiku-20241022"));
    assert_eq!(
        Client::<providers::Text>::provider(&anthropic(&server)?),
        "anthropic"
    );

    let sent = bodies(&server, MESSAGES).await?;
    let system = sent[0]["system"].as_str().unwrap_or_default();
    assert!(
        system.starts_with("You write short video scripts.\n\n"),
        "{system}"
    );
    assert!(
        system.contains("Reply with only a JSON object matching this JSON Schema: {"),
        "{system}"
    );
    assert!(
        system.contains("\"additionalProperties\":false"),
        "{system}"
    );
    assert!(sent[0].get("response_format").is_none());
    Ok(())
}

#[tokio::test]
async fn anthropic_rate_limit_is_transient_with_its_retry_after() -> anyhow::Result<()> {
    let outcome = anthropic_outcome(
        anthropic_error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
        )
        .insert_header("retry-after", "7"),
    )
    .await?;
    let error = failure(outcome)?;
    assert!(
        is_transient_after(&error, Duration::from_secs(7)),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn anthropic_overload_and_server_errors_are_transient() -> anyhow::Result<()> {
    for (status, kind) in [(529, "overloaded_error"), (500, "api_error")] {
        let error = failure(anthropic_outcome(anthropic_error(status, kind, "Overloaded")).await?)?;
        assert!(
            matches!(
                error,
                CallError::Transient {
                    retry_after: None,
                    ..
                }
            ),
            "{status}: {error:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn anthropic_bad_key_is_auth() -> anyhow::Result<()> {
    let error = failure(
        anthropic_outcome(anthropic_error(
            401,
            "authentication_error",
            "invalid x-api-key",
        ))
        .await?,
    )?;
    assert!(matches!(error, CallError::Auth { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn anthropic_invalid_request_is_refused_but_missing_credit_is_quota() -> anyhow::Result<()> {
    let error = failure(
        anthropic_outcome(anthropic_error(
            400,
            "invalid_request_error",
            "max_tokens: Field required",
        ))
        .await?,
    )?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");

    let error = failure(
        anthropic_outcome(anthropic_error(
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API.",
        ))
        .await?,
    )?;
    assert!(matches!(error, CallError::Quota { .. }), "{error:?}");

    let error = failure(
        anthropic_outcome(anthropic_error(402, "billing_error", "Payment required")).await?,
    )?;
    assert!(matches!(error, CallError::Quota { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn anthropic_refusal_stop_reason_is_refused() -> anyhow::Result<()> {
    let error = failure(
        anthropic_outcome(ResponseTemplate::new(200).set_body_json(json!({
            "type": "message", "model": "claude-sonnet-4-0",
            "content": [{ "type": "text", "text": "I can't help with that." }],
            "stop_reason": "refusal",
            "usage": { "input_tokens": 10, "output_tokens": 5 }
        })))
        .await?,
    )?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn anthropic_malformed_replies_are_invalid_output_with_their_usage() -> anyhow::Result<()> {
    let error = failure(
        anthropic_outcome(ResponseTemplate::new(200).set_body_json(json!({
            "type": "message",
            "content": [{ "type": "text", "text": "Sure! Here is your title: Harbour" }],
            "stop_reason": "end_turn",
            "usage": { "input_tokens": 10, "output_tokens": 8 }
        })))
        .await?,
    )?;
    let CallError::InvalidOutput { units, .. } = error else {
        bail!("expected invalid output, got {error:?}");
    };
    assert_eq!((units.input_tokens, units.output_tokens), (10, 8));

    let error = failure(
        anthropic_outcome(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
            .await?,
    )?;
    assert!(
        matches!(error, CallError::InvalidOutput { .. }),
        "{error:?}"
    );

    let error = failure(
        anthropic_outcome(ResponseTemplate::new(200).set_body_json(json!({
            "type": "message", "content": [], "stop_reason": "max_tokens",
            "usage": { "input_tokens": 10, "output_tokens": 800 }
        })))
        .await?,
    )?;
    assert!(
        matches!(error, CallError::InvalidOutput { .. }),
        "{error:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------- Gemini

const GENERATE: &str = "/v1beta/models/gemini-2.0-flash:generateContent";

fn gemini_client(server: &MockServer) -> anyhow::Result<Gemini> {
    let mut config = GeminiConfig::new(Secret::new(GEMINI_KEY), "models/gemini-2.0-flash");
    config.base_url = server.uri();
    Ok(Gemini::new(config)?)
}

fn gemini_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": { "code": status, "message": message, "status": code }
    }))
}

async fn gemini_outcome(
    response: ResponseTemplate,
) -> anyhow::Result<Result<providers::Answer<providers::capability::TextReply>, CallError>> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(GENERATE))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    Ok(gemini_client(&server)?.call(&text_request()).await)
}

#[tokio::test]
async fn gemini_sends_a_stripped_response_schema_and_joins_the_text_parts() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let request = text_request();
    Mock::given(method("POST"))
        .and(path(GENERATE))
        .and(header("x-goog-api-key", GEMINI_KEY))
        .and(body_partial_json(json!({
            "contents": [{ "role": "user", "parts": [{ "text": request.prompt }] }],
            "systemInstruction": { "parts": [{ "text": request.system }] },
            "generationConfig": {
                "temperature": 0.5,
                "maxOutputTokens": 800,
                "responseMimeType": "application/json",
                "responseSchema": {
                    "type": "OBJECT",
                    "properties": { "title": { "type": "STRING", "minLength": 1 } },
                    "required": ["title"]
                }
            }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{
                "content": { "role": "model", "parts": [
                    { "text": "thinking aloud", "thought": true },
                    { "text": "{\"title\": " },
                    { "text": "\"Harbour at dawn\"}" }
                ] },
                "finishReason": "STOP"
            }],
            "usageMetadata": {
                "promptTokenCount": 120, "candidatesTokenCount": 30,
                "cachedContentTokenCount": 20, "thoughtsTokenCount": 5, "totalTokenCount": 155
            },
            "modelVersion": "gemini-2.0-flash-001"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let answer = gemini_client(&server)?.call(&request).await?;
    assert_eq!(answer.reply.json, json!({ "title": "Harbour at dawn" }));
    assert_eq!(
        answer.units,
        Units {
            input_tokens: 120,
            cached_tokens: 20,
            output_tokens: 35,
            ..Units::default()
        }
    );
    assert_eq!(answer.model.as_deref(), Some("gemini-2.0-flash-001"));

    let sent = bodies(&server, GENERATE).await?;
    let schema = &sent[0]["generationConfig"]["responseSchema"];
    assert!(schema.get("additionalProperties").is_none(), "{schema}");
    assert!(schema.get("$schema").is_none(), "{schema}");
    Ok(())
}

#[test]
fn gemini_schema_keeps_only_the_openapi_subset_at_every_level() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "story",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "type": { "type": "string", "const": "story" },
            "additionalProperties": { "type": ["integer", "null"], "minimum": 0 },
            "scenes": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "unevaluatedProperties": false,
                    "properties": {
                        "mood": { "oneOf": [ { "type": "string", "enum": ["calm", "tense"] }, { "type": "null" } ] }
                    },
                    "required": ["mood"]
                }
            }
        },
        "required": ["type", "scenes"]
    });
    assert_eq!(
        gemini::response_schema(&schema),
        json!({
            "type": "OBJECT",
            "properties": {
                "type": { "type": "STRING", "enum": ["story"] },
                "additionalProperties": { "type": "INTEGER", "nullable": true, "minimum": 0 },
                "scenes": {
                    "type": "ARRAY",
                    "minItems": 1,
                    "items": {
                        "type": "OBJECT",
                        "properties": {
                            "mood": { "anyOf": [ { "type": "STRING", "enum": ["calm", "tense"] }, { "nullable": true } ] }
                        },
                        "required": ["mood"]
                    }
                }
            },
            "required": ["type", "scenes"]
        })
    );
}

#[tokio::test]
async fn gemini_resource_exhausted_is_transient_with_its_wait() -> anyhow::Result<()> {
    let error = failure(
        gemini_outcome(
            gemini_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted")
                .insert_header("retry-after", "3"),
        )
        .await?,
    )?;
    assert!(
        is_transient_after(&error, Duration::from_secs(3)),
        "{error:?}"
    );

    // Without a header, the wait comes from the RetryInfo detail.
    let error = failure(
        gemini_outcome(ResponseTemplate::new(429).set_body_json(json!({
            "error": {
                "code": 429,
                "message": "You exceeded your current quota, please check your plan and billing details.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    { "@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [] },
                    { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s" }
                ]
            }
        })))
        .await?,
    )?;
    assert!(
        is_transient_after(&error, Duration::from_secs(37)),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn gemini_unavailable_is_transient() -> anyhow::Result<()> {
    for (status, code) in [(503, "UNAVAILABLE"), (500, "INTERNAL")] {
        let error = failure(gemini_outcome(gemini_error(status, code, "try again")).await?)?;
        assert!(
            matches!(
                error,
                CallError::Transient {
                    retry_after: None,
                    ..
                }
            ),
            "{status}: {error:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn gemini_bad_or_unauthorised_key_is_auth() -> anyhow::Result<()> {
    for (status, code) in [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")] {
        let error = failure(gemini_outcome(gemini_error(status, code, "denied")).await?)?;
        assert!(
            matches!(error, CallError::Auth { .. }),
            "{status}: {error:?}"
        );
    }
    // An invalid key is a 400 INVALID_ARGUMENT whose detail says API_KEY_INVALID.
    let error = failure(
        gemini_outcome(ResponseTemplate::new(400).set_body_json(json!({
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID", "domain": "googleapis.com"
                }]
            }
        })))
        .await?,
    )?;
    assert!(matches!(error, CallError::Auth { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn gemini_invalid_argument_and_blocked_content_are_refused() -> anyhow::Result<()> {
    let error = failure(
        gemini_outcome(gemini_error(
            400,
            "INVALID_ARGUMENT",
            "Invalid JSON payload received. Unknown name \"additionalProperties\"",
        ))
        .await?,
    )?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");

    let error = failure(
        gemini_outcome(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{ "finishReason": "SAFETY", "safetyRatings": [] }],
            "usageMetadata": { "promptTokenCount": 12, "totalTokenCount": 12 }
        })))
        .await?,
    )?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");

    let error = failure(
        gemini_outcome(ResponseTemplate::new(200).set_body_json(json!({
            "promptFeedback": { "blockReason": "PROHIBITED_CONTENT" },
            "usageMetadata": { "promptTokenCount": 12, "totalTokenCount": 12 }
        })))
        .await?,
    )?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn gemini_malformed_replies_are_invalid_output_with_their_usage() -> anyhow::Result<()> {
    let error = failure(
        gemini_outcome(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{
                "content": { "parts": [{ "text": "{\"title\": \"cut off" }] },
                "finishReason": "MAX_TOKENS"
            }],
            "usageMetadata": { "promptTokenCount": 12, "candidatesTokenCount": 800 }
        })))
        .await?,
    )?;
    let CallError::InvalidOutput { units, .. } = error else {
        bail!("expected invalid output, got {error:?}");
    };
    assert_eq!((units.input_tokens, units.output_tokens), (12, 800));

    let error =
        failure(gemini_outcome(ResponseTemplate::new(200).set_body_string("not json")).await?)?;
    assert!(
        matches!(error, CallError::InvalidOutput { .. }),
        "{error:?}"
    );

    let error = failure(
        gemini_outcome(ResponseTemplate::new(200).set_body_json(json!({ "candidates": [] })))
            .await?,
    )?;
    assert!(
        matches!(error, CallError::InvalidOutput { .. }),
        "{error:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------- Replicate

const LLAMA: &str = "meta/meta-llama-3-8b-instruct";
const LLAMA_PREDICTIONS: &str = "/v1/models/meta/meta-llama-3-8b-instruct/predictions";
const SDXL: &str = "stability-ai/sdxl";
const SDXL_PREDICTIONS: &str = "/v1/models/stability-ai/sdxl/predictions";
const MUSICGEN: &str = "meta/musicgen";
const MUSICGEN_PREDICTIONS: &str = "/v1/models/meta/musicgen/predictions";

fn replicate_config(server: &MockServer, model: &str) -> ReplicateConfig {
    let mut config = ReplicateConfig::new(Secret::new(REPLICATE_TOKEN), model);
    config.base_url = server.uri();
    config
}

fn replicate_text(server: &MockServer, model: &str) -> anyhow::Result<ReplicateText> {
    Ok(ReplicateText::new(replicate_config(server, model))?.with_poll_interval(FAST_POLL))
}

fn replicate_image(server: &MockServer) -> anyhow::Result<ReplicateImage> {
    Ok(ReplicateImage::new(replicate_config(server, SDXL))?.with_poll_interval(FAST_POLL))
}

fn replicate_music(server: &MockServer) -> anyhow::Result<ReplicateMusic> {
    Ok(ReplicateMusic::new(replicate_config(server, MUSICGEN))?.with_poll_interval(FAST_POLL))
}

/// A prediction object as Replicate returns it.
fn prediction(server: &MockServer, id: &str, status: &str, output: Value, metrics: Value) -> Value {
    json!({
        "id": id,
        "model": "owner/model",
        "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
        "status": status,
        "output": output,
        "error": null,
        "metrics": metrics,
        "urls": {
            "get": format!("{}/v1/predictions/{id}", server.uri()),
            "cancel": format!("{}/v1/predictions/{id}/cancel", server.uri())
        }
    })
}

fn failed_prediction(id: &str, message: &str) -> Value {
    json!({ "id": id, "status": "failed", "output": null, "error": message, "metrics": {} })
}

/// A Replicate-style error body.
fn replicate_error(status: u16, title: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "title": title, "detail": detail, "status": status }))
}

/// The classification of each documented error status on `route`, for one client.
async fn replicate_errors_are_classified<C, F>(
    route: &str,
    client: F,
    request: &C::Request,
) -> anyhow::Result<()>
where
    C: Capability,
    F: Fn(&MockServer) -> anyhow::Result<Box<dyn Client<C>>>,
{
    let cases = [
        (
            replicate_error(
                429,
                "Request was throttled",
                "Expected available in 4 seconds.",
            )
            .insert_header("retry-after", "4"),
            "transient after 4s",
        ),
        (
            replicate_error(500, "Internal server error", "oops"),
            "transient",
        ),
        (
            replicate_error(503, "Service unavailable", "busy"),
            "transient",
        ),
        (
            replicate_error(
                401,
                "Unauthenticated",
                "You did not pass a valid authentication token",
            ),
            "auth",
        ),
        (
            replicate_error(
                402,
                "Insufficient credit",
                "You have insufficient credit to run this model.",
            ),
            "quota",
        ),
        (
            replicate_error(
                422,
                "Input validation failed",
                "width: must be a multiple of 8",
            ),
            "refused",
        ),
    ];
    for (response, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let error = failure(client(&server)?.call(request).await)?;
        let ok = match expected {
            "transient after 4s" => is_transient_after(&error, Duration::from_secs(4)),
            "transient" => matches!(
                error,
                CallError::Transient {
                    retry_after: None,
                    ..
                }
            ),
            "auth" => matches!(error, CallError::Auth { .. }),
            "quota" => matches!(error, CallError::Quota { .. }),
            _ => matches!(error, CallError::Refused { .. }),
        };
        assert!(ok, "expected {expected}, got {error:?}");
    }
    Ok(())
}

/// Mounts a prediction route answering `first`, and a poll route answering `polls` in order
/// (the last one repeating).
async fn mount_prediction(
    server: &MockServer,
    route: &str,
    first: Value,
    id: &str,
    polls: &[Value],
) {
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(201).set_body_json(first))
        .expect(1)
        .mount(server)
        .await;
    let poll_route = format!("/v1/predictions/{id}");
    let count = polls.len();
    for (i, poll) in polls.iter().enumerate() {
        let mock = Mock::given(method("GET"))
            .and(path(poll_route.as_str()))
            .and(header(
                "authorization",
                format!("Bearer {REPLICATE_TOKEN}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(poll));
        let mock = if i + 1 < count {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(server).await;
    }
}

#[tokio::test]
async fn replicate_text_prompts_with_the_schema_and_joins_the_output_tokens() -> anyhow::Result<()>
{
    let server = MockServer::start().await;
    let request = text_request();
    Mock::given(method("POST"))
        .and(path(LLAMA_PREDICTIONS))
        .and(header(
            "authorization",
            format!("Bearer {REPLICATE_TOKEN}").as_str(),
        ))
        .and(header("prefer", "wait=60"))
        .and(body_partial_json(json!({
            "input": { "max_new_tokens": 800, "temperature": 0.5 }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-text",
            "succeeded",
            json!(["{\"ti", "tle\": \"Harbour", " at dawn\"}"]),
            json!({ "predict_time": 1.2344, "input_token_count": 50, "output_token_count": 12 }),
        )))
        .expect(1)
        .mount(&server)
        .await;

    let answer = replicate_text(&server, LLAMA)?.call(&request).await?;
    assert_eq!(answer.reply.json, json!({ "title": "Harbour at dawn" }));
    assert_eq!(
        answer.units,
        Units {
            input_tokens: 50,
            output_tokens: 12,
            millis: 1234,
            ..Units::default()
        }
    );
    assert_eq!(answer.model.as_deref(), Some("owner/model"));

    let sent = bodies(&server, LLAMA_PREDICTIONS).await?;
    let prompt = sent[0]["input"]["prompt"].as_str().unwrap_or_default();
    assert!(
        prompt.starts_with(
            "You write short video scripts.\n\nWrite a title about a quiet harbour.\n\n"
        ),
        "{prompt}"
    );
    assert!(prompt.contains("matching this JSON Schema: {"), "{prompt}");
    assert!(sent[0].get("version").is_none());
    Ok(())
}

#[tokio::test]
async fn replicate_with_a_version_posts_to_the_predictions_endpoint() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .and(body_partial_json(json!({
            "version": "9dcd6d78e7c6560c340d916fe32e9f24aabfa331e5cce95fe31f77fb03121426",
            "input": { "max_new_tokens": 800 }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-version",
            "succeeded",
            json!("{\"title\": \"Versioned\"}"),
            json!({ "predict_time": 0.5 }),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = replicate_text(
        &server,
        "replicate/hello-world:9dcd6d78e7c6560c340d916fe32e9f24aabfa331e5cce95fe31f77fb03121426",
    )?;
    let answer = client.call(&text_request()).await?;
    assert_eq!(answer.reply.json, json!({ "title": "Versioned" }));
    assert_eq!(answer.units.millis, 500);
    Ok(())
}

#[tokio::test]
async fn replicate_polls_a_running_prediction_until_it_succeeds() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    mount_prediction(
        &server,
        LLAMA_PREDICTIONS,
        prediction(&server, "p-poll", "starting", Value::Null, json!({})),
        "p-poll",
        &[
            prediction(
                &server,
                "p-poll",
                "processing",
                json!(["{\"title\""]),
                json!({}),
            ),
            prediction(
                &server,
                "p-poll",
                "succeeded",
                json!(["{\"title\"", ": \"Polled\"}"]),
                json!({ "predict_time": 2.0 }),
            ),
        ],
    )
    .await;

    let answer = replicate_text(&server, LLAMA)?
        .call(&text_request())
        .await?;
    assert_eq!(answer.reply.json, json!({ "title": "Polled" }));
    assert_eq!(answer.units.millis, 2000);
    let polls = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!(polls, 2, "starting → processing → succeeded is two polls");
    Ok(())
}

#[tokio::test]
async fn replicate_failed_and_canceled_predictions_are_errors() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    mount_prediction(
        &server,
        LLAMA_PREDICTIONS,
        prediction(&server, "p-fail", "starting", Value::Null, json!({})),
        "p-fail",
        &[failed_prediction("p-fail", "CUDA out of memory")],
    )
    .await;
    let error = failure(replicate_text(&server, LLAMA)?.call(&text_request()).await)?;
    assert!(matches!(error, CallError::Transient { .. }), "{error:?}");
    assert!(error.to_string().contains("CUDA out of memory"), "{error}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(LLAMA_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "p-cancel", "status": "canceled", "output": null, "error": null
        })))
        .mount(&server)
        .await;
    let error = failure(replicate_text(&server, LLAMA)?.call(&text_request()).await)?;
    assert!(matches!(error, CallError::Transient { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn replicate_gives_up_on_a_prediction_running_too_long() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    mount_prediction(
        &server,
        LLAMA_PREDICTIONS,
        prediction(&server, "p-slow", "starting", Value::Null, json!({})),
        "p-slow",
        &[prediction(
            &server,
            "p-slow",
            "processing",
            Value::Null,
            json!({}),
        )],
    )
    .await;
    let client = replicate_text(&server, LLAMA)?.with_max_wait(Duration::from_millis(60));
    let error = failure(client.call(&text_request()).await)?;
    assert!(matches!(error, CallError::Transient { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn replicate_text_errors_are_classified() -> anyhow::Result<()> {
    replicate_errors_are_classified::<providers::Text, _>(
        LLAMA_PREDICTIONS,
        |server| Ok(Box::new(replicate_text(server, LLAMA)?)),
        &text_request(),
    )
    .await
}

#[tokio::test]
async fn replicate_text_malformed_output_is_invalid_with_its_usage() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(LLAMA_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-bad",
            "succeeded",
            json!(["Here is ", "a title: Harbour"]),
            json!({ "predict_time": 0.75 }),
        )))
        .mount(&server)
        .await;
    let error = failure(replicate_text(&server, LLAMA)?.call(&text_request()).await)?;
    let CallError::InvalidOutput { units, .. } = error else {
        bail!("expected invalid output, got {error:?}");
    };
    assert_eq!(units.millis, 750);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(LLAMA_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_string("{ not json"))
        .mount(&server)
        .await;
    let error = failure(replicate_text(&server, LLAMA)?.call(&text_request()).await)?;
    assert!(
        matches!(error, CallError::InvalidOutput { .. }),
        "{error:?}"
    );
    Ok(())
}

#[test]
fn replicate_rejects_a_model_that_is_not_owner_and_name() {
    for model in ["sdxl", "/sdxl", "a/b/c"] {
        let config = ReplicateConfig::new(Secret::new(REPLICATE_TOKEN), model);
        assert!(
            matches!(ReplicateImage::new(config), Err(CallError::Refused { .. })),
            "{model}"
        );
    }
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-rest-of-a-png";
const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F'];

#[tokio::test]
async fn replicate_image_downloads_the_first_output_without_credentials() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let request = image_request();
    Mock::given(method("POST"))
        .and(path(SDXL_PREDICTIONS))
        .and(header(
            "authorization",
            format!("Bearer {REPLICATE_TOKEN}").as_str(),
        ))
        .and(body_partial_json(json!({
            "input": {
                "prompt": request.prompt, "negative_prompt": request.negative_prompt,
                "width": 768, "height": 1344, "seed": 42
            }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-image",
            "succeeded",
            json!([
                format!("{}/files/out-0.png", server.uri()),
                format!("{}/files/out-1.png", server.uri())
            ]),
            json!({ "predict_time": 3.2 }),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/out-0.png"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(PNG))
        .expect(1)
        .mount(&server)
        .await;

    let answer = replicate_image(&server)?.call(&request).await?;
    assert_eq!(answer.reply.image.as_ref(), PNG);
    assert_eq!(answer.reply.format, "png");
    assert_eq!(
        answer.units,
        Units {
            images: 1,
            millis: 3200,
            ..Units::default()
        }
    );
    let downloads = server.received_requests().await.unwrap_or_default();
    let download = downloads
        .iter()
        .find(|r| r.url.path() == "/files/out-0.png")
        .ok_or_else(|| anyhow!("no download"))?;
    assert!(
        download.headers.get("authorization").is_none(),
        "the token stays on the API"
    );
    Ok(())
}

#[tokio::test]
async fn replicate_image_reads_a_data_url_output() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SDXL_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-data",
            "succeeded",
            json!(format!("data:image/jpeg;base64,{}", STANDARD.encode(JPEG))),
            json!({ "predict_time": 0.4 }),
        )))
        .mount(&server)
        .await;
    let answer = replicate_image(&server)?.call(&image_request()).await?;
    assert_eq!(answer.reply.image.as_ref(), JPEG);
    assert_eq!(answer.reply.format, "jpeg");
    Ok(())
}

#[tokio::test]
async fn replicate_image_flagged_as_nsfw_is_refused() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    mount_prediction(
        &server,
        SDXL_PREDICTIONS,
        prediction(&server, "p-nsfw", "processing", Value::Null, json!({})),
        "p-nsfw",
        &[failed_prediction(
            "p-nsfw",
            "NSFW content detected. Try running it again, or try a different prompt.",
        )],
    )
    .await;
    let error = failure(replicate_image(&server)?.call(&image_request()).await)?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn replicate_image_errors_are_classified() -> anyhow::Result<()> {
    replicate_errors_are_classified::<providers::Image, _>(
        SDXL_PREDICTIONS,
        |server| Ok(Box::new(replicate_image(server)?)),
        &image_request(),
    )
    .await
}

#[tokio::test]
async fn replicate_image_that_is_not_an_image_is_invalid_output() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SDXL_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-html",
            "succeeded",
            json!(format!("{}/files/out.png", server.uri())),
            json!({ "predict_time": 1.0 }),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/out.png"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not an image</html>"))
        .mount(&server)
        .await;
    let error = failure(replicate_image(&server)?.call(&image_request()).await)?;
    let CallError::InvalidOutput { units, .. } = error else {
        bail!("expected invalid output, got {error:?}");
    };
    assert_eq!((units.images, units.millis), (1, 1000));

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SDXL_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-none",
            "succeeded",
            json!({ "unexpected": true }),
            json!({}),
        )))
        .mount(&server)
        .await;
    let error = failure(replicate_image(&server)?.call(&image_request()).await)?;
    assert!(
        matches!(error, CallError::InvalidOutput { .. }),
        "{error:?}"
    );
    Ok(())
}

/// A minimal WAV header and a few samples.
fn wav_bytes() -> Vec<u8> {
    let mut wav = b"RIFF\x28\0\0\0WAVEfmt ".to_vec();
    wav.extend_from_slice(&[
        16, 0, 0, 0, 1, 0, 1, 0, 0x44, 0xac, 0, 0, 0x88, 0x58, 1, 0, 2, 0, 16, 0,
    ]);
    wav.extend_from_slice(b"data\x04\0\0\0\x01\0\x02\0");
    wav
}

#[tokio::test]
async fn replicate_music_asks_for_whole_seconds_of_wav_and_downloads_it() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let wav = wav_bytes();
    let output = json!(format!("{}/files/music.wav", server.uri()));
    Mock::given(method("POST"))
        .and(path(MUSICGEN_PREDICTIONS))
        .and(header("authorization", format!("Bearer {REPLICATE_TOKEN}").as_str()))
        .and(header("prefer", "wait=60"))
        .and(body_partial_json(json!({
            "input": { "prompt": "calm ambient piano", "duration": 13, "seed": 7, "output_format": "wav" }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-music",
            "starting",
            Value::Null,
            json!({}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    for (status, times) in [("processing", Some(1)), ("succeeded", None)] {
        let mock = Mock::given(method("GET"))
            .and(path("/v1/predictions/p-music"))
            .respond_with(ResponseTemplate::new(200).set_body_json(prediction(
                &server,
                "p-music",
                status,
                if status == "succeeded" {
                    output.clone()
                } else {
                    Value::Null
                },
                json!({ "predict_time": 14.5 }),
            )));
        match times {
            Some(n) => mock.up_to_n_times(n).mount(&server).await,
            None => mock.mount(&server).await,
        }
    }
    Mock::given(method("GET"))
        .and(path("/files/music.wav"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(wav.clone()))
        .expect(1)
        .mount(&server)
        .await;

    let answer = replicate_music(&server)?.call(&music_request()).await?;
    assert_eq!(answer.reply.audio.as_ref(), wav.as_slice());
    assert_eq!(answer.reply.format, "wav");
    assert_eq!(
        answer.units,
        Units {
            millis: 14_500,
            ..Units::default()
        }
    );
    Ok(())
}

#[tokio::test]
async fn replicate_music_format_comes_from_the_bytes_or_the_url() -> anyhow::Result<()> {
    for (file, bytes, format) in [
        ("a.bin", b"ID3\x04\0\0\0\0\0\0frames".to_vec(), "mp3"),
        ("b.bin", vec![0xff, 0xfb, 0x90, 0x64, 0, 0], "mp3"),
        ("c.mp3?download=1", b"\0\0\0\0unknown".to_vec(), "mp3"),
        ("d.wav", b"\0\0\0\0unknown".to_vec(), "wav"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(MUSICGEN_PREDICTIONS))
            .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
                &server,
                "p-mp3",
                "succeeded",
                json!(format!("{}/files/{file}", server.uri())),
                json!({ "predict_time": 1.0 }),
            )))
            .mount(&server)
            .await;
        let route = format!("/files/{}", file.split('?').next().unwrap_or(file));
        Mock::given(method("GET"))
            .and(path(route.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
            .mount(&server)
            .await;
        let answer = replicate_music(&server)?.call(&music_request()).await?;
        assert_eq!(answer.reply.format, format, "{file}");
        assert_eq!(answer.reply.audio.as_ref(), bytes.as_slice());
    }
    Ok(())
}

#[tokio::test]
async fn replicate_music_errors_are_classified() -> anyhow::Result<()> {
    replicate_errors_are_classified::<providers::Music, _>(
        MUSICGEN_PREDICTIONS,
        |server| Ok(Box::new(replicate_music(server)?)),
        &music_request(),
    )
    .await
}

#[tokio::test]
async fn replicate_music_failure_and_unknown_audio_are_errors() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MUSICGEN_PREDICTIONS))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(failed_prediction("p-fail", "prediction interrupted")),
        )
        .mount(&server)
        .await;
    let error = failure(replicate_music(&server)?.call(&music_request()).await)?;
    assert!(matches!(error, CallError::Transient { .. }), "{error:?}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MUSICGEN_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-ogg",
            "succeeded",
            json!(format!("{}/files/music.ogg", server.uri())),
            json!({ "predict_time": 2.0 }),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/music.ogg"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"OggS\0\x02".to_vec()))
        .mount(&server)
        .await;
    let error = failure(replicate_music(&server)?.call(&music_request()).await)?;
    let CallError::InvalidOutput { units, .. } = error else {
        bail!("expected invalid output, got {error:?}");
    };
    assert_eq!(units.millis, 2000);

    // A vanished output file is invalid output too, still billed.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MUSICGEN_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-gone",
            "succeeded",
            json!(format!("{}/files/gone.wav", server.uri())),
            json!({ "predict_time": 2.0 }),
        )))
        .mount(&server)
        .await;
    let error = failure(replicate_music(&server)?.call(&music_request()).await)?;
    assert!(
        matches!(error, CallError::InvalidOutput { .. }),
        "{error:?}"
    );
    Ok(())
}
