//! Offline story generator: deterministic, template-driven scripts with per-platform copy.
//!
//! Without a network or a model, a script is assembled from per-language phrase pools: the JSON
//! files under `data/` (described in `data/README.md`), embedded in the binary and parsed on first
//! use. A request fixes everything: the topic, genre, tone and language pick the cast, place and
//! vocabulary; the seed (mixed with a stable FNV-1a hash of those fields) drives a ChaCha8
//! generator, so the same request always yields the same script.
//!
//! The parts, in the order a script is made: `resolve` (the request's language, genre, tone and
//! seed), `data` and `phrases` (the embedded files), `topic` (subject words and place),
//! `world` (cast, place, times of day, moods), `writer` (scenes and visuals) and `metadata` (the
//! title and each platform's copy); `types` holds the request and the script.

mod data;
mod metadata;
mod phrases;
mod resolve;
mod topic;
mod types;
mod world;
mod writer;

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

pub use data::LANGUAGES;
pub use resolve::{normalize_topic, GENRES, TONES};
pub use types::{PlatformMetadata, PlatformPost, Scene, Script, StoryRequest};
pub use world::MOODS;
pub use writer::{count_words, scene_count, target_words, WORDS_PER_SECOND};

use data::lang_for;
use resolve::{mix_seed, resolve_genre, resolve_language, resolve_tone};
use world::World;
use writer::Writer;

/// Writes a titled script split into scenes sized to `length_seconds`. Same request (seed
/// included) → identical script.
///
/// Unknown languages fall back to English, unknown genres to drama and unknown tones to calm.
/// Very long requests (beyond ~10 minutes) are capped by the scene and sentence limits.
pub fn generate(request: &StoryRequest) -> Script {
    let language = resolve_language(&request.language);
    let lang = lang_for(language);
    let topic = match normalize_topic(&request.topic) {
        topic if topic.is_empty() => lang.fallback_topic.clone(),
        topic => topic,
    };
    let genre = resolve_genre(&request.genre);
    let tone = resolve_tone(&request.tone);
    let mut rng =
        ChaCha8Rng::seed_from_u64(mix_seed(request.seed, &[&topic, genre, tone, language]));
    let world = World::new(lang, topic, genre, tone, &mut rng);
    let mut writer = Writer::new(&world, rng);
    let scenes = writer.scenes(request.length_seconds);
    let title = writer.title();
    let metadata = writer.metadata(&title);
    Script {
        title,
        language: language.to_owned(),
        scenes,
        metadata,
    }
}

#[cfg(test)]
mod tests;
