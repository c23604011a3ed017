//! OpenAI text-to-speech (`/audio/speech`, `tts-1` or `gpt-4o-mini-tts`) answering WAV bytes.

use async_trait::async_trait;
use serde_json::json;

use crate::{
    capability::{Speech, SpeechReply, SpeechRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

/// The API's default base URL (the SDKs' `OPENAI_BASE_URL`).
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The default model, billed per input character.
pub const DEFAULT_MODEL: &str = "tts-1";
/// The default built-in voice.
pub const DEFAULT_VOICE: &str = "alloy";

/// The documented range of `speed`.
const SPEED_RANGE: (f32, f32) = (0.25, 4.0);

/// OpenAI reports exhausted credit as a 429 with this code.
const QUOTA_MARKERS: &[&str] = &["insufficient_quota"];

/// Where to call, with which key, model and default voice.
#[derive(Debug, Clone)]
pub struct OpenAiTtsConfig {
    /// Ends before `/audio/speech`, e.g. [`DEFAULT_BASE_URL`].
    pub base_url: String,
    pub api_key: shared::config::Secret,
    /// `tts-1`, `tts-1-hd` or `gpt-4o-mini-tts`.
    pub model: String,
    /// The voice used when a request names none.
    pub voice: String,
}

impl OpenAiTtsConfig {
    /// The documented defaults with this key.
    pub fn new(api_key: shared::config::Secret) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key,
            model: DEFAULT_MODEL.to_owned(),
            voice: DEFAULT_VOICE.to_owned(),
        }
    }
}

pub struct OpenAiTts {
    config: OpenAiTtsConfig,
    http: reqwest::Client,
}

impl OpenAiTts {
    pub fn new(config: OpenAiTtsConfig) -> Result<Self, CallError> {
        Ok(Self {
            config,
            http: http::client()?,
        })
    }
}

#[async_trait]
impl Client<Speech> for OpenAiTts {
    fn provider(&self) -> &str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn call(&self, request: &SpeechRequest) -> Result<Answer<SpeechReply>, CallError> {
        let url = format!(
            "{}/audio/speech",
            self.config.base_url.trim_end_matches('/')
        );
        // Two decimals, so an `f32` like 1.1 is not sent as 1.100000023841858.
        let speed = if request.speed.is_finite() {
            (f64::from(request.speed.clamp(SPEED_RANGE.0, SPEED_RANGE.1)) * 100.0).round() / 100.0
        } else {
            1.0
        };
        let body = json!({
            "model": self.config.model,
            "input": request.text,
            "voice": request.voice.as_deref().unwrap_or(&self.config.voice),
            "response_format": "wav",
            "speed": speed
        });
        let response = self
            .http
            .post(&url)
            .bearer_auth(self.config.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| http::network(&url, &e))?;
        let wav = http::read_bytes(&url, response, QUOTA_MARKERS).await?;
        let units = Units {
            characters: request.text.chars().count() as u64,
            ..Units::default()
        };
        if wav.is_empty() {
            return Err(CallError::InvalidOutput {
                detail: "the reply has no audio".to_owned(),
                units,
            });
        }
        Ok(Answer::new(
            SpeechReply {
                wav,
                alignment: Vec::new(),
            },
            units,
        ))
    }
}
