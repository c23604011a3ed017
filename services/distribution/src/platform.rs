//! The four platforms: their names, where their OAuth and API hosts are (`[platforms.<name>]`,
//! defaulting to the official hosts), and the limits a video and its metadata must meet.

use std::{collections::BTreeMap, path::PathBuf};

use anyhow::Context as _;
use serde::Deserialize;
use shared::{config::Secret, ApiError};

/// A platform videos are published to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
    sqlx::Type,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Platform {
    Youtube,
    Tiktok,
    Instagram,
    Facebook,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The format published by default: landscape on YouTube, portrait (Shorts, Reels) elsewhere.
    pub fn default_format(self) -> &'static str {
        match self {
            Platform::Youtube => "16:9",
            Platform::Tiktok | Platform::Instagram | Platform::Facebook => "9:16",
        }
    }

    /// What a file and its metadata must meet before it is sent.
    pub fn limits(self) -> Limits {
        match self {
            Platform::Youtube => Limits {
                max_duration_ms: 12 * 3_600_000,
                max_bytes: 256 * (1 << 30),
                min_side: 240,
                max_title_chars: Some(100),
                max_description_bytes: Some(5_000),
                max_tags_chars: Some(500),
                max_caption_chars: None,
                max_hashtags: None,
            },
            Platform::Tiktok => Limits {
                max_duration_ms: 10 * 60_000,
                max_bytes: 4 * (1 << 30),
                min_side: 360,
                max_title_chars: Some(2_200),
                max_description_bytes: None,
                max_tags_chars: None,
                max_caption_chars: Some(2_200),
                max_hashtags: Some(30),
            },
            Platform::Instagram => Limits {
                max_duration_ms: 15 * 60_000,
                max_bytes: 300 * (1 << 20),
                min_side: 240,
                max_title_chars: None,
                max_description_bytes: None,
                max_tags_chars: None,
                max_caption_chars: Some(2_200),
                max_hashtags: Some(30),
            },
            Platform::Facebook => Limits {
                max_duration_ms: 90_000,
                max_bytes: 1 << 30,
                min_side: 540,
                max_title_chars: Some(255),
                max_description_bytes: None,
                max_tags_chars: None,
                max_caption_chars: Some(2_200),
                max_hashtags: Some(30),
            },
        }
    }
}

/// A platform's limits on a video and its metadata.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_duration_ms: u64,
    pub max_bytes: u64,
    /// The shorter side must be at least this many pixels.
    pub min_side: u32,
    pub max_title_chars: Option<usize>,
    pub max_description_bytes: Option<usize>,
    pub max_tags_chars: Option<usize>,
    pub max_caption_chars: Option<usize>,
    pub max_hashtags: Option<usize>,
}

/// `[platforms.<name>]`: one platform's OAuth client and hosts. Hosts default to the official ones,
/// so tests, staging and a local sandbox point them at fakes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformSettings {
    pub client_id: Option<String>,
    /// The client secret itself (from the environment: `REELFORGE_PLATFORMS__YOUTUBE__CLIENT_SECRET`).
    pub client_secret: Option<Secret>,
    /// A file holding the client secret (a mounted secret).
    pub client_secret_file: Option<PathBuf>,
    /// The consent page users are sent to.
    pub authorize_url: Option<String>,
    /// Where codes and refresh tokens are exchanged.
    pub oauth_base: Option<String>,
    pub api_base: Option<String>,
    pub upload_base: Option<String>,
    /// Scopes asked for, replacing the defaults.
    pub scopes: Option<Vec<String>>,
}

/// `[platforms]`: every platform's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformsConfig {
    pub youtube: PlatformSettings,
    pub tiktok: PlatformSettings,
    pub instagram: PlatformSettings,
    pub facebook: PlatformSettings,
}

/// A platform's resolved client: its id and secret, and every host.
#[derive(Debug, Clone)]
pub struct PlatformClient {
    pub platform: Platform,
    pub client_id: String,
    pub client_secret: Secret,
    pub authorize_url: String,
    pub oauth_base: String,
    pub api_base: String,
    pub upload_base: String,
    pub scopes: Vec<String>,
}

/// The Graph API version Instagram and Facebook calls are made against.
pub const GRAPH_VERSION: &str = "v21.0";

fn official(
    platform: Platform,
) -> (
    String,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
) {
    match platform {
        Platform::Youtube => (
            "https://accounts.google.com/o/oauth2/v2/auth".to_owned(),
            "https://oauth2.googleapis.com",
            "https://www.googleapis.com",
            "https://www.googleapis.com",
            &[
                "https://www.googleapis.com/auth/youtube.upload",
                "https://www.googleapis.com/auth/youtube.force-ssl",
                // Analytics `reports.query` now also asks for `youtube.readonly`.
                "https://www.googleapis.com/auth/youtube.readonly",
                "https://www.googleapis.com/auth/yt-analytics.readonly",
            ],
        ),
        Platform::Tiktok => (
            "https://www.tiktok.com/v2/auth/authorize/".to_owned(),
            "https://open.tiktokapis.com",
            "https://open.tiktokapis.com",
            "https://open-upload.tiktokapis.com",
            &[
                "user.info.basic",
                "video.publish",
                "video.upload",
                "video.list",
            ],
        ),
        Platform::Instagram => (
            format!("https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"),
            "https://graph.facebook.com",
            "https://graph.facebook.com",
            "https://rupload.facebook.com",
            &[
                "instagram_basic",
                "instagram_content_publish",
                "instagram_manage_insights",
                "pages_show_list",
                "business_management",
            ],
        ),
        Platform::Facebook => (
            format!("https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth"),
            "https://graph.facebook.com",
            "https://graph.facebook.com",
            "https://rupload.facebook.com",
            &[
                "pages_show_list",
                "pages_read_engagement",
                "pages_manage_posts",
                "read_insights",
            ],
        ),
    }
}

impl PlatformsConfig {
    fn settings(&self, platform: Platform) -> &PlatformSettings {
        match platform {
            Platform::Youtube => &self.youtube,
            Platform::Tiktok => &self.tiktok,
            Platform::Instagram => &self.instagram,
            Platform::Facebook => &self.facebook,
        }
    }

    /// Every configured platform's client; a client id without a readable secret is an error at start.
    pub fn clients(&self) -> anyhow::Result<BTreeMap<Platform, PlatformClient>> {
        let mut clients = BTreeMap::new();
        for &platform in <Platform as strum::VariantArray>::VARIANTS {
            let settings = self.settings(platform);
            let Some(client_id) = settings.client_id.clone().filter(|id| !id.is_empty()) else {
                continue;
            };
            let client_secret = match (&settings.client_secret, &settings.client_secret_file) {
                (Some(secret), _) => secret.clone(),
                (None, Some(path)) => Secret::new(
                    std::fs::read_to_string(path)
                        .with_context(|| {
                            format!("platforms.{platform}.client_secret_file {}", path.display())
                        })?
                        .trim(),
                ),
                (None, None) => anyhow::bail!(
                    "platforms.{platform}.client_id is set but neither client_secret nor client_secret_file is"
                ),
            };
            let (authorize, oauth, api, upload, scopes) = official(platform);
            let trimmed = |value: &Option<String>, default: &str| {
                value
                    .as_deref()
                    .unwrap_or(default)
                    .trim_end_matches('/')
                    .to_owned()
            };
            clients.insert(
                platform,
                PlatformClient {
                    platform,
                    client_id,
                    client_secret,
                    authorize_url: settings.authorize_url.clone().unwrap_or(authorize),
                    oauth_base: trimmed(&settings.oauth_base, oauth),
                    api_base: trimmed(&settings.api_base, api),
                    upload_base: trimmed(&settings.upload_base, upload),
                    scopes: settings
                        .scopes
                        .clone()
                        .unwrap_or_else(|| scopes.iter().map(|s| (*s).to_owned()).collect()),
                },
            );
        }
        Ok(clients)
    }
}

/// 422 `platform_not_configured`, naming the key to set.
pub fn not_configured(platform: Platform) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "platform_not_configured",
        format!(
            "{platform} is not configured: set platforms.{platform}.client_id and its client secret \
             (REELFORGE_PLATFORMS__{}__CLIENT_ID)",
            platform.as_str().to_uppercase()
        ),
    )
}
