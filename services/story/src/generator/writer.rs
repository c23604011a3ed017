//! The writer: scenes sized to the requested length, each sentence a template chosen to fit its
//! word budget and filled from the world, plus an English image description per scene.

use std::collections::HashSet;

use rand::{seq::IndexedRandom as _, Rng as _};
use rand_chacha::ChaCha8Rng;

use super::{
    data::VISUALS,
    types::Scene,
    world::{mood, pick, stage_plan, Stage, World},
};
/// Words of narration per second of video the generator aims for (espeak-ng at its default rate
/// speaks ~2.7 words/s; aim a bit under so the narration lands near the requested length).
pub const WORDS_PER_SECOND: f64 = 2.5;

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
/// Slots that add a sensory or emotional detail.
const DETAIL_SLOTS: &[&str] = &["sound", "smell", "sight", "feel", "manner"];

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
pub(super) struct Rendered {
    template: &'static str,
    pub(super) text: String,
    words: usize,
    fills: Vec<&'static str>,
    subjects_used: usize,
    mentions_subject: bool,
    /// Detail slots used (`sound`, `smell`, `sight`, `feel`, `manner`).
    kinds: Vec<&'static str>,
}

/// Template pools with the score bonus each earns.
type Pools = Vec<(&'static [String], f64)>;

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

/// Writes one script of a world, remembering what it used so that nothing repeats.
pub(super) struct Writer<'w> {
    pub(super) world: &'w World,
    pub(super) rng: ChaCha8Rng,
    pub(super) used_templates: HashSet<&'static str>,
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

/// Whether a template names the topic or a subject word.
fn mentions_subject(template: &str) -> bool {
    template.contains("{subject}")
        || template.contains("{the_subject}")
        || template.contains("{topic}")
}

/// Upper-cases the first letter (after any leading punctuation such as `¿`).
pub(super) fn capitalize_first(text: &str) -> String {
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

impl<'w> Writer<'w> {
    pub(super) fn new(world: &'w World, rng: ChaCha8Rng) -> Writer<'w> {
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

    pub(super) fn scenes(&mut self, length_seconds: u32) -> Vec<Scene> {
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
            let intro: Pools = vec![
                (w.genre.arc.intro.as_slice(), 1.5),
                (w.lang.arc.intro.as_slice(), 0.0),
            ];
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
            let texture: Pools = vec![(w.lang.texture.as_slice(), 0.0)];
            let (primary, secondary) = match role {
                Role::Texture => (texture, beat),
                // Short atmosphere lines may stand in for a beat when the budget is tight.
                _ => (
                    beat.iter()
                        .copied()
                        .chain([(w.lang.texture.as_slice(), -1.5)])
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
                .chain([w.lang.texture.as_slice()])
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
            for template in pool {
                let template = template.as_str();
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
            .map_or("{hero}.", String::as_str);
        self.render(template, stage)
            .map_or_else(|| self.world.topic.clone(), |r| r.text)
    }

    pub(super) fn render(&mut self, template: &'static str, stage: Stage) -> Option<Rendered> {
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
                        out.push_str(&w.genre.theme);
                    }
                    None => out.push_str(&w.genre.theme),
                }
            }
            "hero" => out.push_str(w.hero),
            "friend" => out.push_str(w.friend),
            "place" => out.push_str(&w.place_text.name),
            "at_place" => out.push_str(&w.place_text.at),
            "to_place" => out.push_str(&w.place_text.to),
            "when" => out.push_str(w.lang.times.get(w.times[stage.index()])),
            "sound" => out.push_str(self.pick_fill(&w.senses().sounds, fills)),
            "smell" => out.push_str(self.pick_fill(&w.senses().smells, fills)),
            "sight" => out.push_str(self.pick_fill(&w.senses().sights, fills)),
            "feel" => out.push_str(self.pick_fill(&w.tone.feel, fills)),
            "manner" => out.push_str(self.pick_fill(&w.tone.manner, fills)),
            "thing" => out.push_str(w.thing.0),
            "the_thing" => out.push_str(w.thing.1),
            "goal" => out.push_str(w.goal),
            "obstacle" => out.push_str(w.obstacle),
            _ => {
                let pronoun = w.lang.pronouns.get(slot)?;
                out.push_str(if w.female {
                    &pronoun.feminine
                } else {
                    &pronoun.masculine
                });
            }
        }
        Some(())
    }

    /// A detail not used yet in this script (nor earlier in this sentence) when one is left.
    fn pick_fill(
        &mut self,
        pool: &'static [String],
        fills: &mut Vec<&'static str>,
    ) -> &'static str {
        let fresh: Vec<&'static str> = pool
            .iter()
            .map(String::as_str)
            .filter(|f| !self.used_fills.contains(f) && !fills.contains(f))
            .collect();
        let choice = if fresh.is_empty() {
            pick(&mut self.rng, pool)
        } else {
            fresh.choose(&mut self.rng).copied().unwrap_or_default()
        };
        fills.push(choice);
        choice
    }

    /// An English image description naming setting, subject, time, shot and light.
    fn visual(&mut self, stage: Stage, mood: &str) -> String {
        let w = self.world;
        let shot = pick(&mut self.rng, VISUALS.shots.stage(stage));
        let setting = pick(&mut self.rng, &w.place.visuals);
        let figure = match (w.genre_key, w.female) {
            ("documentary", _) => "a researcher",
            (_, true) => "a woman",
            (_, false) => "a man",
        };
        let focus = pick(&mut self.rng, VISUALS.focus.stage(stage)).replace("{figure}", figure);
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
        let time = VISUALS.times.get(w.times[stage.index()]);
        let lighting = VISUALS
            .lighting
            .get(w.tone_key)
            .map_or(&[][..], Vec::as_slice);
        let light = pick(&mut self.rng, lighting);
        format!("{shot} of {setting}, {focus}{featuring}, {time}, {light}, {mood} mood, vertical 9:16 frame")
    }
}
