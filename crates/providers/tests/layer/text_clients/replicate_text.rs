//! The Replicate text client: the schema in the prompt, joined output tokens, and its errors.

use anyhow::bail;
use providers::{CallError, Client, Units};
use serde_json::json;
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use super::{
    bodies, failure,
    replicate::{
        prediction, replicate_errors_are_classified, replicate_text, LLAMA, LLAMA_PREDICTIONS,
        REPLICATE_TOKEN,
    },
    text_request,
};

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
