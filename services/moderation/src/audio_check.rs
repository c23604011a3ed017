//! Audio measurements for moderation: level, peak, clipping and dead air of a 16-bit PCM WAV.

use std::io::Cursor;

use anyhow::{bail, Context as _};

/// Level reported for digital silence (where the true value is −∞).
const FLOOR_DBFS: f64 = -120.0;
/// A 10 ms window quieter than this counts as silence.
const SILENCE_DBFS: f64 = -50.0;
/// Length of the windows silence is judged over.
const WINDOW_MS: u64 = 10;
/// Magnitude at which a sample counts as clipped (full scale).
const CLIP_LEVEL: i32 = 32_767;
/// Reference for dBFS: the magnitude of the most negative 16-bit sample.
const FULL_SCALE: f64 = 32_768.0;

/// Measurements moderation rules judge audio by.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFacts {
    pub duration_ms: u64,
    pub sample_rate: u32,
    pub channels: u16,
    /// RMS level over the whole file, all channels; −120 for digital silence.
    pub rms_dbfs: f64,
    /// Largest sample magnitude; −120 for digital silence.
    pub peak_dbfs: f64,
    /// Fraction of samples at full scale (|s| ≥ 32767).
    pub clipped_ratio: f64,
    /// Longest run of consecutive 10 ms windows whose RMS is below −50 dBFS.
    pub longest_silence_ms: u64,
}

/// Decodes a 16-bit PCM WAV (any rate, mono or stereo) and measures it.
pub fn inspect_wav(bytes: &[u8]) -> anyhow::Result<AudioFacts> {
    let mut reader =
        hound::WavReader::new(Cursor::new(bytes)).context("not a readable WAV file")?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        bail!(
            "expected 16-bit integer PCM, got {}-bit {:?}",
            spec.bits_per_sample,
            spec.sample_format
        );
    }
    if spec.channels == 0 || spec.sample_rate == 0 {
        bail!(
            "invalid WAV format: {} channels at {} Hz",
            spec.channels,
            spec.sample_rate
        );
    }
    let channels = u64::from(spec.channels);
    let rate = u64::from(spec.sample_rate);

    // Frames per silence window (at least one, for very low rates).
    let window_frames = (rate * WINDOW_MS).div_ceil(1000).max(1);
    let window_samples = window_frames * channels;
    let silence_amplitude = FULL_SCALE * 10f64.powf(SILENCE_DBFS / 20.0);
    let silence_energy = silence_amplitude * silence_amplitude;

    let mut total = 0u64;
    let mut sum_sq = 0f64;
    let mut peak = 0i32;
    let mut clipped = 0u64;

    let mut window_count = 0u64;
    let mut window_sq = 0f64;
    let mut run_frames = 0u64;
    let mut longest_frames = 0u64;
    let mut close_window = |count: u64, sq: f64| {
        if count == 0 {
            return;
        }
        // RMS below the threshold ⇔ mean square below the threshold squared.
        if sq < silence_energy * count as f64 {
            run_frames += count / channels;
            longest_frames = longest_frames.max(run_frames);
        } else {
            run_frames = 0;
        }
    };

    for sample in reader.samples::<i16>() {
        let s = i32::from(sample.context("truncated or corrupt WAV sample data")?);
        let magnitude = s.abs();
        let sq = f64::from(s) * f64::from(s);
        total += 1;
        sum_sq += sq;
        peak = peak.max(magnitude);
        if magnitude >= CLIP_LEVEL {
            clipped += 1;
        }
        window_count += 1;
        window_sq += sq;
        if window_count == window_samples {
            close_window(window_count, window_sq);
            window_count = 0;
            window_sq = 0.0;
        }
    }
    // A partial last window counts for the frames it has.
    close_window(window_count, window_sq);

    let frames = total / channels;
    let to_ms = |frames: u64| (frames * 1000 + rate / 2) / rate;
    let rms = if total == 0 {
        0.0
    } else {
        (sum_sq / total as f64).sqrt()
    };
    Ok(AudioFacts {
        duration_ms: to_ms(frames),
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        rms_dbfs: dbfs(rms),
        peak_dbfs: dbfs(f64::from(peak)),
        clipped_ratio: if total == 0 {
            0.0
        } else {
            clipped as f64 / total as f64
        },
        longest_silence_ms: to_ms(longest_frames),
    })
}

/// Level of `amplitude` (in sample units) relative to full scale, floored at −120 dBFS.
fn dbfs(amplitude: f64) -> f64 {
    if amplitude <= 0.0 {
        FLOOR_DBFS
    } else {
        (20.0 * (amplitude / FULL_SCALE).log10()).max(FLOOR_DBFS)
    }
}

#[cfg(test)]
mod tests {
    use std::f64::consts::TAU;

    use super::*;

    fn wav(sample_rate: u32, channels: u16, samples: &[i16]) -> anyhow::Result<Vec<u8>> {
        let spec = hound::WavSpec {
            channels,
            sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut bytes = Vec::new();
        let mut writer = hound::WavWriter::new(Cursor::new(&mut bytes), spec)?;
        for &s in samples {
            writer.write_sample(s)?;
        }
        writer.finalize()?;
        Ok(bytes)
    }

    /// `ms` of a sine at `dbfs` peak level, repeated on every channel.
    fn sine(sample_rate: u32, channels: u16, ms: u64, freq: f64, dbfs: f64) -> Vec<i16> {
        let amplitude = FULL_SCALE * 10f64.powf(dbfs / 20.0);
        let frames = u64::from(sample_rate) * ms / 1000;
        (0..frames)
            .flat_map(|i| {
                let t = i as f64 / f64::from(sample_rate);
                let s = (amplitude * (TAU * freq * t).sin()).round() as i16;
                std::iter::repeat_n(s, usize::from(channels))
            })
            .collect()
    }

    #[test]
    fn silent_file_is_all_silence() -> anyhow::Result<()> {
        let facts = inspect_wav(&wav(16_000, 1, &[0; 16_000])?)?;
        assert_eq!(
            facts,
            AudioFacts {
                duration_ms: 1000,
                sample_rate: 16_000,
                channels: 1,
                rms_dbfs: -120.0,
                peak_dbfs: -120.0,
                clipped_ratio: 0.0,
                longest_silence_ms: 1000,
            }
        );
        // A length that is not a whole number of windows still counts in full.
        let facts = inspect_wav(&wav(48_000, 2, &[0; 2 * 48 * 1234])?)?;
        assert_eq!(facts.duration_ms, 1234);
        assert_eq!(facts.longest_silence_ms, 1234);
        Ok(())
    }

    #[test]
    fn clipped_square_wave_is_flagged() -> anyhow::Result<()> {
        // 100 Hz square wave at full scale, stereo, 500 ms.
        let samples: Vec<i16> = (0..24_000)
            .flat_map(|i| {
                let s = if (i / 240) % 2 == 0 {
                    i16::MAX
                } else {
                    i16::MIN
                };
                [s, s]
            })
            .collect();
        let facts = inspect_wav(&wav(48_000, 2, &samples)?)?;
        assert_eq!(facts.duration_ms, 500);
        assert_eq!(facts.channels, 2);
        assert!(facts.clipped_ratio > 0.99, "{}", facts.clipped_ratio);
        assert!(facts.peak_dbfs > -0.01, "{}", facts.peak_dbfs);
        assert!(facts.rms_dbfs > -0.01, "{}", facts.rms_dbfs);
        assert_eq!(facts.longest_silence_ms, 0);
        Ok(())
    }

    #[test]
    fn sine_at_minus_twelve_dbfs_measures_correctly() -> anyhow::Result<()> {
        for (rate, channels) in [(44_100, 1), (48_000, 2), (22_050, 1)] {
            let samples = sine(rate, channels, 2_000, 440.0, -12.0);
            let facts = inspect_wav(&wav(rate, channels, &samples)?)?;
            assert_eq!(facts.duration_ms, 2_000);
            assert_eq!(facts.sample_rate, rate);
            assert_eq!(facts.channels, channels);
            // A sine's RMS is its peak less 3.01 dB.
            assert!((facts.rms_dbfs - -15.05).abs() < 0.5, "{facts:?}");
            assert!((facts.peak_dbfs - -12.0).abs() < 0.05, "{facts:?}");
            assert_eq!(facts.clipped_ratio, 0.0);
            assert_eq!(facts.longest_silence_ms, 0);
        }
        Ok(())
    }

    #[test]
    fn finds_the_longest_gap_between_sounds() -> anyhow::Result<()> {
        let tone = sine(48_000, 1, 1_000, 300.0, -20.0);
        let hiss = sine(48_000, 1, 700, 300.0, -60.0);
        let mut samples = tone.clone();
        samples.extend(std::iter::repeat_n(0, 48 * 300));
        samples.extend(&tone);
        samples.extend(&hiss);
        samples.extend(std::iter::repeat_n(0, 48 * 1_300));
        samples.extend(&tone);
        let facts = inspect_wav(&wav(48_000, 1, &samples)?)?;
        assert_eq!(facts.duration_ms, 5_300);
        // Quiet hiss (−60 dBFS peak) counts as silence along with the digital silence after it.
        assert!(
            (1_990..=2_010).contains(&facts.longest_silence_ms),
            "{facts:?}"
        );
        Ok(())
    }

    #[test]
    fn garbage_and_unsupported_formats_are_errors() -> anyhow::Result<()> {
        assert!(inspect_wav(b"definitely not a wav file").is_err());
        assert!(inspect_wav(&[]).is_err());
        assert!(inspect_wav(&[0xff; 1024]).is_err());

        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8_000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut bytes = Vec::new();
        let mut writer = hound::WavWriter::new(Cursor::new(&mut bytes), spec)?;
        writer.write_sample(0.5f32)?;
        writer.finalize()?;
        assert!(inspect_wav(&bytes).is_err());

        // A header that promises more data than the file holds.
        let mut truncated = wav(8_000, 1, &[1_000; 800])?;
        truncated.truncate(truncated.len() - 101);
        assert!(inspect_wav(&truncated).is_err());
        Ok(())
    }
}
