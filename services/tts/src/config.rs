//! `[services.tts]`: the offline voice (espeak-ng and FFmpeg paths, speaking rate).

/// `[services.tts]` configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct TtsConfig {
    pub espeak_path: String,
    pub ffmpeg_path: String,
    /// Speaking rate of the offline voice.
    pub words_per_minute: u32,
}

impl Default for TtsConfig {
    fn default() -> Self {
        Self {
            espeak_path: "espeak-ng".to_owned(),
            ffmpeg_path: "ffmpeg".to_owned(),
            words_per_minute: 165,
        }
    }
}
