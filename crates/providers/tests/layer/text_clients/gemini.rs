//! The Gemini client: the stripped response schema, joined text parts, usage, and error classes.

use std::time::Duration;

use anyhow::bail;
use providers::{
    clients::gemini::{self, Gemini, GeminiConfig},
    CallError, Client, Units,
};
use serde_json::json;
use shared::config::Secret;
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use super::{bodies, failure, is_transient_after, text_request};

const GEMINI_KEY: &str = "gemini-test-key";

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
