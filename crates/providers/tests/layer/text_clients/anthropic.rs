//! The Anthropic Messages client: the schema in the system prompt, usage, and error classes.

use std::time::Duration;

use anyhow::bail;
use providers::{
    clients::anthropic::{Anthropic, AnthropicConfig},
    CallError, Client, Units,
};
use serde_json::json;
use shared::config::Secret;
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use super::{bodies, failure, is_transient_after, text_request};

const ANTHROPIC_KEY: &str = "sk-ant-test-key";

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
