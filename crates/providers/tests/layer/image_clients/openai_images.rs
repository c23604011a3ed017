//! The OpenAI images client (gpt-image-1, dall-e-3): requests, sizes by aspect, and error classes.

use std::time::Duration;

use providers::{
    capability::{ImageReply, ImageRequest},
    clients::openai_images::{OpenAiImages, OpenAiImagesConfig},
    CallError, Client, Image, Units,
};
use serde_json::{json, Value};
use shared::config::Secret;
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use super::{
    b64, failure, image_request, invalid_units, only_request, openai_error, received, retry_after,
    JPEG, KEY, NEGATIVE, PROMPT, RED_PNG,
};

fn openai_images(server: &MockServer, model: &str) -> anyhow::Result<OpenAiImages> {
    Ok(OpenAiImages::new(OpenAiImagesConfig {
        base_url: format!("{}/v1", server.uri()),
        api_key: Secret::new(KEY),
        model: model.to_owned(),
    })?)
}

fn generation_reply(image: &[u8], usage: Option<Value>) -> ResponseTemplate {
    let mut body = json!({
        "created": 1_713_833_628,
        "data": [{ "b64_json": b64(image), "revised_prompt": "A red fox standing in fresh snow." }]
    });
    if let Some(usage) = usage {
        body["usage"] = usage;
    }
    ResponseTemplate::new(200).set_body_json(body)
}

/// The error a gpt-image-1 call gets when the fake server answers with `template`.
async fn openai_images_error(template: ResponseTemplate) -> anyhow::Result<CallError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    let client = openai_images(&server, "gpt-image-1")?;
    failure(client.call(&image_request(1024, 1024)).await)
}

#[tokio::test]
async fn openai_gpt_image_portrait_request_and_reply() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "model": "gpt-image-1",
            "prompt": format!("{PROMPT}\n\nAvoid: {NEGATIVE}"),
            "n": 1,
            "size": "1024x1536"
        })))
        .respond_with(generation_reply(
            RED_PNG,
            Some(json!({
                "total_tokens": 322, "input_tokens": 50, "output_tokens": 272,
                "input_tokens_details": { "text_tokens": 50, "image_tokens": 0 }
            })),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = openai_images(&server, "gpt-image-1")?;
    assert_eq!(Client::<Image>::provider(&client), "openai");
    assert_eq!(Client::<Image>::model(&client), "gpt-image-1");

    let answer = client.call(&image_request(1080, 1920)).await?;
    assert_eq!(
        answer.reply,
        ImageReply {
            image: RED_PNG.to_vec().into(),
            format: "png".to_owned()
        }
    );
    assert_eq!(
        answer.units,
        Units {
            images: 1,
            input_tokens: 50,
            output_tokens: 272,
            ..Units::default()
        }
    );
    let body: Value = only_request(&server).await?.body_json()?;
    assert!(
        body.get("response_format").is_none(),
        "gpt-image-1 rejects response_format: {body}"
    );
    Ok(())
}

#[tokio::test]
async fn openai_dall_e_3_landscape_asks_for_base64() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .and(body_partial_json(json!({
            "model": "dall-e-3",
            "prompt": PROMPT,
            "n": 1,
            "size": "1792x1024",
            "response_format": "b64_json"
        })))
        .respond_with(generation_reply(JPEG, None))
        .expect(1)
        .mount(&server)
        .await;
    let client = openai_images(&server, "dall-e-3")?;
    let request = ImageRequest {
        negative_prompt: " ".to_owned(),
        ..image_request(1920, 1080)
    };

    let answer = client.call(&request).await?;
    assert_eq!(answer.reply.format, "jpeg");
    assert_eq!(answer.reply.image.as_ref(), JPEG);
    assert_eq!(
        answer.units,
        Units {
            images: 1,
            ..Units::default()
        }
    );
    Ok(())
}

#[tokio::test]
async fn openai_sizes_follow_the_aspect_within_a_fifth() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(generation_reply(RED_PNG, None))
        .mount(&server)
        .await;
    let cases = [
        ("gpt-image-1", 1024, 1024, "1024x1024"),
        ("gpt-image-1", 1000, 1200, "1024x1024"),
        ("gpt-image-1", 1000, 1201, "1024x1536"),
        ("gpt-image-1", 1201, 1000, "1536x1024"),
        ("gpt-image-1", 1080, 1920, "1024x1536"),
        ("dall-e-3", 1200, 1000, "1024x1024"),
        ("dall-e-3", 1080, 1920, "1024x1792"),
        ("dall-e-3", 1920, 1080, "1792x1024"),
    ];
    for (model, width, height, _) in cases {
        openai_images(&server, model)?
            .call(&image_request(width, height))
            .await?;
    }
    let sizes = received(&server)
        .await?
        .iter()
        .map(|r| Ok(r.body_json::<Value>()?["size"].clone()))
        .collect::<anyhow::Result<Vec<Value>>>()?;
    let expected: Vec<Value> = cases.iter().map(|case| json!(case.3)).collect();
    assert_eq!(sizes, expected);
    Ok(())
}

#[tokio::test]
async fn openai_images_429_is_transient_after_retry_after() -> anyhow::Result<()> {
    let error = openai_images_error(
        openai_error(429, "rate_limit_exceeded", "requests").insert_header("retry-after", "7"),
    )
    .await?;
    assert_eq!(retry_after(&error)?, Some(Duration::from_secs(7)));
    Ok(())
}

#[tokio::test]
async fn openai_images_5xx_is_transient() -> anyhow::Result<()> {
    let error = openai_images_error(openai_error(503, "server_error", "server_error")).await?;
    assert_eq!(retry_after(&error)?, None);
    Ok(())
}

#[tokio::test]
async fn openai_images_bad_key_is_auth_and_never_echoes_the_key() -> anyhow::Result<()> {
    let error = openai_images_error(openai_error(
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
async fn openai_images_insufficient_quota_is_quota() -> anyhow::Result<()> {
    let error = openai_images_error(openai_error(
        429,
        "insufficient_quota",
        "insufficient_quota",
    ))
    .await?;
    assert!(matches!(error, CallError::Quota { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn openai_images_billing_limit_is_quota() -> anyhow::Result<()> {
    let error = openai_images_error(openai_error(
        400,
        "billing_hard_limit_reached",
        "invalid_request_error",
    ))
    .await?;
    assert!(matches!(error, CallError::Quota { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn openai_images_content_policy_is_refused() -> anyhow::Result<()> {
    let error = openai_images_error(openai_error(
        400,
        "content_policy_violation",
        "invalid_request_error",
    ))
    .await?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn openai_images_malformed_json_is_invalid_output() -> anyhow::Result<()> {
    let error =
        openai_images_error(ResponseTemplate::new(200).set_body_string("{\"data\": [")).await?;
    assert_eq!(invalid_units(&error)?, Units::default());
    Ok(())
}

#[tokio::test]
async fn openai_images_non_image_is_invalid_output_with_units() -> anyhow::Result<()> {
    let error = openai_images_error(generation_reply(b"<html>not an image</html>", None)).await?;
    assert_eq!(
        invalid_units(&error)?,
        Units {
            images: 1,
            ..Units::default()
        }
    );
    let error =
        openai_images_error(ResponseTemplate::new(200).set_body_json(json!({ "data": [] })))
            .await?;
    invalid_units(&error)?;
    Ok(())
}
