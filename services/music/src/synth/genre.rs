//! Reading the request's genre words: how a genre colours tempo, timbre, harmony, beat and reverb.

use super::mood::words;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PluckTone {
    Saw,
    Square,
    Triangle,
}

impl PluckTone {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Saw => "bright",
            Self::Square => "hollow",
            Self::Triangle => "soft",
        }
    }
}

/// How a genre colours the mood's arrangement.
#[derive(Debug, Clone, Copy)]
pub(super) struct Genre {
    /// Where in the mood's tempo range to pick (0 = slowest, 1 = fastest).
    pub(super) tempo_bias: (f32, f32),
    /// Multiplies filter cut-offs.
    pub(super) brightness: f32,
    /// Reverb wet level.
    pub(super) reverb: f32,
    /// Voice chords as sevenths.
    pub(super) sevenths: bool,
    /// Add a soft beat to moods that have none.
    pub(super) beat: bool,
    pub(super) pluck: Option<PluckTone>,
}

impl Genre {
    const NEUTRAL: Self = Self {
        tempo_bias: (0.0, 1.0),
        brightness: 1.0,
        reverb: 0.35,
        sevenths: false,
        beat: false,
        pluck: None,
    };

    fn from_word(word: &str) -> Option<Self> {
        let n = Self::NEUTRAL;
        Some(match word {
            "ambient" | "drone" | "meditation" | "newage" => Self {
                tempo_bias: (0.0, 0.5),
                brightness: 0.75,
                reverb: 0.55,
                sevenths: true,
                pluck: Some(PluckTone::Triangle),
                ..n
            },
            "lofi" | "chillhop" | "jazz" | "jazzy" | "hiphop" => Self {
                tempo_bias: (0.0, 0.6),
                brightness: 0.6,
                reverb: 0.25,
                sevenths: true,
                beat: true,
                pluck: Some(PluckTone::Square),
            },
            "electronic" | "edm" | "synthwave" | "synth" | "house" | "techno" | "electro" => Self {
                tempo_bias: (0.4, 1.0),
                brightness: 1.4,
                reverb: 0.3,
                beat: true,
                pluck: Some(PluckTone::Saw),
                ..n
            },
            "cinematic" | "orchestral" | "epic" | "film" | "trailer" | "documentary" => Self {
                tempo_bias: (0.2, 0.8),
                brightness: 0.9,
                reverb: 0.5,
                ..n
            },
            "acoustic" | "folk" | "piano" | "classical" | "guitar" => Self {
                tempo_bias: (0.2, 0.8),
                brightness: 0.8,
                pluck: Some(PluckTone::Triangle),
                ..n
            },
            "pop" | "corporate" | "commercial" | "indie" => Self {
                tempo_bias: (0.3, 1.0),
                brightness: 1.2,
                reverb: 0.3,
                beat: true,
                pluck: Some(PluckTone::Saw),
                ..n
            },
            _ => return None,
        })
    }

    /// A known genre word, or the neutral genre (the genre text still varies the seed).
    pub(super) fn resolve(key: &str) -> Self {
        words(key)
            .find_map(|w| Self::from_word(&w))
            .unwrap_or(Self::NEUTRAL)
    }
}
