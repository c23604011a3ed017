//! The embedded data files under `data/`: the language registry, places, visuals and word lists,
//! each parsed once on first use.

use std::{
    collections::{BTreeMap, HashSet},
    sync::LazyLock,
};

use serde::{de::DeserializeOwned, Deserialize};

use super::phrases::{Arc, GenreText, Lang, PlaceText, Times, ToneText};

/// English: the language every other one is checked against, and the fallback for unknown codes.
pub(super) const ENGLISH: &str = "en";
pub(super) const ENGLISH_FILE: &str = include_str!("../../data/languages/en.json");
/// Every other language: its code and its file. Adding a language takes its file in
/// `data/languages/` and one line here.
pub(super) const TRANSLATION_FILES: &[(&str, &str)] = &[
    ("es", include_str!("../../data/languages/es.json")),
    ("fr", include_str!("../../data/languages/fr.json")),
    ("de", include_str!("../../data/languages/de.json")),
];
pub(super) const PLACES_FILE: &str = include_str!("../../data/places.json");
pub(super) const VISUALS_FILE: &str = include_str!("../../data/visuals.json");
pub(super) const GRAMMAR_FILE: &str = include_str!("../../data/grammar.json");

/// Languages with templates here, English first (each must also have an espeak-ng voice).
pub const LANGUAGES: &[&str] = &language_codes::<{ TRANSLATION_FILES.len() + 1 }>();

/// English followed by the code of every translation, as a constant.
const fn language_codes<const N: usize>() -> [&'static str; N] {
    let mut codes = [ENGLISH; N];
    let mut i = 1;
    while i < N {
        codes[i] = TRANSLATION_FILES[i - 1].0;
        i += 1;
    }
    codes
}

/// A place a story can happen, with English visuals that name what the renderer draws. Each
/// language names it and lists the topic words that choose it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Place {
    pub(super) key: String,
    pub(super) setting: Setting,
    /// Genres a story is set here for when its topic names no place.
    pub(super) genres: Vec<String>,
    pub(super) visuals: Vec<String>,
}

/// Kinds of setting; each has its own sensory details.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Setting {
    Sea,
    Forest,
    City,
    #[default]
    Open,
}

/// English phrases of the image descriptions (`data/visuals.json`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Visuals {
    pub(super) times: Times,
    /// Camera shots for each stage (no intro: a scene belongs to a stage).
    pub(super) shots: Arc,
    /// Where the hero is in the frame, for each stage; `{figure}` names the hero.
    pub(super) focus: Arc,
    /// Lighting for each tone.
    pub(super) lighting: BTreeMap<String, Vec<String>>,
}

/// English words behind two rules of the generator (`data/grammar.json`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Grammar {
    /// Words that, after an -ing word of a topic, show it is a verb ("learning to run").
    pub(super) verb_followers: Vec<String>,
    /// Words kept lowercase inside an English title.
    pub(super) title_small_words: Vec<String>,
}

/// Empty stand-ins for entries missing from the data, so that lookups need no panic; the data
/// tests keep every file complete, so none is ever used.
#[derive(Default)]
pub(super) struct StandIns {
    pub(super) genre: GenreText,
    pub(super) tone: ToneText,
    pub(super) place_text: PlaceText,
    pub(super) place: Place,
}

pub(super) static STAND_INS: LazyLock<StandIns> = LazyLock::new(StandIns::default);

struct Languages {
    english: Lang,
    translations: Vec<Lang>,
}

static LANGUAGE_DATA: LazyLock<Languages> = LazyLock::new(|| Languages {
    english: parse_language(ENGLISH, ENGLISH_FILE),
    translations: TRANSLATION_FILES
        .iter()
        .map(|&(code, file)| parse_language(code, file))
        .collect(),
});

/// Every place, in order of preference when a topic names several.
pub(super) static PLACES: LazyLock<Vec<Place>> = LazyLock::new(|| parse(PLACES_FILE));
pub(super) static VISUALS: LazyLock<Visuals> = LazyLock::new(|| parse(VISUALS_FILE));
pub(super) static GRAMMAR: LazyLock<Grammar> = LazyLock::new(|| parse(GRAMMAR_FILE));
/// Words that never become subject words: the stopwords of every language.
pub(super) static STOPWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    languages()
        .flat_map(|lang| lang.stopwords.iter().map(String::as_str))
        .collect()
});

// The data tests parse every embedded file, so a failure here cannot ship.
#[allow(clippy::expect_used)]
fn parse<T: DeserializeOwned>(file: &str) -> T {
    serde_json::from_str(file).expect("embedded data files are validated by tests")
}

fn parse_language(code: &'static str, file: &str) -> Lang {
    Lang {
        code,
        ..parse(file)
    }
}

/// The phrase data of a language of `LANGUAGES`; English for any other code.
pub(super) fn lang_for(code: &str) -> &'static Lang {
    let data = &*LANGUAGE_DATA;
    data.translations
        .iter()
        .find(|lang| lang.code == code)
        .unwrap_or(&data.english)
}

/// The phrase data of every language, English first.
pub(super) fn languages() -> impl Iterator<Item = &'static Lang> {
    let data = &*LANGUAGE_DATA;
    std::iter::once(&data.english).chain(&data.translations)
}
