//! The image and moderation clients (OpenAI images, Stability, Hugging Face inference, OpenAI
//! moderation) against fake servers speaking each provider's wire format. This module holds the
//! fixtures and checks they share, and the one test that spans every client's configuration.

mod hugging_face;
mod moderation;
mod openai_images;
mod stability;

use std::time::Duration;

use anyhow::{anyhow, bail, ensure};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use providers::{
    capability::ImageRequest,
    clients::{
        hf_images::HfImagesConfig, openai_images::OpenAiImagesConfig,
        openai_moderation::OpenAiModerationConfig, stability::StabilityConfig,
    },
    Answer, CallError, Units,
};
use serde_json::json;
use shared::config::Secret;
use wiremock::{MockServer, Request, ResponseTemplate};

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
