//! Reading the request's mood words: the six moods, the word splitting that genre reading shares,
//! and the stable FNV-1a hashes that seed the track and map unknown text onto a mood.

/// FNV-1a's offset basis: the state of a fresh `FnvHasher`.
pub(super) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`, continuing from `hash` (stable across runs and platforms).
pub(super) fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    let mut hasher = fnv::FnvHasher::with_key(hash);
    std::hash::Hasher::write(&mut hasher, bytes);
    std::hash::Hasher::finish(&hasher)
}

/// Hash of the normalised mood and genre; 0xff never occurs in UTF-8 so it separates them unambiguously.
pub(super) fn style_hash(mood: &str, genre: &str) -> u64 {
    let h = fnv1a(FNV_OFFSET, mood.as_bytes());
    let h = fnv1a(h, &[0xff]);
    fnv1a(h, genre.as_bytes())
}

/// The whole key with separators removed (so "lo-fi" reads "lofi"), then each word in turn.
pub(super) fn words(key: &str) -> impl Iterator<Item = String> + '_ {
    let compact: String = key.chars().filter(|c| c.is_alphanumeric()).collect();
    std::iter::once(compact).chain(
        key.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mood {
    Calm,
    Mysterious,
    Tense,
    Hopeful,
    Joyful,
    Melancholic,
}

pub(super) const MOODS: [Mood; 6] = [
    Mood::Calm,
    Mood::Mysterious,
    Mood::Tense,
    Mood::Hopeful,
    Mood::Joyful,
    Mood::Melancholic,
];

impl Mood {
    fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "calm" | "relaxed" | "relaxing" | "peaceful" | "serene" | "soothing" | "gentle"
            | "chill" | "tranquil" => Self::Calm,
            "mysterious" | "mystery" | "dark" | "eerie" | "curious" | "enigmatic" | "spooky"
            | "ominous" => Self::Mysterious,
            "tense" | "tension" | "suspense" | "suspenseful" | "urgent" | "dramatic"
            | "anxious" | "intense" | "thriller" => Self::Tense,
            "hopeful" | "uplifting" | "inspiring" | "inspirational" | "optimistic"
            | "motivational" | "warm" => Self::Hopeful,
            "joyful" | "joy" | "happy" | "upbeat" | "playful" | "fun" | "cheerful"
            | "energetic" | "excited" | "bright" => Self::Joyful,
            "melancholic" | "melancholy" | "sad" | "somber" | "sombre" | "nostalgic"
            | "reflective" | "wistful" | "emotional" => Self::Melancholic,
            _ => return None,
        })
    }

    /// A known mood word, or else one of the six picked by a stable hash of the text.
    pub(super) fn resolve(key: &str) -> Self {
        words(key)
            .find_map(|w| Self::from_word(&w))
            .unwrap_or_else(|| {
                let index = fnv1a(FNV_OFFSET, key.as_bytes()) % MOODS.len() as u64;
                MOODS[index as usize]
            })
    }

    pub(super) fn tempo_range(self) -> (u32, u32) {
        match self {
            Self::Calm => (70, 84),
            Self::Mysterious => (60, 75),
            Self::Tense => (90, 110),
            Self::Hopeful => (95, 110),
            Self::Joyful => (108, 120),
            Self::Melancholic => (60, 72),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_values() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }
}
