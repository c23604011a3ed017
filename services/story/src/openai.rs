//! An OpenAI-compatible chat provider (OpenAI, Mistral, Groq, Ollama, vLLM …) asking for the script as schema-checked JSON.

use std::time::Duration;

use anyhow::Context as _;
use futures::future::BoxFuture;
use serde_json::{json, Value};
use shared::breaker::{BreakerConfig, CircuitBreaker};

use crate::{
    generator::{Script, StoryRequest, WORDS_PER_SECOND},
    pricing::TokenUsage,
    provider::{CallUsage, StoryProvider, Written},
};

/// Where and how to call the chat completions endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub breaker: BreakerConfig,
}

impl OpenAiConfig {
    /// From the SDK's usual variables (`OPENAI_API_KEY`, `OPENAI_BASE_URL`); `None` without a key.
    pub fn from_env(model: &str) -> Option<OpenAiConfig> {
        let api_key = std::env::var("OPENAI_API_KEY")
            .ok()
            .filter(|k| !k.is_empty())?;
        let base_url = std::env::var("OPENAI_BASE_URL")
            .unwrap_or_else(|_| "https://api.openai.com/v1".to_owned());
        Some(OpenAiConfig {
            base_url,
            api_key,
            model: model.to_owned(),
            timeout: Duration::from_secs(60),
            max_attempts: 3,
            breaker: BreakerConfig::default(),
        })
    }
}

pub struct OpenAiProvider {
    config: OpenAiConfig,
    client: reqwest::Client,
    breaker: CircuitBreaker,
}

/// How long the provider is left alone after a quota or payment error.
const QUOTA_COOLDOWN: Duration = Duration::from_secs(600);

impl OpenAiProvider {
    pub fn new(config: OpenAiConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(config.timeout).build()?;
        let breaker = CircuitBreaker::new(config.breaker.clone());
        Ok(Self {
            config,
            client,
            breaker,
        })
    }
}

/// The JSON schema the reply must match (a `Script`).
fn script_schema() -> Value {
    let post = json!({
        "type": "object", "additionalProperties": false,
        "required": ["title", "description", "hashtags", "caption"],
        "properties": {
            "title": { "type": "string" }, "description": { "type": "string" },
            "hashtags": { "type": "array", "items": { "type": "string" } }, "caption": { "type": "string" }
        }
    });
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["title", "language", "scenes", "metadata"],
        "properties": {
            "title": { "type": "string" },
            "language": { "type": "string" },
            "scenes": { "type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": false, "required": ["narration", "visual", "mood"],
                "properties": { "narration": { "type": "string" }, "visual": { "type": "string" }, "mood": { "type": "string" } }
            }},
            "metadata": { "type": "object", "additionalProperties": false, "required": ["youtube", "tiktok", "instagram", "facebook"],
                "properties": { "youtube": post, "tiktok": post, "instagram": post, "facebook": post } }
        }
    })
}

fn prompt(request: &StoryRequest) -> String {
    let words = (f64::from(request.length_seconds) * WORDS_PER_SECOND).round();
    format!(
        "Write a {genre} short-video script with a {tone} tone about: {topic}.\n\
         Language: {language}. About {words} words of narration in total, split into scenes of 1-3 sentences; \
         each scene has narration, an English visual description for an illustrator (no text in images) and a mood \
         (calm, mysterious, tense, hopeful, melancholic or joyful). Add a title and per-platform posts with hashtags.",
        genre = request.genre,
        tone = request.tone,
        topic = request.topic,
        language = request.language,
    )
}

/// Why an attempt failed, and whether trying the same provider again can help.
enum Failure {
    Retry {
        error: anyhow::Error,
        after: Option<Duration>,
    },
    GiveUp(anyhow::Error),
}

impl OpenAiProvider {
    async fn attempt(&self, request: &StoryRequest) -> Result<(Script, TokenUsage), Failure> {
        let body = json!({
            "model": self.config.model,
            "messages": [
                { "role": "system", "content": "You write narrated scripts for short videos. Reply with JSON only." },
                { "role": "user", "content": prompt(request) }
            ],
            "temperature": 0.8,
            "response_format": { "type": "json_schema", "json_schema": { "name": "script", "schema": script_schema(), "strict": true } }
        });
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let response = self
            .client
            .post(&url)
            .bearer_auth(&self.config.api_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| Failure::Retry {
                error: anyhow::anyhow!("{url}: {e}"),
                after: None,
            })?;
        let status = response.status();
        let after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<f64>().ok())
            .map(Duration::from_secs_f64);
        let text = response.text().await.map_err(|e| Failure::Retry {
            error: e.into(),
            after: None,
        })?;
        if status.as_u16() == 402 || (status.as_u16() == 429 && text.contains("insufficient_quota"))
        {
            self.breaker.trip_for(QUOTA_COOLDOWN);
            return Err(Failure::GiveUp(anyhow::anyhow!(
                "{url}: {status}: quota exhausted"
            )));
        }
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(Failure::Retry {
                error: anyhow::anyhow!("{url}: {status}"),
                after,
            });
        }
        if !status.is_success() {
            return Err(Failure::GiveUp(anyhow::anyhow!(
                "{url}: {status}: {}",
                text.chars().take(200).collect::<String>()
            )));
        }
        parse_reply(&text).map_err(|error| Failure::Retry { error, after: None })
    }
}

/// The script in a chat completion, checked against what the pipeline needs.
fn parse_reply(text: &str) -> anyhow::Result<(Script, TokenUsage)> {
    let reply: Value = serde_json::from_str(text).context("the reply is not JSON")?;
    let content = reply["choices"][0]["message"]["content"]
        .as_str()
        .context("the reply has no message content")?;
    let script: Script =
        serde_json::from_str(content).context("the content does not match the script schema")?;
    anyhow::ensure!(!script.title.trim().is_empty(), "the script has no title");
    anyhow::ensure!(!script.scenes.is_empty(), "the script has no scenes");
    anyhow::ensure!(
        script
            .scenes
            .iter()
            .all(|s| !s.narration.trim().is_empty() && !s.visual.trim().is_empty()),
        "a scene has no narration or visual"
    );
    let usage = &reply["usage"];
    let tokens = TokenUsage {
        input: usage["prompt_tokens"].as_u64().unwrap_or(0),
        cached_input: usage["prompt_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap_or(0),
        output: usage["completion_tokens"].as_u64().unwrap_or(0),
    };
    Ok((script, tokens))
}

impl StoryProvider for OpenAiProvider {
    fn name(&self) -> &'static str {
        "openai-compatible"
    }

    fn write(&self, request: StoryRequest) -> BoxFuture<'_, anyhow::Result<Written>> {
        Box::pin(async move {
            let mut last = anyhow::anyhow!("no attempt made");
            for attempt in 1..=self.config.max_attempts {
                if !self.breaker.allow() {
                    return Err(last.context(format!("circuit open ({})", self.breaker.state())));
                }
                let started = std::time::Instant::now();
                let outcome = self.attempt(&request).await;
                self.breaker.record(outcome.is_ok());
                match outcome {
                    Ok((script, tokens)) => {
                        let usage = CallUsage {
                            model: self.config.model.clone(),
                            tokens,
                            latency_ms: started.elapsed().as_millis() as u64,
                        };
                        return Ok(Written {
                            script,
                            provider: self.name(),
                            usage: Some(usage),
                        });
                    }
                    Err(Failure::GiveUp(error)) => return Err(error),
                    Err(Failure::Retry { error, after }) => {
                        tracing::warn!(
                            attempt,
                            error = format!("{error:#}"),
                            "story provider attempt failed"
                        );
                        last = error;
                        if attempt < self.config.max_attempts {
                            // Honour retry-after; otherwise full-jitter exponential backoff.
                            let ceiling = 250_u64 << attempt.min(6);
                            let wait = after.unwrap_or_else(|| {
                                Duration::from_millis(rand::random_range(0..=ceiling))
                            });
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
            }
            Err(last)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Instant};

    use wiremock::{
        matchers::{body_partial_json, header, method, path},
        Mock, MockServer, ResponseTemplate,
    };

    use super::*;
    use crate::{
        generator::generate,
        provider::{FallbackChain, OfflineProvider},
    };

    fn request() -> StoryRequest {
        StoryRequest {
            topic: "a lighthouse keeper's last night".into(),
            genre: "mystery".into(),
            tone: "calm".into(),
            length_seconds: 20,
            language: "en".into(),
            seed: 7,
        }
    }

    /// A chat completion whose content is `content`, as OpenAI returns it.
    fn completion(content: &str) -> Value {
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 120, "completion_tokens": 380, "total_tokens": 500, "prompt_tokens_details": { "cached_tokens": 0 } }
        })
    }

    fn chain(server: &MockServer) -> anyhow::Result<FallbackChain> {
        let config = OpenAiConfig {
            base_url: format!("{}/v1", server.uri()),
            api_key: "sk-test".into(),
            model: "gpt-4o-mini".into(),
            timeout: Duration::from_secs(5),
            max_attempts: 3,
            breaker: BreakerConfig {
                min_requests: 20,
                ..BreakerConfig::default()
            },
        };
        Ok(FallbackChain {
            providers: vec![
                Arc::new(OpenAiProvider::new(config)?),
                Arc::new(OfflineProvider),
            ],
        })
    }

    fn error_body(kind: &str) -> Value {
        json!({ "error": { "message": "no", "type": kind, "code": kind } })
    }

    #[tokio::test]
    async fn a_schema_valid_reply_becomes_the_script() -> anyhow::Result<()> {
        let server = MockServer::start().await;
        let mut expected = generate(&request());
        expected.title = "Written by the model".into();
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", "Bearer sk-test"))
            .and(body_partial_json(
                json!({ "model": "gpt-4o-mini", "response_format": { "type": "json_schema" } }),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(completion(&serde_json::to_string(&expected)?)),
            )
            .expect(1)
            .mount(&server)
            .await;
        let written = chain(&server)?.write(request()).await?;
        assert_eq!(written.provider, "openai-compatible");
        assert_eq!(written.script, expected);
        let usage = written.usage.ok_or_else(|| anyhow::anyhow!("no usage"))?;
        assert_eq!(
            (usage.model.as_str(), usage.tokens),
            (
                "gpt-4o-mini",
                TokenUsage {
                    input: 120,
                    cached_input: 0,
                    output: 380
                }
            )
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_429_is_retried_after_its_retry_after() -> anyhow::Result<()> {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "1")
                    .set_body_json(error_body("rate_limit_exceeded")),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(completion(&serde_json::to_string(&generate(&request()))?)),
            )
            .mount(&server)
            .await;
        let started = Instant::now();
        let written = chain(&server)?.write(request()).await?;
        assert_eq!(written.provider, "openai-compatible");
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "waited {:?}",
            started.elapsed()
        );
        assert_eq!(server.received_requests().await.map(|r| r.len()), Some(2));
        Ok(())
    }

    #[tokio::test]
    async fn a_rejected_key_falls_back_at_once() -> anyhow::Result<()> {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401).set_body_json(error_body("invalid_api_key")))
            .mount(&server)
            .await;
        let written = chain(&server)?.write(request()).await?;
        assert_eq!(written.provider, "offline");
        assert_eq!(written.script, generate(&request()));
        assert_eq!(
            server.received_requests().await.map(|r| r.len()),
            Some(1),
            "a 401 is not retried"
        );
        Ok(())
    }

    #[tokio::test]
    async fn server_errors_and_invalid_output_are_retried_then_fall_back() -> anyhow::Result<()> {
        for response in [
            ResponseTemplate::new(500).set_body_json(error_body("server_error")),
            ResponseTemplate::new(200)
                .set_body_json(completion("{\"title\": \"missing everything else\"}")),
            ResponseTemplate::new(200).set_body_string("not json"),
        ] {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .respond_with(response)
                .mount(&server)
                .await;
            let written = chain(&server)?.write(request()).await?;
            assert_eq!(written.provider, "offline");
            assert_eq!(
                server.received_requests().await.map(|r| r.len()),
                Some(3),
                "bounded by max_attempts"
            );
        }
        Ok(())
    }

    #[tokio::test]
    async fn an_open_breaker_skips_the_provider_until_its_cooldown() -> anyhow::Result<()> {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503).set_body_json(error_body("overloaded")))
            .mount(&server)
            .await;
        let config = OpenAiConfig {
            base_url: format!("{}/v1", server.uri()),
            api_key: "sk-test".into(),
            model: "m".into(),
            timeout: Duration::from_secs(5),
            max_attempts: 3,
            breaker: BreakerConfig {
                window_ms: 60_000,
                min_requests: 2,
                failure_ratio: 0.5,
                cooldown_ms: 60_000,
            },
        };
        let chain = FallbackChain {
            providers: vec![
                Arc::new(OpenAiProvider::new(config)?),
                Arc::new(OfflineProvider),
            ],
        };
        assert_eq!(chain.write(request()).await?.provider, "offline");
        assert_eq!(
            server.received_requests().await.map(|r| r.len()),
            Some(2),
            "the breaker opened after two failures"
        );
        assert_eq!(chain.write(request()).await?.provider, "offline");
        assert_eq!(
            server.received_requests().await.map(|r| r.len()),
            Some(2),
            "an open breaker sends nothing"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_quota_error_opens_the_breaker_at_once() -> anyhow::Result<()> {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(429).set_body_json(error_body("insufficient_quota")),
            )
            .mount(&server)
            .await;
        let chain = chain(&server)?;
        assert_eq!(chain.write(request()).await?.provider, "offline");
        assert_eq!(chain.write(request()).await?.provider, "offline");
        assert_eq!(
            server.received_requests().await.map(|r| r.len()),
            Some(1),
            "no retry and no second call after quota runs out"
        );
        Ok(())
    }

    #[tokio::test]
    async fn an_unreachable_server_falls_back_to_offline() -> anyhow::Result<()> {
        let server = MockServer::start().await;
        let chain = chain(&server)?;
        drop(server);
        let written = chain.write(request()).await?;
        assert_eq!(written.provider, "offline");
        Ok(())
    }
}
