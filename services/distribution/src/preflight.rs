//! The checks a publication passes before anything is sent: the file meets the platform's limits,
//! the metadata fits, every asset carries licence evidence, moderation passed and the account can
//! post. A dry run returns this report and sends nothing.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::{manifest::RunSource, platform::Platform};

/// What is sent with the video.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Metadata {
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    /// `public`, `unlisted` or `private`.
    pub privacy: String,
    pub made_for_kids: bool,
    /// The post text on TikTok, Instagram and Facebook: description and hashtags.
    pub caption: String,
}

/// One check and its verdict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The file a publication sends.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileFacts {
    pub format: String,
    #[schema(value_type = String)]
    pub media_key: shared::storage::MediaKey,
    pub bytes: u64,
    pub duration_ms: u64,
    pub width: u32,
    pub height: u32,
    pub video_codec: String,
    pub audio_codec: String,
}

/// Everything preflight looked at, and whether the publication may go.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreflightReport {
    pub ok: bool,
    pub platform: Platform,
    pub file: FileFacts,
    pub metadata: Metadata,
    /// The licence evidence of every asset in the video.
    #[schema(value_type = Vec<Object>)]
    pub licences: Vec<Value>,
    pub checks: Vec<Check>,
}

fn check(name: &'static str, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        name,
        ok,
        detail: detail.into(),
    }
}

/// Which asset lacks licence evidence (`source` and `licence`), naming it; `None` when all have it.
pub fn missing_licence(source: &RunSource) -> Option<String> {
    let has_evidence = |record: &Value| {
        ["source", "licence"]
            .iter()
            .all(|field| record[field].as_str().is_some_and(|v| !v.trim().is_empty()))
    };
    for scene in 1..=source.scene_count {
        let asset = format!("scene {scene} image");
        if !source
            .licences
            .iter()
            .any(|l| l["asset"] == asset.as_str() && has_evidence(l))
        {
            return Some(asset);
        }
    }
    if !source
        .licences
        .iter()
        .any(|l| l["asset"] == "background music" && has_evidence(l))
    {
        return Some("background music".into());
    }
    if source.narration_voice.as_deref().is_none_or(str::is_empty) {
        return Some("narration".into());
    }
    None
}

/// Runs every check of `platform` on `file` and `metadata` from `source`.
pub fn run(
    platform: Platform,
    source: &RunSource,
    file: FileFacts,
    metadata: Metadata,
    account_status: &str,
    publish_at: Option<chrono::DateTime<chrono::Utc>>,
) -> PreflightReport {
    let limits = platform.limits();
    let mut checks = vec![
        check(
            "file.duration",
            file.duration_ms <= limits.max_duration_ms,
            format!(
                "{:.1} s of at most {} s",
                file.duration_ms as f64 / 1000.0,
                limits.max_duration_ms / 1000
            ),
        ),
        check(
            "file.size",
            file.bytes > 0 && file.bytes <= limits.max_bytes,
            format!("{} bytes of at most {}", file.bytes, limits.max_bytes),
        ),
        check(
            "file.resolution",
            file.width.min(file.height) >= limits.min_side,
            format!(
                "{}×{}, shorter side at least {}",
                file.width, file.height, limits.min_side
            ),
        ),
        check(
            "file.codec",
            file.video_codec == "h264" && file.audio_codec == "aac",
            format!(
                "{} video and {} audio (H.264 and AAC expected)",
                file.video_codec, file.audio_codec
            ),
        ),
    ];
    let title_chars = metadata.title.chars().count();
    if let Some(max) = limits.max_title_chars {
        let angle_brackets = platform == Platform::Youtube && metadata.title.contains(['<', '>']);
        checks.push(check(
            "metadata.title",
            title_chars > 0 && title_chars <= max && !angle_brackets,
            if angle_brackets {
                "YouTube titles cannot hold < or >".to_owned()
            } else {
                format!("{title_chars} characters of at most {max}")
            },
        ));
    }
    if let Some(max) = limits.max_description_bytes {
        let bytes = metadata.description.len();
        checks.push(check(
            "metadata.description",
            bytes <= max,
            format!("{bytes} bytes of at most {max}"),
        ));
    }
    if let Some(max) = limits.max_tags_chars {
        // YouTube counts a tag with a space as quoted, and a comma between tags.
        let chars: usize = metadata
            .tags
            .iter()
            .map(|t| t.chars().count() + if t.contains(' ') { 2 } else { 0 })
            .sum::<usize>()
            + metadata.tags.len().saturating_sub(1);
        checks.push(check(
            "metadata.tags",
            chars <= max,
            format!("{chars} characters of at most {max}"),
        ));
    }
    if let Some(max) = limits.max_caption_chars {
        let chars = metadata.caption.chars().count();
        checks.push(check(
            "metadata.caption",
            chars <= max,
            format!("{chars} characters of at most {max}"),
        ));
    }
    if let Some(max) = limits.max_hashtags {
        let hashtags = metadata
            .caption
            .split_whitespace()
            .filter(|w| w.starts_with('#'))
            .count();
        checks.push(check(
            "metadata.hashtags",
            hashtags <= max,
            format!("{hashtags} hashtags of at most {max}"),
        ));
    }
    checks.push(check(
        "metadata.privacy",
        matches!(metadata.privacy.as_str(), "public" | "unlisted" | "private"),
        format!("`{}` (public, unlisted or private)", metadata.privacy),
    ));
    if let Some(at) = publish_at {
        checks.push(check(
            "publish_at",
            at > chrono::Utc::now(),
            format!("{at} must be in the future"),
        ));
    }
    let missing = missing_licence(source);
    checks.push(check(
        "licences",
        missing.is_none(),
        missing.map_or_else(
            || {
                format!(
                    "{} assets carry licence evidence",
                    source.licences.len() + 1
                )
            },
            |asset| format!("{asset} has no licence evidence"),
        ),
    ));
    let moderation = source.moderation.as_deref().unwrap_or("not run");
    checks.push(check(
        "moderation",
        moderation == "succeeded",
        format!("moderation {moderation}"),
    ));
    checks.push(check(
        "account",
        account_status == "active",
        format!("account {account_status}"),
    ));
    PreflightReport {
        ok: checks.iter().all(|c| c.ok),
        platform,
        file,
        metadata,
        licences: source.licences.clone(),
        checks,
    }
}
