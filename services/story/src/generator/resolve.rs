//! Request normalisation: the language, genre and tone a request resolves to, the topic as
//! narrated, and the seed mixed from them.

use super::data::{ENGLISH, LANGUAGES};

/// Genres every language has phrasing for; others resolve to one of them or to drama.
pub const GENRES: &[&str] = &[
    "mystery",
    "adventure",
    "drama",
    "comedy",
    "horror",
    "sci-fi",
    "fantasy",
    "documentary",
    "romance",
    "motivational",
];
/// Tones every language has phrasing for; others resolve to one of them or to calm.
pub const TONES: &[&str] = &[
    "calm",
    "dramatic",
    "suspenseful",
    "uplifting",
    "humorous",
    "dark",
    "whimsical",
    "inspirational",
];

/// The topic as it appears in narration: trimmed, whitespace collapsed, no trailing punctuation.
pub fn normalize_topic(raw: &str) -> String {
    let joined = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    joined
        .trim_end_matches(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '.' | ',' | ';' | ':' | '!' | '?' | '…' | '¡' | '¿' | '-' | '–' | '—'
                )
        })
        .to_owned()
}

/// A language of `LANGUAGES` from a code or locale ("es-MX"); English otherwise.
pub(super) fn resolve_language(raw: &str) -> &'static str {
    let lower = raw.trim().to_lowercase();
    let code = lower.split(['-', '_']).next().unwrap_or_default();
    LANGUAGES
        .iter()
        .copied()
        .find(|l| *l == code)
        .unwrap_or(ENGLISH)
}

/// Lowercase letters and digits only, so that "Sci Fi" and "sci-fi" compare equal.
fn squash(raw: &str) -> String {
    raw.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

pub(super) fn resolve_genre(raw: &str) -> &'static str {
    let key = squash(raw);
    if let Some(genre) = GENRES.iter().copied().find(|g| squash(g) == key) {
        return genre;
    }
    match key.as_str() {
        "sciencefiction" | "sf" => "sci-fi",
        "thriller" | "crime" | "detective" => "mystery",
        "funny" | "humor" | "humour" => "comedy",
        "love" | "romantic" => "romance",
        "motivation" | "inspirational" | "selfhelp" => "motivational",
        "scary" | "ghost" => "horror",
        "history" | "educational" | "facts" => "documentary",
        "action" => "adventure",
        _ => "drama",
    }
}

pub(super) fn resolve_tone(raw: &str) -> &'static str {
    let key = squash(raw);
    if let Some(tone) = TONES.iter().copied().find(|t| squash(t) == key) {
        return tone;
    }
    match key.as_str() {
        "funny" | "comic" | "playful" => "humorous",
        "tense" | "thrilling" | "mysterious" => "suspenseful",
        "hopeful" | "happy" | "joyful" | "positive" => "uplifting",
        "inspiring" | "motivating" => "inspirational",
        "grim" | "sad" | "gloomy" | "melancholic" => "dark",
        "epic" | "intense" => "dramatic",
        "quirky" | "magical" => "whimsical",
        _ => "calm",
    }
}

/// Stable 64-bit FNV-1a (the `fnv` crate) over the parts, separated by a unit separator.
pub(super) fn fnv1a(parts: &[&str]) -> u64 {
    use std::hash::Hasher as _;
    let mut hasher = fnv::FnvHasher::default();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.write(&[0x1f]);
        }
        hasher.write(part.as_bytes());
    }
    hasher.finish()
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(super) fn mix_seed(seed: u64, parts: &[&str]) -> u64 {
    splitmix64(seed ^ fnv1a(parts).rotate_left(29))
}
