//! ElevenLabs text-to-speech with character timestamps: base64 PCM audio and exact caption alignment.

use async_trait::async_trait;
use base64::{engine::general_purpose::STANDARD, Engine as _};
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;

use crate::{
    capability::{CharTiming, Speech, SpeechReply, SpeechRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

/// The API's default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.elevenlabs.io";
/// The default model: multilingual, billed per character.
pub const DEFAULT_MODEL: &str = "eleven_multilingual_v2";
/// A premade voice every account has ("George").
pub const DEFAULT_VOICE: &str = "JBFqnCBsd6RMkjVDRZzb";

/// The raw PCM the client asks for: 16-bit little-endian mono at this rate.
const SAMPLE_RATE: u32 = 24_000;

/// The documented range of `voice_settings.speed`; values outside it are refused by the API.
const SPEED_RANGE: (f32, f32) = (0.7, 1.2);

/// ElevenLabs answers an exhausted character quota with `detail.status: "quota_exceeded"` (401 or 429).
const QUOTA_MARKERS: &[&str] = &["\"quota_exceeded\""];

/// Where to call, with which key, model and default voice.
#[derive(Debug, Clone)]
pub struct ElevenLabsConfig {
    /// Ends before `/v1/…`, e.g. [`DEFAULT_BASE_URL`].
    pub base_url: String,
    pub api_key: shared::config::Secret,
    /// `model_id`, e.g. [`DEFAULT_MODEL`].
    pub model: String,
    /// The voice id used when a request names none.
    pub voice: String,
}

impl ElevenLabsConfig {
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

pub struct ElevenLabs {
    config: ElevenLabsConfig,
    base: Url,
    http: reqwest::Client,
}

impl ElevenLabs {
    /// Fails on a base URL that cannot take path segments.
    pub fn new(config: ElevenLabsConfig) -> Result<Self, CallError> {
        let base = Url::parse(&config.base_url)
            .ok()
            .filter(|url| !url.cannot_be_a_base())
            .ok_or_else(|| CallError::Refused {
                detail: format!("ElevenLabs base URL {:?} is not a URL", config.base_url),
            })?;
        Ok(Self {
            config,
            base,
            http: http::client()?,
        })
    }

    /// `{base}/v1/text-to-speech/{voice_id}/with-timestamps?output_format=pcm_24000`.
    fn url(&self, voice: &str) -> Result<Url, CallError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| CallError::Refused {
                detail: "ElevenLabs base URL cannot take a path".to_owned(),
            })?
            .pop_if_empty()
            .extend(["v1", "text-to-speech", voice, "with-timestamps"]);
        url.query_pairs_mut()
            .append_pair("output_format", &format!("pcm_{SAMPLE_RATE}"));
        Ok(url)
    }
}

#[async_trait]
impl Client<Speech> for ElevenLabs {
    fn provider(&self) -> &str {
        "elevenlabs"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn call(&self, request: &SpeechRequest) -> Result<Answer<SpeechReply>, CallError> {
        let voice = request.voice.as_deref().unwrap_or(&self.config.voice);
        let url = self.url(voice)?;
        // Two decimals, so an `f32` like 1.1 is not sent as 1.100000023841858.
        let speed = if request.speed.is_finite() {
            (f64::from(request.speed.clamp(SPEED_RANGE.0, SPEED_RANGE.1)) * 100.0).round() / 100.0
        } else {
            1.0
        };
        let body = json!({
            "text": request.text,
            "model_id": self.config.model,
            "voice_settings": { "stability": 0.5, "similarity_boost": 0.75, "speed": speed }
        });
        let response = self
            .http
            .post(url.clone())
            .header("xi-api-key", self.config.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| http::network(url.as_str(), &e))?;
        let text = http::read_text(url.as_str(), response, QUOTA_MARKERS).await?;
        let units = Units {
            characters: request.text.chars().count() as u64,
            ..Units::default()
        };
        let reply = parse(&text).map_err(|detail| CallError::InvalidOutput { detail, units })?;
        Ok(Answer::new(reply, units))
    }
}

#[derive(Deserialize)]
struct Reply {
    audio_base64: String,
    #[serde(default)]
    alignment: Option<Alignment>,
}

#[derive(Deserialize)]
struct Alignment {
    characters: Vec<String>,
    character_start_times_seconds: Vec<f64>,
    character_end_times_seconds: Vec<f64>,
}

/// The PCM wrapped as WAV and the character timings in milliseconds.
fn parse(body: &str) -> Result<SpeechReply, String> {
    let reply: Reply = serde_json::from_str(body)
        .map_err(|e| format!("the reply is not the expected JSON: {e}"))?;
    let pcm = STANDARD
        .decode(reply.audio_base64.trim())
        .map_err(|e| format!("audio_base64 is not base64: {e}"))?;
    if pcm.len() < 2 {
        return Err("the reply has no audio".to_owned());
    }
    let wav = http::wav_from_pcm16(&pcm, SAMPLE_RATE).map_err(|e| e.to_string())?;
    let alignment = match reply.alignment {
        Some(a) => timings(a)?,
        None => Vec::new(),
    };
    Ok(SpeechReply { wav, alignment })
}

fn timings(alignment: Alignment) -> Result<Vec<CharTiming>, String> {
    let Alignment {
        characters,
        character_start_times_seconds: starts,
        character_end_times_seconds: ends,
    } = alignment;
    if starts.len() != characters.len() || ends.len() != characters.len() {
        return Err(format!(
            "the alignment has {} characters but {} start and {} end times",
            characters.len(),
            starts.len(),
            ends.len()
        ));
    }
    let ms = |seconds: f64| (seconds * 1000.0).round().max(0.0) as u32;
    Ok(characters
        .into_iter()
        .zip(starts.into_iter().zip(ends))
        .map(|(character, (start, end))| CharTiming {
            character,
            start_ms: ms(start),
            end_ms: ms(end),
        })
        .collect())
}
