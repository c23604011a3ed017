//! What the fleet can make (`[catalogue]`): the genres, tones and languages runs and tenant
//! configs may name. Configurable, so a new story template or voice needs no code change.

use serde::Deserialize;

/// The `[catalogue]` configuration table.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Catalogue {
    pub genres: Vec<String>,
    pub tones: Vec<String>,
    pub languages: Vec<String>,
}

impl Default for Catalogue {
    fn default() -> Self {
        let owned = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Self {
            genres: owned(&[
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
            ]),
            tones: owned(&[
                "calm",
                "dramatic",
                "suspenseful",
                "uplifting",
                "humorous",
                "dark",
                "whimsical",
                "inspirational",
            ]),
            languages: owned(&["en", "es", "fr", "de"]),
        }
    }
}

impl Catalogue {
    /// Whether `genre` is one the fleet can write.
    pub fn has_genre(&self, genre: &str) -> bool {
        self.genres.iter().any(|g| g == genre)
    }

    pub fn has_tone(&self, tone: &str) -> bool {
        self.tones.iter().any(|t| t == tone)
    }

    pub fn has_language(&self, language: &str) -> bool {
        self.languages.iter().any(|l| l == language)
    }
}
