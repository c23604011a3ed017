//! OpenAI image generation (`gpt-image-1`, `dall-e-3`) through `POST /images/generations`.

use async_trait::async_trait;
use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use serde_json::json;

use crate::{
    capability::{sniff_image, Image, ImageReply, ImageRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

/// OpenAI's API root, before `/images/generations`.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Where to call, with which key and model.
#[derive(Debug, Clone)]
pub struct OpenAiImagesConfig {
    /// Ends before `/images/generations`, e.g. [`DEFAULT_BASE_URL`].
    pub base_url: String,
    pub api_key: shared::config::Secret,
    /// `gpt-image-1` or `dall-e-3`.
    pub model: String,
}

/// Still images from OpenAI's image generation endpoint.
pub struct OpenAiImages {
    config: OpenAiImagesConfig,
    http: reqwest::Client,
}

impl OpenAiImages {
    pub fn new(config: OpenAiImagesConfig) -> Result<Self, CallError> {
        Ok(Self {
            config,
            http: http::client()?,
        })
    }

    /// The DALL·E models take `response_format`; the GPT image models always answer in base64
    /// and reject the parameter.
    fn is_dall_e(&self) -> bool {
        self.config.model.starts_with("dall-e")
    }
}

/// OpenAI reports exhausted credit as a 429 `insufficient_quota`, and a reached billing limit on
/// the images API as a 400 `billing_hard_limit_reached`.
const QUOTA_MARKERS: &[&str] = &["insufficient_quota", "billing_hard_limit_reached"];

/// Which way the wanted picture is oriented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Orientation {
    Square,
    Landscape,
    Portrait,
}

/// Portrait when the height exceeds the width by more than a fifth, landscape the other way round.
fn orientation(width: u32, height: u32) -> Orientation {
    let (width, height) = (u64::from(width), u64::from(height));
    if height * 5 > width * 6 {
        Orientation::Portrait
    } else if width * 5 > height * 6 {
        Orientation::Landscape
    } else {
        Orientation::Square
    }
}

/// The supported size nearest to the wanted one: each model has one square, one landscape and one
/// portrait size (DALL·E 2 only squares).
fn size(model: &str, width: u32, height: u32) -> &'static str {
    let orientation = orientation(width, height);
    if model == "dall-e-2" {
        return "1024x1024";
    }
    let dall_e = model.starts_with("dall-e");
    match (orientation, dall_e) {
        (Orientation::Square, _) => "1024x1024",
        (Orientation::Landscape, true) => "1792x1024",
        (Orientation::Portrait, true) => "1024x1792",
        (Orientation::Landscape, false) => "1536x1024",
        (Orientation::Portrait, false) => "1024x1536",
    }
}

#[async_trait]
impl Client<Image> for OpenAiImages {
    fn provider(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn call(&self, request: &ImageRequest) -> Result<Answer<ImageReply>, CallError> {
        let url = format!(
            "{}/images/generations",
            self.config.base_url.trim_end_matches('/')
        );
        let prompt = if request.negative_prompt.trim().is_empty() {
            request.prompt.clone()
        } else {
            format!(
                "{}\n\nAvoid: {}",
                request.prompt,
                request.negative_prompt.trim()
            )
        };
        let mut body = json!({
            "model": self.config.model,
            "prompt": prompt,
            "n": 1,
            "size": size(&self.config.model, request.width, request.height),
        });
        if self.is_dall_e() {
            body["response_format"] = json!("b64_json");
        }
        let response = self
            .http
            .post(&url)
            .bearer_auth(self.config.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| http::network(&url, &e))?;
        let text = http::read_text(&url, response, QUOTA_MARKERS).await?;
        parse(&text)
    }
}

/// The first image of a generation reply, decoded, and what it consumed.
fn parse(body: &str) -> Result<Answer<ImageReply>, CallError> {
    let reply = http::parse_json(body)?;
    let usage = &reply["usage"];
    let units = Units {
        images: 1,
        input_tokens: usage["input_tokens"].as_u64().unwrap_or(0),
        output_tokens: usage["output_tokens"].as_u64().unwrap_or(0),
        ..Units::default()
    };
    let invalid = |detail: String| CallError::InvalidOutput { detail, units };
    let encoded = reply["data"][0]["b64_json"]
        .as_str()
        .ok_or_else(|| invalid("the reply has no data[0].b64_json".to_owned()))?;
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
