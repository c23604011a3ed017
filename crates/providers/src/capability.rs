//! The five capabilities and their provider-neutral request and reply types.

use bytes::Bytes;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

use crate::units::Units;

/// A kind of paid AI call: its name and the request and reply every client of it speaks.
pub trait Capability: Send + Sync + 'static {
    /// `text`, `speech`, `image`, `music` or `moderation`.
    const NAME: &'static str;
    type Request: Serialize + Clone + Send + Sync + 'static;
    type Reply: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;

    /// Checks a reply against its request (a JSON schema, say); an error is invalid output.
    fn check(_request: &Self::Request, _reply: &Self::Reply) -> Result<(), String> {
        Ok(())
    }

    /// What a call for `request` will likely consume at most, for budget reservations.
    fn estimate(_request: &Self::Request) -> Units {
        Units::default()
    }
}

/// Text generation with structured (JSON) output.
#[derive(Debug, Clone, Copy)]
pub struct Text;

/// Narration.
#[derive(Debug, Clone, Copy)]
pub struct Speech;

/// Still images.
#[derive(Debug, Clone, Copy)]
pub struct Image;

/// Background music.
#[derive(Debug, Clone, Copy)]
pub struct Music;

/// Content moderation of text and images.
#[derive(Debug, Clone, Copy)]
pub struct Moderation;

/// A request for JSON matching `schema`.
///
/// Remote models read `system` and `prompt`; offline writers read `task` and `params`, the same
/// request in structured form, so every provider answers the same question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextRequest {
    /// What is being written, e.g. `story` or `copy.social_post`.
    pub task: String,
    /// The task's inputs as structured data.
    pub params: Value,
    pub system: String,
    pub prompt: String,
    /// Name of the schema (letters, digits, `_`), as OpenAI's `json_schema.name` requires.
    pub schema_name: String,
    /// A JSON Schema the reply must match.
    pub schema: Value,
    pub temperature: f32,
    pub max_tokens: u32,
}

/// The reply: JSON that matched the request's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextReply {
    pub json: Value,
}

impl Capability for Text {
    const NAME: &'static str = "text";
    type Request = TextRequest;
    type Reply = TextReply;

    fn check(request: &TextRequest, reply: &TextReply) -> Result<(), String> {
        crate::schema::validate(&request.schema, &reply.json)
    }

    /// About four characters a token in, the whole `max_tokens` out.
    fn estimate(request: &TextRequest) -> Units {
        let prompt = request.system.len() + request.prompt.len() + request.schema.to_string().len();
        Units {
            input_tokens: (prompt as u64).div_ceil(4),
            output_tokens: u64::from(request.max_tokens),
            ..Units::default()
        }
    }
}

/// One phrase to speak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechRequest {
    pub text: String,
    /// BCP 47 language, e.g. `en` or `en-US`.
    pub language: String,
    /// A provider voice id or name; `None` picks the provider's default for the language.
    pub voice: Option<String>,
    /// 1.0 is normal speed.
    pub speed: f32,
}

/// When one character was spoken, from providers that report it (ElevenLabs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharTiming {
    pub character: String,
    pub start_ms: u32,
    pub end_ms: u32,
}

/// The spoken phrase as a WAV file (clients convert raw PCM into WAV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechReply {
    #[serde(with = "base64_bytes")]
    pub wav: Bytes,
    /// Character timings when the provider reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alignment: Vec<CharTiming>,
}

impl Capability for Speech {
    const NAME: &'static str = "speech";
    type Request = SpeechRequest;
    type Reply = SpeechReply;

    fn estimate(request: &SpeechRequest) -> Units {
        Units {
            characters: request.text.chars().count() as u64,
            ..Units::default()
        }
    }

    fn check(_request: &SpeechRequest, reply: &SpeechReply) -> Result<(), String> {
        if reply.wav.len() < 44 || !reply.wav.starts_with(b"RIFF") {
            return Err("the audio is not a WAV file".to_owned());
        }
        Ok(())
    }
}

/// Output tokens of a high-quality 1024×1024 `gpt-image-1` image, the most one image is billed.
pub const IMAGE_OUTPUT_TOKENS: u64 = 4_160;

/// One still image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRequest {
    pub prompt: String,
    /// What the image must not show (providers without it ignore it).
    pub negative_prompt: String,
    /// Wanted size in pixels; providers pick their nearest supported size or aspect ratio.
    pub width: u32,
    pub height: u32,
    pub seed: u64,
}

/// Encoded image bytes (PNG, JPEG or WebP) and their format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageReply {
    #[serde(with = "base64_bytes")]
    pub image: Bytes,
    /// `png`, `jpeg` or `webp`.
    pub format: String,
}

impl Capability for Image {
    const NAME: &'static str = "image";
    type Request = ImageRequest;
    type Reply = ImageReply;

    /// One image; for models priced by tokens (`gpt-image-1`), its prompt and at most the output
    /// tokens of a high-quality square image.
    fn estimate(request: &ImageRequest) -> Units {
        Units {
            images: 1,
            input_tokens: (request.prompt.len() as u64).div_ceil(4),
            output_tokens: IMAGE_OUTPUT_TOKENS,
            ..Units::default()
        }
    }

    fn check(_request: &ImageRequest, reply: &ImageReply) -> Result<(), String> {
        match sniff_image(&reply.image) {
            Some(_) => Ok(()),
            None => Err("the image is not PNG, JPEG or WebP".to_owned()),
        }
    }
}

/// The format of encoded image bytes, from their magic number.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else {
        None
    }
}

/// A music bed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicRequest {
    pub prompt: String,
    pub duration_ms: u32,
    pub seed: u64,
}

/// Encoded audio (WAV or MP3) and its format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MusicReply {
    #[serde(with = "base64_bytes")]
    pub audio: Bytes,
    /// `wav` or `mp3`.
    pub format: String,
}

impl Capability for Music {
    const NAME: &'static str = "music";
    type Request = MusicRequest;
    type Reply = MusicReply;

    fn estimate(request: &MusicRequest) -> Units {
        Units {
            millis: u64::from(request.duration_ms),
            ..Units::default()
        }
    }

    fn check(_request: &MusicRequest, reply: &MusicReply) -> Result<(), String> {
        if reply.audio.is_empty() {
            return Err("the audio is empty".to_owned());
        }
        Ok(())
    }
}

/// Text and images to classify together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationRequest {
    pub text: Option<String>,
    /// PNG bytes of each image.
    #[serde(with = "base64_bytes_list")]
    pub images: Vec<Bytes>,
}

/// One category's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryScore {
    pub category: String,
    pub flagged: bool,
    pub score: f64,
}

/// Whether anything was flagged, and the per-category scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationReply {
    pub flagged: bool,
    pub categories: Vec<CategoryScore>,
}

impl Capability for Moderation {
    const NAME: &'static str = "moderation";
    type Request = ModerationRequest;
    type Reply = ModerationReply;
}

/// Bytes as a base64 string in JSON (cached replies).
mod base64_bytes {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD
            .decode(text)
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

/// A list of byte strings as base64 strings in JSON.
mod base64_bytes_list {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use bytes::Bytes;
    use serde::{ser::SerializeSeq as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(list: &[Bytes], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(list.len()))?;
        for bytes in list {
            seq.serialize_element(&STANDARD.encode(bytes))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Bytes>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .into_iter()
            .map(|text| {
                STANDARD
                    .decode(text)
                    .map(Bytes::from)
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}
