//! `[services.moderation]`: thresholds, classifier settings and the limits of each check.

use std::collections::BTreeMap;

use crate::text_check::{self, Category, Severity};

/// `[services.moderation]` configuration: lexicons and the thresholds of every rule.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ModerationConfig {
    /// Findings at or above this severity fail the text.
    pub block_at: Severity,
    /// Use the built-in lexicon (categories in `lexicon` are added to it, replacing same-named ones).
    pub builtin_lexicon: bool,
    pub lexicon: BTreeMap<String, Category>,
    pub min_image_side: u32,
    /// Below this luma standard deviation an image counts as blank.
    pub min_image_contrast: f64,
    /// Perceptual hashes this close (in bits) mark two scenes as near-duplicates.
    pub near_duplicate_bits: u32,
    pub min_audio_rms_dbfs: f64,
    pub max_clipped_ratio: f64,
    pub max_narration_silence_ms: u64,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        Self {
            block_at: Severity::Medium,
            builtin_lexicon: true,
            lexicon: BTreeMap::new(),
            min_image_side: 1024,
            min_image_contrast: 6.0,
            near_duplicate_bits: 4,
            min_audio_rms_dbfs: -45.0,
            max_clipped_ratio: 0.001,
            max_narration_silence_ms: 3000,
        }
    }
}

impl ModerationConfig {
    /// The effective lexicon: built-in categories overlaid with configured ones.
    pub fn lexicon(&self) -> BTreeMap<String, Category> {
        let mut lexicon = if self.builtin_lexicon {
            text_check::default_lexicon()
        } else {
            BTreeMap::new()
        };
        lexicon.extend(self.lexicon.clone());
        lexicon
    }
}
