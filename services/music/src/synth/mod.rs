//! Offline procedural background music: composes a mood-fitted piece and renders it as a 48 kHz stereo WAV.
//!
//! The request's words pick a [`mood`] and [`genre`]; [`theory`] turns them into a plan (key, tempo,
//! chord progression) and [`arrangement`] writes the parts bar by bar for the [`style`]'s line-up.
//! The [`instruments`] schedule voices, built from [`dsp`] primitives, into the [`mix`];
//! [`mastering`] adds the [`reverb`], levels and fades the result and [`wav`] encodes it.

mod arrangement;
mod dsp;
mod genre;
mod instruments;
mod mastering;
mod mix;
mod mood;
mod reverb;
mod style;
#[cfg(test)]
mod tests;
mod theory;
mod wav;

use anyhow::{bail, Context as _};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use arrangement::arrange;
use genre::Genre;
use instruments::Synth;
use mastering::master;
use mood::{style_hash, Mood};
use theory::Plan;
use wav::encode_wav;

/// Output sample rate in Hz.
pub const SAMPLE_RATE: u32 = 48_000;

const SR: f32 = SAMPLE_RATE as f32;
const FRAMES_PER_MS: u64 = SAMPLE_RATE as u64 / 1000;
/// Longest track one call renders (10 minutes); bounds memory use.
const MAX_DURATION_MS: u64 = 10 * 60 * 1000;

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
    let mixed = master(synth.mix, genre.reverb);
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
