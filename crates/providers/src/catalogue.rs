//! Which providers serve each capability, in default order, with the SDKs' usual environment
//! variables and default models, and how each client is built from a resolved link.

use std::sync::Arc;

use shared::config::Secret;

use crate::{
    capability::{Image, Moderation, Music, Speech, Text},
    clients::{
        azure_speech::{AzureSpeech, AzureSpeechConfig},
        elevenlabs::{ElevenLabs, ElevenLabsConfig},
        hf_images::{HfImages, HfImagesConfig},
        openai_chat::{Endpoint, OpenAiChat},
        openai_images::{OpenAiImages, OpenAiImagesConfig},
        openai_moderation::{OpenAiModeration, OpenAiModerationConfig},
        openai_tts::{OpenAiTts, OpenAiTtsConfig},
        replicate::{ReplicateConfig, ReplicateImage, ReplicateMusic, ReplicateText},
        stability::{Stability, StabilityConfig},
    },
    registry::{Catalogue, Known, Resolved},
    setup::Env,
    Client,
};

const OPENAI: Known = Known {
    provider: "openai",
    key_envs: &["OPENAI_API_KEY"],
    base_env: Some("OPENAI_BASE_URL"),
    default_base: "https://api.openai.com/v1",
    default_model: "gpt-4o-mini",
    presence_env: None,
};

/// OpenAI-compatible chat servers other than OpenAI itself.
const COMPATIBLE: &[Known] = &[
    Known {
        provider: "mistral",
        key_envs: &["MISTRAL_API_KEY"],
        base_env: Some("MISTRAL_BASE_URL"),
        default_base: "https://api.mistral.ai/v1",
        default_model: "mistral-small-latest",
        presence_env: None,
    },
    Known {
        provider: "groq",
        key_envs: &["GROQ_API_KEY"],
        base_env: Some("GROQ_BASE_URL"),
        default_base: "https://api.groq.com/openai/v1",
        default_model: "llama-3.1-8b-instant",
        presence_env: None,
    },
    Known {
        provider: "together",
        key_envs: &["TOGETHER_API_KEY"],
        base_env: Some("TOGETHER_BASE_URL"),
        default_base: "https://api.together.xyz/v1",
        default_model: "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        presence_env: None,
    },
    Known {
        provider: "huggingface",
        key_envs: &["HF_TOKEN"],
        base_env: Some("HF_ROUTER_BASE_URL"),
        default_base: "https://router.huggingface.co/v1",
        default_model: "meta-llama/Llama-3.1-8B-Instruct",
        presence_env: None,
    },
    Known {
        provider: "ollama",
        key_envs: &[],
        base_env: Some("OLLAMA_BASE_URL"),
        default_base: "http://localhost:11434/v1",
        default_model: "llama3.2",
        presence_env: Some("OLLAMA_BASE_URL"),
    },
    Known {
        provider: "openai-compatible",
        key_envs: &[],
        base_env: None,
        default_base: "",
        default_model: "default",
        presence_env: None,
    },
];

const ANTHROPIC: Known = Known {
    provider: "anthropic",
    key_envs: &["ANTHROPIC_API_KEY"],
    base_env: Some("ANTHROPIC_BASE_URL"),
    default_base: "https://api.anthropic.com",
    default_model: "claude-haiku-4-5",
    presence_env: None,
};

const REPLICATE: Known = Known {
    provider: "replicate",
    key_envs: &["REPLICATE_API_TOKEN"],
    base_env: Some("REPLICATE_BASE_URL"),
    default_base: crate::clients::replicate::DEFAULT_BASE_URL,
    default_model: "meta/meta-llama-3-8b-instruct",
    presence_env: None,
};

fn replicate_config(resolved: &Resolved) -> anyhow::Result<ReplicateConfig> {
    Ok(ReplicateConfig {
        base_url: base(resolved)?,
        api_key: key(resolved)?,
        model: resolved.model.clone(),
    })
}

const GEMINI: Known = Known {
    provider: "gemini",
    key_envs: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    base_env: Some("GEMINI_BASE_URL"),
    default_base: "https://generativelanguage.googleapis.com",
    default_model: "gemini-2.5-flash",
    presence_env: None,
};

fn key(resolved: &Resolved) -> anyhow::Result<Secret> {
    resolved
        .api_key
        .clone()
        .ok_or_else(|| anyhow::anyhow!("provider `{}` needs a key", resolved.provider))
}

fn base(resolved: &Resolved) -> anyhow::Result<String> {
    anyhow::ensure!(
        !resolved.base_url.is_empty(),
        "provider `{}` needs a base_url",
        resolved.provider
    );
    Ok(resolved.base_url.clone())
}

/// Text: OpenAI, Anthropic, Gemini, then OpenAI-compatible servers, then the offline writer.
pub fn text(offline: Arc<dyn Client<Text>>) -> Catalogue<Text> {
    let mut known = vec![OPENAI, ANTHROPIC, GEMINI];
    known.extend_from_slice(COMPATIBLE);
    known.push(REPLICATE);
    Catalogue {
        known,
        offline,
        make: Box::new(
            |resolved: &Resolved, _env: &Env| -> anyhow::Result<Arc<dyn Client<Text>>> {
                Ok(match resolved.provider.as_str() {
                    "anthropic" => Arc::new(crate::clients::anthropic::Anthropic::new(
                        crate::clients::anthropic::AnthropicConfig {
                            base_url: base(resolved)?,
                            api_key: key(resolved)?,
                            model: resolved.model.clone(),
                        },
                    )?),
                    "replicate" => Arc::new(ReplicateText::new(replicate_config(resolved)?)?),
                    "gemini" => Arc::new(crate::clients::gemini::Gemini::new(
                        crate::clients::gemini::GeminiConfig {
                            base_url: base(resolved)?,
                            api_key: key(resolved)?,
                            model: resolved.model.clone(),
                        },
                    )?),
                    _ => Arc::new(OpenAiChat::new(Endpoint {
                        provider: resolved.provider.clone(),
                        base_url: base(resolved)?,
                        api_key: resolved.api_key.clone(),
                        model: resolved.model.clone(),
                    })?),
                })
            },
        ),
    }
}

/// Speech: ElevenLabs, OpenAI TTS, Azure, then espeak-ng.
pub fn speech(offline: Arc<dyn Client<Speech>>) -> Catalogue<Speech> {
    let known = vec![
        Known {
            provider: "elevenlabs",
            key_envs: &["ELEVENLABS_API_KEY"],
            base_env: Some("ELEVENLABS_BASE_URL"),
            default_base: crate::clients::elevenlabs::DEFAULT_BASE_URL,
            default_model: crate::clients::elevenlabs::DEFAULT_MODEL,
            presence_env: None,
        },
        Known {
            default_model: crate::clients::openai_tts::DEFAULT_MODEL,
            ..OPENAI
        },
        Known {
            provider: "azure",
            key_envs: &["AZURE_SPEECH_KEY", "SPEECH_KEY"],
            base_env: Some("AZURE_SPEECH_ENDPOINT"),
            default_base: "",
            default_model: crate::clients::azure_speech::DEFAULT_MODEL,
            presence_env: None,
        },
    ];
    Catalogue {
        known,
        offline,
        make: Box::new(
            |resolved: &Resolved, env: &Env| -> anyhow::Result<Arc<dyn Client<Speech>>> {
                Ok(match resolved.provider.as_str() {
                    "elevenlabs" => {
                        let mut config = ElevenLabsConfig::new(key(resolved)?);
                        config.base_url = base(resolved)?;
                        config.model = resolved.model.clone();
                        if let Some(voice) = &resolved.voice {
                            config.voice = voice.clone();
                        }
                        Arc::new(ElevenLabs::new(config)?)
                    }
                    "azure" => {
                        let region = env("AZURE_SPEECH_REGION")
                            .or_else(|| env("SPEECH_REGION"))
                            .unwrap_or_default();
                        anyhow::ensure!(
                            !region.is_empty() || !resolved.base_url.is_empty(),
                            "provider `azure` needs AZURE_SPEECH_REGION or AZURE_SPEECH_ENDPOINT"
                        );
                        let mut config = AzureSpeechConfig::new(region, key(resolved)?);
                        config.endpoint =
                            (!resolved.base_url.is_empty()).then(|| resolved.base_url.clone());
                        config.model = resolved.model.clone();
                        if let Some(voice) = &resolved.voice {
                            config.voice = voice.clone();
                        }
                        Arc::new(AzureSpeech::new(config)?)
                    }
                    _ => {
                        let mut config = OpenAiTtsConfig::new(key(resolved)?);
                        config.base_url = base(resolved)?;
                        config.model = resolved.model.clone();
                        if let Some(voice) = &resolved.voice {
                            config.voice = voice.clone();
                        }
                        Arc::new(OpenAiTts::new(config)?)
                    }
                })
            },
        ),
    }
}

/// Images: OpenAI, Stability, Hugging Face inference, then the procedural painter.
pub fn image(offline: Arc<dyn Client<Image>>) -> Catalogue<Image> {
    let known = vec![
        Known {
            default_model: "gpt-image-1",
            ..OPENAI
        },
        Known {
            provider: "stability",
            key_envs: &["STABILITY_API_KEY"],
            base_env: Some("STABILITY_BASE_URL"),
            default_base: crate::clients::stability::DEFAULT_BASE_URL,
            default_model: "core",
            presence_env: None,
        },
        Known {
            provider: "huggingface",
            key_envs: &["HF_TOKEN"],
            base_env: Some("HF_INFERENCE_BASE_URL"),
            default_base: crate::clients::hf_images::DEFAULT_BASE_URL,
            default_model: "black-forest-labs/FLUX.1-schnell",
            presence_env: None,
        },
        Known {
            default_model: "black-forest-labs/flux-schnell",
            ..REPLICATE
        },
    ];
    Catalogue {
        known,
        offline,
        make: Box::new(
            |resolved: &Resolved, _env: &Env| -> anyhow::Result<Arc<dyn Client<Image>>> {
                if resolved.provider == "replicate" {
                    return Ok(Arc::new(ReplicateImage::new(replicate_config(resolved)?)?));
                }
                let (base_url, api_key, model) =
                    (base(resolved)?, key(resolved)?, resolved.model.clone());
                Ok(match resolved.provider.as_str() {
                    "stability" => Arc::new(Stability::new(StabilityConfig {
                        base_url,
                        api_key,
                        model,
                    })?),
                    "huggingface" => Arc::new(HfImages::new(HfImagesConfig {
                        base_url,
                        api_key,
                        model,
                    })?),
                    _ => Arc::new(OpenAiImages::new(OpenAiImagesConfig {
                        base_url,
                        api_key,
                        model,
                    })?),
                })
            },
        ),
    }
}

/// Music: Replicate-hosted models (there is no official public API elsewhere), then the synthesiser.
pub fn music(offline: Arc<dyn Client<Music>>) -> Catalogue<Music> {
    Catalogue {
        known: vec![Known {
            default_model: "meta/musicgen",
            ..REPLICATE
        }],
        offline,
        make: Box::new(
            |resolved: &Resolved, _env: &Env| -> anyhow::Result<Arc<dyn Client<Music>>> {
                Ok(Arc::new(ReplicateMusic::new(replicate_config(resolved)?)?))
            },
        ),
    }
}

/// Moderation: OpenAI's moderation endpoint, then the offline rules.
pub fn moderation(offline: Arc<dyn Client<Moderation>>) -> Catalogue<Moderation> {
    Catalogue {
        known: vec![Known {
            default_model: crate::clients::openai_moderation::DEFAULT_MODEL,
            ..OPENAI
        }],
        offline,
        make: Box::new(
            |resolved: &Resolved, _env: &Env| -> anyhow::Result<Arc<dyn Client<Moderation>>> {
                Ok(Arc::new(OpenAiModeration::new(OpenAiModerationConfig {
                    base_url: base(resolved)?,
                    api_key: key(resolved)?,
                    model: resolved.model.clone(),
                })?))
            },
        ),
    }
}
