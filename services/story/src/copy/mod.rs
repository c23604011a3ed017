//! Creator text tools: `POST /v1/copy` writes captions, posts, ads, emails, blog posts and metadata
//! through the provider layer, as JSON checked against each kind's schema.

pub mod offline;
mod schema;

use providers::capability::TextRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::ApiError;
use utoipa::ToSchema;

/// Text requests for copy are tasks named `copy.<kind>`.
pub const TASK_PREFIX: &str = "copy.";

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CopyKind {
    CaptionHashtags,
    SocialPost,
    AdCopy,
    Email,
    BlogPost,
    VideoMetadata,
    MusicReleaseMetadata,
    BookMetadata,
}

impl CopyKind {
    pub const ALL: [CopyKind; 8] = [
        CopyKind::CaptionHashtags,
        CopyKind::SocialPost,
        CopyKind::AdCopy,
        CopyKind::Email,
        CopyKind::BlogPost,
        CopyKind::VideoMetadata,
        CopyKind::MusicReleaseMetadata,
        CopyKind::BookMetadata,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CopyKind::CaptionHashtags => "caption_hashtags",
            CopyKind::SocialPost => "social_post",
            CopyKind::AdCopy => "ad_copy",
            CopyKind::Email => "email",
            CopyKind::BlogPost => "blog_post",
            CopyKind::VideoMetadata => "video_metadata",
            CopyKind::MusicReleaseMetadata => "music_release_metadata",
            CopyKind::BookMetadata => "book_metadata",
        }
    }

    pub fn from_name(name: &str) -> Option<CopyKind> {
        CopyKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    fn brief(self) -> &'static str {
        match self {
            CopyKind::CaptionHashtags => "a caption and hashtags for a short video",
            CopyKind::SocialPost => "a social media post with hashtags and a call to action",
            CopyKind::AdCopy => "ad copy: headline, primary text, description and call to action",
            CopyKind::Email => "a marketing email: subject, preview text, body and call to action",
            CopyKind::BlogPost => "a blog post with a title, slug, meta description, sections and tags",
            CopyKind::VideoMetadata => "video metadata optimised for search: title, description, tags and hashtags",
            CopyKind::MusicReleaseMetadata => "metadata for a music release: title, description, genres, moods and tags",
            CopyKind::BookMetadata => "book metadata for a store listing: title, subtitle, description, keywords and categories",
        }
    }
}

/// Platforms with their own length limits.
pub const PLATFORMS: &[&str] = &[
    "generic",
    "youtube",
    "tiktok",
    "instagram",
    "facebook",
    "x",
    "linkedin",
];
/// Languages the offline writer knows.
pub const LANGUAGES: &[&str] = &["en", "es", "fr", "de"];

/// A copy request; everything but `kind` and `topic` has a default.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyRequest {
    pub kind: CopyKind,
    /// What the copy is about (1–500 characters).
    pub topic: String,
    /// `generic`, `youtube`, `tiktok`, `instagram`, `facebook`, `x` or `linkedin`.
    #[serde(default = "default_platform")]
    pub platform: String,
    #[serde(default = "default_tone")]
    pub tone: String,
    #[serde(default = "default_audience")]
    pub audience: String,
    /// `en`, `es`, `fr` or `de`.
    #[serde(default = "default_language")]
    pub language: String,
    /// Extra facts to use (product name, offer, artist, author …), up to 2,000 characters.
    #[serde(default)]
    pub details: String,
    /// Varies the offline writer's choices; the same request and seed give the same copy.
    #[serde(default)]
    pub seed: u64,
    /// `false` skips the response cache for this request.
    #[serde(default = "default_cache")]
    pub cache: bool,
}

fn default_platform() -> String {
    "generic".to_owned()
}
fn default_tone() -> String {
    "friendly".to_owned()
}
fn default_audience() -> String {
    "a general audience".to_owned()
}
fn default_language() -> String {
    "en".to_owned()
}
fn default_cache() -> bool {
    true
}

/// The written copy and what it cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct CopyResponse {
    pub kind: CopyKind,
    /// JSON matching the kind's schema.
    #[schema(value_type = Object)]
    pub result: Value,
    pub provider: String,
    pub model: String,
    pub cost_micros: u64,
    pub cache_hit: bool,
}

impl CopyRequest {
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        let topic = self.topic.trim();
        if topic.is_empty() || topic.chars().count() > 500 {
            return Err(ApiError::validation("topic", "must be 1 to 500 characters"));
        }
        if !PLATFORMS.contains(&self.platform.as_str()) {
            return Err(ApiError::validation(
                "platform",
                format!("must be one of {}", PLATFORMS.join(", ")),
            ));
        }
        if !LANGUAGES.contains(&self.language.as_str()) {
            return Err(ApiError::validation(
                "language",
                format!("must be one of {}", LANGUAGES.join(", ")),
            ));
        }
        for (field, value, max) in [
            ("tone", &self.tone, 60),
            ("audience", &self.audience, 200),
            ("details", &self.details, 2000),
        ] {
            if value.chars().count() > max {
                return Err(ApiError::validation(
                    field,
                    format!("must be at most {max} characters"),
                ));
            }
        }
        Ok(())
    }

    /// The text request: a prompt for remote models, these parameters for the offline writer.
    pub fn text_request(&self) -> anyhow::Result<TextRequest> {
        let limits = schema::limits(&self.platform);
        let mut prompt = format!(
            "Write {brief} about: {topic}.\nPlatform: {platform}. Tone: {tone}. Audience: {audience}. Language: {language}.\n\
             Respect the platform's limits: captions and posts at most {text} characters, titles at most {title}, at most {tags} hashtags.",
            brief = self.kind.brief(),
            topic = self.topic.trim(),
            platform = self.platform,
            tone = self.tone,
            audience = self.audience,
            language = self.language,
            text = limits.text,
            title = limits.title,
            tags = limits.hashtags,
        );
        if !self.details.trim().is_empty() {
            prompt.push_str(&format!("\nUse these details: {}", self.details.trim()));
        }
        Ok(TextRequest {
            task: format!("{TASK_PREFIX}{}", self.kind.name()),
            params: serde_json::to_value(self)?,
            system: "You are an expert copywriter for creators. Reply with JSON only.".to_owned(),
            prompt,
            schema_name: self.kind.name().to_owned(),
            schema: schema::for_kind(self.kind, &limits),
            temperature: 0.7,
            max_tokens: 2_000,
        })
    }
}
