//! `[services.video]`: FFmpeg and ffprobe paths, and how long rendered media is kept.

/// `[services.video]` configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct VideoConfig {
    pub ffmpeg_path: String,
    pub ffprobe_path: String,
    /// Rendered media older than this many days is deleted; unset keeps it forever.
    pub retention_days: Option<u32>,
    /// How often the retention pass runs.
    pub retention_interval_secs: u64,
}

impl Default for VideoConfig {
    fn default() -> Self {
        Self {
            ffmpeg_path: "ffmpeg".to_owned(),
            ffprobe_path: "ffprobe".to_owned(),
            retention_days: None,
            retention_interval_secs: 3600,
        }
    }
}
