//! What a caller sends and gets back: the request and the finished script with its copy.

use serde::{Deserialize, Serialize};

/// What to write about and how.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoryRequest {
    pub topic: String,
    pub genre: String,
    pub tone: String,
    pub length_seconds: u32,
    pub language: String,
    pub seed: u64,
}

/// One scene: what is said, what is shown (always English, for the image renderer) and its mood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scene {
    pub narration: String,
    pub visual: String,
    pub mood: String,
}

/// Copy for one platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformPost {
    pub title: String,
    pub description: String,
    pub hashtags: Vec<String>,
    pub caption: String,
}

/// Copy for every platform a video is published to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformMetadata {
    pub youtube: PlatformPost,
    pub tiktok: PlatformPost,
    pub instagram: PlatformPost,
    pub facebook: PlatformPost,
}

/// A finished script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Script {
    pub title: String,
    pub language: String,
    pub scenes: Vec<Scene>,
    pub metadata: PlatformMetadata,
}
