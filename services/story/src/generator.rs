//! Offline story generator: deterministic, template-driven scripts with per-platform copy.
//!
//! Without a network or a model, a script is assembled from per-language phrase pools
//! (`generator/{en,es,fr,de}.rs`). A request fixes everything: the topic, genre, tone and
//! language pick the cast, place and vocabulary; the seed (mixed with a stable FNV-1a hash of
//! those fields) drives a ChaCha8 generator, so the same request always yields the same script.

mod de;
mod en;
mod es;
mod fr;

use std::collections::HashSet;

use rand::{
    seq::{IndexedRandom as _, SliceRandom as _},
    Rng as _, SeedableRng as _,
};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What to write about and how.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoryRequest {
    pub topic: String,
    pub genre: String,
    pub tone: String,
    pub length_seconds: u32,
    pub language: String,
    pub seed: u64,
}

/// One scene: what is said, what is shown (always English, for the image renderer) and its mood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scene {
    pub narration: String,
    pub visual: String,
    pub mood: String,
}

/// Copy for one platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformPost {
    pub title: String,
    pub description: String,
    pub hashtags: Vec<String>,
    pub caption: String,
}

/// Copy for every platform a video is published to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformMetadata {
    pub youtube: PlatformPost,
    pub tiktok: PlatformPost,
    pub instagram: PlatformPost,
    pub facebook: PlatformPost,
}

/// A finished script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Script {
    pub title: String,
    pub language: String,
    pub scenes: Vec<Scene>,
    pub metadata: PlatformMetadata,
}

/// Languages with templates here (each must also have an espeak-ng voice).
pub const LANGUAGES: &[&str] = &["en", "es", "fr", "de"];
pub const GENRES: &[&str] = &[
    "mystery",
    "adventure",
    "drama",
    "comedy",
    "horror",
    "sci-fi",
    "fantasy",
    "documentary",
    "romance",
    "motivational",
];
pub const TONES: &[&str] = &[
    "calm",
    "dramatic",
    "suspenseful",
    "uplifting",
    "humorous",
    "dark",
    "whimsical",
    "inspirational",
];
/// Words of narration per second of video the generator aims for (espeak-ng at its default rate
/// speaks ~2.7 words/s; aim a bit under so the narration lands near the requested length).
pub const WORDS_PER_SECOND: f64 = 2.5;
/// Moods a scene may carry.
pub const MOODS: &[&str] = &[
    "calm",
    "mysterious",
    "tense",
    "hopeful",
    "melancholic",
    "joyful",
];

/// Seconds of video per scene the generator aims for.
const SECONDS_PER_SCENE: f64 = 7.5;
const MIN_SCENES: usize = 2;
const MAX_SCENES: usize = 24;
/// Words in one narration sentence.
const MIN_SENTENCE_WORDS: usize = 6;
const MAX_SENTENCE_WORDS: usize = 22;
const MAX_SENTENCES_PER_SCENE: usize = 3;
/// A candidate sentence this many words from its target still counts as a fit.
const CLOSE_ENOUGH: f64 = 4.0;
const MAX_TITLE_CHARS: usize = 70;
const MAX_YOUTUBE_TITLE_CHARS: usize = 100;
const MAX_TIKTOK_CAPTION_CHARS: usize = 150;
/// Slots that add a sensory or emotional detail.
const DETAIL_SLOTS: &[&str] = &["sound", "smell", "sight", "feel", "manner"];
/// Subject words taken from a topic.
const MAX_SUBJECTS: usize = 4;

/// Writes a titled script split into scenes sized to `length_seconds`. Same request (seed
/// included) → identical script.
///
/// Unknown languages fall back to English, unknown genres to drama and unknown tones to calm.
/// Very long requests (beyond ~10 minutes) are capped by the scene and sentence limits.
pub fn generate(request: &StoryRequest) -> Script {
    let language = resolve_language(&request.language);
    let lang = lang_for(language);
    let topic = match normalize_topic(&request.topic) {
        topic if topic.is_empty() => lang.fallback_topic.to_owned(),
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

/// Scenes for a video of `length_seconds`: about one per 7.5 s, at least 2 and at most 24.
pub fn scene_count(length_seconds: u32) -> usize {
    ((f64::from(length_seconds) / SECONDS_PER_SCENE).round() as usize).clamp(MIN_SCENES, MAX_SCENES)
}

/// Narration words aimed for over a whole video of `length_seconds`.
pub fn target_words(length_seconds: u32) -> usize {
    ((f64::from(length_seconds) * WORDS_PER_SECOND).round() as usize)
        .max(MIN_SCENES * MIN_SENTENCE_WORDS + 4)
}

/// Words as a listener hears them: whitespace-separated tokens with a letter or digit.
pub fn count_words(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// The topic as it appears in narration: trimmed, whitespace collapsed, no trailing punctuation.
pub fn normalize_topic(raw: &str) -> String {
    let joined = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    joined
        .trim_end_matches(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '.' | ',' | ';' | ':' | '!' | '?' | '…' | '¡' | '¿' | '-' | '–' | '—'
                )
        })
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Phrase data shared by every language file.
// ---------------------------------------------------------------------------------------------

/// Template pools for each step of the arc; `intro` templates always contain `{topic}`.
struct Arc {
    intro: &'static [&'static str],
    hook: &'static [&'static str],
    rising: &'static [&'static str],
    turn: &'static [&'static str],
    resolution: &'static [&'static str],
}

impl Arc {
    fn stage(&self, stage: Stage) -> &'static [&'static str] {
        match stage {
            Stage::Hook => self.hook,
            Stage::Rising => self.rising,
            Stage::Turn => self.turn,
            Stage::Resolution => self.resolution,
        }
    }

    fn all(&self) -> [&'static [&'static str]; 5] {
        [
            self.intro,
            self.hook,
            self.rising,
            self.turn,
            self.resolution,
        ]
    }
}

/// Genre-specific phrasing and vocabulary of one language.
struct GenreText {
    key: &'static str,
    arc: Arc,
    /// A one-word theme standing in for subject words when the topic has none.
    theme: &'static str,
    /// The genre as a noun phrase with its article ("a mystery").
    story: &'static str,
    /// The genre as a title label ("A Mystery").
    label: &'static str,
    /// Hashtag body for the genre.
    tag: &'static str,
    /// A findable object: (indefinite, definite).
    things: &'static [(&'static str, &'static str)],
    /// What the hero wants, as an infinitive phrase.
    goals: &'static [&'static str],
    /// What stands in the way, as an indefinite noun phrase.
    obstacles: &'static [&'static str],
    titles: &'static [&'static str],
}

/// Tone-specific phrasing and vocabulary of one language.
struct ToneText {
    key: &'static str,
    arc: Arc,
    /// A feeling, as an indefinite noun phrase.
    feel: &'static [&'static str],
    /// How the hero moves, as an adverbial.
    manner: &'static [&'static str],
    /// Describes a story in metadata copy.
    adj: &'static str,
}

/// How one place is named in one language.
struct PlaceText {
    key: &'static str,
    /// As a subject (German: nominative).
    name: &'static str,
    /// Where something happens ("at the old lighthouse").
    at: &'static str,
    /// Where someone goes ("to the old lighthouse").
    to: &'static str,
}

/// Sensory details of one kind of setting, as noun phrases.
struct Senses {
    sounds: &'static [&'static str],
    smells: &'static [&'static str],
    sights: &'static [&'static str],
}

/// Templates for titles and platform copy.
struct Meta {
    titles: &'static [&'static str],
    youtube_titles: &'static [&'static str],
    about: &'static [&'static str],
    follow: &'static [&'static str],
    comment: &'static [&'static str],
    subscribe: &'static [&'static str],
    youtube_captions: &'static [&'static str],
    tiktok_captions: &'static [&'static str],
    instagram_hooks: &'static [&'static str],
    instagram_calls: &'static [&'static str],
    facebook_intros: &'static [&'static str],
    facebook_calls: &'static [&'static str],
    story_tag: &'static str,
    extra_tags: &'static [&'static str],
}

/// Everything one language contributes.
struct Lang {
    code: &'static str,
    arc: Arc,
    /// Stage-neutral atmosphere sentences.
    texture: &'static [&'static str],
    genres: &'static [GenreText],
    tones: &'static [ToneText],
    places: &'static [PlaceText],
    /// Adverbials for each entry of `TIMES`.
    times: [&'static str; 8],
    /// Indexed by `Setting`.
    senses: [Senses; 4],
    /// (name, is female)
    names: &'static [(&'static str, bool)],
    /// (slot, masculine, feminine)
    pronouns: &'static [(&'static str, &'static str, &'static str)],
    fallback_topic: &'static str,
    meta: Meta,
}

impl Lang {
    fn genre(&self, key: &str) -> &GenreText {
        self.genres
            .iter()
            .find(|g| g.key == key)
            .unwrap_or(&self.genres[0])
    }

    fn tone(&self, key: &str) -> &ToneText {
        self.tones
            .iter()
            .find(|t| t.key == key)
            .unwrap_or(&self.tones[0])
    }

    fn place(&self, key: &str) -> &PlaceText {
        self.places
            .iter()
            .find(|p| p.key == key)
            .unwrap_or(&self.places[0])
    }
}

fn lang_for(code: &str) -> &'static Lang {
    match code {
        "es" => &es::LANG,
        "fr" => &fr::LANG,
        "de" => &de::LANG,
        _ => &en::LANG,
    }
}

/// Kinds of setting; each has its own sensory details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    Sea,
    Forest,
    City,
    Open,
}

impl Setting {
    fn index(self) -> usize {
        match self {
            Setting::Sea => 0,
            Setting::Forest => 1,
            Setting::City => 2,
            Setting::Open => 3,
        }
    }
}

/// A place a story can happen, with English visuals that name what the renderer draws.
struct Place {
    key: &'static str,
    setting: Setting,
    visuals: &'static [&'static str],
    /// Topic words that put the story here (matched as a word or a word's beginning).
    keywords: &'static [&'static str],
    genres: &'static [&'static str],
}

static PLACES: &[Place] = &[
    Place {
        key: "lighthouse",
        setting: Setting::Sea,
        visuals: &[
            "an old stone lighthouse on a rocky sea cliff",
            "the lantern room of a lighthouse high above the ocean",
            "a white lighthouse above a stormy sea and a small harbor",
        ],
        keywords: &[
            "lighthouse",
            "keeper",
            "faro",
            "farero",
            "phare",
            "leuchtturm",
        ],
        genres: &["mystery", "drama", "horror", "romance", "documentary"],
    },
    Place {
        key: "harbor",
        setting: Setting::Sea,
        visuals: &[
            "a small harbor town with fishing boats by the sea",
            "a wooden pier in a quiet harbor with moored boats",
            "narrow harbor town streets leading down to the sea",
        ],
        keywords: &[
            "harbor",
            "harbour",
            "port",
            "boat",
            "ship",
            "fishing",
            "fisherman",
            "puerto",
            "barco",
            "bateau",
            "hafen",
            "schiff",
        ],
        genres: &["mystery", "drama", "comedy", "romance", "adventure"],
    },
    Place {
        key: "beach",
        setting: Setting::Sea,
        visuals: &[
            "a windswept beach with long waves rolling in from the ocean",
            "footprints across a deserted beach beside the sea",
            "dunes and tall grass above a wide ocean beach",
        ],
        keywords: &[
            "beach", "sea", "ocean", "coast", "wave", "shore", "surf", "playa", "mar", "océano",
            "costa", "plage", "mer", "océan", "côte", "strand", "meer", "küste", "ozean",
        ],
        genres: &["romance", "drama", "motivational", "comedy"],
    },
    Place {
        key: "island",
        setting: Setting::Sea,
        visuals: &[
            "a small rocky island in the middle of the ocean",
            "a lonely island with a single tree surrounded by sea",
            "a rowing boat approaching a misty island across the sea",
        ],
        keywords: &[
            "island", "isla", "île", "insel", "pirate", "pirata", "pirat", "treasure",
        ],
        genres: &["adventure", "mystery", "fantasy", "horror"],
    },
    Place {
        key: "lake",
        setting: Setting::Forest,
        visuals: &[
            "a still lake surrounded by pine trees",
            "a wooden jetty reaching into a calm mountain lake",
            "mist drifting over a quiet lake at the edge of a forest",
        ],
        keywords: &["lake", "pond", "lago", "laguna", "lac", "étang", "teich"],
        genres: &["drama", "horror", "romance", "mystery"],
    },
    Place {
        key: "river",
        setting: Setting::Open,
        visuals: &[
            "a slow river winding through a green valley",
            "an old stone bridge over a quiet river",
            "a riverbank lined with willow trees",
        ],
        keywords: &[
            "river", "stream", "bridge", "río", "puente", "rivière", "fleuve", "pont", "fluss",
            "brücke",
        ],
        genres: &["adventure", "drama", "fantasy", "documentary"],
    },
    Place {
        key: "forest",
        setting: Setting::Forest,
        visuals: &[
            "a dense old forest with towering trees",
            "a narrow path through a shadowy forest",
            "sunbeams falling through the canopy of an ancient forest",
        ],
        keywords: &[
            "forest", "woods", "tree", "wolf", "bosque", "árbol", "selva", "lobo", "forêt",
            "arbre", "bois", "loup", "wald", "baum", "wolf",
        ],
        genres: &["fantasy", "horror", "adventure", "mystery"],
    },
    Place {
        key: "cabin",
        setting: Setting::Forest,
        visuals: &[
            "a wooden cabin deep in the woods",
            "a cabin porch surrounded by tall pine trees",
            "smoke rising from a cabin chimney among the trees of the woods",
        ],
        keywords: &[
            "cabin", "hut", "camp", "cabaña", "cabane", "chalet", "hütte",
        ],
        genres: &["horror", "mystery", "drama"],
    },
    Place {
        key: "city",
        setting: Setting::City,
        visuals: &[
            "a narrow street in the old town lined with tall buildings",
            "a cobbled city street with shuttered windows",
            "rooftops and chimneys of an old city seen from a tower",
        ],
        keywords: &[
            "city",
            "street",
            "town",
            "urban",
            "detective",
            "ciudad",
            "calle",
            "ville",
            "rue",
            "stadt",
            "straße",
            "strasse",
        ],
        genres: &["mystery", "drama", "comedy", "romance"],
    },
    Place {
        key: "tower",
        setting: Setting::City,
        visuals: &[
            "a tall clock tower above the town square",
            "the clock face of an old tower seen from the street",
            "a spiral staircase inside an old stone tower in the city",
        ],
        keywords: &[
            "tower", "clock", "bell", "torre", "reloj", "campana", "tour", "horloge", "cloche",
            "turm", "uhr", "glocke",
        ],
        genres: &["mystery", "fantasy", "comedy", "horror"],
    },
    Place {
        key: "future",
        setting: Setting::City,
        visuals: &[
            "a futuristic city skyline with glass towers",
            "an elevated walkway between gleaming city towers",
            "a busy futuristic street with holographic signs and tall buildings",
        ],
        keywords: &[
            "future",
            "robot",
            "android",
            "cyber",
            "technology",
            "computer",
            "futuro",
            "robots",
            "futur",
            "zukunft",
            "roboter",
            "technik",
        ],
        genres: &["sci-fi"],
    },
    Place {
        key: "station",
        setting: Setting::Open,
        visuals: &[
            "a remote research station with a tall radio tower on a windswept plain",
            "a control room inside a research station building with glowing screens",
            "a radar tower beside a research station on a frozen lake",
        ],
        keywords: &[
            "space",
            "star",
            "planet",
            "moon",
            "mars",
            "alien",
            "signal",
            "science",
            "astronaut",
            "espacio",
            "estrella",
            "planeta",
            "luna",
            "señal",
            "espace",
            "étoile",
            "planète",
            "lune",
            "weltraum",
            "stern",
            "planet",
            "mond",
            "signal",
        ],
        genres: &["sci-fi", "documentary", "horror"],
    },
    Place {
        key: "village",
        setting: Setting::Open,
        visuals: &[
            "a small mountain town with stone houses and a church tower",
            "a narrow street winding through a sleepy mountain town",
            "a village square in a small town surrounded by pine trees",
        ],
        keywords: &[
            "village",
            "farm",
            "pueblo",
            "aldea",
            "granja",
            "ferme",
            "dorf",
            "bauernhof",
        ],
        genres: &["comedy", "drama", "fantasy", "mystery"],
    },
    Place {
        key: "castle",
        setting: Setting::Forest,
        visuals: &[
            "an ancient castle tower above a misty forest",
            "the great hall of an old castle with tall windows and a stone tower",
            "a castle on a hill above a river valley",
        ],
        keywords: &[
            "castle", "king", "queen", "dragon", "magic", "wizard", "knight", "castillo", "rey",
            "reina", "dragón", "magia", "château", "roi", "reine", "magie", "burg", "schloss",
            "könig", "königin", "drache", "zauber",
        ],
        genres: &["fantasy", "horror"],
    },
    Place {
        key: "house",
        setting: Setting::Forest,
        visuals: &[
            "an old abandoned house at the edge of the woods",
            "a creaking staircase inside an old house with tall windows",
            "an overgrown garden in front of an old house beside a tree",
        ],
        keywords: &[
            "house", "home", "mansion", "attic", "ghost", "haunted", "casa", "mansión", "fantasma",
            "maison", "manoir", "fantôme", "haus", "villa", "geist", "gespenst",
        ],
        genres: &["horror", "mystery", "drama"],
    },
    Place {
        key: "bookshop",
        setting: Setting::City,
        visuals: &[
            "a cozy bookshop on a rainy town street",
            "tall shelves inside an old bookshop on a city street",
            "a bookshop window glowing on a quiet street",
        ],
        keywords: &[
            "book",
            "library",
            "bookshop",
            "bookstore",
            "letter",
            "libro",
            "librería",
            "biblioteca",
            "carta",
            "livre",
            "librairie",
            "bibliothèque",
            "lettre",
            "buch",
            "bibliothek",
            "brief",
        ],
        genres: &["romance", "comedy", "mystery"],
    },
    Place {
        key: "cafe",
        setting: Setting::City,
        visuals: &[
            "a small cafe on a busy city street",
            "a window table in a little cafe overlooking the street",
            "string lights over the terrace of a town cafe",
        ],
        keywords: &[
            "cafe",
            "café",
            "coffee",
            "restaurant",
            "kitchen",
            "cocina",
            "cuisine",
            "kaffee",
            "küche",
            "date",
        ],
        genres: &["romance", "comedy"],
    },
    Place {
        key: "track",
        setting: Setting::City,
        visuals: &[
            "a running track beside a city stadium",
            "an empty running track with the city skyline behind it",
            "a long road leading out of town for an early run",
        ],
        keywords: &[
            "run", "running", "race", "marathon", "sport", "gym", "training", "athlete", "fitness",
            "carrera", "correr", "maratón", "course", "courir", "laufen", "lauf", "rennen",
        ],
        genres: &["motivational"],
    },
    Place {
        key: "trail",
        setting: Setting::Forest,
        visuals: &[
            "a mountain trail winding through pine trees",
            "a rocky summit above a forest valley",
            "a narrow mountain path above the tree line",
        ],
        keywords: &[
            "mountain", "summit", "climb", "hike", "trail", "peak", "montaña", "cumbre", "sendero",
            "montagne", "sommet", "sentier", "berg", "gipfel", "wandern",
        ],
        genres: &["adventure", "motivational", "documentary"],
    },
    Place {
        key: "desert",
        setting: Setting::Open,
        visuals: &[
            "a lonely desert road leading toward a distant town",
            "a water tower at the edge of a small desert town",
            "red rocks and a dusty road outside a desert town",
        ],
        keywords: &[
            "desert",
            "sand",
            "road",
            "desierto",
            "arena",
            "carretera",
            "désert",
            "sable",
            "route",
            "wüste",
            "straße",
        ],
        genres: &["adventure", "sci-fi", "motivational"],
    },
    Place {
        key: "museum",
        setting: Setting::City,
        visuals: &[
            "a grand museum hall in the city with tall columns",
            "glass display cases inside a city museum building",
            "the stone steps of a museum on a busy city street",
        ],
        keywords: &[
            "museum",
            "history",
            "ancient",
            "archive",
            "museo",
            "historia",
            "archivo",
            "musée",
            "histoire",
            "archives",
            "geschichte",
            "archiv",
        ],
        genres: &["documentary", "mystery", "comedy"],
    },
];

/// Times of day: (English visual phrase). Languages give the narration adverbials.
const TIMES: [&str; 8] = [
    "at dawn with a pale pink sky",
    "in the early morning light",
    "at midday under a clear sky",
    "in the late afternoon",
    "at sunset with a golden sky",
    "at dusk under a deep blue sky",
    "at night under a bright moon",
    "at midnight under a sky full of stars",
];
/// Time-of-day progressions over hook, rising, turn and resolution (indices into `TIMES`).
const NIGHT_ARCS: &[[usize; 4]] = &[[5, 6, 7, 0], [4, 5, 7, 0], [6, 7, 7, 0], [3, 5, 6, 7]];
const DAY_ARCS: &[[usize; 4]] = &[[1, 2, 3, 4], [0, 1, 3, 4], [1, 3, 4, 5], [0, 2, 3, 4]];

const SHOTS: [&[&str]; 4] = [
    &[
        "Wide establishing shot",
        "Aerial view",
        "Slow push-in wide shot",
    ],
    &[
        "Medium shot",
        "Tracking shot",
        "Over-the-shoulder shot",
        "Handheld medium shot",
    ],
    &[
        "Close-up",
        "Low-angle shot",
        "Extreme close-up",
        "Dutch-angle shot",
    ],
    &[
        "Wide shot",
        "Slow pull-back aerial view",
        "Silhouette long shot",
    ],
];
const FOCUS: [&[&str]; 4] = [
    &[
        "with {figure} small in the distance",
        "with {figure} arriving on foot",
    ],
    &[
        "with {figure} walking through the frame",
        "following {figure} from behind",
    ],
    &["on the face of {figure}", "with {figure} frozen mid-step"],
    &[
        "with {figure} looking out at the horizon",
        "with {figure} walking away from the camera",
    ],
];

fn lighting(tone: &str) -> &'static [&'static str] {
    match tone {
        "dramatic" => &[
            "high-contrast dramatic lighting",
            "strong rim light and deep shadows",
        ],
        "suspenseful" => &[
            "low-key lighting with long shadows",
            "cold light cutting through haze",
        ],
        "uplifting" => &[
            "warm golden light",
            "bright hopeful light with soft lens flare",
        ],
        "humorous" => &["bright cheerful colors", "playful saturated colors"],
        "dark" => &["deep shadows and muted colors", "cold desaturated light"],
        "whimsical" => &["pastel storybook colors", "soft dreamy glow"],
        "inspirational" => &["radiant backlight", "golden light breaking through clouds"],
        _ => &["soft diffused light", "gentle natural light"],
    }
}

/// Words that never become subject words, in every supported language.
const STOPWORDS: &[&str] = &[
    // English
    "about",
    "above",
    "after",
    "again",
    "against",
    "almost",
    "along",
    "also",
    "always",
    "among",
    "another",
    "anyone",
    "anything",
    "around",
    "because",
    "been",
    "before",
    "behind",
    "being",
    "below",
    "best",
    "better",
    "between",
    "beyond",
    "both",
    "came",
    "come",
    "could",
    "does",
    "doing",
    "done",
    "down",
    "during",
    "each",
    "even",
    "ever",
    "every",
    "everyone",
    "everything",
    "first",
    "from",
    "full",
    "gets",
    "getting",
    "give",
    "goes",
    "going",
    "gone",
    "good",
    "great",
    "have",
    "having",
    "here",
    "into",
    "just",
    "keep",
    "know",
    "last",
    "least",
    "less",
    "like",
    "little",
    "made",
    "make",
    "makes",
    "making",
    "many",
    "more",
    "most",
    "much",
    "must",
    "never",
    "next",
    "nothing",
    "once",
    "only",
    "onto",
    "other",
    "over",
    "really",
    "same",
    "should",
    "some",
    "someone",
    "something",
    "still",
    "story",
    "stories",
    "such",
    "take",
    "tell",
    "than",
    "that",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "this",
    "those",
    "through",
    "told",
    "took",
    "under",
    "until",
    "upon",
    "very",
    "want",
    "wants",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "whose",
    "will",
    "with",
    "within",
    "without",
    "would",
    "your",
    "yours",
    "true",
    "ways",
    "tiny",
    "small",
    "large",
    "huge",
    "single",
    "whole",
    "entire",
    "young",
    "real",
    "several",
    "certain",
    "different",
    "simple",
    "strange",
    "weird",
    "amazing",
    "beautiful",
    "perfect",
    "tell",
    "learn",
    "learned",
    "share",
    "three",
    "four",
    "five",
    "seven",
    "eight",
    "nine",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "hundred",
    "thousand",
    "million",
    "people",
    "time",
    "year",
    "years",
    "days",
    // Spanish
    "algo",
    "algún",
    "alguna",
    "antes",
    "aquel",
    "aquella",
    "aunque",
    "cada",
    "como",
    "cómo",
    "con",
    "cuando",
    "desde",
    "después",
    "donde",
    "dónde",
    "durante",
    "ella",
    "ellas",
    "ellos",
    "entre",
    "esta",
    "estaba",
    "están",
    "este",
    "esto",
    "estos",
    "estas",
    "hacer",
    "hacia",
    "hasta",
    "historia",
    "mismo",
    "misma",
    "mucho",
    "mucha",
    "muy",
    "nada",
    "nuestra",
    "nuestro",
    "otra",
    "otro",
    "para",
    "pero",
    "poco",
    "porque",
    "primer",
    "primera",
    "puede",
    "quien",
    "quién",
    "sobre",
    "solo",
    "sólo",
    "también",
    "tiene",
    "todas",
    "todos",
    "toda",
    "todo",
    "última",
    "último",
    "unas",
    "unos",
    // French
    "alors",
    "après",
    "aussi",
    "autre",
    "avant",
    "avec",
    "cela",
    "celle",
    "celui",
    "cette",
    "chez",
    "comme",
    "comment",
    "contre",
    "dans",
    "depuis",
    "dernier",
    "dernière",
    "donc",
    "elle",
    "elles",
    "encore",
    "entre",
    "était",
    "être",
    "faire",
    "leur",
    "leurs",
    "mais",
    "même",
    "nous",
    "notre",
    "pendant",
    "plus",
    "pour",
    "premier",
    "première",
    "quand",
    "quel",
    "quelle",
    "rien",
    "sans",
    "sont",
    "sous",
    "toujours",
    "tous",
    "tout",
    "toute",
    "toutes",
    "très",
    "vers",
    "votre",
    "vous",
    "histoire",
    // German
    "aber",
    "alle",
    "alles",
    "auch",
    "beim",
    "dass",
    "dein",
    "deine",
    "diese",
    "dieser",
    "dieses",
    "doch",
    "durch",
    "eine",
    "einem",
    "einen",
    "einer",
    "eines",
    "erste",
    "ersten",
    "etwas",
    "gegen",
    "geschichte",
    "haben",
    "hatte",
    "immer",
    "ihre",
    "ihrer",
    "kann",
    "keine",
    "letzte",
    "letzten",
    "letzter",
    "nach",
    "nicht",
    "noch",
    "oder",
    "ohne",
    "schon",
    "sein",
    "seine",
    "sehr",
    "sich",
    "sind",
    "über",
    "unter",
    "viel",
    "waren",
    "warum",
    "weil",
    "wenn",
    "werden",
    "wird",
    "wurde",
    "zwischen",
    "mein",
    "meine",
    "meinen",
    "meinem",
    "meiner",
    "deine",
    "unser",
    "unsere",
    "erster",
    "erstes",
    "alte",
    "alten",
    "alter",
    "altes",
    "neue",
    "neuen",
    "neuer",
    "neues",
    "kleine",
    "kleinen",
    "kleiner",
    "kleines",
    "große",
    "großen",
    "großer",
    "großes",
    "letztes",
    // Common adjectives in Spanish and French
    "viejo",
    "vieja",
    "nuevo",
    "nueva",
    "pequeño",
    "pequeña",
    "grande",
    "mejor",
    "primero",
    "petit",
    "petite",
    "vieux",
    "vieille",
    "nouveau",
    "nouvelle",
    "grand",
    "grande",
    "meilleur",
];
/// Words that, after an -ing word, show it is a verb.
const VERB_FOLLOWERS: &[&str] = &[
    "to", "a", "an", "the", "my", "your", "our", "his", "her", "their", "with", "up", "out", "on",
    "for", "into", "through", "over", "around", "back", "down", "off", "away", "from", "without",
];
/// English words kept lowercase inside a title.
const SMALL_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "nor", "of", "in", "on", "at", "to", "for", "by", "with",
    "from", "as", "into",
];

// ---------------------------------------------------------------------------------------------
// Request normalisation and seeding.
// ---------------------------------------------------------------------------------------------

fn resolve_language(raw: &str) -> &'static str {
    let lower = raw.trim().to_lowercase();
    let code = lower.split(['-', '_']).next().unwrap_or_default();
    LANGUAGES
        .iter()
        .copied()
        .find(|l| *l == code)
        .unwrap_or("en")
}

fn squash(raw: &str) -> String {
    raw.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

fn resolve_genre(raw: &str) -> &'static str {
    let key = squash(raw);
    if let Some(genre) = GENRES.iter().copied().find(|g| squash(g) == key) {
        return genre;
    }
    match key.as_str() {
        "sciencefiction" | "sf" => "sci-fi",
        "thriller" | "crime" | "detective" => "mystery",
        "funny" | "humor" | "humour" => "comedy",
        "love" | "romantic" => "romance",
        "motivation" | "inspirational" | "selfhelp" => "motivational",
        "scary" | "ghost" => "horror",
        "history" | "educational" | "facts" => "documentary",
        "action" => "adventure",
        _ => "drama",
    }
}

fn resolve_tone(raw: &str) -> &'static str {
    let key = squash(raw);
    if let Some(tone) = TONES.iter().copied().find(|t| squash(t) == key) {
        return tone;
    }
    match key.as_str() {
        "funny" | "comic" | "playful" => "humorous",
        "tense" | "thrilling" | "mysterious" => "suspenseful",
        "hopeful" | "happy" | "joyful" | "positive" => "uplifting",
        "inspiring" | "motivating" => "inspirational",
        "grim" | "sad" | "gloomy" | "melancholic" => "dark",
        "epic" | "intense" => "dramatic",
        "quirky" | "magical" => "whimsical",
        _ => "calm",
    }
}

/// Stable 64-bit FNV-1a (the `fnv` crate) over the parts, separated by a unit separator.
fn fnv1a(parts: &[&str]) -> u64 {
    use std::hash::Hasher as _;
    let mut hasher = fnv::FnvHasher::default();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.write(&[0x1f]);
        }
        hasher.write(part.as_bytes());
    }
    hasher.finish()
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn mix_seed(seed: u64, parts: &[&str]) -> u64 {
    splitmix64(seed ^ fnv1a(parts).rotate_left(29))
}

// ---------------------------------------------------------------------------------------------
// Topic analysis.
// ---------------------------------------------------------------------------------------------

/// A content word of the topic.
#[derive(Debug, Clone)]
struct Subject {
    word: String,
    /// Capitalised mid-topic in a topic that is not title-cased: a name, used without article.
    proper: bool,
}

/// A topic token without surrounding punctuation, possessive or French elision.
fn clean_token(token: &str) -> &str {
    let mut word = token.trim_matches(|c: char| !c.is_alphanumeric());
    for suffix in ["'s", "’s"] {
        if let Some(stripped) = word.strip_suffix(suffix) {
            word = stripped;
        }
    }
    if let Some((head, tail)) = word.split_once(['\'', '’']) {
        if head.chars().count() <= 2 {
            word = tail;
        }
    }
    word
}

fn letters(word: &str) -> usize {
    word.chars().filter(|c| c.is_alphabetic()).count()
}

/// Content words of at least four letters, minus stopwords, in topic order. In a German script
/// whose topic capitalises nouns, only capitalised words count.
fn subject_words(topic: &str, language: &str) -> Vec<Subject> {
    let tokens: Vec<&str> = topic.split_whitespace().map(clean_token).collect();
    let capitalised = |t: &&str| t.chars().next().is_some_and(char::is_uppercase);
    let title_cased = tokens.iter().filter(|t| letters(t) >= 4).all(capitalised);
    let german_nouns = language == "de" && !title_cased && tokens.iter().skip(1).any(capitalised);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, word) in tokens.iter().enumerate() {
        if letters(word) < 4 || !word.chars().all(|c| c.is_alphanumeric() || c == '-') {
            continue;
        }
        let lower = word.to_lowercase();
        let adverb = lower.ends_with("ly") && lower.chars().count() > 5;
        // "learning to run", "building a boat": an -ing word before an object is a verb.
        let verb = lower.ends_with("ing")
            && tokens
                .get(i + 1)
                .is_some_and(|next| VERB_FOLLOWERS.contains(&next.to_lowercase().as_str()));
        // "learned to paint": a lowercase word after "to" is an infinitive.
        let infinitive = i > 0 && tokens[i - 1].eq_ignore_ascii_case("to") && !capitalised(word);
        let not_noun = german_nouns && !capitalised(word);
        if adverb
            || verb
            || infinitive
            || not_noun
            || STOPWORDS.contains(&lower.as_str())
            || !seen.insert(lower)
        {
            continue;
        }
        let proper = i > 0 && !title_cased && word.chars().next().is_some_and(char::is_uppercase);
        out.push(Subject {
            word: (*word).to_owned(),
            proper,
        });
        if out.len() == MAX_SUBJECTS {
            break;
        }
    }
    out
}

/// The place a topic names, if any.
fn place_from_topic(topic: &str) -> Option<&'static Place> {
    topic
        .split_whitespace()
        .map(|t| clean_token(t).to_lowercase())
        .find_map(|token| {
            PLACES.iter().find(|place| {
                place
                    .keywords
                    .iter()
                    .any(|k| token == *k || (k.chars().count() >= 4 && token.starts_with(k)))
            })
        })
}

// ---------------------------------------------------------------------------------------------
// The world of one script: cast, place, vocabulary.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Hook,
    Rising,
    Turn,
    Resolution,
}

impl Stage {
    fn index(self) -> usize {
        match self {
            Stage::Hook => 0,
            Stage::Rising => 1,
            Stage::Turn => 2,
            Stage::Resolution => 3,
        }
    }
}

struct World {
    lang: &'static Lang,
    genre_key: &'static str,
    tone_key: &'static str,
    genre: &'static GenreText,
    tone: &'static ToneText,
    place: &'static Place,
    place_text: &'static PlaceText,
    topic: String,
    subjects: Vec<Subject>,
    hero: &'static str,
    female: bool,
    friend: &'static str,
    thing: (&'static str, &'static str),
    goal: &'static str,
    obstacle: &'static str,
    /// Index into `TIMES` for each stage.
    times: [usize; 4],
}

fn pick(rng: &mut ChaCha8Rng, items: &[&'static str]) -> &'static str {
    items.choose(rng).copied().unwrap_or_default()
}

impl World {
    fn new(
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
                .filter(|p| p.genres.contains(&genre_key))
                .collect();
            fitting.choose(rng).copied().unwrap_or(&PLACES[0])
        });
        let (hero, female) = lang.names.choose(rng).copied().unwrap_or(("Mara", true));
        let friends: Vec<&'static str> = lang
            .names
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| *name != hero)
            .collect();
        let friend = pick(rng, &friends);
        let thing = genre.things.choose(rng).copied().unwrap_or(("", ""));
        let goal = pick(rng, genre.goals);
        let obstacle = pick(rng, genre.obstacles);
        let night_leaning = matches!(genre_key, "mystery" | "horror" | "sci-fi" | "fantasy")
            || matches!(tone_key, "dark" | "suspenseful");
        let arcs = if rng.random_bool(if night_leaning { 0.75 } else { 0.3 }) {
            NIGHT_ARCS
        } else {
            DAY_ARCS
        };
        let times = arcs.choose(rng).copied().unwrap_or([5, 6, 7, 0]);
        World {
            lang,
            genre_key,
            tone_key,
            genre,
            tone,
            place,
            place_text: lang.place(place.key),
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

    fn senses(&self) -> &'static Senses {
        &self.lang.senses[self.place.setting.index()]
    }
}

// ---------------------------------------------------------------------------------------------
// Writing: scenes, title, metadata.
// ---------------------------------------------------------------------------------------------

/// What a sentence does in its scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The opening sentence: names the topic.
    Intro,
    /// Moves the arc forward.
    Beat,
    /// Atmosphere: a sound, a smell, a sight.
    Texture,
}

/// A template with its slots filled.
struct Rendered {
    template: &'static str,
    text: String,
    words: usize,
    fills: Vec<&'static str>,
    subjects_used: usize,
    mentions_subject: bool,
    /// Detail slots used (`sound`, `smell`, `sight`, `feel`, `manner`).
    kinds: Vec<&'static str>,
}

/// Template pools with the score bonus each earns.
type Pools = Vec<(&'static [&'static str], f64)>;

/// One attempt at finding a sentence.
struct Ask {
    pools: Pools,
    /// Only templates that mention the topic or a subject word.
    need_subject: bool,
    /// Templates already used in this script are allowed.
    allow_reuse: bool,
    /// Sentences must have 6–22 words.
    strict: bool,
    /// Only candidates close to the word target.
    require_close: bool,
}

impl Ask {
    fn new(pools: Pools) -> Ask {
        Ask {
            pools,
            need_subject: false,
            allow_reuse: false,
            strict: true,
            require_close: false,
        }
    }
}

struct Writer<'w> {
    world: &'w World,
    rng: ChaCha8Rng,
    used_templates: HashSet<&'static str>,
    used_fills: HashSet<&'static str>,
    sentences: HashSet<String>,
    subject_cursor: usize,
    /// Detail slots of the current scene and the sentence before it, so that two neighbouring
    /// sentences do not both lean on, say, a sound.
    recent_kinds: Vec<&'static str>,
    last_kinds: Vec<&'static str>,
    /// Share of a sentence's word target a candidate may miss by and still count as a fit:
    /// generous mid-script (later sentences make up the difference), tight at the end.
    window: f64,
}

fn mentions_subject(template: &str) -> bool {
    template.contains("{subject}")
        || template.contains("{the_subject}")
        || template.contains("{topic}")
}

/// Upper-cases the first letter (after any leading punctuation such as `¿`).
fn capitalize_first(text: &str) -> String {
    match text.char_indices().find(|(_, c)| c.is_alphabetic()) {
        Some((i, c)) if c.is_lowercase() => {
            let mut out = String::with_capacity(text.len() + 2);
            out.push_str(&text[..i]);
            out.extend(c.to_uppercase());
            out.push_str(&text[i + c.len_utf8()..]);
            out
        }
        _ => text.to_owned(),
    }
}

/// Splits a scene's composition into stages: hook ≈15 %, turn ≈20 %, resolution ≈20 %, rising the rest.
fn stage_plan(scenes: usize) -> Vec<Stage> {
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
fn mood(
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

/// Replaces each `{key}` with its value.
fn fill_pairs(template: &str, pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(&format!("{{{key}}}"), value)
        })
}

/// English title case: every word capitalised except small words after the first.
fn title_case(text: &str, capitalize_first_word: bool) -> String {
    text.split_whitespace()
        .enumerate()
        .map(|(i, word)| {
            if (i > 0 || !capitalize_first_word)
                && SMALL_WORDS.contains(&word.to_lowercase().as_str())
            {
                word.to_lowercase()
            } else {
                capitalize_first(word)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max` chars, cut at a word boundary and marked with an ellipsis when shortened.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        let extra = usize::from(!out.is_empty()) + word.chars().count();
        if out.chars().count() + extra + 1 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = text.chars().take(max.saturating_sub(1)).collect();
    }
    out.push('…');
    out
}

/// `#` plus the word lowercased, without spaces or punctuation; `None` if too short. Latin letters
/// are folded to ASCII (German and Nordic ones as their usual digraphs: ä → ae, ß → ss), so a tag
/// reads the same typed with or without accents; other scripts stay as they are (#москва,
/// #東京): every platform takes Unicode hashtags, and a transliteration is not what their
/// audiences search for.
fn hashtag(word: &str) -> Option<String> {
    let mut body = String::new();
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' | 'æ' => body.push_str("ae"),
            'ö' | 'ø' | 'œ' => body.push_str("oe"),
            'ü' => body.push_str("ue"),
            'ß' => body.push_str("ss"),
            c if c.is_ascii_alphanumeric() => body.push(c),
            c if is_latin(c) => body.extend(
                deunicode::deunicode_char(c)
                    .unwrap_or_default()
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .flat_map(|c| c.to_lowercase()),
            ),
            c if c.is_alphanumeric() => body.push(c),
            _ => {}
        }
    }
    (body.chars().count() >= 2).then(|| format!("#{body}"))
}

/// A letter of the Latin script (Latin-1 Supplement, Extended-A and -B, Extended Additional).
fn is_latin(c: char) -> bool {
    c.is_alphabetic() && matches!(u32::from(c), 0x00C0..=0x024F | 0x1E00..=0x1EFF)
}

/// Appends tags that are not there yet, up to `max` in all.
fn add_tags(tags: &mut Vec<String>, more: impl IntoIterator<Item = String>, max: usize) {
    for tag in more {
        if tags.len() >= max {
            break;
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
}

/// `text` followed by as many `tags` as fit in `max` chars (at least one, shortening the text).
/// Returns the caption and the tags it carries.
fn fit_caption(text: &str, tags: &[String], max: usize) -> (String, Vec<String>) {
    let first = tags.first().map_or(0, |t| t.chars().count() + 1);
    let mut caption = truncate_chars(text, max.saturating_sub(first));
    let mut kept = Vec::new();
    for tag in tags {
        if caption.chars().count() + 1 + tag.chars().count() <= max {
            caption.push(' ');
            caption.push_str(tag);
            kept.push(tag.clone());
        }
    }
    (caption, kept)
}

impl<'w> Writer<'w> {
    fn new(world: &'w World, rng: ChaCha8Rng) -> Writer<'w> {
        Writer {
            world,
            rng,
            used_templates: HashSet::new(),
            used_fills: HashSet::new(),
            sentences: HashSet::new(),
            subject_cursor: 0,
            recent_kinds: Vec::new(),
            last_kinds: Vec::new(),
            window: 0.3,
        }
    }

    fn scenes(&mut self, length_seconds: u32) -> Vec<Scene> {
        let count = scene_count(length_seconds);
        let plan = stage_plan(count);
        let target = target_words(length_seconds) as f64;
        let has_subjects = !self.world.subjects.is_empty();
        let mut written = 0usize;
        let mut last_subject = 0usize;
        let mut scenes = Vec::with_capacity(count);
        for (i, &stage) in plan.iter().enumerate() {
            let budget =
                ((target - written as f64) / (count - i) as f64).max(MIN_SENTENCE_WORDS as f64);
            let roles = self.roles(i, budget);
            let mut subject_due =
                has_subjects && i > 0 && (i - last_subject >= 2 || i + 1 == count);
            let mut left = budget;
            let mut parts = Vec::with_capacity(roles.len());
            self.recent_kinds = self.last_kinds.clone();
            self.window = if i + 1 == count || target < 60.0 {
                0.12
            } else {
                0.3
            };
            for (k, &role) in roles.iter().enumerate() {
                let sentence_target = left / (roles.len() - k) as f64;
                let need_subject = subject_due && role == Role::Beat;
                if let Some(rendered) = self.sentence(role, stage, sentence_target, need_subject) {
                    if rendered.mentions_subject {
                        subject_due = false;
                        last_subject = i;
                    }
                    left -= rendered.words as f64;
                    written += rendered.words;
                    parts.push(rendered.text);
                }
            }
            // The last scene has nobody after it to make up a shortfall: top it up.
            while i + 1 == count && parts.len() < MAX_SENTENCES_PER_SCENE && left >= 5.0 {
                let Some(rendered) = self.sentence(Role::Beat, stage, left, false) else {
                    break;
                };
                left -= rendered.words as f64;
                written += rendered.words;
                parts.push(rendered.text);
            }
            if parts.is_empty() {
                let fallback = self.emergency(stage);
                written += count_words(&fallback);
                parts.push(fallback);
            }
            let position = plan[..i].iter().filter(|s| **s == stage).count();
            let stage_len = plan.iter().filter(|s| **s == stage).count();
            let mood = mood(
                stage,
                self.world.genre_key,
                self.world.tone_key,
                position,
                stage_len,
                i + 1 == count,
            );
            let visual = self.visual(stage, mood);
            scenes.push(Scene {
                narration: parts.join(" "),
                visual,
                mood: mood.to_owned(),
            });
        }
        scenes
    }

    /// What each sentence of a scene does, sized to its word budget.
    fn roles(&mut self, scene: usize, budget: f64) -> Vec<Role> {
        let low = ((budget / 20.0).ceil() as usize).clamp(1, MAX_SENTENCES_PER_SCENE);
        let high = ((budget / 8.0).floor() as usize).clamp(low, MAX_SENTENCES_PER_SCENE);
        let count = self.rng.random_range(low..=high);
        let coin = self.rng.random_bool(0.5);
        match (scene, count) {
            (0, 1) => vec![Role::Intro],
            (0, 2) => vec![Role::Intro, if coin { Role::Beat } else { Role::Texture }],
            (0, _) if coin => vec![Role::Intro, Role::Texture, Role::Beat],
            (0, _) => vec![Role::Intro, Role::Beat, Role::Texture],
            (_, 1) => vec![Role::Beat],
            (_, 2) => match self.rng.random_range(0..3) {
                0 => vec![Role::Beat, Role::Texture],
                1 => vec![Role::Texture, Role::Beat],
                _ => vec![Role::Beat, Role::Beat],
            },
            _ => vec![Role::Beat, Role::Texture, Role::Beat],
        }
    }

    /// Picks, renders and commits one sentence, relaxing constraints until one fits.
    fn sentence(
        &mut self,
        role: Role,
        stage: Stage,
        target: f64,
        need_subject: bool,
    ) -> Option<Rendered> {
        let w = self.world;
        let attempts: Vec<Ask> = if role == Role::Intro {
            let intro: Pools = vec![(w.genre.arc.intro, 1.5), (w.lang.arc.intro, 0.0)];
            vec![
                Ask::new(intro.clone()),
                Ask {
                    allow_reuse: true,
                    strict: false,
                    ..Ask::new(intro)
                },
            ]
        } else {
            let beat: Pools = vec![
                (w.genre.arc.stage(stage), 2.5),
                (w.tone.arc.stage(stage), 2.0),
                (w.lang.arc.stage(stage), 0.0),
            ];
            let texture: Pools = vec![(w.lang.texture, 0.0)];
            let (primary, secondary) = match role {
                Role::Texture => (texture, beat),
                // Short atmosphere lines may stand in for a beat when the budget is tight.
                _ => (
                    beat.iter()
                        .copied()
                        .chain([(w.lang.texture, -1.5)])
                        .collect(),
                    texture,
                ),
            };
            let widened: Pools = primary
                .iter()
                .copied()
                .chain(secondary.iter().map(|(p, _)| (*p, -1.0)))
                .collect();
            let everything: Pools = [&w.lang.arc, &w.genre.arc, &w.tone.arc]
                .iter()
                .flat_map(|arc| arc.all())
                .chain([w.lang.texture])
                .map(|pool| (pool, -3.0))
                .chain(widened.iter().copied())
                .collect();
            vec![
                // A due subject mention is honoured only when it also fits the word budget.
                Ask {
                    need_subject,
                    require_close: need_subject,
                    ..Ask::new(primary.clone())
                },
                Ask::new(primary),
                Ask::new(widened),
                Ask::new(everything.clone()),
                Ask {
                    allow_reuse: true,
                    ..Ask::new(everything)
                },
            ]
        };
        for ask in &attempts {
            if let Some(rendered) = self.choose(ask, stage, target) {
                self.used_templates.insert(rendered.template);
                self.used_fills.extend(rendered.fills.iter().copied());
                self.sentences.insert(rendered.text.clone());
                self.subject_cursor += rendered.subjects_used;
                self.recent_kinds.extend(rendered.kinds.iter().copied());
                self.last_kinds = rendered.kinds.clone();
                return Some(rendered);
            }
        }
        None
    }

    /// The best-fitting candidate: closest to the word target, favouring genre and tone pools.
    fn choose(&mut self, ask: &Ask, stage: Stage, target: f64) -> Option<Rendered> {
        let mut best: Option<(f64, Rendered)> = None;
        let mut seen = HashSet::new();
        for &(pool, bonus) in &ask.pools {
            for &template in pool {
                if !seen.insert(template)
                    || (!ask.allow_reuse && self.used_templates.contains(template))
                    || (ask.need_subject && !mentions_subject(template))
                {
                    continue;
                }
                let Some(rendered) = self.render(template, stage) else {
                    continue;
                };
                if (ask.strict
                    && !(MIN_SENTENCE_WORDS..=MAX_SENTENCE_WORDS).contains(&rendered.words))
                    || self.sentences.contains(&rendered.text)
                {
                    continue;
                }
                // Candidates within a few words of the target always win; among them, genre and
                // tone pools are favoured and a little noise keeps choices varied.
                let miss = (rendered.words as f64 - target).abs();
                let leeway = if self.window < 0.2 { self.window } else { 0.4 };
                if ask.require_close && miss > (target * leeway).max(CLOSE_ENOUGH) {
                    continue;
                }
                let close = miss <= (target * self.window).clamp(1.0, CLOSE_ENOUGH);
                let repeats = rendered
                    .kinds
                    .iter()
                    .filter(|k| self.recent_kinds.contains(k))
                    .count();
                let score = if close {
                    0.3 * miss - bonus + 4.0 * repeats as f64 + self.rng.random::<f64>() * 4.0
                } else {
                    100.0 + miss + 4.0 * repeats as f64 + self.rng.random::<f64>() * 0.5
                };
                if best.as_ref().is_none_or(|(s, _)| score < *s) {
                    best = Some((score, rendered));
                }
            }
        }
        best.map(|(_, rendered)| rendered)
    }

    /// A last-resort sentence when every pool is exhausted (only for absurdly long requests).
    fn emergency(&mut self, stage: Stage) -> String {
        let template = self
            .world
            .lang
            .arc
            .stage(stage)
            .first()
            .copied()
            .unwrap_or("{hero}.");
        self.render(template, stage)
            .map_or_else(|| self.world.topic.clone(), |r| r.text)
    }

    fn render(&mut self, template: &'static str, stage: Stage) -> Option<Rendered> {
        let mut out = String::with_capacity(template.len() + 48);
        let mut fills = Vec::new();
        let mut kinds = Vec::new();
        let mut subjects_used = 0;
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let tail = &rest[open + 1..];
            let close = tail.find('}')?;
            let slot = &tail[..close];
            if let Some(kind) = DETAIL_SLOTS.iter().find(|k| **k == slot) {
                kinds.push(*kind);
            }
            self.fill(slot, stage, &mut fills, &mut subjects_used, &mut out)?;
            rest = &tail[close + 1..];
        }
        out.push_str(rest);
        let text = capitalize_first(&out);
        Some(Rendered {
            template,
            words: count_words(&text),
            text,
            fills,
            subjects_used,
            mentions_subject: mentions_subject(template),
            kinds,
        })
    }

    fn fill(
        &mut self,
        slot: &str,
        stage: Stage,
        fills: &mut Vec<&'static str>,
        subjects_used: &mut usize,
        out: &mut String,
    ) -> Option<()> {
        let w = self.world;
        match slot {
            "topic" => out.push_str(&w.topic),
            "subject" | "the_subject" => {
                let index = self.subject_cursor + *subjects_used;
                *subjects_used += 1;
                match w.subjects.get(index % w.subjects.len().max(1)) {
                    Some(subject) if slot == "the_subject" && !subject.proper => {
                        out.push_str("the ");
                        out.push_str(&subject.word);
                    }
                    Some(subject) => out.push_str(&subject.word),
                    None if slot == "the_subject" => {
                        out.push_str("the ");
                        out.push_str(w.genre.theme);
                    }
                    None => out.push_str(w.genre.theme),
                }
            }
            "hero" => out.push_str(w.hero),
            "friend" => out.push_str(w.friend),
            "place" => out.push_str(w.place_text.name),
            "at_place" => out.push_str(w.place_text.at),
            "to_place" => out.push_str(w.place_text.to),
            "when" => out.push_str(w.lang.times[w.times[stage.index()]]),
            "sound" => out.push_str(self.pick_fill(w.senses().sounds, fills)),
            "smell" => out.push_str(self.pick_fill(w.senses().smells, fills)),
            "sight" => out.push_str(self.pick_fill(w.senses().sights, fills)),
            "feel" => out.push_str(self.pick_fill(w.tone.feel, fills)),
            "manner" => out.push_str(self.pick_fill(w.tone.manner, fills)),
            "thing" => out.push_str(w.thing.0),
            "the_thing" => out.push_str(w.thing.1),
            "goal" => out.push_str(w.goal),
            "obstacle" => out.push_str(w.obstacle),
            _ => {
                let (_, masculine, feminine) =
                    w.lang.pronouns.iter().find(|(key, _, _)| *key == slot)?;
                out.push_str(if w.female { feminine } else { masculine });
            }
        }
        Some(())
    }

    /// A detail not used yet in this script (nor earlier in this sentence) when one is left.
    fn pick_fill(
        &mut self,
        pool: &'static [&'static str],
        fills: &mut Vec<&'static str>,
    ) -> &'static str {
        let fresh: Vec<&'static str> = pool
            .iter()
            .copied()
            .filter(|f| !self.used_fills.contains(f) && !fills.contains(f))
            .collect();
        let choice = if fresh.is_empty() {
            pick(&mut self.rng, pool)
        } else {
            pick(&mut self.rng, &fresh)
        };
        fills.push(choice);
        choice
    }

    /// An English image description naming setting, subject, time, shot and light.
    fn visual(&mut self, stage: Stage, mood: &str) -> String {
        let w = self.world;
        let shot = pick(&mut self.rng, SHOTS[stage.index()]);
        let setting = pick(&mut self.rng, w.place.visuals);
        let figure = match (w.genre_key, w.female) {
            ("documentary", _) => "a researcher",
            (_, true) => "a woman",
            (_, false) => "a man",
        };
        let focus = pick(&mut self.rng, FOCUS[stage.index()]).replace("{figure}", figure);
        let featuring = match w.subjects.as_slice() {
            [] => String::new(),
            subjects => {
                let words: Vec<String> = subjects.iter().map(|s| s.word.to_lowercase()).collect();
                let list = match words.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} and {last}", rest.join(", "))
                    }
                    _ => words.join(""),
                };
                format!(", featuring {list}")
            }
        };
        let time = TIMES[w.times[stage.index()]];
        let light = pick(&mut self.rng, lighting(w.tone_key));
        format!("{shot} of {setting}, {focus}{featuring}, {time}, {light}, {mood} mood, vertical 9:16 frame")
    }

    /// A catchy title of at most 70 chars in the script's language.
    fn title(&mut self) -> String {
        let w = self.world;
        let mut pool: Vec<&'static str> = w
            .genre
            .titles
            .iter()
            .chain(w.lang.meta.titles)
            .copied()
            .collect();
        pool.shuffle(&mut self.rng);
        let english = w.lang.code == "en";
        for template in pool {
            let topic = if english {
                title_case(&w.topic, template.starts_with("{topic}"))
            } else {
                w.topic.clone()
            };
            let title = capitalize_first(&fill_pairs(
                template,
                &[("topic", &topic), ("label", w.genre.label)],
            ));
            if title.chars().count() <= MAX_TITLE_CHARS {
                return title;
            }
        }
        let topic = if english {
            title_case(&w.topic, true)
        } else {
            capitalize_first(&w.topic)
        };
        truncate_chars(&topic, MAX_TITLE_CHARS)
    }

    fn metadata(&mut self, title: &str) -> PlatformMetadata {
        let w = self.world;
        let m = &w.lang.meta;
        let vars: [(&str, &str); 8] = [
            ("title", title),
            ("topic", &w.topic),
            ("label", w.genre.label),
            ("story", w.genre.story),
            ("hero", w.hero),
            ("at_place", w.place_text.at),
            ("place", w.place_text.name),
            ("tone_adj", w.tone.adj),
        ];
        let rng = &mut self.rng;
        let mut line =
            |pool: &[&'static str]| capitalize_first(&fill_pairs(pick(rng, pool), &vars));
        let about = line(m.about);
        let follow = line(m.follow);
        let comment = line(m.comment);
        let subscribe = line(m.subscribe);
        let youtube_title = line(m.youtube_titles);
        let youtube_caption = line(m.youtube_captions);
        let tiktok_text = line(m.tiktok_captions);
        let instagram_hook = line(m.instagram_hooks);
        let instagram_call = line(m.instagram_calls);
        let facebook_intro = line(m.facebook_intros);
        let facebook_call = line(m.facebook_calls);

        let subject_tags: Vec<String> =
            w.subjects.iter().filter_map(|s| hashtag(&s.word)).collect();
        let genre_tag = hashtag(w.genre.tag).into_iter();
        let story_tag = hashtag(m.story_tag).into_iter();
        let platform = |tag: &str, subjects: usize, max: usize, extra: &[&str]| {
            let mut tags = Vec::new();
            add_tags(&mut tags, hashtag(tag), max);
            add_tags(&mut tags, subject_tags.iter().take(subjects).cloned(), max);
            add_tags(&mut tags, genre_tag.clone().chain(story_tag.clone()), max);
            add_tags(&mut tags, extra.iter().filter_map(|t| hashtag(t)), max);
            tags
        };

        let extra_sentences = self.rng.random_range(0..=2);
        let mut youtube_sentences = vec![about.clone(), follow.clone()];
        youtube_sentences.extend(
            [comment.clone(), subscribe]
                .into_iter()
                .take(extra_sentences),
        );
        let youtube_tags = platform("shorts", 2, 5, &[]);
        let youtube = PlatformPost {
            title: if youtube_title.chars().count() <= MAX_YOUTUBE_TITLE_CHARS {
                youtube_title
            } else {
                truncate_chars(title, MAX_YOUTUBE_TITLE_CHARS)
            },
            description: format!(
                "{}\n\n{}",
                youtube_sentences.join(" "),
                youtube_tags.join(" ")
            ),
            hashtags: youtube_tags,
            caption: youtube_caption,
        };

        let tiktok_tags = platform("fyp", 2, 5, &[]);
        let (tiktok_caption, tiktok_tags) =
            fit_caption(&tiktok_text, &tiktok_tags, MAX_TIKTOK_CAPTION_CHARS);
        let tiktok = PlatformPost {
            title: title.to_owned(),
            description: format!("{about} {follow}"),
            hashtags: tiktok_tags,
            caption: tiktok_caption,
        };

        let mut instagram_extra: Vec<&str> = m.extra_tags.to_vec();
        instagram_extra.push("reelsinstagram");
        let instagram_tags = platform("reels", 3, 10, &instagram_extra);
        let instagram = PlatformPost {
            title: title.to_owned(),
            description: format!("{about} {follow}"),
            caption: format!(
                "{instagram_hook}\n\n{about} {follow}\n\n{instagram_call}\n\n{}",
                instagram_tags.join(" ")
            ),
            hashtags: instagram_tags,
        };

        let mut facebook_tags = Vec::new();
        add_tags(&mut facebook_tags, subject_tags.iter().take(2).cloned(), 4);
        add_tags(&mut facebook_tags, genre_tag.chain(story_tag), 4);
        let facebook = PlatformPost {
            title: title.to_owned(),
            description: format!("{facebook_intro} {about} {follow}"),
            caption: format!(
                "{facebook_intro}\n\n{about} {facebook_call}\n\n{}",
                facebook_tags.join(" ")
            ),
            hashtags: facebook_tags,
        };

        PlatformMetadata {
            youtube,
            tiktok,
            instagram,
            facebook,
        }
    }
}

#[cfg(test)]
mod tests;
