//! The output formats: their sizes, how long they may run, and where captions are safe from platform UI.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    #[serde(rename = "16:9")]
    Landscape,
    #[serde(rename = "9:16")]
    Portrait,
    #[serde(rename = "1:1")]
    Square,
}

impl From<messages::jobs::Format> for Format {
    fn from(format: messages::jobs::Format) -> Self {
        match format {
            messages::jobs::Format::Landscape => Format::Landscape,
            messages::jobs::Format::Portrait => Format::Portrait,
            messages::jobs::Format::Square => Format::Square,
        }
    }
}

/// Where the caption block sits, as fractions of the frame.
pub struct CaptionArea {
    pub bottom: f64,
    pub left: f64,
    pub right: f64,
    /// Font size as a fraction of the frame's shorter side.
    pub font_scale: f64,
}

/// Shorts platforms (YouTube Shorts, TikTok, Reels) take at most this much.
pub const SHORTS_MAX_MS: u64 = 60_000;

impl Format {
    pub fn width(self) -> u32 {
        match self {
            Format::Landscape => 1920,
            Format::Portrait | Format::Square => 1080,
        }
    }

    pub fn height(self) -> u32 {
        match self {
            Format::Landscape => 1080,
            Format::Portrait => 1920,
            Format::Square => 1080,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Landscape => "16:9",
            Format::Portrait => "9:16",
            Format::Square => "1:1",
        }
    }

    /// For file names: `16x9`.
    pub fn slug(self) -> &'static str {
        match self {
            Format::Landscape => "16x9",
            Format::Portrait => "9x16",
            Format::Square => "1x1",
        }
    }

    pub fn is_short(self) -> bool {
        !matches!(self, Format::Landscape)
    }

    /// Vertical formats keep captions above the bottom fifth and clear of the right-hand buttons.
    pub fn caption_area(self) -> CaptionArea {
        match self {
            Format::Landscape => CaptionArea {
                bottom: 0.08,
                left: 0.10,
                right: 0.10,
                font_scale: 0.052,
            },
            Format::Portrait => CaptionArea {
                bottom: 0.24,
                left: 0.08,
                right: 0.16,
                font_scale: 0.066,
            },
            Format::Square => CaptionArea {
                bottom: 0.11,
                left: 0.08,
                right: 0.08,
                font_scale: 0.058,
            },
        }
    }
}
