//! Replicate's predictions API: one runner that creates a prediction, waits for it (sync mode,
//! then polling) and bills its predict time, and thin clients for text, images and music on top.
//!
//! Input names are model-specific; the clients send the common ones (`prompt`, `max_new_tokens`,
//! `negative_prompt`, `width`, `height`, `seed`, `duration`, `output_format`), which Llama-style
//! text models, SDXL-style image models and MusicGen understand.

use std::{
    marker::PhantomData,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use base64::{engine::general_purpose::STANDARD, Engine as _};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::{
    capability::{
        sniff_image, Image, ImageReply, ImageRequest, Music, MusicReply, MusicRequest, Text,
        TextReply, TextRequest,
    },
    client::{Answer, CallError, Client},
    http,
    units::Units,
};

use super::json_reply;

/// The provider's name in configuration, usage and prices.
pub const PROVIDER: &str = "replicate";
/// Where the API lives unless configured otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.replicate.com";
/// How long to wait between polls of a running prediction unless configured otherwise.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long to poll a prediction before giving up on it, unless configured otherwise.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(600);

/// Where to call, with which token and model.
#[derive(Debug, Clone)]
pub struct ReplicateConfig {
    /// Ends before `/v1/…`, e.g. `https://api.replicate.com`.
    pub base_url: String,
    /// `REPLICATE_API_TOKEN`.
    pub api_key: shared::config::Secret,
    /// `owner/name` (the model's latest version) or `owner/name:version`.
    pub model: String,
}

impl ReplicateConfig {
    /// The public API with this token and model.
    pub fn new(api_key: shared::config::Secret, model: impl Into<String>) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key,
            model: model.into(),
        }
    }
}

/// The generic prediction runner.
pub struct Predictions {
    config: ReplicateConfig,
    http: reqwest::Client,
    /// Wait between polls of a prediction still `starting` or `processing`.
    pub poll_interval: Duration,
    /// Give up (transient) on a prediction still running after this long.
    pub max_wait: Duration,
}

/// A prediction that succeeded: its output, its metrics and its predict time.
#[derive(Debug, Clone)]
pub struct Finished {
    pub output: Value,
    /// e.g. `predict_time`, and `input_token_count` / `output_token_count` for language models.
    pub metrics: Value,
    /// The model that ran, as Replicate names it.
    pub model: Option<String>,
    /// `millis` is the billed predict time.
    pub units: Units,
}

impl Predictions {
    /// Fails when the model is not `owner/name` or `owner/name:version`.
    pub fn new(config: ReplicateConfig) -> Result<Self, CallError> {
        let name = config.model.split(':').next().unwrap_or_default();
        let valid = name.split_once('/').is_some_and(|(owner, model)| {
            !owner.is_empty() && !model.is_empty() && !model.contains('/')
        });
        if !valid {
            return Err(CallError::Refused {
                detail: format!(
                    "a Replicate model is `owner/name` or `owner/name:version`, not `{}`",
                    config.model
                ),
            });
        }
        Ok(Self {
            config,
            http: http::client()?,
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_wait: DEFAULT_MAX_WAIT,
        })
    }

    fn base(&self) -> &str {
        self.config.base_url.trim_end_matches('/')
    }

    /// Runs the model on `input` until the prediction ends.
    pub async fn run(&self, input: Value) -> Result<Finished, CallError> {
        let base = self.base();
        let (url, body) = match self.config.model.split_once(':') {
            Some((_, version)) => (
                format!("{base}/v1/predictions"),
                json!({ "version": version, "input": input }),
            ),
            None => (
                format!("{base}/v1/models/{}/predictions", self.config.model),
                json!({ "input": input }),
            ),
        };
        let response = self
            .http
            .post(&url)
            .bearer_auth(self.config.api_key.expose())
            .header("Prefer", "wait=60")
            .json(&body)
            .send()
            .await
            .map_err(|e| http::network(&url, &e))?;
        let mut prediction = http::parse_json(&http::read_text(&url, response, &[]).await?)?;
        let deadline = Instant::now() + self.max_wait;
        loop {
            match prediction["status"].as_str() {
                Some("succeeded") => return Ok(finished(prediction)),
                Some("failed") => return Err(failed(&prediction)),
                Some("canceled") => {
                    return Err(CallError::transient(format!(
                        "prediction {} was canceled",
                        prediction["id"]
                    )))
                }
                Some("starting" | "processing") => {}
                other => {
                    return Err(CallError::invalid(format!(
                        "the prediction has an unknown status {other:?}"
                    )))
                }
            }
            if Instant::now() >= deadline {
                return Err(CallError::transient(format!(
                    "prediction {} still {} after {:?}",
                    prediction["id"], prediction["status"], self.max_wait
                )));
            }
            let poll = self.poll_url(&prediction)?;
            tokio::time::sleep(self.poll_interval).await;
            let response = self
                .http
                .get(&poll)
                .bearer_auth(self.config.api_key.expose())
                .send()
                .await
                .map_err(|e| http::network(&poll, &e))?;
            prediction = http::parse_json(&http::read_text(&poll, response, &[]).await?)?;
        }
    }

    /// `urls.get` when it is on the configured API (the token is never sent elsewhere), else
    /// `/v1/predictions/{id}`.
    fn poll_url(&self, prediction: &Value) -> Result<String, CallError> {
        let base = self.base();
        if let Some(get) = prediction["urls"]["get"]
            .as_str()
            .filter(|u| u.starts_with(&format!("{base}/")))
        {
            return Ok(get.to_owned());
        }
        match prediction["id"].as_str() {
            Some(id) if !id.is_empty() => Ok(format!("{base}/v1/predictions/{id}")),
            _ => Err(CallError::invalid("the running prediction has no id")),
        }
    }

    /// The bytes of an output file: a URL fetched without credentials, or a `data:` URL.
    /// A file that cannot be fetched is invalid output that still cost `units`, unless the
    /// failure is transient.
    pub async fn download(&self, url: &str, units: Units) -> Result<Bytes, CallError> {
        let invalid = |detail: String| CallError::InvalidOutput { detail, units };
        if let Some(data) = url.strip_prefix("data:") {
            let (_, encoded) = data
                .split_once(";base64,")
                .ok_or_else(|| invalid("the output data URL is not base64".to_owned()))?;
            return STANDARD
                .decode(encoded)
                .map(Bytes::from)
                .map_err(|e| invalid(format!("the output data URL: {e}")));
        }
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| http::network(url, &e))?;
        match http::read_bytes(url, response, &[]).await {
            Ok(bytes) => Ok(bytes),
            Err(error @ CallError::Transient { .. }) => Err(error),
            Err(error) => Err(invalid(format!("downloading the output {url}: {error}"))),
        }
    }
}

/// The output and billed predict time of a prediction that succeeded.
fn finished(prediction: Value) -> Finished {
    let metrics = prediction["metrics"].clone();
    let seconds = metrics["predict_time"].as_f64().unwrap_or(0.0);
    let millis = if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).round() as u64
    } else {
        0
    };
    Finished {
        output: prediction["output"].clone(),
        model: prediction["model"].as_str().map(str::to_owned),
        metrics,
        units: Units {
            millis,
            ..Units::default()
        },
    }
}

/// A failed prediction: refused when the safety checker flagged it, transient otherwise.
fn failed(prediction: &Value) -> CallError {
    let error = match &prediction["error"] {
        Value::String(text) => text.clone(),
        Value::Null => "no error given".to_owned(),
        other => other.to_string(),
    };
    let detail = format!(
        "prediction {} failed: {}",
        prediction["id"],
        http::excerpt(&error)
    );
    let lower = error.to_lowercase();
    if lower.contains("nsfw") || lower.contains("sensitive") {
        CallError::Refused { detail }
    } else {
        CallError::transient(detail)
    }
}

/// The first URL of an output that is one URL or a list of them.
fn first_url(output: &Value) -> Option<&str> {
    match output {
        Value::String(url) => Some(url),
        Value::Array(items) => items.first().and_then(Value::as_str),
        _ => None,
    }
}

/// Many models seed NumPy, which takes seeds below 2³².
fn seed(seed: u64) -> u64 {
    seed % (1 << 32)
}

/// A Replicate-hosted model answering capability `C`.
pub struct Replicate<C> {
    predictions: Predictions,
    capability: PhantomData<fn() -> C>,
}

/// A language model on Replicate, asked for JSON in its prompt.
pub type ReplicateText = Replicate<Text>;
/// An image model on Replicate.
pub type ReplicateImage = Replicate<Image>;
/// A music model on Replicate (MusicGen-style inputs).
pub type ReplicateMusic = Replicate<Music>;

impl<C> Replicate<C> {
    /// Fails when the model is not `owner/name` or `owner/name:version`.
    pub fn new(config: ReplicateConfig) -> Result<Self, CallError> {
        Ok(Self {
            predictions: Predictions::new(config)?,
            capability: PhantomData,
        })
    }

    /// Polls a running prediction this often (default one second).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.predictions.poll_interval = interval;
        self
    }

    /// Gives up on a prediction still running after this long (default ten minutes).
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.predictions.max_wait = max_wait;
        self
    }

    fn model_name(&self) -> &str {
        &self.predictions.config.model
    }
}

#[async_trait]
impl Client<Text> for Replicate<Text> {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        self.model_name()
    }

    async fn call(&self, request: &TextRequest) -> Result<Answer<TextReply>, CallError> {
        let instruction = json_reply::schema_instruction(&request.schema);
        let prompt = [request.system.as_str(), &request.prompt, &instruction]
            .iter()
            .filter(|part| !part.trim().is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("\n\n");
        let done = self
            .predictions
            .run(json!({
                "prompt": prompt,
                "max_new_tokens": request.max_tokens,
                "temperature": request.temperature,
            }))
            .await?;
        // Language models report tokens; official ones are billed by them.
        let units = Units {
            input_tokens: done.metrics["input_token_count"].as_u64().unwrap_or(0),
            output_tokens: done.metrics["output_token_count"].as_u64().unwrap_or(0),
            ..done.units
        };
        let text = match &done.output {
            Value::String(text) => text.clone(),
            Value::Array(tokens) if tokens.iter().all(Value::is_string) => {
                tokens.iter().filter_map(Value::as_str).collect()
            }
            other => {
                return Err(CallError::InvalidOutput {
                    detail: format!(
                        "the output is not text: {}",
                        http::excerpt(&other.to_string())
                    ),
                    units,
                })
            }
        };
        let json = json_reply::parse(&text, units)?;
        Ok(Answer {
            reply: TextReply { json },
            units,
            model: done.model,
        })
    }
}

#[async_trait]
impl Client<Image> for Replicate<Image> {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        self.model_name()
    }

    async fn call(&self, request: &ImageRequest) -> Result<Answer<ImageReply>, CallError> {
        let done = self
            .predictions
            .run(json!({
                "prompt": request.prompt,
                "negative_prompt": request.negative_prompt,
                "width": request.width,
                "height": request.height,
                "seed": seed(request.seed),
            }))
            .await?;
        let units = Units {
            images: 1,
            ..done.units
        };
        let url = first_url(&done.output).ok_or_else(|| CallError::InvalidOutput {
            detail: format!(
                "the output is not an image URL: {}",
                http::excerpt(&done.output.to_string())
            ),
            units,
        })?;
        let image = self.predictions.download(url, units).await?;
        let format = sniff_image(&image).ok_or_else(|| CallError::InvalidOutput {
            detail: format!("the output {url} is not PNG, JPEG or WebP"),
            units,
        })?;
        Ok(Answer {
            reply: ImageReply {
                image,
                format: format.to_owned(),
            },
            units,
            model: done.model,
        })
    }
}

#[async_trait]
impl Client<Music> for Replicate<Music> {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        self.model_name()
    }

    async fn call(&self, request: &MusicRequest) -> Result<Answer<MusicReply>, CallError> {
        let done = self
            .predictions
            .run(json!({
                "prompt": request.prompt,
                "duration": request.duration_ms.div_ceil(1000),
                "seed": seed(request.seed),
                "output_format": "wav",
            }))
            .await?;
        let units = done.units;
        let url = first_url(&done.output).ok_or_else(|| CallError::InvalidOutput {
            detail: format!(
                "the output is not an audio URL: {}",
                http::excerpt(&done.output.to_string())
            ),
            units,
        })?;
        let audio = self.predictions.download(url, units).await?;
        if audio.is_empty() {
            return Err(CallError::InvalidOutput {
                detail: format!("the output {url} is empty"),
                units,
            });
        }
        let format = audio_format(&audio, url).ok_or_else(|| CallError::InvalidOutput {
            detail: format!("the output {url} is neither WAV nor MP3"),
            units,
        })?;
        Ok(Answer {
            reply: MusicReply {
                audio,
                format: format.to_owned(),
            },
            units,
            model: done.model,
        })
    }
}

/// `wav` or `mp3`, from the bytes' magic number, else from the URL's extension.
fn audio_format(audio: &[u8], url: &str) -> Option<&'static str> {
    if audio.starts_with(b"RIFF") {
        return Some("wav");
    }
    if audio.starts_with(b"ID3") || (audio.len() > 1 && audio[0] == 0xff && audio[1] & 0xe0 == 0xe0)
    {
        return Some("mp3");
    }
    let path = url.split(['?', '#']).next().unwrap_or(url).to_lowercase();
    if path.ends_with(".wav") {
        Some("wav")
    } else if path.ends_with(".mp3") {
        Some("mp3")
    } else {
        None
    }
}
