//! `[services.music]`: the FFmpeg that fits providers' tracks to the narration's length.

/// `[services.music]` configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct MusicConfig {
    /// Fits providers' tracks to the narration's length.
    pub ffmpeg_path: String,
}

impl Default for MusicConfig {
    fn default() -> Self {
        Self {
            ffmpeg_path: "ffmpeg".to_owned(),
        }
    }
}
