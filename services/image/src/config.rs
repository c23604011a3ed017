//! `[services.image]`: the FFmpeg that converts providers' images to the pipeline's PNG.

/// `[services.image]` configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ImageConfig {
    /// Converts providers' images to the pipeline's square PNG.
    pub ffmpeg_path: String,
}

impl Default for ImageConfig {
    fn default() -> Self {
        Self {
            ffmpeg_path: "ffmpeg".to_owned(),
        }
    }
}
