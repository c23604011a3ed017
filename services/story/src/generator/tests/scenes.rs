//! Scenes: English visuals for the renderer, moods that follow the arc, nothing left empty.

use std::collections::HashSet;

use anyhow::{ensure, Context as _};

use super::{matrix, request};
use crate::generator::{generate, topic::subject_words, GENRES, MOODS};

#[test]
fn visuals_are_english_and_name_what_the_renderer_draws() -> anyhow::Result<()> {
    let keywords = [
        "sea",
        "ocean",
        "lighthouse",
        "harbor",
        "lake",
        "river",
        "forest",
        "tree",
        "woods",
        "city",
        "street",
        "town",
        "tower",
        "building",
        "night",
        "star",
        "moon",
        "dark",
        "midnight",
    ];
    for (req, script) in matrix() {
        let subjects: Vec<String> = subject_words(&req.topic, &req.language)
            .iter()
            .map(|s| s.word.to_lowercase())
            .collect();
        for scene in &script.scenes {
            let visual = scene.visual.to_lowercase();
            ensure!(
                keywords.iter().any(|k| visual.contains(k)),
                "no renderer keyword: {visual}"
            );
            ensure!(
                visual.contains("shot") || visual.contains("view") || visual.contains("close-up"),
                "no shot: {visual}"
            );
            ensure!(
                subjects.iter().all(|w| visual.contains(w.as_str())),
                "subjects missing: {visual}"
            );
            ensure!(
                visual.contains(" of ") && visual.contains(" mood"),
                "not English: {visual}"
            );
        }
    }
    Ok(())
}

#[test]
fn moods_follow_arc_and_tone() -> anyhow::Result<()> {
    for (_, script) in matrix() {
        for scene in &script.scenes {
            ensure!(
                MOODS.contains(&scene.mood.as_str()),
                "unknown mood {}",
                scene.mood
            );
        }
    }
    let script = generate(&request(
        "the vanished painter",
        "mystery",
        "suspenseful",
        90,
        "en",
        4,
    ));
    let moods: Vec<&str> = script.scenes.iter().map(|s| s.mood.as_str()).collect();
    ensure!(moods.first() == Some(&"mysterious"), "{moods:?}");
    ensure!(moods.contains(&"tense"), "{moods:?}");
    let first_tense = moods
        .iter()
        .position(|m| *m == "tense")
        .context("no tense")?;
    ensure!(
        moods[..first_tense].iter().all(|m| *m == "mysterious"),
        "{moods:?}"
    );

    for genre in GENRES {
        let script = generate(&request("a second chance", genre, "uplifting", 60, "en", 4));
        let last = script.scenes.last().context("no scenes")?;
        ensure!(last.mood == "joyful", "{genre}: {}", last.mood);
        let moods: HashSet<&str> = script.scenes.iter().map(|s| s.mood.as_str()).collect();
        ensure!(moods.len() >= 2, "{genre}: a flat mood line {moods:?}");
    }
    Ok(())
}

#[test]
fn nothing_is_empty() -> anyhow::Result<()> {
    for (_, script) in matrix() {
        ensure!(
            !script.title.is_empty() && !script.language.is_empty(),
            "empty header"
        );
        for scene in &script.scenes {
            ensure!(
                !scene.narration.is_empty() && !scene.visual.is_empty() && !scene.mood.is_empty(),
                "empty scene"
            );
        }
    }
    Ok(())
}
