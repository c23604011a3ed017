//! Whole-track tests of `compose`: exact length, determinism, variety, loudness, fades and the
//! mood and genre choices.

use std::io::Cursor;

use super::mood::{fnv1a, Mood, FNV_OFFSET, MOODS};
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
