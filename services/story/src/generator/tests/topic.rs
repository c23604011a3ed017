//! Topics and languages: the topic and its subject words in the narration, the place a topic
//! names, the language narrated in, and what unknown inputs fall back to.

use anyhow::{ensure, Context as _};

use super::{full_narration, matrix, request, topic_for};
use crate::generator::{
    generate, normalize_topic,
    resolve::{resolve_genre, resolve_tone},
    topic::subject_words,
    GENRES,
};

#[test]
fn topic_appears_in_the_first_scene() -> anyhow::Result<()> {
    for (req, script) in matrix() {
        let first = script.scenes.first().context("no scenes")?;
        ensure!(
            first.narration.contains(&normalize_topic(&req.topic)),
            "{}: {}",
            req.language,
            first.narration
        );
    }
    let script = generate(&request(
        "  the  Mary Celeste...  ",
        "mystery",
        "dark",
        30,
        "en",
        1,
    ));
    let first = script.scenes.first().context("no scenes")?;
    ensure!(
        first.narration.contains("the Mary Celeste"),
        "{}",
        first.narration
    );
    Ok(())
}

#[test]
fn subject_words_recur_in_later_scenes() -> anyhow::Result<()> {
    for (req, script) in matrix() {
        let subjects: Vec<String> = subject_words(&req.topic, &req.language)
            .iter()
            .map(|s| s.word.to_lowercase())
            .collect();
        ensure!(!subjects.is_empty(), "no subject words in {}", req.topic);
        let later = script
            .scenes
            .iter()
            .skip(1)
            .filter(|s| {
                let text = s.narration.to_lowercase();
                subjects.iter().any(|w| text.contains(w.as_str()))
            })
            .count();
        let needed = ((script.scenes.len() - 1) / 3).max(1);
        ensure!(
            later >= needed,
            "{} {}s: subjects in {later} later scenes, want {needed}",
            req.language,
            req.length_seconds
        );
    }
    Ok(())
}

#[test]
fn subject_words_skip_stopwords_and_possessives() {
    let words: Vec<String> = subject_words("a lighthouse keeper's last night", "en")
        .into_iter()
        .map(|s| s.word)
        .collect();
    assert_eq!(words, ["lighthouse", "keeper", "night"]);
    let words: Vec<String> = subject_words("l'histoire de la forêt", "fr")
        .into_iter()
        .map(|s| s.word)
        .collect();
    assert_eq!(words, ["forêt"]);
    let proper: Vec<bool> = subject_words("a weekend in Paris", "en")
        .into_iter()
        .map(|s| s.proper)
        .collect();
    assert_eq!(proper, [false, true]);
    let words: Vec<String> = subject_words("the robot who learned to paint", "en")
        .into_iter()
        .map(|s| s.word)
        .collect();
    assert_eq!(words, ["robot"]);
    let words: Vec<String> = subject_words("learning to cook with grandma", "en")
        .into_iter()
        .map(|s| s.word)
        .collect();
    assert_eq!(words, ["grandma"]);
    let words: Vec<String> = subject_words("das Geheimnis im alten Wald", "de")
        .into_iter()
        .map(|s| s.word)
        .collect();
    assert_eq!(words, ["Geheimnis", "Wald"]);
    let words: Vec<String> = subject_words("mein erster Marathon", "de")
        .into_iter()
        .map(|s| s.word)
        .collect();
    assert_eq!(words, ["Marathon"]);
}

#[test]
fn every_language_narrates_in_its_own_words() -> anyhow::Result<()> {
    let markers: &[(&str, &[&str])] = &[
        ("en", &[" the ", " and "]),
        ("es", &[" el ", " la ", " que ", " y "]),
        ("fr", &[" le ", " la ", " et ", " les "]),
        ("de", &[" der ", " die ", " und ", " das "]),
    ];
    for (language, words) in markers {
        for genre in GENRES {
            let script = generate(&request(
                topic_for(language),
                genre,
                "dramatic",
                60,
                language,
                9,
            ));
            ensure!(script.language == *language, "language field");
            let text = format!(" {} ", full_narration(&script).to_lowercase());
            let hits = words.iter().filter(|w| text.contains(*w)).count();
            ensure!(
                hits >= 2,
                "{language} {genre}: too few function words in {text}"
            );
            if *language != "en" {
                for english in [" the ", " and ", " with ", " she ", " he "] {
                    ensure!(
                        !text.contains(english),
                        "{language} {genre}: English {english:?} in {text}"
                    );
                }
            }
        }
    }
    Ok(())
}

#[test]
fn unknown_inputs_fall_back() -> anyhow::Result<()> {
    let script = generate(&request("", "noir", "???", 30, "xx-YY", 1));
    ensure!(script.language == "en", "language fallback");
    ensure!(
        script.scenes[0].narration.contains("a forgotten place"),
        "topic fallback"
    );
    ensure!(
        generate(&request("el faro", "Sci Fi", "FUNNY", 30, "es-MX", 1)).language == "es",
        "region tag"
    );
    ensure!(
        resolve_genre("Sci Fi") == "sci-fi" && resolve_genre("science fiction") == "sci-fi",
        "genre aliases"
    );
    ensure!(resolve_tone("Funny") == "humorous", "tone aliases");
    Ok(())
}

#[test]
fn topics_choose_matching_places() -> anyhow::Result<()> {
    for (topic, keyword) in [
        ("the lighthouse keeper", "lighthouse"),
        ("a walk in the forest", "forest"),
        ("secrets of the old city", "city"),
        ("a summer on the lake", "lake"),
        ("der Leuchtturmwärter", "lighthouse"),
    ] {
        let script = generate(&request(topic, "drama", "calm", 30, "en", 2));
        for scene in &script.scenes {
            ensure!(scene.visual.contains(keyword), "{topic}: {}", scene.visual);
        }
    }
    Ok(())
}
