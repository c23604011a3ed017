//! Hugging Face inference text-to-image (`POST /hf-inference/models/{model}`), answering with the
//! image bytes.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde_json::json;

use crate::{
    capability::{sniff_image, Image, ImageReply, ImageRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

/// The Hugging Face inference router, before `/hf-inference/…`.
pub const DEFAULT_BASE_URL: &str = "https://router.huggingface.co";

/// The longest wait a loading model's `estimated_time` may ask for.
const MAX_LOADING_WAIT: Duration = Duration::from_secs(60);

/// Where to call, with which token and model.
#[derive(Debug, Clone)]
pub struct HfImagesConfig {
    /// Ends before `/hf-inference`, e.g. [`DEFAULT_BASE_URL`].
    pub base_url: String,
    /// A Hugging Face access token (`HF_TOKEN`).
    pub api_key: shared::config::Secret,
    /// A model id such as `black-forest-labs/FLUX.1-schnell`.
    pub model: String,
}

/// Still images from a Hugging Face text-to-image model.
pub struct HfImages {
    config: HfImagesConfig,
    http: reqwest::Client,
}

impl HfImages {
    pub fn new(config: HfImagesConfig) -> Result<Self, CallError> {
        Ok(Self {
            config,
            http: http::client()?,
        })
    }
}

#[async_trait]
impl Client<Image> for HfImages {
    fn provider(&self) -> &str {
        "huggingface"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn call(&self, request: &ImageRequest) -> Result<Answer<ImageReply>, CallError> {
        let url = format!(
            "{}/hf-inference/models/{}",
            self.config.base_url.trim_end_matches('/'),
            self.config.model
        );
        let mut parameters = json!({
            "width": request.width,
            "height": request.height,
            "seed": request.seed,
        });
        if !request.negative_prompt.trim().is_empty() {
            parameters["negative_prompt"] = json!(request.negative_prompt);
        }
        let body = json!({ "inputs": request.prompt, "parameters": parameters });
        let response = self
            .http
            .post(&url)
            .bearer_auth(self.config.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| http::network(&url, &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| http::network(&url, &e))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            if let Some(wait) = (status == StatusCode::SERVICE_UNAVAILABLE)
                .then(|| loading_wait(&text))
                .flatten()
            {
                return Err(CallError::Transient {
                    detail: format!("{status}: {}", http::excerpt(&text)),
                    retry_after: Some(wait),
                });
            }
            return Err(http::classify(status, &headers, &text, &[]));
        }
        let units = Units {
            images: 1,
            ..Units::default()
        };
        let format = sniff_image(&bytes).ok_or_else(|| CallError::InvalidOutput {
            detail: format!(
                "the reply is not a PNG, JPEG or WebP image: {}",
                http::excerpt(&String::from_utf8_lossy(&bytes))
            ),
            units,
        })?;
        Ok(Answer::new(
            ImageReply {
                image: bytes,
                format: format.to_owned(),
            },
            units,
        ))
    }
}

/// A model still loading answers `{error, estimated_time}` (seconds): wait that long, at most a minute.
fn loading_wait(body: &str) -> Option<Duration> {
    let reply: serde_json::Value = serde_json::from_str(body).ok()?;
    let seconds = reply["estimated_time"].as_f64()?;
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_LOADING_WAIT.as_secs_f64())))
}
