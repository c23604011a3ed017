//! Music theory: modes and scales, diatonic chords and each mood's progressions, pitch maths,
//! the track's plan (key, tempo, progression) and smoothly led pad voicings.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::genre::Genre;
use super::mood::Mood;

const NOTE_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
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

    pub(super) fn scale(self) -> [i32; 7] {
        match self {
            Self::Major => [0, 2, 4, 5, 7, 9, 11],
            Self::Minor => [0, 2, 3, 5, 7, 8, 10],
            Self::Dorian => [0, 2, 3, 5, 7, 9, 10],
        }
    }
}

/// A diatonic chord: semitones of its root above the tonic, its third and its seventh.
#[derive(Debug, Clone, Copy)]
pub(super) struct Chord {
    label: &'static str,
    pub(super) root: i32,
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
    pub(super) fn name(self, sevenths: bool) -> String {
        match (sevenths, self.third, self.seventh) {
            (false, _, _) => self.label.to_string(),
            (true, 4, 11) => format!("{}maj7", self.label),
            (true, _, _) => format!("{}7", self.label),
        }
    }

    /// Pitch classes (0 = C) of the chord in the key whose tonic is `tonic`.
    pub(super) fn pitch_classes(self, tonic: i32, sevenths: bool) -> Vec<i32> {
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
pub(super) fn place(pc: i32, low: i32) -> i32 {
    low + (pc - low).rem_euclid(12)
}

/// Equal-temperament frequency of a (possibly fractional) MIDI note; A4 = 69 = 440 Hz.
pub(super) fn midi_hz(midi: f32) -> f32 {
    440.0 * ((midi - 69.0) / 12.0).exp2()
}

pub(super) fn cents_ratio(cents: f32) -> f32 {
    (cents / 1200.0).exp2()
}

pub(super) struct Plan {
    pub(super) mood: Mood,
    pub(super) mode: Mode,
    /// Pitch class of the tonic, 0 = C.
    pub(super) tonic: i32,
    pub(super) tempo: u32,
    pub(super) progression: &'static [Chord],
}

impl Plan {
    pub(super) fn choose(mood: Mood, genre: &Genre, rng: &mut ChaCha8Rng) -> Self {
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

    pub(super) fn key_name(&self) -> String {
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
pub(super) fn voice_progression(
    progression: &[Chord],
    tonic: i32,
    sevenths: bool,
) -> Vec<Vec<i32>> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
