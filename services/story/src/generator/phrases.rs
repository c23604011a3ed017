//! The shape of a language file (`data/languages/*.json`): everything one language contributes.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{
    data::{Setting, STAND_INS},
    world::Stage,
};

/// Everything one language contributes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Lang {
    /// The language code, from the registry rather than the file.
    #[serde(skip)]
    pub(super) code: &'static str,
    /// Names for the hero and the friend, with the pronouns each takes.
    pub(super) names: Vec<Name>,
    /// Slots that differ by the hero's gender, such as `{he}`: slot name → its two forms.
    pub(super) pronouns: BTreeMap<String, Pronoun>,
    /// The topic used when a request has none.
    pub(super) fallback_topic: String,
    /// Adverbials for the times of day (`{when}`).
    pub(super) times: Times,
    /// How each place of `data/places.json` is named, and the topic words that choose it.
    pub(super) places: BTreeMap<String, PlaceText>,
    /// Sensory details for each kind of setting.
    pub(super) senses: SensesBySetting,
    pub(super) arc: Arc,
    /// Stage-neutral atmosphere sentences.
    pub(super) texture: Vec<String>,
    /// Genre-specific phrasing, for every genre of `GENRES`.
    pub(super) genres: BTreeMap<String, GenreText>,
    /// Tone-specific phrasing, for every tone of `TONES`.
    pub(super) tones: BTreeMap<String, ToneText>,
    /// Templates for titles and platform copy.
    pub(super) meta: Meta,
    /// Words of this language that never become subject words (in a topic of any language).
    pub(super) stopwords: Vec<String>,
}

impl Lang {
    pub(super) fn genre(&self, key: &str) -> &GenreText {
        self.genres.get(key).unwrap_or(&STAND_INS.genre)
    }

    pub(super) fn tone(&self, key: &str) -> &ToneText {
        self.tones.get(key).unwrap_or(&STAND_INS.tone)
    }

    pub(super) fn place(&self, key: &str) -> &PlaceText {
        self.places.get(key).unwrap_or(&STAND_INS.place_text)
    }
}

/// A name the hero or the friend may have.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Name {
    pub(super) name: String,
    /// Takes the feminine form of each pronoun slot.
    pub(super) female: bool,
}

/// The two forms of a pronoun slot.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Pronoun {
    pub(super) masculine: String,
    pub(super) feminine: String,
}

/// Template pools for each step of the arc; `intro` templates always contain `{topic}`. Tones
/// have no intros, nor have the camera shots and framings of `data/visuals.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Arc {
    #[serde(default)]
    pub(super) intro: Vec<String>,
    pub(super) hook: Vec<String>,
    pub(super) rising: Vec<String>,
    pub(super) turn: Vec<String>,
    pub(super) resolution: Vec<String>,
}

impl Arc {
    pub(super) fn stage(&self, stage: Stage) -> &[String] {
        match stage {
            Stage::Hook => &self.hook,
            Stage::Rising => &self.rising,
            Stage::Turn => &self.turn,
            Stage::Resolution => &self.resolution,
        }
    }

    pub(super) fn all(&self) -> [&[String]; 5] {
        [
            &self.intro,
            &self.hook,
            &self.rising,
            &self.turn,
            &self.resolution,
        ]
    }
}

/// Genre-specific phrasing and vocabulary of one language.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GenreText {
    /// A one-word theme standing in for subject words when the topic has none.
    pub(super) theme: String,
    /// The genre as a noun phrase with its article ("a mystery").
    pub(super) story: String,
    /// The genre as a title label ("A Mystery").
    pub(super) label: String,
    /// Hashtag body for the genre.
    pub(super) tag: String,
    pub(super) things: Vec<Thing>,
    /// What the hero wants, as an infinitive phrase.
    pub(super) goals: Vec<String>,
    /// What stands in the way, as an indefinite noun phrase.
    pub(super) obstacles: Vec<String>,
    pub(super) titles: Vec<String>,
    pub(super) arc: Arc,
}

/// A findable object.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Thing {
    /// With its indefinite article (`{thing}`).
    pub(super) indefinite: String,
    /// With its definite article (`{the_thing}`).
    pub(super) definite: String,
}

/// Tone-specific phrasing and vocabulary of one language.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ToneText {
    /// Describes a story in metadata copy, with its article ("a dramatic").
    pub(super) adjective: String,
    /// A feeling, as an indefinite noun phrase.
    pub(super) feel: Vec<String>,
    /// How the hero moves, as an adverbial.
    pub(super) manner: Vec<String>,
    pub(super) arc: Arc,
}

/// How one place is named in one language.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlaceText {
    /// As a subject (German: nominative).
    pub(super) name: String,
    /// Where something happens ("at the old lighthouse").
    pub(super) at: String,
    /// Where someone goes ("to the old lighthouse").
    pub(super) to: String,
    /// Lowercase topic words that put the story here (matched as a word or, from four letters
    /// on, as a word's beginning).
    pub(super) keywords: Vec<String>,
}

/// Sensory details of one kind of setting, as noun phrases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Senses {
    pub(super) sounds: Vec<String>,
    pub(super) smells: Vec<String>,
    pub(super) sights: Vec<String>,
}

/// Sensory details for every kind of setting.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SensesBySetting {
    pub(super) sea: Senses,
    pub(super) forest: Senses,
    pub(super) city: Senses,
    pub(super) open: Senses,
}

impl SensesBySetting {
    pub(super) fn get(&self, setting: Setting) -> &Senses {
        match setting {
            Setting::Sea => &self.sea,
            Setting::Forest => &self.forest,
            Setting::City => &self.city,
            Setting::Open => &self.open,
        }
    }
}

/// Times of day, in the order a day passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimeOfDay {
    Dawn,
    EarlyMorning,
    Midday,
    LateAfternoon,
    Sunset,
    Dusk,
    Night,
    Midnight,
}

/// A phrase for every time of day: narration adverbials in a language file, English image
/// phrases in `data/visuals.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Times {
    pub(super) dawn: String,
    pub(super) early_morning: String,
    pub(super) midday: String,
    pub(super) late_afternoon: String,
    pub(super) sunset: String,
    pub(super) dusk: String,
    pub(super) night: String,
    pub(super) midnight: String,
}

impl Times {
    pub(super) fn get(&self, time: TimeOfDay) -> &str {
        match time {
            TimeOfDay::Dawn => &self.dawn,
            TimeOfDay::EarlyMorning => &self.early_morning,
            TimeOfDay::Midday => &self.midday,
            TimeOfDay::LateAfternoon => &self.late_afternoon,
            TimeOfDay::Sunset => &self.sunset,
            TimeOfDay::Dusk => &self.dusk,
            TimeOfDay::Night => &self.night,
            TimeOfDay::Midnight => &self.midnight,
        }
    }
}

/// Templates for titles and platform copy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Meta {
    pub(super) titles: Vec<String>,
    pub(super) youtube_titles: Vec<String>,
    pub(super) about: Vec<String>,
    pub(super) follow: Vec<String>,
    pub(super) comment: Vec<String>,
    pub(super) subscribe: Vec<String>,
    pub(super) youtube_captions: Vec<String>,
    pub(super) tiktok_captions: Vec<String>,
    pub(super) instagram_hooks: Vec<String>,
    pub(super) instagram_calls: Vec<String>,
    pub(super) facebook_intros: Vec<String>,
    pub(super) facebook_calls: Vec<String>,
    /// Hashtag body for stories in general.
    pub(super) story_tag: String,
    /// Hashtag bodies added on Instagram.
    pub(super) extra_tags: Vec<String>,
}
