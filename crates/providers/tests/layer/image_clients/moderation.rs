//! The OpenAI moderation client: text and images, one image per request, and error classes.

use std::time::Duration;

use providers::{
    capability::{CategoryScore, ModerationReply, ModerationRequest},
    clients::openai_moderation::{OpenAiModeration, OpenAiModerationConfig, DEFAULT_MODEL},
    CallError, Client, Moderation, Units,
};
use serde_json::{json, Value};
use shared::config::Secret;
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use super::{
    data_url, failure, invalid_units, only_request, openai_error, received, retry_after, GREEN_PNG,
    KEY, RED_PNG,
};

fn moderation_client(server: &MockServer) -> anyhow::Result<OpenAiModeration> {
    Ok(OpenAiModeration::new(OpenAiModerationConfig {
        base_url: format!("{}/v1", server.uri()),
        api_key: Secret::new(KEY),
        model: DEFAULT_MODEL.to_owned(),
    })?)
}

fn moderation_reply(flagged: bool, categories: Value, scores: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "modr-5550",
        "model": "omni-moderation-2024-09-26",
        "results": [{
            "flagged": flagged,
            "categories": categories,
            "category_scores": scores,
            "category_applied_input_types": { "violence": ["text", "image"], "sexual": ["text", "image"] }
        }]
    }))
}

fn score(category: &str, flagged: bool, score: f64) -> CategoryScore {
    CategoryScore {
        category: category.to_owned(),
        flagged,
        score,
    }
}

/// The error a moderation call gets when the fake server answers with `template`.
async fn moderation_error(template: ResponseTemplate) -> anyhow::Result<CallError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/moderations"))
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    let request = ModerationRequest {
        text: Some("hello".to_owned()),
        images: vec![],
    };
    failure(moderation_client(&server)?.call(&request).await)
}

#[tokio::test]
async fn moderation_of_text_and_an_image() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/moderations"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(moderation_reply(
            true,
            json!({ "violence": true, "sexual": false, "harassment": false }),
            json!({ "violence": 0.91, "sexual": 0.01, "harassment": 0.002 }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = moderation_client(&server)?;
    assert_eq!(Client::<Moderation>::provider(&client), "openai");
    assert_eq!(
        Client::<Moderation>::model(&client),
        "omni-moderation-latest"
    );
    assert!(Client::<Moderation>::paid(&client));
    let request = ModerationRequest {
        text: Some("a fox fights a wolf".to_owned()),
        images: vec![RED_PNG.to_vec().into()],
    };

    let answer = client.call(&request).await?;
    assert_eq!(
        answer.reply,
        ModerationReply {
            flagged: true,
            categories: vec![
                score("harassment", false, 0.002),
                score("sexual", false, 0.01),
                score("violence", true, 0.91),
            ],
        }
    );
    assert_eq!(answer.units, Units::default());
    assert_eq!(answer.model.as_deref(), Some("omni-moderation-2024-09-26"));
    let body: Value = only_request(&server).await?.body_json()?;
    assert_eq!(
        body,
        json!({
            "model": "omni-moderation-latest",
            "input": [
                { "type": "text", "text": "a fox fights a wolf" },
                { "type": "image_url", "image_url": { "url": data_url(RED_PNG) } }
            ]
        })
    );
    Ok(())
}

#[tokio::test]
async fn moderation_sends_one_image_per_request_and_combines_the_results() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/moderations"))
        .and(body_partial_json(json!({ "input": [{ "type": "text" }] })))
        .respond_with(moderation_reply(
            false,
            json!({ "violence": false, "sexual": false }),
            json!({ "violence": 0.2, "sexual": 0.1 }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/moderations"))
        .and(body_partial_json(json!({
            "input": [{ "type": "image_url", "image_url": { "url": data_url(GREEN_PNG) } }]
        })))
        .respond_with(moderation_reply(
            true,
            json!({ "violence": false, "sexual": true }),
            json!({ "violence": 0.05, "sexual": 0.8 }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let request = ModerationRequest {
        text: Some("caption".to_owned()),
        images: vec![RED_PNG.to_vec().into(), GREEN_PNG.to_vec().into()],
    };

    let answer = moderation_client(&server)?.call(&request).await?;
    assert_eq!(
        answer.reply,
        ModerationReply {
            flagged: true,
            categories: vec![score("sexual", true, 0.8), score("violence", false, 0.2)],
        }
    );
    let mut inputs = received(&server)
        .await?
        .iter()
        .map(|r| Ok(r.body_json::<Value>()?["input"].clone()))
        .collect::<anyhow::Result<Vec<Value>>>()?;
    inputs.sort_by_key(|input| input.as_array().map_or(0, Vec::len));
    assert_eq!(
        inputs,
        vec![
            json!([{ "type": "image_url", "image_url": { "url": data_url(GREEN_PNG) } }]),
            json!([
                { "type": "text", "text": "caption" },
                { "type": "image_url", "image_url": { "url": data_url(RED_PNG) } }
            ]),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn moderation_of_an_empty_request_calls_nobody() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let request = ModerationRequest {
        text: None,
        images: vec![],
    };
    let answer = moderation_client(&server)?.call(&request).await?;
    assert_eq!(
        answer.reply,
        ModerationReply {
            flagged: false,
            categories: vec![]
        }
    );
    assert!(received(&server).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn moderation_429_is_transient_after_retry_after() -> anyhow::Result<()> {
    let error = moderation_error(
        openai_error(429, "rate_limit_exceeded", "requests").insert_header("retry-after", "2"),
    )
    .await?;
    assert_eq!(retry_after(&error)?, Some(Duration::from_secs(2)));
    Ok(())
}

#[tokio::test]
async fn moderation_5xx_is_transient() -> anyhow::Result<()> {
    let error = moderation_error(openai_error(502, "bad_gateway", "server_error")).await?;
    assert_eq!(retry_after(&error)?, None);
    Ok(())
}

#[tokio::test]
async fn moderation_bad_key_is_auth() -> anyhow::Result<()> {
    let error = moderation_error(openai_error(
        401,
        "invalid_api_key",
        "invalid_request_error",
    ))
    .await?;
    assert!(matches!(error, CallError::Auth { .. }), "{error:?}");
    assert!(!error.to_string().contains(KEY));
    Ok(())
}

#[tokio::test]
async fn moderation_insufficient_quota_is_quota() -> anyhow::Result<()> {
    let error = moderation_error(openai_error(
        429,
        "insufficient_quota",
        "insufficient_quota",
    ))
    .await?;
    assert!(matches!(error, CallError::Quota { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn moderation_bad_request_is_refused() -> anyhow::Result<()> {
    let error = moderation_error(openai_error(
        400,
        "too_many_images",
        "invalid_request_error",
    ))
    .await?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn moderation_malformed_reply_is_invalid_output() -> anyhow::Result<()> {
    let error = moderation_error(ResponseTemplate::new(200).set_body_string("<html>")).await?;
    invalid_units(&error)?;
    let error = moderation_error(
        ResponseTemplate::new(200).set_body_json(json!({ "id": "modr-1", "results": [] })),
    )
    .await?;
    invalid_units(&error)?;
    let error = moderation_error(
        ResponseTemplate::new(200).set_body_json(json!({ "results": [{ "categories": {} }] })),
    )
    .await?;
    invalid_units(&error)?;
    Ok(())
}
