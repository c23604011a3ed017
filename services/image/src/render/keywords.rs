//! Keywords of a scene's description that force motifs on (or off), and where each choice came
//! from: a keyword or the seed.

pub(super) const WATER_WORDS: &[&str] = &[
    "sea",
    "seas",
    "ocean",
    "oceans",
    "lighthouse",
    "lighthouses",
    "harbor",
    "harbors",
    "harbour",
    "harbours",
    "lake",
    "lakes",
    "river",
    "rivers",
    "beach",
    "shore",
    "coast",
    "bay",
    "pier",
    "seaside",
    "lagoon",
    "pond",
    "waves",
];
pub(super) const TREE_WORDS: &[&str] = &[
    "forest", "forests", "tree", "trees", "woods", "woodland", "wood", "pine", "pines", "jungle",
    "grove",
];
pub(super) const CITY_WORDS: &[&str] = &[
    "city",
    "cities",
    "street",
    "streets",
    "town",
    "towns",
    "tower",
    "towers",
    "building",
    "buildings",
    "skyline",
    "downtown",
    "skyscraper",
    "skyscrapers",
    "village",
];
pub(super) const NIGHT_WORDS: &[&str] = &[
    "night",
    "nights",
    "nighttime",
    "tonight",
    "star",
    "stars",
    "starry",
    "starlit",
    "moon",
    "moons",
    "moonlit",
    "moonlight",
    "dark",
    "darkness",
    "midnight",
];
pub(super) const DAY_WORDS: &[&str] = &[
    "morning",
    "noon",
    "midday",
    "afternoon",
    "daylight",
    "daytime",
    "sunny",
    "sunshine",
    "sunrise",
    "dawn",
    "sun",
];
pub(super) const OVERCAST_WORDS: &[&str] = &[
    "rain", "rainy", "raining", "storm", "stormy", "cloudy", "clouds", "overcast", "grey", "gray",
    "drizzle", "thunder",
];
pub(super) const MIST_WORDS: &[&str] = &["mist", "misty", "fog", "foggy", "haze", "hazy"];
pub(super) const LOW_SUN_WORDS: &[&str] = &[
    "sunset", "sunsets", "sunrise", "sunrises", "dawn", "dusk", "twilight", "evening",
];

#[derive(Debug, Clone, Copy)]
pub(super) enum Source {
    Keyword(&'static str),
    Seed,
}

impl Source {
    pub(super) fn detect(words: &[String], list: &[&'static str]) -> Option<&'static str> {
        words
            .iter()
            .find_map(|w| list.iter().copied().find(|k| *k == w.as_str()))
    }

    pub(super) fn is_keyword(self) -> bool {
        matches!(self, Source::Keyword(_))
    }

    pub(super) fn label(self) -> String {
        match self {
            Source::Keyword(k) => format!("keyword '{k}'"),
            Source::Seed => "seed".to_string(),
        }
    }
}

/// Picks a motif: a keyword forces it on, otherwise the (always drawn) seeded coin decides.
pub(super) fn motif(words: &[String], list: &[&'static str], coin: bool) -> (bool, Source) {
    match Source::detect(words, list) {
        Some(k) => (true, Source::Keyword(k)),
        None => (coin, Source::Seed),
    }
}
