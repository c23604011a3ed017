//! The output formats: their sizes, how long they may run, and where captions are safe from platform UI.

/// The output formats are part of the render job's contract.
pub use messages::jobs::Format;

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

/// What a format means for the render: frame size, names, length cap and caption placement.
pub trait Geometry {
    fn width(&self) -> u32;
    fn height(&self) -> u32;
    fn label(&self) -> &'static str;
    fn slug(&self) -> &'static str;
    fn is_short(&self) -> bool;
    fn caption_area(&self) -> CaptionArea;
}

impl Geometry for Format {
    fn width(&self) -> u32 {
        match self {
            Format::Landscape => 1920,
            Format::Portrait | Format::Square => 1080,
        }
    }

    fn height(&self) -> u32 {
        match self {
            Format::Landscape => 1080,
            Format::Portrait => 1920,
            Format::Square => 1080,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Format::Landscape => "16:9",
            Format::Portrait => "9:16",
            Format::Square => "1:1",
        }
    }

    /// For file names: `16x9`.
    fn slug(&self) -> &'static str {
        match self {
            Format::Landscape => "16x9",
            Format::Portrait => "9x16",
            Format::Square => "1x1",
        }
    }

    fn is_short(&self) -> bool {
        !matches!(self, Format::Landscape)
    }

    /// Vertical formats keep captions above the bottom fifth and clear of the right-hand buttons.
    fn caption_area(&self) -> CaptionArea {
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
