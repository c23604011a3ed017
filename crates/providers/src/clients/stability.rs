//! Stability AI Stable Image generation (`core`, `sd3`, `ultra`) through
//! `POST /v2beta/stable-image/generate/{engine}` with a multipart form.

use async_trait::async_trait;
use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use reqwest::{header::ACCEPT, multipart::Form, StatusCode};

use crate::{
    capability::{sniff_image, Image, ImageReply, ImageRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

/// Stability's API root, before `/v2beta/…`.
pub const DEFAULT_BASE_URL: &str = "https://api.stability.ai";

/// Where to call, with which key and engine.
#[derive(Debug, Clone)]
pub struct StabilityConfig {
    /// Ends before `/v2beta`, e.g. [`DEFAULT_BASE_URL`].
    pub base_url: String,
    pub api_key: shared::config::Secret,
    /// The engine in the path: `core`, `sd3` or `ultra`.
    pub model: String,
}

/// Still images from Stability AI's Stable Image endpoints.
pub struct Stability {
    config: StabilityConfig,
    http: reqwest::Client,
}

impl Stability {
    pub fn new(config: StabilityConfig) -> Result<Self, CallError> {
        Ok(Self {
            config,
            http: http::client()?,
        })
    }
}

/// The aspect ratios the generate endpoints accept, as (name, width, height).
const ASPECT_RATIOS: &[(&str, f64, f64)] = &[
    ("16:9", 16.0, 9.0),
    ("1:1", 1.0, 1.0),
    ("21:9", 21.0, 9.0),
    ("2:3", 2.0, 3.0),
    ("3:2", 3.0, 2.0),
    ("4:5", 4.0, 5.0),
    ("5:4", 5.0, 4.0),
    ("9:16", 9.0, 16.0),
    ("9:21", 9.0, 21.0),
];

/// The supported aspect ratio nearest to `width:height`, measured on a log scale so that 2:1 and
/// 1:2 are equally far from 1:1.
fn aspect_ratio(width: u32, height: u32) -> &'static str {
    if width == 0 || height == 0 {
        return "1:1";
    }
    let wanted = (f64::from(width) / f64::from(height)).ln();
    let distance = |w: f64, h: f64| ((w / h).ln() - wanted).abs();
    ASPECT_RATIOS
        .iter()
        .min_by(|a, b| distance(a.1, a.2).total_cmp(&distance(b.1, b.2)))
        .map_or("1:1", |ratio| ratio.0)
}

/// Seeds must lie in `0..=4294967294`.
const SEED_MODULUS: u64 = 4_294_967_295;

#[async_trait]
impl Client<Image> for Stability {
    fn provider(&self) -> &str {
        "stability"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn call(&self, request: &ImageRequest) -> Result<Answer<ImageReply>, CallError> {
        let url = format!(
            "{}/v2beta/stable-image/generate/{}",
            self.config.base_url.trim_end_matches('/'),
            self.config.model
        );
        let mut form = Form::new().text("prompt", request.prompt.clone());
        if !request.negative_prompt.trim().is_empty() {
            form = form.text("negative_prompt", request.negative_prompt.clone());
        }
        let form = form
            .text("aspect_ratio", aspect_ratio(request.width, request.height))
            .text("output_format", "png")
            .text("seed", (request.seed % SEED_MODULUS).to_string());
        let response = self
            .http
            .post(&url)
            .bearer_auth(self.config.api_key.expose())
            .header(ACCEPT, "application/json")
            .multipart(form)
            .send()
            .await
            .map_err(|e| http::network(&url, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| http::network(&url, &e))?;
        if !status.is_success() {
            return Err(classify(status, &headers, &text));
        }
        parse(&text)
    }
}

/// Stability's errors are `{id, name, errors: […]}`; a moderated request is a 403 named
/// `content_moderation`, which is a refusal, not bad credentials.
fn classify(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &str) -> CallError {
    let name = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["name"].as_str().map(str::to_owned));
    if name.as_deref() == Some("content_moderation") {
        return CallError::Refused {
            detail: format!("{status}: {}", http::excerpt(body)),
        };
    }
    http::classify(status, headers, body, &[])
}

/// The base64 image of a JSON reply, unless the content filter replaced it.
fn parse(body: &str) -> Result<Answer<ImageReply>, CallError> {
    let reply = http::parse_json(body)?;
    let units = Units {
        images: 1,
        ..Units::default()
    };
    let invalid = |detail: String| CallError::InvalidOutput { detail, units };
    match reply["finish_reason"].as_str() {
        Some("CONTENT_FILTERED") => {
            return Err(CallError::Refused {
                detail: "the content filter blocked the image".to_owned(),
            })
        }
        Some("SUCCESS") | None => {}
        Some(other) => return Err(invalid(format!("unexpected finish_reason {other}"))),
    }
    let encoded = reply["image"]
        .as_str()
        .ok_or_else(|| invalid("the reply has no image".to_owned()))?;
    let image = STANDARD
        .decode(encoded.trim())
        .map_err(|e| invalid(format!("the image is not base64: {e}")))?;
    let format = sniff_image(&image)
        .ok_or_else(|| invalid("the image is not PNG, JPEG or WebP".to_owned()))?;
    Ok(Answer::new(
        ImageReply {
            image: Bytes::from(image),
            format: format.to_owned(),
        },
        units,
    ))
}
