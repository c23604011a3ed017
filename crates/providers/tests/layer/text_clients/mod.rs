//! The Anthropic, Gemini and Replicate clients against fake servers speaking each wire format:
//! what they send, what they read back, usage, and how each error is classified. This module
//! holds the requests and the checks every provider's tests share.

mod anthropic;
mod gemini;
mod replicate;
mod replicate_image;
mod replicate_music;
mod replicate_text;

use std::time::Duration;

use anyhow::{anyhow, bail};
use providers::{
    capability::{ImageRequest, MusicRequest, TextRequest},
    CallError,
};
use serde_json::{json, Value};
use wiremock::MockServer;

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
