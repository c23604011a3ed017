//! Narration: determinism, scene and word counts, complete sentences that never repeat.

use std::collections::HashSet;

use anyhow::{ensure, Context as _};
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

use super::{full_narration, matrix, narration_words, request, sentences, topic_for, LENGTHS};
use crate::generator::{
    count_words,
    data::lang_for,
    generate,
    resolve::{fnv1a, mix_seed},
    scene_count,
    world::World,
    writer::Writer,
    Script, StoryRequest, LANGUAGES, WORDS_PER_SECOND,
};

#[test]
fn same_request_gives_identical_script() -> anyhow::Result<()> {
    for language in LANGUAGES {
        let req = request(topic_for(language), "mystery", "calm", 60, language, 42);
        ensure!(
            generate(&req) == generate(&req),
            "{language}: not deterministic"
        );
    }
    Ok(())
}

#[test]
fn seed_is_mixed_with_a_stable_hash() {
    // FNV-1a reference values: the empty string and "a".
    assert_eq!(fnv1a(&[""]), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(&["a"]), 0xaf63_dc4c_8601_ec8c);
    assert_ne!(mix_seed(1, &["x", "y"]), mix_seed(1, &["xy"]));
}

#[test]
fn different_seeds_give_different_scripts() -> anyhow::Result<()> {
    for language in LANGUAGES {
        let scripts: Vec<Script> = (0..8)
            .map(|seed| {
                generate(&request(
                    topic_for(language),
                    "adventure",
                    "uplifting",
                    60,
                    language,
                    seed,
                ))
            })
            .collect();
        for (i, a) in scripts.iter().enumerate() {
            for b in &scripts[i + 1..] {
                ensure!(
                    a.scenes != b.scenes,
                    "{language}: two seeds wrote the same scenes"
                );
            }
        }
        let narrations: HashSet<String> = scripts.iter().map(full_narration).collect();
        ensure!(
            narrations.len() == scripts.len(),
            "{language}: narrations repeat across seeds"
        );
    }
    Ok(())
}

#[test]
fn other_fields_change_the_script_too() {
    let base = request("a haunted lighthouse", "horror", "dark", 60, "en", 7);
    let script = generate(&base);
    for changed in [
        StoryRequest {
            topic: "a haunted harbor".into(),
            ..base.clone()
        },
        StoryRequest {
            genre: "comedy".into(),
            ..base.clone()
        },
        StoryRequest {
            tone: "whimsical".into(),
            ..base.clone()
        },
    ] {
        assert_ne!(generate(&changed).scenes, script.scenes);
    }
}

#[test]
fn scene_count_follows_length() -> anyhow::Result<()> {
    for (length, expected) in [
        (0, 2),
        (5, 2),
        (10, 2),
        (15, 2),
        (20, 3),
        (30, 4),
        (60, 8),
        (90, 12),
        (180, 24),
        (600, 24),
    ] {
        ensure!(scene_count(length) == expected, "scene_count({length})");
        let script = generate(&request(
            "the last train home",
            "drama",
            "calm",
            length,
            "en",
            3,
        ));
        ensure!(
            script.scenes.len() == expected,
            "{length}s gave {} scenes",
            script.scenes.len()
        );
    }
    Ok(())
}

#[test]
fn word_count_lands_near_target() -> anyhow::Result<()> {
    let mut worst = 0.0f64;
    for (req, script) in matrix() {
        let target = f64::from(req.length_seconds) * WORDS_PER_SECOND;
        let words = narration_words(script) as f64;
        let error = (words - target).abs() / target;
        worst = worst.max(error);
        ensure!(
            error <= 0.15,
            "{} {} {} {}s: {words} words for a target of {target}",
            req.language,
            req.genre,
            req.tone,
            req.length_seconds
        );
    }
    println!("worst word-count error: {:.1} %", worst * 100.0);
    Ok(())
}

#[test]
fn word_count_holds_for_awkward_topics() -> anyhow::Result<()> {
    let topics = [
        "",
        "cats",
        "AI",
        "the",
        "how a tiny village in the mountains learned to share one single bicycle between forty people",
        "Paris at night",
        "Why do cats knock things off tables?!",
    ];
    for topic in topics {
        for language in LANGUAGES {
            for length in LENGTHS {
                let script = generate(&request(topic, "comedy", "humorous", *length, language, 11));
                let target = f64::from(*length) * WORDS_PER_SECOND;
                let words = narration_words(&script) as f64;
                ensure!(
                    (words - target).abs() / target <= 0.15,
                    "{topic:?} {language} {length}s: {words} words"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn every_sentence_is_complete_and_sized() -> anyhow::Result<()> {
    for (req, script) in matrix() {
        for (i, scene) in script.scenes.iter().enumerate() {
            let parts = sentences(&scene.narration);
            ensure!(
                (1..=3).contains(&parts.len()),
                "scene {i} has {} sentences: {}",
                parts.len(),
                scene.narration
            );
            for sentence in parts {
                ensure!(
                    sentence.ends_with(['.', '!', '?']),
                    "unterminated: {sentence}"
                );
                let words = count_words(&sentence);
                ensure!(
                    (6..=22).contains(&words),
                    "{} {words} words: {sentence}",
                    req.language
                );
                ensure!(
                    !sentence.contains('{') && !sentence.contains('}'),
                    "unfilled slot: {sentence}"
                );
                ensure!(!sentence.contains("  "), "double space: {sentence}");
                let first = sentence
                    .chars()
                    .find(|c| c.is_alphabetic())
                    .context("no letters")?;
                ensure!(first.is_uppercase(), "lowercase start: {sentence}");
            }
        }
    }
    Ok(())
}

#[test]
fn no_sentence_repeats_within_a_script() -> anyhow::Result<()> {
    for (req, script) in matrix() {
        let mut seen = HashSet::new();
        for sentence in script.scenes.iter().flat_map(|s| sentences(&s.narration)) {
            ensure!(
                seen.insert(sentence.clone()),
                "{} repeated: {sentence}",
                req.language
            );
        }
    }
    Ok(())
}

#[test]
fn no_template_is_used_twice() -> anyhow::Result<()> {
    for language in LANGUAGES {
        let lang = lang_for(language);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let world = World::new(
            lang,
            topic_for(language).to_owned(),
            "mystery",
            "suspenseful",
            &mut rng,
        );
        let mut writer = Writer::new(&world, rng);
        let scenes = writer.scenes(180);
        let sentences = scenes.iter().flat_map(|s| sentences(&s.narration)).count();
        ensure!(
            writer.used_templates.len() == sentences,
            "{language}: a template was reused"
        );
    }
    Ok(())
}
