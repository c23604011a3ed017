//! Azure AI Speech text-to-speech over REST: SSML in, 24 kHz 16-bit mono RIFF WAV out.

use async_trait::async_trait;

use crate::{
    capability::{Speech, SpeechReply, SpeechRequest},
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

/// The name priced in the price table: Azure bills neural voices per character.
pub const DEFAULT_MODEL: &str = "neural";
/// The voice for languages without a default of their own.
pub const DEFAULT_VOICE: &str = "en-US-JennyNeural";

/// The output format asked for; it is already a RIFF WAV file.
const OUTPUT_FORMAT: &str = "riff-24khz-16bit-mono-pcm";

/// The prosody rates Azure accepts, as multipliers of the voice's normal rate.
const SPEED_RANGE: (f32, f32) = (0.5, 2.0);

/// Azure's API gateway answers an exhausted free-tier (F0) quota with a 403 carrying this message.
const QUOTA_MARKERS: &[&str] = &["Out of call volume quota"];

/// Which resource to call, with which key, and the default voice.
#[derive(Debug, Clone)]
pub struct AzureSpeechConfig {
    /// The resource's region, e.g. `westeurope`.
    pub region: String,
    /// Overrides `https://{region}.tts.speech.microsoft.com` (ends before `/cognitiveservices/v1`).
    pub endpoint: Option<String>,
    /// The resource key, sent as `Ocp-Apim-Subscription-Key`.
    pub api_key: shared::config::Secret,
    /// The price-table name, e.g. [`DEFAULT_MODEL`].
    pub model: String,
    /// The voice for requests naming none in a language without a built-in default.
    pub voice: String,
}

impl AzureSpeechConfig {
    /// The defaults for a resource in `region` with this key.
    pub fn new(region: impl Into<String>, api_key: shared::config::Secret) -> Self {
        Self {
            region: region.into(),
            endpoint: None,
            api_key,
            model: DEFAULT_MODEL.to_owned(),
            voice: DEFAULT_VOICE.to_owned(),
        }
    }
}

pub struct AzureSpeech {
    config: AzureSpeechConfig,
    url: String,
    http: reqwest::Client,
}

impl AzureSpeech {
    /// Fails when neither an endpoint nor a region is configured.
    pub fn new(config: AzureSpeechConfig) -> Result<Self, CallError> {
        let endpoint = match &config.endpoint {
            Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
            None if !config.region.trim().is_empty() => {
                format!("https://{}.tts.speech.microsoft.com", config.region.trim())
            }
            None => {
                return Err(CallError::Refused {
                    detail: "Azure Speech needs a region or an endpoint".to_owned(),
                })
            }
        };
        Ok(Self {
            url: format!("{endpoint}/cognitiveservices/v1"),
            config,
            http: http::client()?,
        })
    }
}

#[async_trait]
impl Client<Speech> for AzureSpeech {
    fn provider(&self) -> &str {
        "azure"
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn call(&self, request: &SpeechRequest) -> Result<Answer<SpeechReply>, CallError> {
        let locale = locale(&request.language);
        let voice = match &request.voice {
            Some(voice) => voice.as_str(),
            None => default_voice(&locale).unwrap_or(&self.config.voice),
        };
        let ssml = ssml(&locale, voice, request.speed, &request.text);
        // The shared client sends the `User-Agent` Azure requires.
        let response = self
            .http
            .post(&self.url)
            .header("Ocp-Apim-Subscription-Key", self.config.api_key.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/ssml+xml")
            .header("X-Microsoft-OutputFormat", OUTPUT_FORMAT)
            .body(ssml)
            .send()
            .await
            .map_err(|e| http::network(&self.url, &e))?;
        let wav = http::read_bytes(&self.url, response, QUOTA_MARKERS).await?;
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

/// A bare language as the locale of its usual default voice; anything else as given.
fn locale(language: &str) -> String {
    match language.trim().to_ascii_lowercase().as_str() {
        "en" => "en-US".to_owned(),
        "es" => "es-ES".to_owned(),
        "fr" => "fr-FR".to_owned(),
        "de" => "de-DE".to_owned(),
        _ => language.trim().to_owned(),
    }
}

/// A neural voice for the locale's language, when there is a built-in default.
fn default_voice(locale: &str) -> Option<&'static str> {
    let language = locale.split(['-', '_']).next().unwrap_or(locale);
    match language.to_ascii_lowercase().as_str() {
        "en" => Some("en-US-JennyNeural"),
        "es" => Some("es-ES-ElviraNeural"),
        "fr" => Some("fr-FR-DeniseNeural"),
        "de" => Some("de-DE-KatjaNeural"),
        _ => None,
    }
}

/// The SSML document: the text at a relative prosody rate (`+20.00%` for speed 1.2).
fn ssml(locale: &str, voice: &str, speed: f32, text: &str) -> String {
    let speed = if speed.is_finite() {
        speed.clamp(SPEED_RANGE.0, SPEED_RANGE.1)
    } else {
        1.0
    };
    let rate = format!("{:+.2}%", (speed - 1.0) * 100.0);
    format!(
        concat!(
            r#"<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="{lang}">"#,
            r#"<voice name="{voice}"><prosody rate="{rate}">{text}</prosody></voice></speak>"#
        ),
        lang = escape(locale),
        voice = escape(voice),
        rate = rate,
        text = escape(text),
    )
}

/// XML-escapes text for element content and double- or single-quoted attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}
