//! Tests for the offline story generator: determinism, sizing, language and copy limits.

use std::collections::HashSet;

use anyhow::{ensure, Context as _};

use super::*;

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
fn titles_are_short_and_localised() -> anyhow::Result<()> {
    for (_, script) in matrix() {
        ensure!(!script.title.trim().is_empty(), "empty title");
        ensure!(
            script.title.chars().count() <= 70,
            "long title: {}",
            script.title
        );
    }
    let long = "an extraordinarily long and winding topic about a lighthouse keeper who kept a diary for sixty years";
    let script = generate(&request(long, "mystery", "calm", 30, "en", 1));
    ensure!(script.title.chars().count() <= 70, "{}", script.title);
    Ok(())
}

fn check_tags(tags: &[String], range: std::ops::RangeInclusive<usize>) -> anyhow::Result<()> {
    ensure!(
        range.contains(&tags.len()),
        "{} hashtags: {tags:?}",
        tags.len()
    );
    let unique: HashSet<&String> = tags.iter().collect();
    ensure!(unique.len() == tags.len(), "duplicate hashtags {tags:?}");
    for tag in tags {
        let body = tag.strip_prefix('#').context("no #")?;
        ensure!(
            body.chars().count() >= 2
                && body
                    .chars()
                    .all(|c| c.is_alphanumeric() && !c.is_uppercase()),
            "bad hashtag {tag}"
        );
    }
    Ok(())
}

fn check_post(post: &PlatformPost) -> anyhow::Result<()> {
    for field in [&post.title, &post.description, &post.caption] {
        ensure!(!field.trim().is_empty(), "empty field in {post:?}");
        ensure!(!field.contains('{'), "unfilled slot in {field}");
    }
    Ok(())
}

#[test]
fn metadata_respects_platform_limits() -> anyhow::Result<()> {
    let mut requests = requests();
    let long = "an extraordinarily long and winding topic about a lighthouse keeper who kept a diary for sixty years";
    requests.extend(
        LANGUAGES
            .iter()
            .map(|l| request(long, "romance", "whimsical", 60, l, 8)),
    );
    requests.extend(
        LANGUAGES
            .iter()
            .map(|l| request("", "horror", "dark", 60, l, 8)),
    );
    for req in requests {
        let m = generate(&req).metadata;
        for post in [&m.youtube, &m.tiktok, &m.instagram, &m.facebook] {
            check_post(post)?;
        }

        ensure!(
            m.youtube.title.chars().count() <= 100,
            "youtube title {}",
            m.youtube.title
        );
        let (text, tags) = m
            .youtube
            .description
            .split_once("\n\n")
            .context("youtube description has no hashtags")?;
        let count = sentences(text).len();
        ensure!(
            (2..=4).contains(&count),
            "youtube description has {count} sentences: {text}"
        );
        ensure!(
            tags == m.youtube.hashtags.join(" "),
            "youtube hashtags line"
        );
        ensure!(
            m.youtube.hashtags.first().map(String::as_str) == Some("#shorts"),
            "#shorts"
        );
        check_tags(&m.youtube.hashtags, 2..=5)?;

        ensure!(
            m.tiktok.caption.chars().count() <= 150,
            "tiktok caption {}",
            m.tiktok.caption
        );
        ensure!(
            m.tiktok.hashtags.first().map(String::as_str) == Some("#fyp"),
            "#fyp"
        );
        ensure!(
            m.tiktok
                .hashtags
                .iter()
                .all(|t| m.tiktok.caption.contains(t.as_str())),
            "tiktok tags in caption"
        );
        check_tags(&m.tiktok.hashtags, 1..=5)?;

        ensure!(
            m.instagram.caption.contains('\n'),
            "instagram caption needs line breaks"
        );
        ensure!(
            m.instagram.hashtags.first().map(String::as_str) == Some("#reels"),
            "#reels"
        );
        ensure!(
            m.instagram
                .caption
                .ends_with(&m.instagram.hashtags.join(" ")),
            "instagram tags in caption"
        );
        check_tags(&m.instagram.hashtags, 5..=10)?;

        ensure!(
            m.facebook.caption.contains(&m.facebook.hashtags.join(" ")),
            "facebook tags in caption"
        );
        check_tags(&m.facebook.hashtags, 2..=4)?;
    }
    let m = generate(&request(
        "a lighthouse keeper's last night",
        "mystery",
        "calm",
        60,
        "en",
        1,
    ))
    .metadata;
    for tag in ["#lighthouse", "#keeper", "#mystery"] {
        ensure!(
            m.instagram.hashtags.iter().any(|t| t == tag),
            "{tag} missing from {:?}",
            m.instagram.hashtags
        );
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

#[test]
fn phrase_tables_are_complete() -> anyhow::Result<()> {
    for language in LANGUAGES {
        let lang = lang_for(language);
        ensure!(lang.code == *language, "{language}: code");
        for genre in GENRES {
            let text = lang
                .genres
                .iter()
                .find(|g| g.key == *genre)
                .with_context(|| format!("{language}: {genre}"))?;
            ensure!(
                !text.arc.intro.is_empty() && text.arc.all().iter().all(|p| !p.is_empty()),
                "{language} {genre}: pools"
            );
            ensure!(
                !text.things.is_empty() && !text.goals.is_empty() && !text.obstacles.is_empty(),
                "{language} {genre}"
            );
            ensure!(
                !text.titles.is_empty() && hashtag(text.tag).is_some(),
                "{language} {genre}: titles/tag"
            );
        }
        for tone in TONES {
            let text = lang
                .tones
                .iter()
                .find(|t| t.key == *tone)
                .with_context(|| format!("{language}: {tone}"))?;
            ensure!(
                !text.feel.is_empty() && !text.manner.is_empty(),
                "{language} {tone}"
            );
        }
        for place in PLACES {
            ensure!(
                lang.places.iter().any(|p| p.key == place.key),
                "{language}: place {}",
                place.key
            );
        }
        for senses in &lang.senses {
            ensure!(
                senses.sounds.len() >= 3 && senses.smells.len() >= 3 && senses.sights.len() >= 3,
                "{language}: senses"
            );
        }
        ensure!(lang.names.len() >= 4, "{language}: names");
        let stage_pools = [
            lang.arc.hook,
            lang.arc.rising,
            lang.arc.turn,
            lang.arc.resolution,
        ];
        let smallest = stage_pools
            .iter()
            .map(|p| p.len())
            .min()
            .unwrap_or_default();
        let wanted = if *language == "en" { 20 } else { 12 };
        ensure!(
            smallest >= wanted && lang.arc.intro.len() >= 8,
            "{language}: pools too small"
        );
    }
    Ok(())
}

#[test]
fn every_template_renders_cleanly() -> anyhow::Result<()> {
    for language in LANGUAGES {
        let lang = lang_for(language);
        for (female_seed, genre, tone) in [
            (0u64, "mystery", "calm"),
            (1, "romance", "dark"),
            (2, "comedy", "humorous"),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(female_seed);
            let world = World::new(lang, topic_for(language).to_owned(), genre, tone, &mut rng);
            let mut writer = Writer::new(&world, rng);
            let mut pools: Vec<&'static [&'static str]> = lang.arc.all().to_vec();
            pools.push(lang.texture);
            pools.extend(lang.genres.iter().flat_map(|g| g.arc.all()));
            pools.extend(lang.tones.iter().flat_map(|t| t.arc.all()));
            for template in pools.into_iter().flatten() {
                let rendered = writer
                    .render(template, Stage::Rising)
                    .with_context(|| format!("{language}: {template}"))?;
                ensure!(
                    !rendered.text.contains(['{', '}']),
                    "{language}: {}",
                    rendered.text
                );
                ensure!(
                    rendered.text.ends_with(['.', '!', '?']),
                    "{language}: {template}"
                );
                ensure!(
                    sentences(&rendered.text).len() == 1,
                    "{language}: several sentences in {template}"
                );
                ensure!(
                    !(*language != "en" && template.contains("{the_subject}")),
                    "{language}: {{the_subject}} is English-only"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn helpers_behave() {
    assert_eq!(
        normalize_topic("  a   quiet   harbor?!  "),
        "a quiet harbor"
    );
    assert_eq!(capitalize_first("¿qué pasó?"), "¿Qué pasó?");
    assert_eq!(capitalize_first("à l'aube"), "À l'aube");
    assert_eq!(
        title_case("a lighthouse keeper's last night", false),
        "a Lighthouse Keeper's Last Night"
    );
    assert_eq!(
        title_case("a lighthouse keeper's last night", true),
        "A Lighthouse Keeper's Last Night"
    );
    assert_eq!(
        hashtag("Leuchtturmwärter's").as_deref(),
        Some("#leuchtturmwaerters")
    );
    assert_eq!(
        hashtag("ciencia ficción").as_deref(),
        Some("#cienciaficcion")
    );
    assert_eq!(hashtag("Łódź"), Some("#lodz".to_owned()));
    assert_eq!(hashtag("Nguyễn Trãi"), Some("#nguyentrai".to_owned()));
    assert_eq!(hashtag("Москва"), Some("#москва".to_owned()));
    assert_eq!(hashtag("東京タワー"), Some("#東京タワー".to_owned()));
    assert_eq!(hashtag("Αθήνα!"), Some("#αθήνα".to_owned()));
    assert_eq!(hashtag("!"), None);
    assert_eq!(hashtag("é"), None);
    assert!(truncate_chars("one two three four", 10).chars().count() <= 10);
    let (caption, tags) = fit_caption(
        &"word ".repeat(60),
        &["#fyp".to_owned(), "#story".to_owned()],
        150,
    );
    assert!(caption.chars().count() <= 150 && tags.first().map(String::as_str) == Some("#fyp"));
}

#[test]
fn serde_round_trip() -> anyhow::Result<()> {
    let script = generate(&request(
        "a lighthouse keeper's last night",
        "mystery",
        "calm",
        30,
        "fr",
        1,
    ));
    let json = serde_json::to_string(&script)?;
    let back: Script = serde_json::from_str(&json)?;
    ensure!(back == script, "round trip");
    Ok(())
}
