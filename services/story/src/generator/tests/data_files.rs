//! Validation of the embedded data files: whatever an edit to `data/` could break is reported
//! here with the file and the entry, before it can reach a script.

use std::collections::{BTreeSet, HashSet};

use anyhow::{ensure, Context as _};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::generator::{
    data::{
        Grammar, Place, Visuals, ENGLISH, ENGLISH_FILE, GRAMMAR_FILE, PLACES_FILE,
        TRANSLATION_FILES, VISUALS_FILE,
    },
    metadata::hashtag,
    phrases::{Arc, Lang},
    GENRES, LANGUAGES, TONES,
};

/// Slots the writer fills in narration, besides a language's own pronoun slots.
const NARRATION_SLOTS: &[&str] = &[
    "topic",
    "subject",
    "the_subject",
    "hero",
    "friend",
    "place",
    "at_place",
    "to_place",
    "when",
    "sound",
    "smell",
    "sight",
    "feel",
    "manner",
    "thing",
    "the_thing",
    "goal",
    "obstacle",
];
/// Narration slots that only make sense in English (`{the_subject}` adds an English "the").
const ENGLISH_ONLY_SLOTS: &[&str] = &["the_subject"];
/// Slots of title templates.
const TITLE_SLOTS: &[&str] = &["topic", "label"];
/// Slots of the platform copy templates.
const COPY_SLOTS: &[&str] = &[
    "title", "topic", "label", "story", "hero", "at_place", "place", "tone_adj",
];
const STAGES: [&str; 4] = ["hook", "rising", "turn", "resolution"];

/// Every embedded language file with its code, English first.
fn language_files() -> impl Iterator<Item = (&'static str, &'static str)> {
    std::iter::once((ENGLISH, ENGLISH_FILE)).chain(TRANSLATION_FILES.iter().copied())
}

/// The slots a template uses, or why its braces do not parse.
fn slots(template: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(brace) = rest.find(['{', '}']) {
        if rest[brace..].starts_with('}') {
            return Err(format!("a `}}` without its `{{` in {template:?}"));
        }
        let tail = &rest[brace + 1..];
        let slot = tail
            .find('}')
            .map(|close| &tail[..close])
            .filter(|slot| !slot.contains('{'))
            .ok_or_else(|| format!("an unclosed `{{` in {template:?}"))?;
        found.push(slot);
        rest = &tail[slot.len() + 1..];
    }
    Ok(found)
}

/// What is wrong with one file, each entry naming where.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(problem());
        }
    }

    /// Templates whose braces do not parse or that use a slot `allowed` does not know.
    fn templates(&mut self, at: &str, pool: &[String], allowed: &dyn Fn(&str) -> bool) {
        for template in pool {
            match slots(template) {
                Err(problem) => self.0.push(format!("{at}: {problem}")),
                Ok(slots) => {
                    for slot in slots.into_iter().filter(|slot| !allowed(slot)) {
                        self.0
                            .push(format!("{at}: unknown slot {{{slot}}} in {template:?}"));
                    }
                }
            }
        }
    }

    /// Words that would never match a lowercased topic word, and repeats.
    fn words(&mut self, at: &str, words: &[String]) {
        let mut seen = HashSet::new();
        for word in words {
            self.check(
                *word == word.to_lowercase() && !word.contains(char::is_whitespace),
                || format!("{at}: {word:?} is not one lowercase word"),
            );
            self.check(seen.insert(word), || format!("{at}: {word:?} twice"));
        }
    }

    /// A table whose keys are not exactly `expected`.
    fn keys<'a>(
        &mut self,
        at: &str,
        keys: impl IntoIterator<Item = &'a String>,
        expected: &[&str],
    ) {
        let keys: BTreeSet<&str> = keys.into_iter().map(String::as_str).collect();
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        for missing in expected.difference(&keys) {
            self.0.push(format!("{at}: no entry for {missing:?}"));
        }
        for unknown in keys.difference(&expected) {
            self.0
                .push(format!("{at}: {unknown:?} is not one of {expected:?}"));
        }
    }
}

/// Empty lists and empty phrases anywhere in a document; pronoun forms may be empty (French
/// `{e}` adds nothing for a man).
fn empty_entries(value: &Value, path: &str, problems: &mut Problems) {
    match value {
        Value::Array(items) => {
            problems.check(!items.is_empty(), || format!("{path}: empty list"));
            for (i, item) in items.iter().enumerate() {
                empty_entries(item, &format!("{path}/{i}"), problems);
            }
        }
        Value::Object(entries) => {
            for (key, entry) in entries {
                empty_entries(entry, &format!("{path}/{key}"), problems);
            }
        }
        Value::String(text) => problems.check(
            !text.trim().is_empty() || path.starts_with("/pronouns/"),
            || format!("{path}: empty"),
        ),
        _ => {}
    }
}

/// Key paths of a language file; lists and the language's own pronoun slots are leaves.
fn key_paths(value: &Value, path: &str, paths: &mut BTreeSet<String>) {
    if let Value::Object(entries) = value {
        for (key, entry) in entries {
            let entry_path = format!("{path}/{key}");
            if entry_path != "/pronouns" {
                key_paths(entry, &entry_path, paths);
            }
            paths.insert(entry_path);
        }
    }
}

/// Parses a data file, reports its empty entries, then checks it with `check`.
fn file_problems<T: DeserializeOwned>(
    file: &str,
    check: impl FnOnce(&T, &Value, &mut Problems),
) -> Vec<String> {
    let parsed = serde_json::from_str::<Value>(file)
        .and_then(|document| Ok((serde_json::from_str::<T>(file)?, document)));
    let (data, document) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return vec![format!("does not parse: {error}")],
    };
    let mut problems = Problems::default();
    empty_entries(&document, "", &mut problems);
    check(&data, &document, &mut problems);
    problems.0
}

/// Everything wrong with the language file of `code`.
fn language_problems(code: &str, file: &str) -> Vec<String> {
    file_problems(file, |lang: &Lang, document, problems| {
        check_shape(document, problems);
        check_language(code, lang, problems);
    })
}

/// Keys that English has and this file lacks, or the other way round (the outermost of each).
fn check_shape(document: &Value, problems: &mut Problems) {
    let mut english = BTreeSet::new();
    if let Ok(english_document) = serde_json::from_str(ENGLISH_FILE) {
        key_paths(&english_document, "", &mut english);
    }
    let mut this = BTreeSet::new();
    key_paths(document, "", &mut this);
    let outermost = |paths: BTreeSet<&String>| {
        paths
            .iter()
            .filter(|path| {
                path.rsplit_once('/')
                    .is_none_or(|(parent, _)| !paths.iter().any(|p| *p == parent))
            })
            .map(|path| (*path).clone())
            .collect::<Vec<_>>()
    };
    for missing in outermost(english.difference(&this).collect()) {
        problems
            .0
            .push(format!("{missing}: in English, missing here"));
    }
    for extra in outermost(this.difference(&english).collect()) {
        problems.0.push(format!("{extra}: not in English"));
    }
}

fn check_language(code: &str, lang: &Lang, problems: &mut Problems) {
    problems.keys("/genres", lang.genres.keys(), GENRES);
    problems.keys("/tones", lang.tones.keys(), TONES);
    let places = places();
    let place_keys: Vec<&str> = places.iter().map(|place| place.key.as_str()).collect();
    problems.keys("/places", lang.places.keys(), &place_keys);

    let mut names = HashSet::new();
    for name in &lang.names {
        problems.check(names.insert(&name.name), || {
            format!("/names: {:?} twice", name.name)
        });
    }
    for slot in lang.pronouns.keys() {
        problems.check(!NARRATION_SLOTS.contains(&slot.as_str()), || {
            format!("/pronouns/{slot}: a slot the writer fills itself")
        });
    }

    let narration = |slot: &str| {
        lang.pronouns.contains_key(slot)
            || (NARRATION_SLOTS.contains(&slot)
                && (code == ENGLISH || !ENGLISH_ONLY_SLOTS.contains(&slot)))
    };
    let mut arcs: Vec<(String, &Arc)> = vec![("/arc".to_owned(), &lang.arc)];
    arcs.extend(
        lang.genres
            .iter()
            .map(|(key, genre)| (format!("/genres/{key}/arc"), &genre.arc)),
    );
    arcs.extend(
        lang.tones
            .iter()
            .map(|(key, tone)| (format!("/tones/{key}/arc"), &tone.arc)),
    );
    for (at, arc) in &arcs {
        for (pool, templates) in std::iter::once("intro").chain(STAGES).zip(arc.all()) {
            problems.templates(&format!("{at}/{pool}"), templates, &narration);
        }
        let tone = at.starts_with("/tones/");
        problems.check(tone || !arc.intro.is_empty(), || {
            format!("{at}/intro: missing")
        });
        problems.check(!tone || arc.intro.is_empty(), || {
            format!("{at}/intro: tones have no intros (a script opens with the language's or the genre's)")
        });
        for intro in arc.intro.iter().filter(|intro| !intro.contains("{topic}")) {
            problems
                .0
                .push(format!("{at}/intro: {intro:?} does not name {{topic}}"));
        }
    }
    problems.templates("/texture", &lang.texture, &narration);

    let title = |slot: &str| TITLE_SLOTS.contains(&slot);
    let copy = |slot: &str| COPY_SLOTS.contains(&slot);
    for (key, genre) in &lang.genres {
        problems.templates(&format!("/genres/{key}/titles"), &genre.titles, &title);
        problems.check(hashtag(&genre.tag).is_some(), || {
            format!("/genres/{key}/tag: {:?} makes no hashtag", genre.tag)
        });
    }
    let meta = &lang.meta;
    problems.templates("/meta/titles", &meta.titles, &title);
    for (pool, templates) in [
        ("youtube_titles", &meta.youtube_titles),
        ("about", &meta.about),
        ("follow", &meta.follow),
        ("comment", &meta.comment),
        ("subscribe", &meta.subscribe),
        ("youtube_captions", &meta.youtube_captions),
        ("tiktok_captions", &meta.tiktok_captions),
        ("instagram_hooks", &meta.instagram_hooks),
        ("instagram_calls", &meta.instagram_calls),
        ("facebook_intros", &meta.facebook_intros),
        ("facebook_calls", &meta.facebook_calls),
    ] {
        problems.templates(&format!("/meta/{pool}"), templates, &copy);
    }
    for tag in std::iter::once(&meta.story_tag).chain(&meta.extra_tags) {
        problems.check(hashtag(tag).is_some(), || {
            format!("/meta: {tag:?} makes no hashtag")
        });
    }

    check_phrases_have_no_slots(lang, problems);
    problems.words("/stopwords", &lang.stopwords);
    for (key, place) in &lang.places {
        problems.words(&format!("/places/{key}/keywords"), &place.keywords);
    }
}

/// Phrases filled into templates as they are: a brace in one would reach the script.
fn check_phrases_have_no_slots(lang: &Lang, problems: &mut Problems) {
    let times = &lang.times;
    let mut phrases: Vec<&String> = vec![
        &lang.fallback_topic,
        &times.dawn,
        &times.early_morning,
        &times.midday,
        &times.late_afternoon,
        &times.sunset,
        &times.dusk,
        &times.night,
        &times.midnight,
    ];
    phrases.extend(lang.names.iter().map(|name| &name.name));
    phrases.extend(
        lang.pronouns
            .values()
            .flat_map(|forms| [&forms.masculine, &forms.feminine]),
    );
    phrases.extend(
        lang.places
            .values()
            .flat_map(|place| [&place.name, &place.at, &place.to]),
    );
    let senses = &lang.senses;
    for setting in [&senses.sea, &senses.forest, &senses.city, &senses.open] {
        phrases.extend(
            setting
                .sounds
                .iter()
                .chain(&setting.smells)
                .chain(&setting.sights),
        );
    }
    for genre in lang.genres.values() {
        phrases.extend([&genre.theme, &genre.story, &genre.label]);
        phrases.extend(
            genre
                .things
                .iter()
                .flat_map(|thing| [&thing.indefinite, &thing.definite]),
        );
        phrases.extend(genre.goals.iter().chain(&genre.obstacles));
    }
    for tone in lang.tones.values() {
        phrases.push(&tone.adjective);
        phrases.extend(tone.feel.iter().chain(&tone.manner));
    }
    for phrase in phrases
        .into_iter()
        .filter(|phrase| phrase.contains(['{', '}']))
    {
        problems.0.push(format!(
            "{phrase:?}: a phrase filled in as it is cannot hold a slot"
        ));
    }
}

fn places() -> Vec<Place> {
    serde_json::from_str(PLACES_FILE).unwrap_or_default()
}

fn check_places(places: &[Place], problems: &mut Problems) {
    let mut keys = HashSet::new();
    for place in places {
        problems.check(keys.insert(&place.key), || format!("{:?} twice", place.key));
        for genre in place
            .genres
            .iter()
            .filter(|genre| !GENRES.contains(&genre.as_str()))
        {
            problems
                .0
                .push(format!("{}: {genre:?} is not a genre", place.key));
        }
        for visual in place
            .visuals
            .iter()
            .filter(|visual| visual.contains(['{', '}']))
        {
            problems
                .0
                .push(format!("{}: {visual:?} cannot hold a slot", place.key));
        }
    }
    for genre in GENRES {
        problems.check(
            places
                .iter()
                .any(|place| place.genres.iter().any(|g| g == genre)),
            || format!("no place for {genre} stories whose topic names none"),
        );
    }
}

fn check_visuals(visuals: &Visuals, problems: &mut Problems) {
    problems.keys("/lighting", visuals.lighting.keys(), TONES);
    for (at, arc) in [("/shots", &visuals.shots), ("/focus", &visuals.focus)] {
        problems.check(arc.intro.is_empty(), || {
            format!("{at}/intro: a scene belongs to a stage; there is no intro scene")
        });
    }
    let focus = &visuals.focus;
    let focus_pools = [&focus.hook, &focus.rising, &focus.turn, &focus.resolution];
    for (stage, pool) in STAGES.iter().zip(focus_pools) {
        problems.templates(&format!("/focus/{stage}"), pool, &|slot| slot == "figure");
    }
    for phrase in visuals
        .shots
        .all()
        .into_iter()
        .flatten()
        .chain(visuals.lighting.values().flatten())
        .filter(|phrase| phrase.contains(['{', '}']))
    {
        problems.0.push(format!("{phrase:?} cannot hold a slot"));
    }
}

fn check_grammar(grammar: &Grammar, problems: &mut Problems) {
    problems.words("/verb_followers", &grammar.verb_followers);
    problems.words("/title_small_words", &grammar.title_small_words);
}

#[test]
fn every_data_file_is_valid() -> anyhow::Result<()> {
    let mut report = Vec::new();
    for (code, file) in language_files() {
        let problems = language_problems(code, file);
        report.extend(
            problems
                .into_iter()
                .map(|p| format!("data/languages/{code}.json: {p}")),
        );
    }
    for (name, problems) in [
        (
            "places.json",
            file_problems(PLACES_FILE, |places: &Vec<Place>, _, problems| {
                check_places(places, problems);
            }),
        ),
        (
            "visuals.json",
            file_problems(VISUALS_FILE, |visuals, _, problems| {
                check_visuals(visuals, problems);
            }),
        ),
        (
            "grammar.json",
            file_problems(GRAMMAR_FILE, |grammar, _, problems| {
                check_grammar(grammar, problems);
            }),
        ),
    ] {
        report.extend(problems.into_iter().map(|p| format!("data/{name}: {p}")));
    }
    ensure!(report.is_empty(), "{}", report.join("\n"));
    Ok(())
}

#[test]
fn every_language_file_is_registered() -> anyhow::Result<()> {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/data/languages");
    let mut on_disk = Vec::new();
    for entry in std::fs::read_dir(directory)? {
        let path = entry?.path();
        if path.extension().is_none_or(|extension| extension != "json") {
            continue;
        }
        let code = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .context("a file name that is not UTF-8")?
            .to_owned();
        let (_, registered) = language_files()
            .find(|(registered, _)| *registered == code)
            .with_context(|| {
                format!(
                    "{} is missing from TRANSLATION_FILES in generator/data.rs",
                    path.display()
                )
            })?;
        ensure!(
            registered == std::fs::read_to_string(&path)?,
            "{code} is registered with another language's file"
        );
        on_disk.push(code);
    }
    on_disk.sort();
    let mut registered: Vec<&str> = LANGUAGES.to_vec();
    registered.sort_unstable();
    ensure!(
        on_disk == registered,
        "registered {registered:?}, files for {on_disk:?}"
    );
    Ok(())
}

/// What an edit does to a language file, and the edit.
type Breakage = (&'static str, fn(&mut Value));

fn push(file: &mut Value, pointer: &str, template: &str) {
    if let Some(pool) = file.pointer_mut(pointer).and_then(Value::as_array_mut) {
        pool.push(json!(template));
    }
}

#[test]
fn broken_language_files_are_caught() -> anyhow::Result<()> {
    let breakages: [Breakage; 12] = [
        ("a missing genre", |file| {
            if let Some(genres) = file["genres"].as_object_mut() {
                genres.remove("horror");
            }
        }),
        ("a missing place", |file| {
            if let Some(places) = file["places"].as_object_mut() {
                places.remove("cafe");
            }
        }),
        ("a misspelt table", |file| {
            if let Some(texture) = file.as_object_mut().and_then(|f| f.remove("texture")) {
                file["textures"] = texture;
            }
        }),
        ("an unknown slot", |file| {
            push(file, "/arc/hook", "{villain} was waiting.")
        }),
        ("an unclosed slot", |file| {
            push(file, "/texture", "{hero waited.")
        }),
        ("an intro without the topic", |file| {
            push(file, "/genres/mystery/arc/intro", "It began at night.");
        }),
        ("a copy slot in a title", |file| {
            push(file, "/meta/titles", "{hero}: {label}")
        }),
        ("an empty pool", |file| {
            file["genres"]["drama"]["goals"] = json!([])
        }),
        ("an empty phrase", |file| {
            file["places"]["lake"]["at"] = json!(" ")
        }),
        ("a slot in a name", |file| {
            file["names"][0]["name"] = json!("{hero}")
        }),
        ("an intro for a tone", |file| {
            file["tones"]["calm"]["arc"]["intro"] = json!(["This is {topic}."]);
        }),
        ("an uppercase stopword", |file| {
            push(file, "/stopwords", "About")
        }),
    ];
    ensure!(
        language_problems(ENGLISH, ENGLISH_FILE).is_empty(),
        "English itself has problems"
    );
    let english: Value = serde_json::from_str(ENGLISH_FILE)?;
    for (what, breakage) in breakages {
        let mut broken = english.clone();
        breakage(&mut broken);
        ensure!(broken != english, "{what}: the edit did not apply");
        ensure!(
            !language_problems(ENGLISH, &broken.to_string()).is_empty(),
            "{what} went unnoticed"
        );
    }
    Ok(())
}
