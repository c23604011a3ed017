//! Offline procedural background music: composes a mood-fitted piece and renders it as a 48 kHz stereo WAV.

use std::f32::consts::{FRAC_PI_2, FRAC_PI_4, TAU};
use std::io::Cursor;
use std::sync::OnceLock;

use anyhow::{bail, Context as _};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Output sample rate in Hz.
pub const SAMPLE_RATE: u32 = 48_000;

const SR: f32 = SAMPLE_RATE as f32;
const FRAMES_PER_MS: u64 = SAMPLE_RATE as u64 / 1000;
/// Longest track one call renders (10 minutes); bounds memory use.
const MAX_DURATION_MS: u64 = 10 * 60 * 1000;
/// Peak level after the final normalisation: about −6 dBFS.
const PEAK_TARGET: f32 = 0.5012;
const FADE_IN_MS: u64 = 1_000;
const FADE_OUT_MS: u64 = 2_000;

/// FNV-1a's offset basis: the state of a fresh `FnvHasher`.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Reverb send levels per instrument family.
const SEND_PAD: f32 = 0.5;
const SEND_BASS: f32 = 0.04;
const SEND_BELL: f32 = 0.7;
const SEND_PLUCK: f32 = 0.45;
const SEND_PIANO: f32 = 0.45;
const SEND_DRONE: f32 = 0.3;
const SEND_KICK: f32 = 0.03;
const SEND_PERC: f32 = 0.2;

const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// What the track must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackSpec<'a> {
    /// Mood word(s), e.g. "calm" or "tense"; an unknown mood maps to a known one by hash.
    pub mood: &'a str,
    /// Genre word(s), e.g. "ambient", "lofi", "electronic"; shapes tempo, timbre and reverb.
    pub genre: &'a str,
    /// Exact length of the rendered track.
    pub duration_ms: u64,
    /// Varies the musical choices; the same spec always renders the same bytes.
    pub seed: u64,
}

/// A rendered track and the musical choices behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// The 48 kHz stereo 16-bit PCM WAV file.
    pub wav: Vec<u8>,
    pub tempo_bpm: u32,
    /// Tonic and mode, e.g. "A minor" or "D dorian".
    pub key: String,
    /// Roman-numeral chords, one per bar, looped: e.g. `["I", "V", "vi", "IV"]`.
    pub progression: Vec<String>,
    pub instruments: Vec<String>,
}

/// Composes and renders a 48 kHz stereo 16-bit PCM WAV of exactly `duration_ms` (sample count = duration_ms * 48), with a fade-in (~1 s) and fade-out (~2 s, shorter for short tracks). Same spec → identical bytes.
pub fn compose(spec: &TrackSpec<'_>) -> anyhow::Result<Track> {
    if spec.duration_ms == 0 {
        bail!("track duration must be positive");
    }
    if spec.duration_ms > MAX_DURATION_MS {
        bail!(
            "track duration {} ms exceeds the {} ms limit",
            spec.duration_ms,
            MAX_DURATION_MS
        );
    }
    let frames = usize::try_from(spec.duration_ms * FRAMES_PER_MS)
        .context("track too long for this platform")?;

    let mood_key = spec.mood.trim().to_lowercase();
    let genre_key = spec.genre.trim().to_lowercase();
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ style_hash(&mood_key, &genre_key));
    let mood = Mood::resolve(&mood_key);
    let genre = Genre::resolve(&genre_key);
    let plan = Plan::choose(mood, &genre, &mut rng);

    let mut synth = Synth::new(frames, genre.brightness, rng.random());
    let instruments = arrange(&plan, &genre, &mut rng, &mut synth);
    let mixed = synth.master(genre.reverb);
    let wav = encode_wav(&mixed)?;

    Ok(Track {
        wav,
        tempo_bpm: plan.tempo,
        key: plan.key_name(),
        progression: plan
            .progression
            .iter()
            .map(|c| c.name(genre.sevenths))
            .collect(),
        instruments,
    })
}

// ---------------------------------------------------------------------------
// Musical choices
// ---------------------------------------------------------------------------

/// FNV-1a over `bytes`, continuing from `hash` (stable across runs and platforms).
fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    let mut hasher = fnv::FnvHasher::with_key(hash);
    std::hash::Hasher::write(&mut hasher, bytes);
    std::hash::Hasher::finish(&hasher)
}

/// Hash of the normalised mood and genre; 0xff never occurs in UTF-8 so it separates them unambiguously.
fn style_hash(mood: &str, genre: &str) -> u64 {
    let h = fnv1a(FNV_OFFSET, mood.as_bytes());
    let h = fnv1a(h, &[0xff]);
    fnv1a(h, genre.as_bytes())
}

/// The whole key with separators removed (so "lo-fi" reads "lofi"), then each word in turn.
fn words(key: &str) -> impl Iterator<Item = String> + '_ {
    let compact: String = key.chars().filter(|c| c.is_alphanumeric()).collect();
    std::iter::once(compact).chain(
        key.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mood {
    Calm,
    Mysterious,
    Tense,
    Hopeful,
    Joyful,
    Melancholic,
}

const MOODS: [Mood; 6] = [
    Mood::Calm,
    Mood::Mysterious,
    Mood::Tense,
    Mood::Hopeful,
    Mood::Joyful,
    Mood::Melancholic,
];

impl Mood {
    fn from_word(word: &str) -> Option<Self> {
        Some(match word {
            "calm" | "relaxed" | "relaxing" | "peaceful" | "serene" | "soothing" | "gentle"
            | "chill" | "tranquil" => Self::Calm,
            "mysterious" | "mystery" | "dark" | "eerie" | "curious" | "enigmatic" | "spooky"
            | "ominous" => Self::Mysterious,
            "tense" | "tension" | "suspense" | "suspenseful" | "urgent" | "dramatic"
            | "anxious" | "intense" | "thriller" => Self::Tense,
            "hopeful" | "uplifting" | "inspiring" | "inspirational" | "optimistic"
            | "motivational" | "warm" => Self::Hopeful,
            "joyful" | "joy" | "happy" | "upbeat" | "playful" | "fun" | "cheerful"
            | "energetic" | "excited" | "bright" => Self::Joyful,
            "melancholic" | "melancholy" | "sad" | "somber" | "sombre" | "nostalgic"
            | "reflective" | "wistful" | "emotional" => Self::Melancholic,
            _ => return None,
        })
    }

    /// A known mood word, or else one of the six picked by a stable hash of the text.
    fn resolve(key: &str) -> Self {
        words(key)
            .find_map(|w| Self::from_word(&w))
            .unwrap_or_else(|| {
                let index = fnv1a(FNV_OFFSET, key.as_bytes()) % MOODS.len() as u64;
                MOODS[index as usize]
            })
    }

    fn tempo_range(self) -> (u32, u32) {
        match self {
            Self::Calm => (70, 84),
            Self::Mysterious => (60, 75),
            Self::Tense => (90, 110),
            Self::Hopeful => (95, 110),
            Self::Joyful => (108, 120),
            Self::Melancholic => (60, 72),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PluckTone {
    Saw,
    Square,
    Triangle,
}

impl PluckTone {
    fn name(self) -> &'static str {
        match self {
            Self::Saw => "bright",
            Self::Square => "hollow",
            Self::Triangle => "soft",
        }
    }
}

/// How a genre colours the mood's arrangement.
#[derive(Debug, Clone, Copy)]
struct Genre {
    /// Where in the mood's tempo range to pick (0 = slowest, 1 = fastest).
    tempo_bias: (f32, f32),
    /// Multiplies filter cut-offs.
    brightness: f32,
    /// Reverb wet level.
    reverb: f32,
    /// Voice chords as sevenths.
    sevenths: bool,
    /// Add a soft beat to moods that have none.
    beat: bool,
    pluck: Option<PluckTone>,
}

impl Genre {
    const NEUTRAL: Self = Self {
        tempo_bias: (0.0, 1.0),
        brightness: 1.0,
        reverb: 0.35,
        sevenths: false,
        beat: false,
        pluck: None,
    };

    fn from_word(word: &str) -> Option<Self> {
        let n = Self::NEUTRAL;
        Some(match word {
            "ambient" | "drone" | "meditation" | "newage" => Self {
                tempo_bias: (0.0, 0.5),
                brightness: 0.75,
                reverb: 0.55,
                sevenths: true,
                pluck: Some(PluckTone::Triangle),
                ..n
            },
            "lofi" | "chillhop" | "jazz" | "jazzy" | "hiphop" => Self {
                tempo_bias: (0.0, 0.6),
                brightness: 0.6,
                reverb: 0.25,
                sevenths: true,
                beat: true,
                pluck: Some(PluckTone::Square),
            },
            "electronic" | "edm" | "synthwave" | "synth" | "house" | "techno" | "electro" => Self {
                tempo_bias: (0.4, 1.0),
                brightness: 1.4,
                reverb: 0.3,
                beat: true,
                pluck: Some(PluckTone::Saw),
                ..n
            },
            "cinematic" | "orchestral" | "epic" | "film" | "trailer" | "documentary" => Self {
                tempo_bias: (0.2, 0.8),
                brightness: 0.9,
                reverb: 0.5,
                ..n
            },
            "acoustic" | "folk" | "piano" | "classical" | "guitar" => Self {
                tempo_bias: (0.2, 0.8),
                brightness: 0.8,
                pluck: Some(PluckTone::Triangle),
                ..n
            },
            "pop" | "corporate" | "commercial" | "indie" => Self {
                tempo_bias: (0.3, 1.0),
                brightness: 1.2,
                reverb: 0.3,
                beat: true,
                pluck: Some(PluckTone::Saw),
                ..n
            },
            _ => return None,
        })
    }

    /// A known genre word, or the neutral genre (the genre text still varies the seed).
    fn resolve(key: &str) -> Self {
        words(key)
            .find_map(|w| Self::from_word(&w))
            .unwrap_or(Self::NEUTRAL)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Major,
    Minor,
    Dorian,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Major => "major",
            Self::Minor => "minor",
            Self::Dorian => "dorian",
        }
    }

    fn scale(self) -> [i32; 7] {
        match self {
            Self::Major => [0, 2, 4, 5, 7, 9, 11],
            Self::Minor => [0, 2, 3, 5, 7, 8, 10],
            Self::Dorian => [0, 2, 3, 5, 7, 9, 10],
        }
    }
}

/// A diatonic chord: semitones of its root above the tonic, its third and its seventh.
#[derive(Debug, Clone, Copy)]
struct Chord {
    label: &'static str,
    root: i32,
    third: i32,
    seventh: i32,
}

const fn chord(label: &'static str, root: i32, third: i32, seventh: i32) -> Chord {
    Chord {
        label,
        root,
        third,
        seventh,
    }
}

// Chords of a major key.
const MAJ_I: Chord = chord("I", 0, 4, 11);
const MAJ_II: Chord = chord("ii", 2, 3, 10);
const MAJ_III: Chord = chord("iii", 4, 3, 10);
const MAJ_IV: Chord = chord("IV", 5, 4, 11);
const MAJ_V: Chord = chord("V", 7, 4, 10);
const MAJ_VI: Chord = chord("vi", 9, 3, 10);
// Chords of a minor (or dorian) key; `MIN_V_MAJ` borrows harmonic minor's leading tone.
const MIN_I: Chord = chord("i", 0, 3, 10);
const MIN_III: Chord = chord("III", 3, 4, 11);
const MIN_IV: Chord = chord("iv", 5, 3, 10);
const MIN_V: Chord = chord("v", 7, 3, 10);
const MIN_V_MAJ: Chord = chord("V", 7, 4, 10);
const MIN_VI: Chord = chord("VI", 8, 4, 11);
const MIN_VII: Chord = chord("VII", 10, 4, 10);
const DOR_II: Chord = chord("ii", 2, 3, 10);
const DOR_IV: Chord = chord("IV", 5, 4, 10);

type Progressions = &'static [&'static [Chord]];

const CALM: Progressions = &[
    &[MAJ_I, MAJ_V, MAJ_VI, MAJ_IV],
    &[MAJ_I, MAJ_IV, MAJ_VI, MAJ_V],
    &[MAJ_I, MAJ_VI, MAJ_IV, MAJ_V],
    &[MAJ_I, MAJ_III, MAJ_IV, MAJ_IV],
];
const MYSTERIOUS_MINOR: Progressions = &[
    &[MIN_I, MIN_VI, MIN_III, MIN_VII],
    &[MIN_I, MIN_VI, MIN_IV, MIN_V],
    &[MIN_I, MIN_I, MIN_VI, MIN_VII],
];
const MYSTERIOUS_DORIAN: Progressions = &[
    &[MIN_I, DOR_IV, MIN_I, DOR_IV],
    &[MIN_I, DOR_IV, MIN_VII, MIN_I],
    &[MIN_I, DOR_II, DOR_IV, MIN_I],
];
const TENSE: Progressions = &[
    &[MIN_I, MIN_VI, MIN_III, MIN_VII],
    &[MIN_I, MIN_IV, MIN_VI, MIN_V_MAJ],
    &[MIN_I, MIN_VII, MIN_VI, MIN_V_MAJ],
    &[MIN_I, MIN_I, MIN_VI, MIN_V_MAJ],
];
const HOPEFUL: Progressions = &[
    &[MAJ_I, MAJ_V, MAJ_VI, MAJ_IV],
    &[MAJ_VI, MAJ_IV, MAJ_I, MAJ_V],
    &[MAJ_I, MAJ_IV, MAJ_VI, MAJ_V],
    &[MAJ_IV, MAJ_I, MAJ_V, MAJ_VI],
];
const JOYFUL: Progressions = &[
    &[MAJ_I, MAJ_V, MAJ_VI, MAJ_IV],
    &[MAJ_I, MAJ_IV, MAJ_V, MAJ_IV],
    &[MAJ_I, MAJ_VI, MAJ_II, MAJ_V],
    &[MAJ_I, MAJ_IV, MAJ_I, MAJ_V],
];
const MELANCHOLIC: Progressions = &[
    &[MIN_I, MIN_VI, MIN_III, MIN_VII],
    &[MIN_I, MIN_IV, MIN_VI, MIN_V_MAJ],
    &[MIN_I, MIN_IV, MIN_VII, MIN_III],
    &[MIN_I, MIN_VI, MIN_IV, MIN_V_MAJ],
];

fn progressions(mood: Mood, mode: Mode) -> Progressions {
    match (mood, mode) {
        (Mood::Calm, _) => CALM,
        (Mood::Mysterious, Mode::Dorian) => MYSTERIOUS_DORIAN,
        (Mood::Mysterious, _) => MYSTERIOUS_MINOR,
        (Mood::Tense, _) => TENSE,
        (Mood::Hopeful, _) => HOPEFUL,
        (Mood::Joyful, _) => JOYFUL,
        (Mood::Melancholic, _) => MELANCHOLIC,
    }
}

impl Chord {
    /// Roman-numeral name, with the seventh when it is voiced: "vi", "IVmaj7", "V7".
    fn name(self, sevenths: bool) -> String {
        match (sevenths, self.third, self.seventh) {
            (false, _, _) => self.label.to_string(),
            (true, 4, 11) => format!("{}maj7", self.label),
            (true, _, _) => format!("{}7", self.label),
        }
    }

    /// Pitch classes (0 = C) of the chord in the key whose tonic is `tonic`.
    fn pitch_classes(self, tonic: i32, sevenths: bool) -> Vec<i32> {
        let mut intervals = vec![0, self.third, 7];
        if sevenths {
            intervals.push(self.seventh);
        }
        intervals
            .into_iter()
            .map(|iv| (tonic + self.root + iv).rem_euclid(12))
            .collect()
    }
}

/// The MIDI note of pitch class `pc` in the octave starting at `low`.
fn place(pc: i32, low: i32) -> i32 {
    low + (pc - low).rem_euclid(12)
}

/// Equal-temperament frequency of a (possibly fractional) MIDI note; A4 = 69 = 440 Hz.
fn midi_hz(midi: f32) -> f32 {
    440.0 * ((midi - 69.0) / 12.0).exp2()
}

fn cents_ratio(cents: f32) -> f32 {
    (cents / 1200.0).exp2()
}

struct Plan {
    mood: Mood,
    mode: Mode,
    /// Pitch class of the tonic, 0 = C.
    tonic: i32,
    tempo: u32,
    progression: &'static [Chord],
}

impl Plan {
    fn choose(mood: Mood, genre: &Genre, rng: &mut ChaCha8Rng) -> Self {
        let tonic = rng.random_range(0..12);
        let mode = match mood {
            Mood::Calm | Mood::Hopeful | Mood::Joyful => Mode::Major,
            Mood::Tense | Mood::Melancholic => Mode::Minor,
            Mood::Mysterious if rng.random_bool(0.5) => Mode::Dorian,
            Mood::Mysterious => Mode::Minor,
        };
        let (lo, hi) = mood.tempo_range();
        let (bias_lo, bias_hi) = genre.tempo_bias;
        let position = rng.random_range(bias_lo..=bias_hi);
        let tempo = lo + ((hi - lo) as f32 * position).round() as u32;
        let pool = progressions(mood, mode);
        let progression = pool[rng.random_range(0..pool.len())];
        Self {
            mood,
            mode,
            tonic,
            tempo,
            progression,
        }
    }

    fn key_name(&self) -> String {
        format!(
            "{} {}",
            NOTE_NAMES[self.tonic.rem_euclid(12) as usize],
            self.mode.name()
        )
    }
}

/// Lowest note of a pad voicing.
const PAD_LOW: i32 = 52;
/// Where pad voicings like to sit.
const PAD_CENTRE: f32 = 62.0;

/// Close-position voicings (MIDI notes, ascending) for each chord, each led smoothly from the one before.
fn voice_progression(progression: &[Chord], tonic: i32, sevenths: bool) -> Vec<Vec<i32>> {
    let mut out: Vec<Vec<i32>> = Vec::with_capacity(progression.len());
    for chord in progression {
        let pcs = chord.pitch_classes(tonic, sevenths);
        let mut best: Option<(f32, Vec<i32>)> = None;
        for (inversion, &lowest) in pcs.iter().enumerate() {
            let mut notes = vec![place(lowest, PAD_LOW)];
            let mut last = notes[0];
            for k in 1..pcs.len() {
                let pc = pcs[(inversion + k) % pcs.len()];
                last += 1 + (pc - last - 1).rem_euclid(12);
                notes.push(last);
            }
            let cost = voicing_cost(&notes, out.last().map(Vec::as_slice));
            match &best {
                Some((best_cost, _)) if *best_cost <= cost => {}
                _ => best = Some((cost, notes)),
            }
        }
        if let Some((_, notes)) = best {
            out.push(notes);
        }
    }
    out
}

fn voicing_cost(notes: &[i32], previous: Option<&[i32]>) -> f32 {
    let mean = notes.iter().sum::<i32>() as f32 / notes.len() as f32;
    let centre = (mean - PAD_CENTRE).abs() * 0.3;
    match previous {
        Some(prev) if prev.len() == notes.len() => {
            let movement: i32 = notes.iter().zip(prev).map(|(a, b)| (a - b).abs()).sum();
            movement as f32 + centre
        }
        _ => centre * 3.0,
    }
}

// ---------------------------------------------------------------------------
// Arrangement
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct PadSound {
    detune_cents: f32,
    /// Saw share of the oscillator mix; the rest is triangle.
    saw: f32,
    cutoff: f32,
    /// Stereo distance between the two detuned oscillators.
    width: f32,
    attack: f32,
    release: f32,
    gain: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BassLine {
    /// Sine bass in whole or half notes.
    Held,
    /// Filtered saw pulsing in eighths.
    Eighths,
    /// Rounded bass in quarter-note patterns.
    Quarters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lead {
    Bells,
    SparsePlucks,
    Arpeggio,
    Piano,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Beat {
    None,
    Ticks,
    Pop { four_on_floor: bool },
    Soft,
}

struct Style {
    pad: PadSound,
    pad_name: &'static str,
    bass: Option<BassLine>,
    lead: Lead,
    pluck: PluckTone,
    pluck_decay: f32,
    drone: bool,
    beat: Beat,
}

impl Style {
    fn new(mood: Mood, genre: &Genre) -> Self {
        let pad = |detune_cents, saw, cutoff, width, attack, release, gain| PadSound {
            detune_cents,
            saw,
            cutoff,
            width,
            attack,
            release,
            gain,
        };
        let mut style = match mood {
            Mood::Calm => Self {
                pad: pad(4.0, 0.3, 1000.0, 0.25, 0.8, 1.5, 0.10),
                pad_name: "soft pad",
                bass: Some(BassLine::Held),
                lead: Lead::Bells,
                pluck: PluckTone::Triangle,
                pluck_decay: 0.8,
                drone: false,
                beat: Beat::None,
            },
            Mood::Mysterious => Self {
                pad: pad(14.0, 0.8, 750.0, 0.6, 1.0, 2.0, 0.09),
                pad_name: "detuned pad",
                bass: None,
                lead: Lead::SparsePlucks,
                pluck: PluckTone::Triangle,
                pluck_decay: 0.9,
                drone: true,
                beat: Beat::None,
            },
            Mood::Tense => Self {
                pad: pad(7.0, 0.9, 600.0, 0.4, 0.25, 0.6, 0.08),
                pad_name: "dark pad",
                bass: Some(BassLine::Eighths),
                lead: Lead::SparsePlucks,
                pluck: PluckTone::Square,
                pluck_decay: 0.5,
                drone: false,
                beat: Beat::Ticks,
            },
            Mood::Hopeful => Self {
                pad: pad(6.0, 0.6, 1500.0, 0.35, 0.4, 0.8, 0.07),
                pad_name: "warm pad",
                bass: Some(BassLine::Quarters),
                lead: Lead::Arpeggio,
                pluck: PluckTone::Saw,
                pluck_decay: 0.45,
                drone: false,
                beat: Beat::Pop {
                    four_on_floor: false,
                },
            },
            Mood::Joyful => Self {
                pad: pad(8.0, 0.8, 2200.0, 0.4, 0.15, 0.5, 0.06),
                pad_name: "bright pad",
                bass: Some(BassLine::Quarters),
                lead: Lead::Arpeggio,
                pluck: PluckTone::Saw,
                pluck_decay: 0.35,
                drone: false,
                beat: Beat::Pop {
                    four_on_floor: true,
                },
            },
            Mood::Melancholic => Self {
                pad: pad(5.0, 0.4, 850.0, 0.3, 1.2, 2.0, 0.09),
                pad_name: "slow pad",
                bass: Some(BassLine::Held),
                lead: Lead::Piano,
                pluck: PluckTone::Triangle,
                pluck_decay: 0.8,
                drone: false,
                beat: Beat::None,
            },
        };
        if genre.beat && style.beat == Beat::None && mood != Mood::Mysterious {
            style.beat = Beat::Soft;
        }
        if let Some(tone) = genre.pluck {
            style.pluck = tone;
        }
        style
    }

    fn instruments(&self) -> Vec<String> {
        let mut names = vec![self.pad_name.to_string()];
        if let Some(line) = self.bass {
            names.push(
                match line {
                    BassLine::Held => "sine bass",
                    BassLine::Eighths => "pulsing bass",
                    BassLine::Quarters => "round bass",
                }
                .to_string(),
            );
        }
        if self.drone {
            names.push("low drone".to_string());
        }
        names.push(match self.lead {
            Lead::Bells => "bell arpeggio".to_string(),
            Lead::SparsePlucks => format!("{} pluck", self.pluck.name()),
            Lead::Arpeggio => format!("{} pluck arpeggio", self.pluck.name()),
            Lead::Piano => "piano-like keys".to_string(),
        });
        let beat: &[&str] = match self.beat {
            Beat::None => &[],
            Beat::Ticks => &["muted percussion ticks", "low kick"],
            Beat::Pop { .. } => &["kick", "hi-hat"],
            Beat::Soft => &["soft kick", "soft hi-hat"],
        };
        names.extend(beat.iter().map(|s| s.to_string()));
        names
    }
}

/// The tempo grid in frames.
#[derive(Debug, Clone, Copy)]
struct Grid {
    frames_per_beat: f64,
    frames: usize,
}

impl Grid {
    fn new(tempo: u32, frames: usize) -> Self {
        Self {
            frames_per_beat: 60.0 * f64::from(SAMPLE_RATE) / f64::from(tempo.max(1)),
            frames,
        }
    }

    /// Frame at which `beats` (counted from the start) fall.
    fn at(self, beats: f64) -> usize {
        (beats * self.frames_per_beat).round() as usize
    }

    /// Frames spanned by `beats`.
    fn span(self, beats: f64) -> usize {
        self.at(beats)
    }

    /// Bars (of four beats) needed to cover the track, plus one so the music runs to the very end.
    fn bars(self) -> usize {
        (self.frames as f64 / (4.0 * self.frames_per_beat)).ceil() as usize + 1
    }
}

/// What the part writers need to know about the bar being written.
struct BarCtx<'a> {
    grid: Grid,
    /// Beat at which the bar starts.
    beat0: f64,
    mood: Mood,
    tonic: i32,
    /// Pitch class of the chord root.
    root: i32,
    pcs: &'a [i32],
    voicing: &'a [i32],
    scale: [i32; 7],
    /// 0.5..=1, set per four-bar section.
    density: f32,
    /// 0..4, set per four-bar section.
    pattern: usize,
}

impl BarCtx<'_> {
    fn note(&self, beat: f64, beats: f64, midi: i32, vel: f32, pan: f32) -> Note {
        Note {
            start: self.grid.at(self.beat0 + beat),
            gate: self.grid.span(beats),
            midi: midi as f32,
            vel,
            pan,
        }
    }
}

/// Pan position of voice `j` of `n`, spread evenly over ±`width`.
fn spread(j: usize, n: usize, width: f32) -> f32 {
    if n <= 1 {
        0.0
    } else {
        -width + 2.0 * width * j as f32 / (n - 1) as f32
    }
}

fn arrange(plan: &Plan, genre: &Genre, rng: &mut ChaCha8Rng, synth: &mut Synth) -> Vec<String> {
    let style = Style::new(plan.mood, genre);
    let frames = synth.mix.frames();
    let grid = Grid::new(plan.tempo, frames);
    let bars = grid.bars();
    // Short tracks start everything at once; longer ones let the pad breathe first.
    let intro = usize::from(bars >= 6);
    let drums_in = if bars >= 10 { 2 } else { intro };
    let voicings = voice_progression(plan.progression, plan.tonic, genre.sevenths);
    let chords: Vec<(Chord, Vec<i32>)> = plan
        .progression
        .iter()
        .map(|&c| (c, c.pitch_classes(plan.tonic, genre.sevenths)))
        .collect();

    if style.drone {
        synth.drone(place(plan.tonic, 36) as f32, frames);
    }

    let mut density = 1.0f32;
    let mut pattern = 0usize;
    for (bar, ((chord, pcs), voicing)) in
        chords.iter().zip(&voicings).cycle().take(bars).enumerate()
    {
        if bar % 4 == 0 {
            density = rng.random_range(0.5f32..=1.0);
            pattern = rng.random_range(0..4usize);
        }
        let ctx = BarCtx {
            grid,
            beat0: bar as f64 * 4.0,
            mood: plan.mood,
            tonic: plan.tonic,
            root: (plan.tonic + chord.root).rem_euclid(12),
            pcs,
            voicing,
            scale: plan.mode.scale(),
            density,
            pattern,
        };

        // The first chord starts quickly: the master fade-in already makes it gentle.
        let attack = if bar == 0 {
            style.pad.attack.min(0.3)
        } else {
            style.pad.attack
        };
        for (j, &midi) in voicing.iter().enumerate() {
            let pan = spread(j, voicing.len(), 0.4);
            synth.pad(ctx.note(0.0, 4.05, midi, 1.0, pan), &style.pad, attack);
        }
        if bar >= intro {
            if let Some(line) = style.bass {
                bass_bar(synth, rng, &ctx, line);
            }
            lead_bar(synth, rng, &ctx, &style);
        }
        if bar >= drums_in {
            drum_bar(synth, rng, &ctx, style.beat);
        }
    }
    style.instruments()
}

fn bass_bar(synth: &mut Synth, rng: &mut ChaCha8Rng, ctx: &BarCtx<'_>, line: BassLine) {
    let root = place(ctx.root, 40);
    match line {
        BassLine::Held => {
            if ctx.mood == Mood::Melancholic || rng.random_bool(0.4) {
                synth.bass(ctx.note(0.0, 3.9, root, 1.0, 0.0), line);
            } else {
                synth.bass(ctx.note(0.0, 1.9, root, 1.0, 0.0), line);
                let second = if rng.random_bool(0.4) {
                    place(ctx.root + 7, 40)
                } else {
                    root
                };
                synth.bass(ctx.note(2.0, 1.9, second, 0.85, 0.0), line);
            }
        }
        BassLine::Eighths => {
            for step in 0..8 {
                let midi = if step == 7 && rng.random_bool(0.3) {
                    root + 12
                } else {
                    root
                };
                let vel = match step % 4 {
                    0 => 1.0,
                    2 => 0.8,
                    _ => 0.65,
                };
                synth.bass(ctx.note(step as f64 * 0.5, 0.42, midi, vel, 0.0), line);
            }
        }
        BassLine::Quarters => {
            const PATTERNS: [[i32; 4]; 4] =
                [[0, 0, 7, 0], [0, 12, 7, 12], [0, 0, 0, 7], [0, 7, 12, 7]];
            for (beat, &offset) in PATTERNS[ctx.pattern % PATTERNS.len()].iter().enumerate() {
                let vel = if beat == 0 { 1.0 } else { 0.8 };
                synth.bass(ctx.note(beat as f64, 0.85, root + offset, vel, 0.0), line);
            }
            if rng.random_bool(0.25) {
                synth.bass(ctx.note(3.5, 0.4, root + 7, 0.6, 0.0), line);
            }
        }
    }
}

/// Degrees of the seven-note scale that form its pentatonic subset (minor pentatonic in minor and dorian).
const PENTATONIC: [usize; 5] = [0, 2, 3, 4, 6];

fn lead_bar(synth: &mut Synth, rng: &mut ChaCha8Rng, ctx: &BarCtx<'_>, style: &Style) {
    let grid = ctx.grid;
    match style.lead {
        Lead::Bells => {
            let mut hits = 0;
            for step in 0..8 {
                let p = ctx.density * if step % 2 == 0 { 0.45 } else { 0.15 };
                let forced = step == 4 && hits == 0 && rng.random_bool(0.5);
                if rng.random::<f32>() < p || forced {
                    hits += 1;
                    let pc = ctx.pcs[rng.random_range(0..ctx.pcs.len())];
                    let lift = if rng.random_bool(0.25) { 12 } else { 0 };
                    let vel = rng.random_range(0.55f32..1.0);
                    let pan = rng.random_range(-0.5f32..0.5);
                    let note = ctx.note(step as f64 * 0.5, 2.0, place(pc, 72) + lift, vel, pan);
                    echoed(synth, grid, note, Synth::bell);
                }
            }
        }
        Lead::SparsePlucks => {
            for step in 0..8 {
                let p = ctx.density * if step % 2 == 0 { 0.2 } else { 0.08 };
                if rng.random::<f32>() < p {
                    let degree = PENTATONIC[rng.random_range(0..PENTATONIC.len())];
                    let lift = if rng.random_bool(0.3) { 12 } else { 0 };
                    let midi = place(ctx.tonic + ctx.scale[degree], 62) + lift;
                    let vel = rng.random_range(0.5f32..0.9);
                    let pan = rng.random_range(-0.6f32..0.6);
                    let note = ctx.note(step as f64 * 0.5, 0.5, midi, vel, pan);
                    let (tone, decay) = (style.pluck, style.pluck_decay);
                    echoed(synth, grid, note, |s, n| s.pluck(n, tone, decay));
                }
            }
        }
        Lead::Arpeggio => {
            let mut notes: Vec<i32> = ctx.pcs.iter().map(|&pc| place(pc, 64)).collect();
            notes.sort_unstable();
            let upper: Vec<i32> = notes.iter().map(|n| n + 12).collect();
            notes.extend(upper);
            let n = notes.len();
            for step in 0..8usize {
                let index = match ctx.pattern {
                    0 => step % n,
                    1 => {
                        let period = 2 * (n - 1);
                        let t = step % period;
                        if t < n {
                            t
                        } else {
                            period - t
                        }
                    }
                    2 if step % 2 == 0 => (step / 2) % n,
                    2 => n - 1 - (step / 2) % n,
                    _ => rng.random_range(0..n),
                };
                // Sparser sections let some off-beats rest.
                if step % 2 == 1 && rng.random::<f32>() < (1.0 - ctx.density) * 0.5 {
                    continue;
                }
                let accent = if step % 2 == 0 { 0.95 } else { 0.7 };
                let vel = accent * rng.random_range(0.9f32..1.0);
                let pan = if step % 2 == 0 { -0.25 } else { 0.25 };
                let beat = step as f64 * 0.5;
                synth.pluck(
                    ctx.note(beat, 0.5, notes[index], vel, pan),
                    style.pluck,
                    style.pluck_decay,
                );
                if ctx.mood == Mood::Joyful && step % 2 == 1 && rng.random_bool(0.15) {
                    let next = notes[(index + 1) % n];
                    synth.pluck(
                        ctx.note(beat + 0.25, 0.25, next, vel * 0.8, -pan),
                        style.pluck,
                        style.pluck_decay,
                    );
                }
            }
        }
        Lead::Piano => {
            synth.piano(ctx.note(0.0, 4.0, place(ctx.root, 45), 0.75, -0.2));
            let upper: Vec<i32> = ctx.voicing.iter().map(|&m| place(m, 60)).collect();
            const ORDERS: [[usize; 3]; 4] = [[0, 1, 2], [1, 2, 0], [2, 1, 0], [0, 2, 1]];
            for (beat, &which) in ORDERS[ctx.pattern % ORDERS.len()].iter().enumerate() {
                if rng.random::<f32>() < 0.6 + 0.35 * ctx.density {
                    let beat = beat as f64 + 1.0;
                    let vel = rng.random_range(0.5f32..0.7);
                    let midi = upper[which % upper.len()];
                    synth.piano(ctx.note(beat, 4.0 - beat, midi, vel, 0.15));
                }
            }
            if rng.random::<f32>() < 0.45 * ctx.density {
                let degree = rng.random_range(0..ctx.scale.len());
                let beat = if rng.random_bool(0.5) { 0.0 } else { 2.0 };
                let midi = place(ctx.tonic + ctx.scale[degree], 72);
                synth.piano(ctx.note(beat, 2.0, midi, 0.7, 0.1));
            }
        }
    }
}

/// Plays `note` and two quieter repeats, dotted-eighth apart and bouncing across the stereo field.
fn echoed(synth: &mut Synth, grid: Grid, note: Note, play: impl Fn(&mut Synth, Note)) {
    play(synth, note);
    for (k, (delay, level)) in [(0.75, 0.38f32), (1.5, 0.15)].into_iter().enumerate() {
        let pan = if k == 0 { -note.pan } else { note.pan };
        play(
            synth,
            Note {
                start: note.start + grid.span(delay),
                vel: note.vel * level,
                pan,
                ..note
            },
        );
    }
}

fn drum_bar(synth: &mut Synth, rng: &mut ChaCha8Rng, ctx: &BarCtx<'_>, beat: Beat) {
    let at = |beats: f64| ctx.grid.at(ctx.beat0 + beats);
    match beat {
        Beat::None => {}
        Beat::Ticks => {
            for step in 0..16 {
                let pan = rng.random_range(-0.3f32..0.3);
                if step % 4 == 0 {
                    synth.tick(at(step as f64 * 0.25), 0.8, pan);
                } else if rng.random::<f32>() < 0.1 + 0.4 * ctx.density {
                    let vel = rng.random_range(0.25f32..0.5);
                    synth.tick(at(step as f64 * 0.25), vel, pan);
                }
            }
            synth.kick(at(0.0), 0.8);
            if rng.random_bool(0.4) {
                synth.kick(at(2.5), 0.5);
            }
        }
        Beat::Pop { four_on_floor } => {
            for beat in 0..4u8 {
                let q = f64::from(beat);
                if four_on_floor || beat % 2 == 0 {
                    synth.kick(at(q), 0.9);
                }
                synth.hat(at(q + 0.5), 0.7, 0.2);
                if four_on_floor {
                    synth.hat(at(q), 0.3, 0.2);
                    if rng.random_bool(f64::from(0.2 * ctx.density)) {
                        synth.hat(at(q + 0.75), 0.3, 0.25);
                    }
                }
            }
        }
        Beat::Soft => {
            synth.kick(at(0.0), 0.6);
            synth.kick(at(2.5), 0.45);
            for e in 0..8 {
                let vel = if e % 2 == 1 { 0.45 } else { 0.25 };
                synth.hat(at(f64::from(e) * 0.5), vel, 0.2);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Synthesis
// ---------------------------------------------------------------------------

/// One note to render: where it starts and how long it is held, in frames.
#[derive(Debug, Clone, Copy)]
struct Note {
    start: usize,
    gate: usize,
    midi: f32,
    vel: f32,
    pan: f32,
}

fn secs(s: f32) -> usize {
    (s.max(0.0) * SR).round() as usize
}

/// Share of a 60 dB decay worth rendering: the −40 dB point.
const TAIL: f32 = 2.0 / 3.0;

/// Per-sample multiplier that falls by 60 dB over `secs`.
fn falloff(secs: f32) -> f32 {
    if secs <= 0.0 {
        0.0
    } else {
        (0.001f32.ln() / (secs * SR)).exp()
    }
}

/// Exact one-pole low-pass coefficient for `cutoff` Hz.
fn lp_coef(cutoff: f32) -> f32 {
    1.0 - (-TAU * cutoff.clamp(10.0, SR * 0.45) / SR).exp()
}

/// Cheap approximation of [`lp_coef`] for cut-offs that move every sample.
#[inline]
fn lp_coef_fast(cutoff: f32) -> f32 {
    let w = TAU * cutoff.max(10.0) / SR;
    w / (1.0 + w)
}

/// Constant-power pan: −1 is hard left, +1 hard right.
fn pan_gains(pan: f32) -> (f32, f32) {
    let angle = (pan.clamp(-1.0, 1.0) + 1.0) * FRAC_PI_4;
    (angle.cos(), angle.sin())
}

/// Brings any phase into [0, 1).
#[inline]
fn wrap(x: f32) -> f32 {
    let w = x - (x as i32) as f32;
    if w < 0.0 {
        w + 1.0
    } else {
        w
    }
}

const TABLE_LEN: usize = 4096;

/// One sine cycle with a guard point, read with linear interpolation.
struct SineTable {
    table: [f32; TABLE_LEN + 1],
}

impl SineTable {
    fn new() -> Self {
        let mut table = [0.0; TABLE_LEN + 1];
        for (i, v) in table.iter_mut().enumerate() {
            *v = (std::f64::consts::TAU * i as f64 / TABLE_LEN as f64).sin() as f32;
        }
        Self { table }
    }

    /// The table, built once per process.
    fn shared() -> &'static Self {
        static TABLE: OnceLock<SineTable> = OnceLock::new();
        TABLE.get_or_init(Self::new)
    }

    /// sin(2π·phase) for any non-negative phase (whole cycles wrap).
    #[inline]
    fn at(&self, phase: f32) -> f32 {
        let x = phase * TABLE_LEN as f32;
        let whole = x as usize;
        let frac = x - whole as f32;
        let i = whole & (TABLE_LEN - 1);
        let a = self.table[i];
        let b = self.table[i + 1];
        a + (b - a) * frac
    }
}

/// Phase accumulator in cycles.
#[derive(Debug, Clone, Copy)]
struct Phasor {
    phase: f32,
    inc: f32,
}

impl Phasor {
    fn new(freq: f32, phase: f32) -> Self {
        Self {
            phase: wrap(phase),
            inc: (freq / SR).min(0.5),
        }
    }

    #[inline]
    fn tick(&mut self) -> f32 {
        let p = self.phase;
        self.phase += self.inc;
        if self.phase >= 1.0 {
            self.phase -= 1.0;
        }
        p
    }
}

/// PolyBLEP correction that removes most aliasing from a hard edge at phase 0.
#[inline]
fn poly_blep(t: f32, dt: f32) -> f32 {
    if t < dt {
        let x = t / dt;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

#[inline]
fn saw(p: f32, dt: f32) -> f32 {
    2.0 * p - 1.0 - poly_blep(p, dt)
}

#[inline]
fn square(p: f32, dt: f32) -> f32 {
    let naive = if p < 0.5 { 1.0 } else { -1.0 };
    naive + poly_blep(p, dt) - poly_blep(wrap(p + 0.5), dt)
}

#[inline]
fn triangle(p: f32) -> f32 {
    4.0 * (p - 0.5).abs() - 1.0
}

#[derive(Debug, Clone, Copy)]
struct OnePole {
    y: f32,
    a: f32,
}

impl OnePole {
    fn new(a: f32) -> Self {
        Self { y: 0.0, a }
    }

    #[inline]
    fn process(&mut self, x: f32) -> f32 {
        self.y += self.a * (x - self.y);
        self.y
    }
}

/// Envelope times in seconds; `decay` and `release` are times to fall by 60 dB.
#[derive(Debug, Clone, Copy)]
struct Adsr {
    attack: f32,
    decay: f32,
    sustain: f32,
    release: f32,
}

/// A running ADSR: linear attack, exponential decay and release.
#[derive(Debug, Clone, Copy)]
struct Env {
    t: usize,
    attack: usize,
    gate: usize,
    release: usize,
    inv_attack: f32,
    level: f32,
    sustain: f32,
    decay_k: f32,
    release_k: f32,
}

impl Env {
    fn new(adsr: Adsr, gate: usize) -> Self {
        let attack = secs(adsr.attack).max(1);
        Self {
            t: 0,
            attack,
            gate,
            release: secs(adsr.release),
            inv_attack: 1.0 / attack as f32,
            level: 0.0,
            sustain: adsr.sustain,
            decay_k: falloff(adsr.decay),
            release_k: falloff(adsr.release),
        }
    }

    /// Frames worth rendering: through the release down to −40 dB, below which a voice is lost in the mix.
    fn len(&self) -> usize {
        self.gate + self.release * 2 / 3
    }

    #[inline]
    fn tick(&mut self) -> f32 {
        if self.t < self.gate {
            if self.t < self.attack {
                self.level = self.t.wrapping_add(1) as f32 * self.inv_attack;
            } else {
                self.level = self.sustain + (self.level - self.sustain) * self.decay_k;
            }
        } else {
            self.level *= self.release_k;
        }
        // Wrapping (it never wraps in practice) keeps panic paths out of the hot loops.
        self.t = self.t.wrapping_add(1);
        self.level
    }
}

/// xorshift32 white noise in [−1, 1).
struct Noise(u32);

impl Noise {
    #[inline]
    fn tick(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        (x as i32) as f32 * (1.0 / 2_147_483_648.0)
    }
}

/// Frames rendered at a time: every voice adds into one block while it is still in cache.
const BLOCK: usize = 1024;

/// A sounding note that renders itself a block at a time.
trait Voice {
    /// Adds this voice's next `out.len()` frames into `out` (`[left, right, reverb send]`).
    fn fill(&mut self, out: &mut [[f32; 3]]);
}

/// A voice made of a per-frame closure returning the left and right sample.
struct FnVoice<F> {
    next: F,
    /// Reverb send applied to the sum of both channels.
    send: f32,
}

impl<F: FnMut() -> (f32, f32)> Voice for FnVoice<F> {
    #[inline]
    fn fill(&mut self, out: &mut [[f32; 3]]) {
        for frame in out {
            let (a, b) = (self.next)();
            frame[0] += a;
            frame[1] += b;
            frame[2] += (a + b) * self.send;
        }
    }
}

/// A voice placed in the track: it sounds over frames `start..end`.
struct Scheduled {
    start: usize,
    end: usize,
    voice: Box<dyn Voice>,
}

/// The score of voices, rendered in one block-wise pass into a stereo mix plus a mono reverb send.
struct Mix {
    frames: usize,
    voices: Vec<Scheduled>,
}

impl Mix {
    fn new(frames: usize) -> Self {
        Self {
            frames,
            voices: Vec::new(),
        }
    }

    fn frames(&self) -> usize {
        self.frames
    }

    /// Schedules `len` frames of a stereo voice from `start`, clipped to the track, feeding the reverb at `send`.
    fn add_stereo(
        &mut self,
        start: usize,
        len: usize,
        send: f32,
        next: impl FnMut() -> (f32, f32) + 'static,
    ) {
        let end = start.saturating_add(len).min(self.frames);
        if start >= end {
            return;
        }
        self.voices.push(Scheduled {
            start,
            end,
            voice: Box::new(FnVoice {
                next,
                send: send * 0.5,
            }),
        });
    }

    /// Renders every voice, block by block, into interleaved `[left, right, send]` frames.
    fn render(self) -> Vec<[f32; 3]> {
        let mut out = vec![[0.0f32; 3]; self.frames];
        let mut pending = self.voices;
        // Stable, so voices starting together keep their (deterministic) order.
        pending.sort_by_key(|v| v.start);
        let mut pending = pending.into_iter().peekable();
        let mut active: Vec<Scheduled> = Vec::new();
        for (index, block) in out.chunks_mut(BLOCK).enumerate() {
            let block_start = index * BLOCK;
            let block_end = block_start + block.len();
            while let Some(voice) = pending.next_if(|v| v.start < block_end) {
                active.push(voice);
            }
            for v in &mut active {
                let from = v.start.max(block_start) - block_start;
                let to = v.end.min(block_end) - block_start;
                if from < to {
                    v.voice.fill(&mut block[from..to]);
                }
            }
            active.retain(|v| v.end > block_end);
        }
        out
    }

    /// Adds a mono voice, panned.
    #[inline]
    fn add_mono(
        &mut self,
        start: usize,
        len: usize,
        pan: f32,
        send: f32,
        mut voice: impl FnMut() -> f32 + 'static,
    ) {
        let (gl, gr) = pan_gains(pan);
        self.add_stereo(start, len, send, move || {
            let x = voice();
            (x * gl, x * gr)
        });
    }
}

/// The instruments, writing into one mix.
struct Synth {
    mix: Mix,
    sine: &'static SineTable,
    brightness: f32,
    /// Oscillator phases and noise seeds, kept apart from the composition's choices.
    rng: ChaCha8Rng,
}

impl Synth {
    fn new(frames: usize, brightness: f32, seed: u64) -> Self {
        Self {
            mix: Mix::new(frames),
            sine: SineTable::shared(),
            brightness,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn phase(&mut self) -> f32 {
        self.rng.random()
    }

    fn noise(&mut self) -> Noise {
        Noise(self.rng.random::<u32>() | 1)
    }

    /// Two detuned saw/triangle oscillators through one-pole low-passes, spread left and right.
    fn pad(&mut self, n: Note, sound: &PadSound, attack: f32) {
        let f = midi_hz(n.midi);
        let detune = cents_ratio(sound.detune_cents);
        let mut a = Phasor::new(f * detune, self.phase());
        let mut b = Phasor::new(f / detune, self.phase());
        let coef = lp_coef(sound.cutoff * self.brightness);
        let (mut fa, mut fb) = (OnePole::new(coef), OnePole::new(coef));
        let (al, ar) = pan_gains(n.pan - sound.width);
        let (bl, br) = pan_gains(n.pan + sound.width);
        let adsr = Adsr {
            attack,
            decay: 1.0,
            sustain: 1.0,
            release: sound.release,
        };
        let mut env = Env::new(adsr, n.gate);
        let gain = n.vel * sound.gain;
        let (saw_w, tri_w) = (sound.saw, 1.0 - sound.saw);
        self.mix.add_stereo(n.start, env.len(), SEND_PAD, move || {
            let e = env.tick() * gain;
            let (pa, pb) = (a.tick(), b.tick());
            let xa = fa.process(saw_w * saw(pa, a.inc) + tri_w * triangle(pa)) * e;
            let xb = fb.process(saw_w * saw(pb, b.inc) + tri_w * triangle(pb)) * e;
            (xa * al + xb * bl, xa * ar + xb * br)
        });
    }

    fn bass(&mut self, n: Note, line: BassLine) {
        let f = midi_hz(n.midi);
        let mut osc = Phasor::new(f, 0.0);
        let sine = self.sine;
        match line {
            BassLine::Held => {
                let adsr = Adsr {
                    attack: 0.015,
                    decay: 0.8,
                    sustain: 0.75,
                    release: 0.25,
                };
                let mut env = Env::new(adsr, n.gate);
                let g = n.vel * 0.30;
                self.mix
                    .add_mono(n.start, env.len(), n.pan, SEND_BASS, move || {
                        let p = osc.tick();
                        let x = sine.at(p) + 0.3 * sine.at(2.0 * p) + 0.1 * sine.at(3.0 * p);
                        x * env.tick() * g
                    });
            }
            BassLine::Eighths => {
                let adsr = Adsr {
                    attack: 0.004,
                    decay: 0.2,
                    sustain: 0.3,
                    release: 0.05,
                };
                let mut env = Env::new(adsr, n.gate);
                let (base, depth) = (140.0 * self.brightness, 900.0 * n.vel * self.brightness);
                let mut sweep = 1.0f32;
                let sweep_k = falloff(0.25);
                let (mut lp1, mut lp2) = (OnePole::new(0.0), OnePole::new(0.0));
                let g = n.vel * 0.26;
                self.mix
                    .add_mono(n.start, env.len(), n.pan, SEND_BASS, move || {
                        let p = osc.tick();
                        let a = lp_coef_fast(base + depth * sweep);
                        sweep *= sweep_k;
                        lp1.a = a;
                        lp2.a = a;
                        let x = 0.8 * saw(p, osc.inc) + 0.5 * sine.at(p);
                        lp2.process(lp1.process(x)) * env.tick() * g
                    });
            }
            BassLine::Quarters => {
                let adsr = Adsr {
                    attack: 0.008,
                    decay: 0.4,
                    sustain: 0.55,
                    release: 0.1,
                };
                let mut env = Env::new(adsr, n.gate);
                let mut lp = OnePole::new(lp_coef(700.0 * self.brightness));
                let g = n.vel * 0.28;
                self.mix
                    .add_mono(n.start, env.len(), n.pan, SEND_BASS, move || {
                        let p = osc.tick();
                        let x = 0.7 * sine.at(p) + 0.35 * lp.process(saw(p, osc.inc));
                        x * env.tick() * g
                    });
            }
        }
    }

    /// FM bell: a sine carrier modulated at 3.5× with a fast-decaying index.
    fn bell(&mut self, n: Note) {
        let f = midi_hz(n.midi);
        let mut carrier = Phasor::new(f, 0.0);
        let mut modulator = Phasor::new(f * 3.5, 0.0);
        let mut index = 0.25 * n.vel;
        let index_k = falloff(0.6);
        let ring = 2.4;
        let adsr = Adsr {
            attack: 0.002,
            decay: ring,
            sustain: 0.0,
            release: 0.2,
        };
        let mut env = Env::new(adsr, secs(ring * TAIL));
        let g = n.vel * 0.2;
        let sine = self.sine;
        self.mix
            .add_mono(n.start, env.len(), n.pan, SEND_BELL, move || {
                let m = sine.at(modulator.tick()) * index;
                index *= index_k;
                sine.at(wrap(carrier.tick() + m)) * env.tick() * g
            });
    }

    /// Plucked string: a bright oscillator through a low-pass whose cut-off falls quickly.
    fn pluck(&mut self, n: Note, tone: PluckTone, decay: f32) {
        let f = midi_hz(n.midi);
        let mut osc = Phasor::new(f, self.phase());
        let floor = f * 1.5;
        let peak = (f * 8.0 * self.brightness).clamp(floor, 9000.0);
        let mut sweep = 1.0f32;
        let sweep_k = falloff(0.35);
        let mut lp = OnePole::new(0.0);
        let adsr = Adsr {
            attack: 0.002,
            decay,
            sustain: 0.0,
            release: 0.05,
        };
        let mut env = Env::new(adsr, secs(decay * TAIL));
        let g = n.vel * 0.14;
        self.mix
            .add_mono(n.start, env.len(), n.pan, SEND_PLUCK, move || {
                let p = osc.tick();
                let x = match tone {
                    PluckTone::Saw => saw(p, osc.inc),
                    PluckTone::Square => 0.8 * square(p, osc.inc),
                    PluckTone::Triangle => triangle(p) + 0.25 * saw(p, osc.inc),
                };
                lp.a = lp_coef_fast(floor + (peak - floor) * sweep);
                sweep *= sweep_k;
                lp.process(x) * env.tick() * g
            });
    }

    /// Piano-like tone: four slightly stretched partials, the higher ones dying sooner.
    fn piano(&mut self, n: Note) {
        const AMPS: [f32; 4] = [1.0, 0.45, 0.22, 0.12];
        let f = midi_hz(n.midi);
        let ring = (3.2 - (n.midi - 48.0) * 0.04).clamp(1.2, 3.2);
        let mut partials: [Phasor; 4] = std::array::from_fn(|k| {
            let h = (k + 1) as f32;
            Phasor::new(f * h * (1.0 + 0.0004 * h * h).sqrt(), 0.0)
        });
        let mut levels: [f32; 4] = std::array::from_fn(|k| AMPS[k] * n.vel.powf(k as f32 * 0.5));
        let ks: [f32; 4] = std::array::from_fn(|k| falloff(ring / (1.0 + 0.7 * k as f32)));
        let adsr = Adsr {
            attack: 0.004,
            decay: 1.0,
            sustain: 1.0,
            release: 0.4,
        };
        let mut env = Env::new(adsr, n.gate.min(secs(ring * TAIL)));
        let g = 0.2 * n.vel.sqrt();
        let sine = self.sine;
        self.mix
            .add_mono(n.start, env.len(), n.pan, SEND_PIANO, move || {
                let mut x = 0.0;
                for ((osc, level), k) in partials.iter_mut().zip(levels.iter_mut()).zip(&ks) {
                    x += sine.at(osc.tick()) * *level;
                    *level *= *k;
                }
                x * env.tick() * g
            });
    }

    /// A low sub sine plus root-and-fifth saws under a slowly breathing low-pass, for the whole track.
    fn drone(&mut self, midi: f32, frames: usize) {
        let f = midi_hz(midi);
        let spread = cents_ratio(4.0);
        let mut sub = Phasor::new(f, 0.0);
        let mut a = Phasor::new(f * spread, self.phase());
        let mut b = Phasor::new(f * 1.5 / spread, self.phase());
        let mut lfo = Phasor::new(0.06, self.phase());
        let (mut fl, mut fr) = (OnePole::new(0.0), OnePole::new(0.0));
        let adsr = Adsr {
            attack: 3.0,
            decay: 1.0,
            sustain: 1.0,
            release: 0.1,
        };
        let mut env = Env::new(adsr, frames);
        let (low, depth) = (160.0 * self.brightness, 320.0 * self.brightness);
        let sine = self.sine;
        self.mix.add_stereo(0, frames, SEND_DRONE, move || {
            let e = env.tick() * 0.2;
            let c = lp_coef_fast(low + depth * (0.5 + 0.5 * sine.at(lfo.tick())));
            fl.a = c;
            fr.a = c;
            let sa = saw(a.tick(), a.inc);
            let sb = saw(b.tick(), b.inc);
            let s = 0.6 * sine.at(sub.tick());
            let l = fl.process(0.65 * sa + 0.35 * sb);
            let r = fr.process(0.35 * sa + 0.65 * sb);
            ((s + l) * e, (s + r) * e)
        });
    }

    /// Sine kick with a falling pitch.
    fn kick(&mut self, start: usize, vel: f32) {
        let mut phase = 0.0f32;
        let mut extra = 75.0f32;
        let extra_k = (-1.0 / (0.03 * SR)).exp();
        let mut amp = vel * 0.45;
        let amp_k = falloff(0.45);
        let sine = self.sine;
        self.mix
            .add_mono(start, secs(0.45), 0.0, SEND_KICK, move || {
                let x = sine.at(phase) * amp;
                phase += (45.0 + extra) / SR;
                if phase >= 1.0 {
                    phase -= 1.0;
                }
                extra *= extra_k;
                amp *= amp_k;
                x
            });
    }

    /// Closed hi-hat: high-passed noise with a very short decay.
    fn hat(&mut self, start: usize, vel: f32, pan: f32) {
        let mut noise = self.noise();
        let mut lp = OnePole::new(lp_coef(7000.0));
        let mut amp = vel * 0.07;
        let amp_k = falloff(0.05);
        self.mix
            .add_mono(start, secs(0.06), pan, SEND_PERC, move || {
                let x = noise.tick();
                let y = (x - lp.process(x)) * amp;
                amp *= amp_k;
                y
            });
    }

    /// Muted tick: band-passed noise and a short high sine blip.
    fn tick(&mut self, start: usize, vel: f32, pan: f32) {
        let mut noise = self.noise();
        let (mut lp_hi, mut lp_lo) = (OnePole::new(lp_coef(3500.0)), OnePole::new(lp_coef(900.0)));
        let mut blip = Phasor::new(1300.0, 0.0);
        let mut amp = vel * 0.14;
        let amp_k = falloff(0.03);
        let sine = self.sine;
        self.mix
            .add_mono(start, secs(0.03), pan, SEND_PERC, move || {
                let x = lp_hi.process(noise.tick());
                let band = x - lp_lo.process(x);
                let y = (0.8 * band + 0.4 * sine.at(blip.tick())) * amp;
                amp *= amp_k;
                y
            });
    }

    /// Adds the reverb, removes DC, normalises the peak to about −6 dBFS and applies the fades.
    fn master(self, reverb_wet: f32) -> Vec<[f32; 3]> {
        let mut frames = self.mix.render();
        // The reverb runs at half rate (its damped tail has little above 12 kHz) and is
        // interpolated back up, which halves its cost.
        let mut reverb = Reverb::new();
        let mut previous_wet = [0.0f32; 2];
        // First-order DC blocker state per channel.
        let (mut x1, mut y1) = ([0.0f32; 2], [0.0f32; 2]);
        let mut peak = 0.0f32;
        for pair in frames.chunks_mut(2) {
            let send = pair.iter().map(|f| f[2]).sum::<f32>() * 0.5;
            let wet = reverb.process(send);
            for (k, frame) in pair.iter_mut().enumerate() {
                let t = if k == 0 { 0.5 } else { 1.0 };
                for (ch, sample) in frame[..2].iter_mut().enumerate() {
                    let w = previous_wet[ch] + (wet[ch] - previous_wet[ch]) * t;
                    let x = *sample + w * reverb_wet;
                    let y = x - x1[ch] + 0.9995 * y1[ch];
                    x1[ch] = x;
                    y1[ch] = y;
                    *sample = y;
                    peak = peak.max(y.abs());
                }
            }
            previous_wet = wet;
        }

        let gain = if peak > 1e-9 { PEAK_TARGET / peak } else { 0.0 };
        let total = frames.len();
        let fade_in = ((FADE_IN_MS * FRAMES_PER_MS) as usize)
            .min(total / 5)
            .max(1);
        let fade_out = ((FADE_OUT_MS * FRAMES_PER_MS) as usize)
            .min(total * 3 / 10)
            .max(1);
        for (i, frame) in frames.iter_mut().enumerate() {
            let mut g = gain;
            if i < fade_in {
                g *= (FRAC_PI_2 * (i as f32 + 0.5) / fade_in as f32).sin();
            }
            let remaining = total - i;
            if remaining <= fade_out {
                g *= (FRAC_PI_2 * (remaining as f32 - 0.5) / fade_out as f32).sin();
            }
            frame[0] *= g;
            frame[1] *= g;
        }
        frames
    }
}

/// Feedback comb with a damping low-pass in its loop.
struct Comb {
    buf: Vec<f32>,
    pos: usize,
    feedback: f32,
    damp: f32,
    store: f32,
}

impl Comb {
    fn new(len: usize, feedback: f32, damp: f32) -> Self {
        Self {
            buf: vec![0.0; len.max(1)],
            pos: 0,
            feedback,
            damp,
            store: 0.0,
        }
    }

    #[inline]
    fn process(&mut self, x: f32) -> f32 {
        let out = self.buf[self.pos];
        self.store = out + (self.store - out) * self.damp;
        self.buf[self.pos] = x + self.store * self.feedback;
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        out
    }
}

struct Allpass {
    buf: Vec<f32>,
    pos: usize,
}

impl Allpass {
    fn new(len: usize) -> Self {
        Self {
            buf: vec![0.0; len.max(1)],
            pos: 0,
        }
    }

    #[inline]
    fn process(&mut self, x: f32) -> f32 {
        let b = self.buf[self.pos];
        self.buf[self.pos] = x + b * 0.5;
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        b - x
    }
}

/// A small Schroeder/Freeverb-style stereo reverb: four damped combs and two all-passes per side.
struct Reverb {
    combs: [[Comb; 4]; 2],
    allpasses: [[Allpass; 2]; 2],
}

const REVERB_INPUT: f32 = 0.2;
/// The reverb's own sample rate: half the output rate.
const REVERB_RATE: f32 = SR / 2.0;

impl Reverb {
    fn new() -> Self {
        const COMBS: [usize; 4] = [1116, 1188, 1277, 1356];
        const ALLPASSES: [usize; 2] = [556, 441];
        const STEREO_SPREAD: usize = 23;
        let scale = |n: usize, side: usize| {
            ((n + side * STEREO_SPREAD) as f32 * REVERB_RATE / 44_100.0).round() as usize
        };
        Self {
            combs: std::array::from_fn(|side| {
                std::array::from_fn(|k| Comb::new(scale(COMBS[k], side), 0.82, 0.35))
            }),
            allpasses: std::array::from_fn(|side| {
                std::array::from_fn(|k| Allpass::new(scale(ALLPASSES[k], side)))
            }),
        }
    }

    #[inline]
    fn process(&mut self, x: f32) -> [f32; 2] {
        let input = x * REVERB_INPUT;
        let mut out = [0.0f32; 2];
        for ((o, combs), allpasses) in out
            .iter_mut()
            .zip(self.combs.iter_mut())
            .zip(self.allpasses.iter_mut())
        {
            let mut y = combs.iter_mut().map(|c| c.process(input)).sum::<f32>();
            for ap in allpasses.iter_mut() {
                y = ap.process(y);
            }
            *o = y;
        }
        out
    }
}

/// Rounds to 16-bit, staying one step inside full scale.
#[inline]
fn to_i16(x: f32) -> i16 {
    let y = x * 32767.0;
    let y = if y >= 0.0 { y + 0.5 } else { y - 0.5 };
    (y as i32).clamp(-32766, 32766) as i16
}

/// Writes the left and right channels of `frames` as a 16-bit stereo WAV.
fn encode_wav(frames: &[[f32; 3]]) -> anyhow::Result<Vec<u8>> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let samples = u32::try_from(frames.len() * 2).context("track too long for a WAV file")?;
    let mut bytes = Vec::with_capacity(44 + frames.len() * 4);
    let mut writer = hound::WavWriter::new(Cursor::new(&mut bytes), spec)?;
    let mut out = writer.get_i16_writer(samples);
    for frame in frames {
        out.write_sample(to_i16(frame[0]));
        out.write_sample(to_i16(frame[1]));
    }
    out.flush()?;
    writer.finalize()?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {

    use super::*;

    fn spec<'a>(mood: &'a str, genre: &'a str, duration_ms: u64, seed: u64) -> TrackSpec<'a> {
        TrackSpec {
            mood,
            genre,
            duration_ms,
            seed,
        }
    }

    fn decode(wav: &[u8]) -> anyhow::Result<(hound::WavSpec, Vec<i16>)> {
        let mut reader = hound::WavReader::new(Cursor::new(wav))?;
        let spec = reader.spec();
        let samples = reader.samples::<i16>().collect::<Result<Vec<_>, _>>()?;
        Ok((spec, samples))
    }

    fn rms_dbfs(samples: &[i16]) -> f64 {
        if samples.is_empty() {
            return -120.0;
        }
        let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
        let rms = (sum / samples.len() as f64).sqrt() / 32768.0;
        (20.0 * rms.log10()).max(-120.0)
    }

    /// Interleaved stereo samples from `from_ms` for `len_ms`.
    fn window(samples: &[i16], from_ms: u64, len_ms: u64) -> &[i16] {
        let start = (from_ms * 48 * 2) as usize;
        let end = ((from_ms + len_ms) * 48 * 2) as usize;
        &samples[start.min(samples.len())..end.min(samples.len())]
    }

    const MOOD_NAMES: [&str; 6] = [
        "calm",
        "mysterious",
        "tense",
        "hopeful",
        "joyful",
        "melancholic",
    ];

    #[test]
    fn sample_count_is_exact_for_any_duration() -> anyhow::Result<()> {
        for (mood, ms) in [
            ("calm", 10_000u64),
            ("tense", 61_234),
            ("joyful", 1),
            ("melancholic", 2_345),
            ("mysterious", 7_777),
        ] {
            let track = compose(&spec(mood, "ambient", ms, 7))?;
            let (wav_spec, samples) = decode(&track.wav)?;
            assert_eq!(wav_spec.sample_rate, SAMPLE_RATE);
            assert_eq!(wav_spec.channels, 2);
            assert_eq!(wav_spec.bits_per_sample, 16);
            assert_eq!(wav_spec.sample_format, hound::SampleFormat::Int);
            assert_eq!(samples.len() as u64, ms * 48 * 2, "{mood} {ms} ms");
            let reader = hound::WavReader::new(Cursor::new(&track.wav))?;
            assert_eq!(u64::from(reader.duration()), ms * 48);
        }
        Ok(())
    }

    #[test]
    fn same_spec_renders_identical_bytes() -> anyhow::Result<()> {
        for mood in MOOD_NAMES {
            let s = spec(mood, "lofi", 12_000, 42);
            let a = compose(&s)?;
            let b = compose(&s)?;
            assert_eq!(a, b, "{mood}");
        }
        Ok(())
    }

    #[test]
    fn seed_and_genre_vary_the_track() -> anyhow::Result<()> {
        let base = compose(&spec("calm", "ambient", 8_000, 1))?;
        let other_seed = compose(&spec("calm", "ambient", 8_000, 2))?;
        let other_genre = compose(&spec("calm", "electronic", 8_000, 1))?;
        assert_ne!(base.wav, other_seed.wav);
        assert_ne!(base.wav, other_genre.wav);
        Ok(())
    }

    #[test]
    fn moods_differ_in_tempo_or_progression() -> anyhow::Result<()> {
        let tracks = MOOD_NAMES
            .iter()
            .map(|mood| compose(&spec(mood, "", 4_000, 99)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for (i, a) in tracks.iter().enumerate() {
            for b in &tracks[i + 1..] {
                assert!(
                    a.tempo_bpm != b.tempo_bpm
                        || a.progression != b.progression
                        || a.instruments != b.instruments,
                    "{a:?} vs {b:?}"
                );
            }
        }
        // The documented tempo ranges hold for many seeds.
        for seed in 0..40 {
            let calm = compose(&spec("calm", "", 100, seed))?;
            let tense = compose(&spec("tense", "", 100, seed))?;
            let sad = compose(&spec("melancholic", "", 100, seed))?;
            assert!((70..=84).contains(&calm.tempo_bpm), "{}", calm.tempo_bpm);
            assert!((90..=110).contains(&tense.tempo_bpm), "{}", tense.tempo_bpm);
            assert!((60..=72).contains(&sad.tempo_bpm), "{}", sad.tempo_bpm);
            assert!(calm.key.ends_with("major"), "{}", calm.key);
            assert!(tense.key.ends_with("minor"), "{}", tense.key);
            assert_eq!(calm.progression.len(), 4);
        }
        Ok(())
    }

    #[test]
    fn unknown_mood_falls_back_by_hash() -> anyhow::Result<()> {
        let a = compose(&spec("zorblaxian", "vaporwave", 3_000, 5))?;
        let b = compose(&spec("zorblaxian", "vaporwave", 3_000, 5))?;
        assert_eq!(a, b);
        assert!((60..=120).contains(&a.tempo_bpm));
        assert!(!a.instruments.is_empty());
        // Mood words are found inside longer descriptions and are case-insensitive.
        let described = compose(&spec("Quiet, CALM evening", "", 3_000, 5))?;
        assert_eq!(described.instruments[0], "soft pad");
        assert_eq!(Mood::resolve("lo-fi sad"), Mood::Melancholic);
        assert_eq!(
            Mood::resolve("zorblaxian"),
            MOODS[(fnv1a(FNV_OFFSET, b"zorblaxian") % 6) as usize]
        );
        Ok(())
    }

    #[test]
    fn fnv1a_matches_reference_values() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn chords_use_equal_temperament_and_their_own_tones() {
        assert!((midi_hz(69.0) - 440.0).abs() < 1e-3);
        assert!((midi_hz(60.0) - 261.6256).abs() < 1e-3);
        assert!((midi_hz(81.0) - 880.0).abs() < 1e-2);
        // C major, I–V–vi–IV: C E G / G B D / A C E / F A C.
        let voicings = voice_progression(&[MAJ_I, MAJ_V, MAJ_VI, MAJ_IV], 0, false);
        let expected = [[0, 4, 7], [7, 11, 2], [9, 0, 4], [5, 9, 0]];
        for (voicing, pcs) in voicings.iter().zip(expected) {
            let mut got: Vec<i32> = voicing.iter().map(|m| m.rem_euclid(12)).collect();
            let mut want = pcs.to_vec();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want);
            assert!(voicing.windows(2).all(|w| w[0] < w[1]));
            assert!(voicing
                .iter()
                .all(|&m| (PAD_LOW..PAD_LOW + 24).contains(&m)));
        }
    }

    #[test]
    fn never_clips_and_peaks_near_minus_six_dbfs() -> anyhow::Result<()> {
        for (i, mood) in MOOD_NAMES.iter().enumerate() {
            for genre in ["", "electronic", "lofi"] {
                let track = compose(&spec(mood, genre, 20_000, i as u64))?;
                let (_, samples) = decode(&track.wav)?;
                let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
                assert!(peak < 32767, "{mood}/{genre}: peak {peak}");
                let peak_db = 20.0 * (f64::from(peak) / 32768.0).log10();
                assert!(
                    (-6.5..=-5.5).contains(&peak_db),
                    "{mood}/{genre}: {peak_db}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn middle_is_loud_enough_without_long_silences() -> anyhow::Result<()> {
        for (i, mood) in MOOD_NAMES.iter().enumerate() {
            let track = compose(&spec(mood, "", 30_000, 100 + i as u64))?;
            let (_, samples) = decode(&track.wav)?;
            let middle = rms_dbfs(window(&samples, 10_000, 10_000));
            assert!(middle > -35.0, "{mood}: middle RMS {middle:.1} dBFS");
            // No run of quiet (< −50 dBFS) 10 ms windows longer than half a second anywhere.
            let mut run = 0;
            let mut longest = 0;
            for chunk in samples.chunks(960) {
                if rms_dbfs(chunk) < -50.0 {
                    run += 10;
                    longest = longest.max(run);
                } else {
                    run = 0;
                }
            }
            assert!(longest <= 500, "{mood}: {longest} ms of silence");
        }
        Ok(())
    }

    #[test]
    fn fades_in_and_out() -> anyhow::Result<()> {
        for (i, mood) in MOOD_NAMES.iter().enumerate() {
            let ms = 15_000;
            let track = compose(&spec(mood, "cinematic", ms, 7 * i as u64))?;
            let (_, samples) = decode(&track.wav)?;
            let middle = rms_dbfs(window(&samples, 5_000, 5_000));
            let head = rms_dbfs(window(&samples, 0, 10));
            let tail = rms_dbfs(window(&samples, ms - 10, 10));
            assert!(
                head < middle - 25.0,
                "{mood}: head {head:.1} vs {middle:.1}"
            );
            assert!(
                tail < middle - 25.0,
                "{mood}: tail {tail:.1} vs {middle:.1}"
            );
        }
        Ok(())
    }

    #[test]
    fn genre_shapes_harmony_and_beat() -> anyhow::Result<()> {
        let lofi = compose(&spec("calm", "Lo-Fi", 1_000, 3))?;
        assert!(
            lofi.progression.iter().all(|c| c.ends_with('7')),
            "{:?}",
            lofi.progression
        );
        assert!(lofi.instruments.iter().any(|i| i == "soft kick"));
        let plain = compose(&spec("calm", "", 1_000, 3))?;
        assert!(plain.progression.iter().all(|c| !c.ends_with('7')));
        assert!(!plain.instruments.iter().any(|i| i.contains("kick")));
        Ok(())
    }

    #[test]
    fn rejects_empty_and_overlong_tracks() {
        assert!(compose(&spec("calm", "", 0, 1)).is_err());
        assert!(compose(&spec("calm", "", MAX_DURATION_MS + 1, 1)).is_err());
    }

    #[test]
    fn every_mood_renders_seventy_seconds_of_48khz_16_bit_stereo() -> anyhow::Result<()> {
        for mood in MOOD_NAMES {
            let track = compose(&spec(mood, "", 70_000, 3))?;
            assert_eq!(track.wav.len(), 44 + 70_000 * 48 * 4);
        }
        Ok(())
    }
}
