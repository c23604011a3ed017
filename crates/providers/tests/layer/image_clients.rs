//! The image and moderation clients (OpenAI images, Stability, Hugging Face inference, OpenAI
//! moderation) against fake servers speaking each provider's wire format.

use std::{collections::BTreeMap, time::Duration};

use anyhow::{anyhow, bail, ensure};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use providers::{
    capability::{CategoryScore, ImageReply, ImageRequest, ModerationReply, ModerationRequest},
    clients::{
        hf_images::{HfImages, HfImagesConfig},
        openai_images::{OpenAiImages, OpenAiImagesConfig},
        openai_moderation::{OpenAiModeration, OpenAiModerationConfig, DEFAULT_MODEL},
        stability::{Stability, StabilityConfig},
    },
    Answer, CallError, Client, Image, Moderation, Units,
};
use serde_json::{json, Value};
use shared::config::Secret;
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, Request, ResponseTemplate,
};

const KEY: &str = "sk-test-not-a-real-key";

/// A 1×1 red RGBA PNG.
const RED_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x56, 0xc7, 0x2f, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A 1×1 green RGBA PNG.
const GREEN_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60, 0xf8, 0xcf, 0xf0,
    0x1f, 0x00, 0x04, 0x01, 0x01, 0xff, 0xae, 0xb5, 0x55, 0xf5, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The start of a JFIF file: enough for the format sniffer.
const JPEG: &[u8] = &[
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xd9,
];

const PROMPT: &str = "a red fox in fresh snow";
const NEGATIVE: &str = "blur, text";

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn data_url(png: &[u8]) -> String {
    format!("data:image/png;base64,{}", b64(png))
}

fn image_request(width: u32, height: u32) -> ImageRequest {
    ImageRequest {
        prompt: PROMPT.to_owned(),
        negative_prompt: NEGATIVE.to_owned(),
        width,
        height,
        seed: 42,
    }
}

/// The error of a call that had to fail.
fn failure<R>(result: Result<Answer<R>, CallError>) -> anyhow::Result<CallError> {
    match result {
        Ok(answer) => bail!(
            "expected an error, the call answered with {:?}",
            answer.units
        ),
        Err(error) => Ok(error),
    }
}

/// The wait a transient error asks for; any other error fails the test.
fn retry_after(error: &CallError) -> anyhow::Result<Option<Duration>> {
    match error {
        CallError::Transient { retry_after, .. } => Ok(*retry_after),
        other => bail!("expected a transient error, got {other:?}"),
    }
}

/// The units an invalid-output error still accounts; any other error fails the test.
fn invalid_units(error: &CallError) -> anyhow::Result<Units> {
    match error {
        CallError::InvalidOutput { units, .. } => Ok(*units),
        other => bail!("expected invalid output, got {other:?}"),
    }
}

/// Every request the fake server received, in order.
async fn received(server: &MockServer) -> anyhow::Result<Vec<Request>> {
    server
        .received_requests()
        .await
        .ok_or_else(|| anyhow!("request recording is off"))
}

/// The one request the fake server received.
async fn only_request(server: &MockServer) -> anyhow::Result<Request> {
    let mut requests = received(server).await?;
    ensure!(
        requests.len() == 1,
        "expected one request, got {}",
        requests.len()
    );
    requests.pop().ok_or_else(|| anyhow!("no request"))
}

fn header_text<'a>(request: &'a Request, name: &str) -> anyhow::Result<&'a str> {
    request
        .headers
        .get(name)
        .ok_or_else(|| anyhow!("no {name} header"))?
        .to_str()
        .map_err(|e| anyhow!("{name}: {e}"))
}

fn openai_error(status: u16, code: &str, kind: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": { "message": format!("fake {code}"), "type": kind, "param": null, "code": code }
    }))
}

// ---------------------------------------------------------------------------------------------
// OpenAI images

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

// ---------------------------------------------------------------------------------------------
// Stability

fn stability(server: &MockServer, engine: &str) -> anyhow::Result<Stability> {
    Ok(Stability::new(StabilityConfig {
        base_url: server.uri(),
        api_key: Secret::new(KEY),
        model: engine.to_owned(),
    })?)
}

fn stability_reply(image: &[u8], finish_reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "image": b64(image), "finish_reason": finish_reason, "seed": 7
    }))
}

fn stability_error(status: u16, name: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "id": "a1b2c3", "name": name, "errors": [message]
    }))
}

/// The fields of a `multipart/form-data` request, by name.
fn form_fields(request: &Request) -> anyhow::Result<BTreeMap<String, String>> {
    let content_type = header_text(request, "content-type")?;
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .ok_or_else(|| anyhow!("not a multipart form: {content_type}"))?;
    let body = String::from_utf8(request.body.clone())?;
    let mut fields = BTreeMap::new();
    for part in body.split(&format!("--{boundary}")) {
        let part = part.trim_start_matches("\r\n");
        if part.is_empty() || part.starts_with("--") {
            continue;
        }
        let (head, value) = part
            .split_once("\r\n\r\n")
            .ok_or_else(|| anyhow!("a part without a body: {part}"))?;
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or_else(|| anyhow!("a part without a name: {head}"))?;
        fields.insert(
            name.to_owned(),
            value.strip_suffix("\r\n").unwrap_or(value).to_owned(),
        );
    }
    Ok(fields)
}

/// The error a Stability call gets when the fake server answers with `template`.
async fn stability_call_error(template: ResponseTemplate) -> anyhow::Result<CallError> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2beta/stable-image/generate/core"))
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    failure(
        stability(&server, "core")?
            .call(&image_request(1080, 1920))
            .await,
    )
}

#[tokio::test]
async fn stability_portrait_request_and_reply() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2beta/stable-image/generate/core"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("accept", "application/json"))
        .respond_with(stability_reply(RED_PNG, "SUCCESS"))
        .expect(1)
        .mount(&server)
        .await;
    let client = stability(&server, "core")?;
    assert_eq!(Client::<Image>::provider(&client), "stability");
    assert_eq!(Client::<Image>::model(&client), "core");
    let request = ImageRequest {
        seed: 4_294_967_295 + 7,
        ..image_request(1080, 1920)
    };

    let answer = client.call(&request).await?;
    assert_eq!(answer.reply.image.as_ref(), RED_PNG);
    assert_eq!(answer.reply.format, "png");
    assert_eq!(
        answer.units,
        Units {
            images: 1,
            ..Units::default()
        }
    );
    let fields = form_fields(&only_request(&server).await?)?;
    let expected: BTreeMap<String, String> = [
        ("prompt", PROMPT),
        ("negative_prompt", NEGATIVE),
        ("aspect_ratio", "9:16"),
        ("output_format", "png"),
        ("seed", "7"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(fields, expected);
    Ok(())
}

#[tokio::test]
async fn stability_picks_the_nearest_aspect_ratio_and_skips_an_empty_negative_prompt(
) -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2beta/stable-image/generate/ultra"))
        .respond_with(stability_reply(RED_PNG, "SUCCESS"))
        .mount(&server)
        .await;
    let client = stability(&server, "ultra")?;
    let cases = [
        (1920, 1080, "16:9"),
        (1024, 1024, "1:1"),
        (2560, 1080, "21:9"),
        (1000, 1500, "2:3"),
        (1500, 1000, "3:2"),
        (800, 1000, "4:5"),
        (1200, 1000, "5:4"),
        (1080, 1920, "9:16"),
        (1080, 2520, "9:21"),
        (0, 0, "1:1"),
    ];
    for (width, height, _) in cases {
        let request = ImageRequest {
            negative_prompt: String::new(),
            ..image_request(width, height)
        };
        client.call(&request).await?;
    }
    let requests = received(&server).await?;
    assert_eq!(requests.len(), cases.len());
    for (request, (width, height, ratio)) in requests.iter().zip(cases) {
        let fields = form_fields(request)?;
        assert_eq!(
            fields.get("aspect_ratio").map(String::as_str),
            Some(ratio),
            "{width}x{height}"
        );
        assert!(!fields.contains_key("negative_prompt"), "{fields:?}");
    }
    Ok(())
}

#[tokio::test]
async fn stability_content_filtered_is_refused() -> anyhow::Result<()> {
    let error = stability_call_error(stability_reply(RED_PNG, "CONTENT_FILTERED")).await?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn stability_payment_required_is_quota() -> anyhow::Result<()> {
    let error = stability_call_error(stability_error(
        402,
        "payment_required",
        "You lack sufficient credits to make this request.",
    ))
    .await?;
    assert!(matches!(error, CallError::Quota { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn stability_bad_key_is_auth() -> anyhow::Result<()> {
    for status in [401, 403] {
        let error =
            stability_call_error(stability_error(status, "unauthorized", "bad API key")).await?;
        assert!(matches!(error, CallError::Auth { .. }), "{error:?}");
        assert!(!error.to_string().contains(KEY));
    }
    Ok(())
}

#[tokio::test]
async fn stability_content_moderation_403_is_refused() -> anyhow::Result<()> {
    let error = stability_call_error(stability_error(
        403,
        "content_moderation",
        "Your request was flagged by our content moderation system.",
    ))
    .await?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn stability_bad_requests_are_refused() -> anyhow::Result<()> {
    for (status, name) in [
        (400, "bad_request"),
        (413, "payload_too_large"),
        (422, "invalid_language"),
    ] {
        let error = stability_call_error(stability_error(status, name, "no")).await?;
        assert!(
            matches!(error, CallError::Refused { .. }),
            "{status}: {error:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn stability_429_is_transient_after_retry_after() -> anyhow::Result<()> {
    let error = stability_call_error(
        stability_error(429, "rate_limit_exceeded", "slow down").insert_header("retry-after", "12"),
    )
    .await?;
    assert_eq!(retry_after(&error)?, Some(Duration::from_secs(12)));
    Ok(())
}

#[tokio::test]
async fn stability_5xx_is_transient() -> anyhow::Result<()> {
    let error = stability_call_error(stability_error(500, "internal_error", "oops")).await?;
    assert_eq!(retry_after(&error)?, None);
    Ok(())
}

#[tokio::test]
async fn stability_malformed_or_non_image_is_invalid_output() -> anyhow::Result<()> {
    let error = stability_call_error(ResponseTemplate::new(200).set_body_string("image=")).await?;
    invalid_units(&error)?;
    let error = stability_call_error(stability_reply(b"GIF89a", "SUCCESS")).await?;
    assert_eq!(
        invalid_units(&error)?,
        Units {
            images: 1,
            ..Units::default()
        }
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Hugging Face inference

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

// ---------------------------------------------------------------------------------------------
// OpenAI moderation

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

// ---------------------------------------------------------------------------------------------

#[test]
fn configs_never_show_their_key() {
    let key = || Secret::new(KEY);
    let shown = [
        format!(
            "{:?}",
            OpenAiImagesConfig {
                base_url: String::new(),
                api_key: key(),
                model: String::new()
            }
        ),
        format!(
            "{:?}",
            StabilityConfig {
                base_url: String::new(),
                api_key: key(),
                model: String::new()
            }
        ),
        format!(
            "{:?}",
            HfImagesConfig {
                base_url: String::new(),
                api_key: key(),
                model: String::new()
            }
        ),
        format!(
            "{:?}",
            OpenAiModerationConfig {
                base_url: String::new(),
                api_key: key(),
                model: String::new()
            }
        ),
    ];
    for text in shown {
        assert!(!text.contains(KEY), "{text}");
    }
}
