//! The Hugging Face inference client: raw image bytes, a loading model's wait, and error classes.

use std::time::Duration;

use providers::{
    capability::ImageRequest,
    clients::hf_images::{HfImages, HfImagesConfig},
    CallError, Client, Image, Units,
};
use serde_json::{json, Value};
use shared::config::Secret;
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use super::{
    failure, image_request, invalid_units, only_request, retry_after, JPEG, KEY, NEGATIVE, PROMPT,
    RED_PNG,
};

const HF_MODEL: &str = "black-forest-labs/FLUX.1-schnell";

fn hf_images(server: &MockServer) -> anyhow::Result<HfImages> {
    Ok(HfImages::new(HfImagesConfig {
        base_url: server.uri(),
        api_key: Secret::new(KEY),
        model: HF_MODEL.to_owned(),
    })?)
}

/// The error a Hugging Face call gets when the fake server answers with `template`.
async fn hf_error(template: ResponseTemplate) -> anyhow::Result<CallError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/hf-inference/models/{HF_MODEL}")))
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    failure(hf_images(&server)?.call(&image_request(1080, 1920)).await)
}

fn hf_json(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

#[tokio::test]
async fn hf_request_and_image_bytes() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/hf-inference/models/{HF_MODEL}")))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(json!({
            "inputs": PROMPT,
            "parameters": { "negative_prompt": NEGATIVE, "width": 1080, "height": 1920, "seed": 42 }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_raw(RED_PNG.to_vec(), "image/png"))
        .expect(1)
        .mount(&server)
        .await;
    let client = hf_images(&server)?;
    assert_eq!(Client::<Image>::provider(&client), "huggingface");
    assert_eq!(Client::<Image>::model(&client), HF_MODEL);

    let answer = client.call(&image_request(1080, 1920)).await?;
    assert_eq!(answer.reply.image.as_ref(), RED_PNG);
    assert_eq!(answer.reply.format, "png");
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
async fn hf_jpeg_reply_and_no_empty_negative_prompt() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/hf-inference/models/{HF_MODEL}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(JPEG.to_vec(), "image/jpeg"))
        .expect(1)
        .mount(&server)
        .await;
    let request = ImageRequest {
        negative_prompt: String::new(),
        ..image_request(1024, 1024)
    };
    let answer = hf_images(&server)?.call(&request).await?;
    assert_eq!(answer.reply.format, "jpeg");
    let body: Value = only_request(&server).await?.body_json()?;
    assert_eq!(
        body,
        json!({
            "inputs": PROMPT,
            "parameters": { "width": 1024, "height": 1024, "seed": 42 }
        })
    );
    Ok(())
}

#[tokio::test]
async fn hf_loading_model_is_transient_for_its_estimated_time() -> anyhow::Result<()> {
    let error = hf_error(hf_json(
        503,
        json!({ "error": format!("Model {HF_MODEL} is currently loading"), "estimated_time": 20.0 }),
    ))
    .await?;
    assert_eq!(retry_after(&error)?, Some(Duration::from_secs(20)));
    Ok(())
}

#[tokio::test]
async fn hf_loading_wait_is_capped_at_a_minute() -> anyhow::Result<()> {
    let error = hf_error(hf_json(
        503,
        json!({ "error": "Model is currently loading", "estimated_time": 412.5 }),
    ))
    .await?;
    assert_eq!(retry_after(&error)?, Some(Duration::from_secs(60)));
    Ok(())
}

#[tokio::test]
async fn hf_5xx_is_transient() -> anyhow::Result<()> {
    let error = hf_error(
        hf_json(503, json!({ "error": "Service Unavailable" })).insert_header("retry-after", "3"),
    )
    .await?;
    assert_eq!(retry_after(&error)?, Some(Duration::from_secs(3)));
    let error = hf_error(hf_json(500, json!({ "error": "boom" }))).await?;
    assert_eq!(retry_after(&error)?, None);
    Ok(())
}

#[tokio::test]
async fn hf_429_is_transient_after_retry_after() -> anyhow::Result<()> {
    let error = hf_error(
        hf_json(429, json!({ "error": "Rate limit reached" })).insert_header("retry-after", "5"),
    )
    .await?;
    assert_eq!(retry_after(&error)?, Some(Duration::from_secs(5)));
    Ok(())
}

#[tokio::test]
async fn hf_bad_token_is_auth() -> anyhow::Result<()> {
    let error = hf_error(hf_json(
        401,
        json!({ "error": "Invalid credentials in Authorization header" }),
    ))
    .await?;
    assert!(matches!(error, CallError::Auth { .. }), "{error:?}");
    assert!(!error.to_string().contains(KEY));
    Ok(())
}

#[tokio::test]
async fn hf_exhausted_credits_are_quota() -> anyhow::Result<()> {
    let error = hf_error(hf_json(
        402,
        json!({ "error": "You have exceeded your monthly included credits for Inference Providers." }),
    ))
    .await?;
    assert!(matches!(error, CallError::Quota { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn hf_bad_input_is_refused() -> anyhow::Result<()> {
    let error = hf_error(hf_json(400, json!({ "error": "Input validation error" }))).await?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn hf_non_image_body_is_invalid_output() -> anyhow::Result<()> {
    let error = hf_error(hf_json(200, json!({ "generated_text": "a fox" }))).await?;
    assert_eq!(
        invalid_units(&error)?,
        Units {
            images: 1,
            ..Units::default()
        }
    );
    Ok(())
}
