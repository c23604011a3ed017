//! The Stability client: multipart requests, the nearest aspect ratio, and error classes.

use std::{collections::BTreeMap, time::Duration};

use anyhow::anyhow;
use providers::{
    capability::ImageRequest,
    clients::stability::{Stability, StabilityConfig},
    CallError, Client, Image, Units,
};
use serde_json::json;
use shared::config::Secret;
use wiremock::{
    matchers::{header, method, path},
    Mock, MockServer, Request, ResponseTemplate,
};

use super::{
    b64, failure, header_text, image_request, invalid_units, only_request, received, retry_after,
    KEY, NEGATIVE, PROMPT, RED_PNG,
};

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
