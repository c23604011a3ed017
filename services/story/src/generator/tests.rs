//! Tests for the offline story generator, by concern; here the requests and helpers they share.

mod copy;
mod data_files;
mod narration;
mod phrases;
mod scenes;
mod topic;

use super::{count_words, generate, Script, StoryRequest, GENRES, LANGUAGES, TONES};

const LENGTHS: &[u32] = &[10, 30, 60, 180];

fn request(
    topic: &str,
    genre: &str,
    tone: &str,
    length_seconds: u32,
    language: &str,
    seed: u64,
) -> StoryRequest {
    StoryRequest {
        topic: topic.to_owned(),
        genre: genre.to_owned(),
        tone: tone.to_owned(),
        length_seconds,
        language: language.to_owned(),
        seed,
    }
}

fn topic_for(language: &str) -> &'static str {
    match language {
        "es" => "la última noche del farero",
        "fr" => "la dernière nuit du gardien de phare",
        "de" => "die letzte Nacht des Leuchtturmwärters",
        _ => "a lighthouse keeper's last night",
    }
}

/// Every language × genre × tone × length, generated once and shared by the tests.
fn matrix() -> &'static [(StoryRequest, Script)] {
    static MATRIX: std::sync::OnceLock<Vec<(StoryRequest, Script)>> = std::sync::OnceLock::new();
    MATRIX.get_or_init(|| {
        requests()
            .into_iter()
            .map(|req| {
                let script = generate(&req);
                (req, script)
            })
            .collect()
    })
}

fn requests() -> Vec<StoryRequest> {
    let mut out = Vec::new();
    for language in LANGUAGES {
        for (g, genre) in GENRES.iter().enumerate() {
            for (t, tone) in TONES.iter().enumerate() {
                for length in LENGTHS {
                    let seed = (g * 31 + t * 7) as u64 + u64::from(*length);
                    out.push(request(
                        topic_for(language),
                        genre,
                        tone,
                        *length,
                        language,
                        seed,
                    ));
                }
            }
        }
    }
    out
}

/// Splits narration into sentences the way the narrator does.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        current.push(*c);
        let ends =
            matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if ends {
            out.push(current.trim().to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

fn narration_words(script: &Script) -> usize {
    script
        .scenes
        .iter()
        .map(|s| count_words(&s.narration))
        .sum()
}

fn full_narration(script: &Script) -> String {
    script
        .scenes
        .iter()
        .map(|s| s.narration.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}
