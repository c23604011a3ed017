//! espeak-ng narration: each caption phrase is spoken separately, so every cue's timing is measured, not estimated.

use std::{io::Cursor, path::Path, process::Stdio, sync::Arc};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::{io::AsyncWriteExt as _, process::Command, sync::Semaphore};

/// Output sample rate of every narration.
pub const SAMPLE_RATE: u32 = 48_000;
/// Most words in one caption phrase.
const MAX_PHRASE_WORDS: usize = 7;
/// Pauses inserted between phrases of a sentence, between sentences and between scenes.
const PHRASE_GAP_MS: u64 = 90;
const SENTENCE_GAP_MS: u64 = 280;
const SCENE_GAP_MS: u64 = 450;
/// Samples quieter than this (of 32767) at either end of a phrase are trimmed.
const SILENCE_THRESHOLD: i16 = 300;
/// Silence kept at each end of a trimmed phrase, in ms.
const EDGE_MS: u64 = 30;

/// One caption cue: a phrase and exactly when it is spoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub scene_index: usize,
    pub sentence_index: usize,
}

/// A finished narration: 48 kHz mono WAV bytes and its cues.
#[derive(Debug)]
pub struct Narration {
    pub wav: Vec<u8>,
    pub duration_ms: u64,
    pub cues: Vec<Cue>,
}

/// How to run the synthesiser.
#[derive(Debug, Clone)]
pub struct Voice {
    pub espeak: String,
    pub ffmpeg: String,
    pub language: String,
    /// Words per minute.
    pub rate: u32,
}

struct Phrase {
    text: String,
    scene_index: usize,
    sentence_index: usize,
    /// Pause before this phrase.
    gap_ms: u64,
}

/// Splits scene narrations into sentences and sentences into caption-sized phrases.
fn phrases(scenes: &[String]) -> Vec<Phrase> {
    let mut out = Vec::new();
    let mut sentence_index = 0;
    for (scene_index, narration) in scenes.iter().enumerate() {
        for (n, sentence) in sentences(narration).into_iter().enumerate() {
            for (p, text) in split_phrase(&sentence).into_iter().enumerate() {
                let gap_ms = match (out.is_empty(), n, p) {
                    (true, _, _) => 0,
                    (_, 0, 0) => SCENE_GAP_MS,
                    (_, _, 0) => SENTENCE_GAP_MS,
                    _ => PHRASE_GAP_MS,
                };
                out.push(Phrase {
                    text,
                    scene_index,
                    sentence_index,
                    gap_ms,
                });
            }
            sentence_index += 1;
        }
    }
    out
}

fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        current.push(*c);
        let ends =
            matches!(c, '.' | '!' | '?') && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        if ends {
            push_trimmed(&mut out, &current);
            current.clear();
        }
    }
    push_trimmed(&mut out, &current);
    out
}

fn push_trimmed(out: &mut Vec<String>, text: &str) {
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        out.push(trimmed.to_owned());
    }
}

/// Splits a sentence into phrases of at most `MAX_PHRASE_WORDS`, preferring breaks after commas.
fn split_phrase(sentence: &str) -> Vec<String> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < words.len() {
        let remaining = words.len() - start;
        let mut end = if remaining <= MAX_PHRASE_WORDS {
            words.len()
        } else {
            // Balance the last two phrases rather than leave a one-word orphan.
            let take = if remaining < 2 * MAX_PHRASE_WORDS {
                remaining.div_ceil(2)
            } else {
                MAX_PHRASE_WORDS
            };
            start + take
        };
        if end < words.len() {
            if let Some(comma) = (start + 2..end)
                .rev()
                .find(|&i| words[i].ends_with([',', ';', ':']))
            {
                end = comma + 1;
            }
        }
        out.push(words[start..end].join(" "));
        start = end;
    }
    out
}

/// Speaks every scene and assembles one 48 kHz narration with measured cues.
pub async fn narrate(
    voice: &Voice,
    scenes: &[String],
    scratch: &Path,
) -> anyhow::Result<Narration> {
    let phrases = phrases(scenes);
    anyhow::ensure!(!phrases.is_empty(), "nothing to narrate");
    let limit = Arc::new(Semaphore::new(
        std::thread::available_parallelism()
            .map(|n| n.get() * 2)
            .unwrap_or(4),
    ));
    let spoken = futures::future::try_join_all(phrases.iter().map(|phrase| {
        let limit = limit.clone();
        async move {
            let _permit = limit.acquire().await?;
            speak(voice, &phrase.text).await
        }
    }))
    .await?;

    let source_rate = spoken.first().map(|(rate, _)| *rate).unwrap_or(22_050);
    let ms_to_samples = |ms: u64| (ms * u64::from(source_rate) / 1000) as usize;
    let mut samples: Vec<i16> = Vec::new();
    let mut cues = Vec::with_capacity(phrases.len());
    for (phrase, (rate, audio)) in phrases.iter().zip(spoken) {
        anyhow::ensure!(
            rate == source_rate,
            "espeak-ng changed sample rate mid-narration"
        );
        samples.resize(samples.len() + ms_to_samples(phrase.gap_ms), 0);
        let audio = trim_silence(&audio, ms_to_samples(EDGE_MS));
        let start_ms = samples.len() as u64 * 1000 / u64::from(source_rate);
        samples.extend_from_slice(audio);
        let end_ms = samples.len() as u64 * 1000 / u64::from(source_rate);
        cues.push(Cue {
            start_ms,
            end_ms,
            text: phrase.text.clone(),
            scene_index: phrase.scene_index,
            sentence_index: phrase.sentence_index,
        });
    }
    let duration_ms = samples.len() as u64 * 1000 / u64::from(source_rate);
    let wav = resample(&voice.ffmpeg, &samples, source_rate, scratch).await?;
    Ok(Narration {
        wav,
        duration_ms,
        cues,
    })
}

fn trim_silence(audio: &[i16], keep: usize) -> &[i16] {
    let first = audio
        .iter()
        .position(|s| s.unsigned_abs() > SILENCE_THRESHOLD as u16)
        .unwrap_or(0);
    let last = audio
        .iter()
        .rposition(|s| s.unsigned_abs() > SILENCE_THRESHOLD as u16)
        .map_or(audio.len(), |i| i + 1);
    &audio[first.saturating_sub(keep)..(last + keep).min(audio.len())]
}

/// Runs espeak-ng on one phrase; returns its sample rate and mono samples.
async fn speak(voice: &Voice, text: &str) -> anyhow::Result<(u32, Vec<i16>)> {
    let mut child = Command::new(&voice.espeak)
        .args([
            "-v",
            &voice.language,
            "-s",
            &voice.rate.to_string(),
            "--stdout",
            "--stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("espeak-ng is not available (`{}`)", voice.espeak))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).await?;
    }
    let output = child.wait_with_output().await?;
    anyhow::ensure!(
        output.status.success(),
        "espeak-ng failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    decode_wav(&output.stdout)
}

/// Reads 16-bit mono PCM from a WAV espeak-ng streamed (its size fields may be placeholders).
fn decode_wav(bytes: &[u8]) -> anyhow::Result<(u32, Vec<i16>)> {
    let mut patched = bytes.to_vec();
    let data = patched
        .windows(4)
        .position(|w| w == b"data")
        .context("espeak-ng output has no data chunk")?;
    let data_len = u32::try_from(patched.len() - data - 8)?;
    patched[data + 4..data + 8].copy_from_slice(&data_len.to_le_bytes());
    let riff_len = u32::try_from(patched.len() - 8)?;
    patched[4..8].copy_from_slice(&riff_len.to_le_bytes());
    let reader =
        hound::WavReader::new(Cursor::new(patched)).context("espeak-ng output is not a WAV")?;
    let spec = reader.spec();
    anyhow::ensure!(
        spec.channels == 1 && spec.bits_per_sample == 16,
        "unexpected espeak-ng format {spec:?}"
    );
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()?;
    Ok((spec.sample_rate, samples))
}

/// Resamples to 48 kHz with FFmpeg's resampler.
async fn resample(
    ffmpeg: &str,
    samples: &[i16],
    rate: u32,
    scratch: &Path,
) -> anyhow::Result<Vec<u8>> {
    let input = scratch.join("narration-source.wav");
    let output = scratch.join("narration.wav");
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&input, spec)?;
        for sample in samples {
            writer.write_sample(*sample)?;
        }
        writer.finalize()?;
    }
    let result = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&input)
        .args([
            "-af",
            "aresample=resampler=soxr:precision=20",
            "-ar",
            &SAMPLE_RATE.to_string(),
            "-c:a",
            "pcm_s16le",
        ])
        .arg(&output)
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("FFmpeg is not available (`{ffmpeg}`)"))?;
    if !result.status.success() {
        // Not every FFmpeg build has soxr; the default resampler is fine too.
        let fallback = Command::new(ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
            .arg(&input)
            .args(["-ar", &SAMPLE_RATE.to_string(), "-c:a", "pcm_s16le"])
            .arg(&output)
            .output()
            .await?;
        anyhow::ensure!(
            fallback.status.success(),
            "FFmpeg resampling failed: {}",
            String::from_utf8_lossy(&fallback.stderr).trim()
        );
    }
    Ok(tokio::fs::read(&output).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_into_caption_phrases() {
        let scenes = vec![
            "The lamp turned slowly. Somewhere below, the sea kept counting the hours, patient and cold, until the dawn came back.".to_owned(),
            "Done!".to_owned(),
        ];
        let phrases = phrases(&scenes);
        let texts: Vec<&str> = phrases.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts[0], "The lamp turned slowly.");
        assert!(
            phrases
                .iter()
                .all(|p| p.text.split_whitespace().count() <= MAX_PHRASE_WORDS),
            "{texts:?}"
        );
        assert_eq!(texts.join(" "), scenes.join(" "), "no word lost or added");
        assert_eq!(
            phrases
                .last()
                .map(|p| (p.scene_index, p.sentence_index, p.gap_ms)),
            Some((1, 2, SCENE_GAP_MS))
        );
        assert_eq!(phrases[1].gap_ms, SENTENCE_GAP_MS);
        assert_eq!(phrases[2].gap_ms, PHRASE_GAP_MS);
    }

    #[test]
    fn decimals_do_not_end_sentences() {
        assert_eq!(
            sentences("It cost 3.50 dollars. Then it rained."),
            vec!["It cost 3.50 dollars.", "Then it rained."]
        );
    }
}
