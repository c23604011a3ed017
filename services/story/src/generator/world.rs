//! The world of one script (cast, place, vocabulary) and its plan: the stages of the arc, the
//! times of day they happen at and the mood of each scene.

use rand::{seq::IndexedRandom as _, Rng as _};
use rand_chacha::ChaCha8Rng;

use super::{
    data::{Place, PLACES, STAND_INS},
    phrases::{GenreText, Lang, PlaceText, Senses, TimeOfDay, ToneText},
    topic::{place_from_topic, subject_words, Subject},
};

/// Moods a scene may carry.
pub const MOODS: &[&str] = &[
    "calm",
    "mysterious",
    "tense",
    "hopeful",
    "melancholic",
    "joyful",
];

/// Time-of-day progressions over hook, rising, turn and resolution.
const NIGHT_ARCS: [[TimeOfDay; 4]; 4] = {
    use TimeOfDay::*;
    [
        [Dusk, Night, Midnight, Dawn],
        [Sunset, Dusk, Midnight, Dawn],
        [Night, Midnight, Midnight, Dawn],
        [LateAfternoon, Dusk, Night, Midnight],
    ]
};
const DAY_ARCS: [[TimeOfDay; 4]; 4] = {
    use TimeOfDay::*;
    [
        [EarlyMorning, Midday, LateAfternoon, Sunset],
        [Dawn, EarlyMorning, LateAfternoon, Sunset],
        [EarlyMorning, LateAfternoon, Sunset, Dusk],
        [Dawn, Midday, LateAfternoon, Sunset],
    ]
};

/// The steps of the arc a scene belongs to (the opening sentence aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Hook,
    Rising,
    Turn,
    Resolution,
}

impl Stage {
    pub(super) fn index(self) -> usize {
        match self {
            Stage::Hook => 0,
            Stage::Rising => 1,
            Stage::Turn => 2,
            Stage::Resolution => 3,
        }
    }
}

/// Everything a script keeps fixed from its first sentence to its last.
pub(super) struct World {
    pub(super) lang: &'static Lang,
    pub(super) genre_key: &'static str,
    pub(super) tone_key: &'static str,
    pub(super) genre: &'static GenreText,
    pub(super) tone: &'static ToneText,
    pub(super) place: &'static Place,
    pub(super) place_text: &'static PlaceText,
    pub(super) topic: String,
    pub(super) subjects: Vec<Subject>,
    pub(super) hero: &'static str,
    pub(super) female: bool,
    pub(super) friend: &'static str,
    /// A findable object: (indefinite, definite).
    pub(super) thing: (&'static str, &'static str),
    pub(super) goal: &'static str,
    pub(super) obstacle: &'static str,
    /// The time of day of each stage.
    pub(super) times: [TimeOfDay; 4],
}

/// A random phrase of `pool`, or "" when it is empty.
pub(super) fn pick<'a>(rng: &mut ChaCha8Rng, pool: &'a [String]) -> &'a str {
    pool.choose(rng).map_or("", String::as_str)
}

impl World {
    pub(super) fn new(
        lang: &'static Lang,
        topic: String,
        genre_key: &'static str,
        tone_key: &'static str,
        rng: &mut ChaCha8Rng,
    ) -> World {
        let genre = lang.genre(genre_key);
        let tone = lang.tone(tone_key);
        let subjects = subject_words(&topic, lang.code);
        let place = place_from_topic(&topic).unwrap_or_else(|| {
            let fitting: Vec<&'static Place> = PLACES
                .iter()
                .filter(|p| p.genres.iter().any(|genre| genre == genre_key))
                .collect();
            fitting.choose(rng).copied().unwrap_or(&STAND_INS.place)
        });
        let (hero, female) = lang
            .names
            .choose(rng)
            .map_or(("Mara", true), |hero| (hero.name.as_str(), hero.female));
        let friends: Vec<&'static str> = lang
            .names
            .iter()
            .map(|friend| friend.name.as_str())
            .filter(|name| *name != hero)
            .collect();
        let friend = friends.choose(rng).copied().unwrap_or_default();
        let thing = genre.things.choose(rng).map_or(("", ""), |thing| {
            (thing.indefinite.as_str(), thing.definite.as_str())
        });
        let goal = pick(rng, &genre.goals);
        let obstacle = pick(rng, &genre.obstacles);
        let night_leaning = matches!(genre_key, "mystery" | "horror" | "sci-fi" | "fantasy")
            || matches!(tone_key, "dark" | "suspenseful");
        let arcs = if rng.random_bool(if night_leaning { 0.75 } else { 0.3 }) {
            &NIGHT_ARCS
        } else {
            &DAY_ARCS
        };
        let times = arcs.choose(rng).copied().unwrap_or(NIGHT_ARCS[0]);
        World {
            lang,
            genre_key,
            tone_key,
            genre,
            tone,
            place,
            place_text: lang.place(&place.key),
            topic,
            subjects,
            hero,
            female,
            friend,
            thing,
            goal,
            obstacle,
            times,
        }
    }

    pub(super) fn senses(&self) -> &'static Senses {
        self.lang.senses.get(self.place.setting)
    }
}

/// Splits a scene's composition into stages: hook ≈15 %, turn ≈20 %, resolution ≈20 %, rising the rest.
pub(super) fn stage_plan(scenes: usize) -> Vec<Stage> {
    let share = |fraction: f64| ((scenes as f64 * fraction).round() as usize).max(1);
    let hook = share(0.15);
    let resolution = share(0.2);
    let turn = if scenes >= 3 { share(0.2) } else { 0 };
    let rising = scenes.saturating_sub(hook + turn + resolution);
    let mut plan = Vec::with_capacity(scenes);
    plan.extend(std::iter::repeat_n(Stage::Hook, hook));
    plan.extend(std::iter::repeat_n(Stage::Rising, rising));
    plan.extend(std::iter::repeat_n(Stage::Turn, turn));
    plan.extend(std::iter::repeat_n(Stage::Resolution, resolution));
    plan.truncate(scenes);
    plan
}

/// The mood of a scene from its place in the arc, the tone and the genre.
pub(super) fn mood(
    stage: Stage,
    genre: &str,
    tone: &str,
    position: usize,
    stage_len: usize,
    last: bool,
) -> &'static str {
    let late = stage_len > 1 && position * 2 >= stage_len;
    let shadowy = matches!(genre, "mystery" | "horror" | "sci-fi");
    let tender = matches!(genre, "drama" | "romance");
    match stage {
        Stage::Hook => match tone {
            "humorous" | "whimsical" => "joyful",
            "uplifting" | "inspirational" if !shadowy => "hopeful",
            "dark" | "dramatic" if tender => "melancholic",
            "dramatic" if !shadowy => "hopeful",
            "calm" if !shadowy => "calm",
            _ => "mysterious",
        },
        Stage::Rising => match tone {
            "humorous" | "whimsical" => "joyful",
            "uplifting" | "inspirational" => "hopeful",
            "dramatic" => "tense",
            "suspenseful" | "dark" => {
                if late {
                    "tense"
                } else {
                    "mysterious"
                }
            }
            _ if genre == "horror" && late => "tense",
            _ if shadowy => "mysterious",
            _ if genre == "romance" || genre == "motivational" => "hopeful",
            _ if genre == "comedy" => "joyful",
            _ => "calm",
        },
        Stage::Turn => match tone {
            "humorous" | "whimsical" => "tense",
            "calm" if genre == "documentary" => "mysterious",
            "calm" | "uplifting" | "inspirational" | "dark"
                if tender || genre == "motivational" =>
            {
                "melancholic"
            }
            _ => "tense",
        },
        Stage::Resolution => match tone {
            "uplifting" | "inspirational" | "humorous" | "whimsical" => {
                if last {
                    "joyful"
                } else {
                    "hopeful"
                }
            }
            "dark" => "melancholic",
            "suspenseful" if genre == "horror" => "mysterious",
            "dramatic" => "hopeful",
            _ if genre == "comedy" => "joyful",
            _ if matches!(genre, "romance" | "motivational") => "hopeful",
            _ if genre == "horror" => "melancholic",
            _ => "calm",
        },
    }
}
