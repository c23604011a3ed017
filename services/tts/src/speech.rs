//! Narration: each caption phrase is spoken separately through the speech chain (a paid voice or
//! espeak-ng), so every cue's timing is measured, not estimated.

use std::{io::Cursor, path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;
use providers::{
    capability::{SpeechReply, SpeechRequest},
    client::{Answer, CallError, Client},
    units::Units,
    CallContext, CallOptions, Chain, Speech,
};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use shared::child::Child;
use tokio::sync::Semaphore;

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
/// Longest espeak-ng may take for one phrase (it needs milliseconds).
const SPEAK_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest FFmpeg may take to resample a whole narration.
const RESAMPLE_TIMEOUT: Duration = Duration::from_secs(120);

/// One caption cue: a phrase and exactly when it is spoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub scene_index: usize,
    pub sentence_index: usize,
}

/// A finished narration: 48 kHz mono WAV bytes, its cues, and what the voices cost.
#[derive(Debug)]
pub struct Narration {
    pub wav: Vec<u8>,
    pub duration_ms: u64,
    pub cues: Vec<Cue>,
    pub cost_micros: u64,
    /// `provider:model` of each voice used, in order of first use.
    pub voices: Vec<String>,
}

/// The offline voice: espeak-ng at a fixed speaking rate. Free; no network.
#[derive(Debug, Clone)]
pub struct Espeak {
    pub program: String,
    /// Words per minute at speed 1.0.
    pub rate: u32,
}

#[async_trait]
impl Client<Speech> for Espeak {
    fn provider(&self) -> &str {
        "offline"
    }

    fn model(&self) -> &str {
        "espeak-ng"
    }

    fn paid(&self) -> bool {
        false
    }

    async fn call(&self, request: &SpeechRequest) -> Result<Answer<SpeechReply>, CallError> {
        let rate = (f64::from(self.rate) * f64::from(request.speed.clamp(0.5, 2.0))).round() as u32;
        let wav = speak(&self.program, &request.language, rate, &request.text)
            .await
            .map_err(|error| CallError::transient(format!("{error:#}")))?;
        Ok(Answer::new(
            SpeechReply {
                wav: wav.into(),
                alignment: Vec::new(),
            },
            Units::default(),
        ))
    }
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

/// Speaks every scene through `chain` and assembles one 48 kHz narration with measured cues.
pub async fn narrate(
    chain: &Chain<Speech>,
    context: &CallContext,
    language: &str,
    scenes: &[String],
    ffmpeg: &str,
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
            let request = SpeechRequest {
                text: phrase.text.clone(),
                language: language.to_owned(),
                voice: None,
                speed: 1.0,
            };
            let done = chain
                .call(context, &request, CallOptions::default())
                .await?;
            let (rate, samples) = decode_wav(&done.reply.wav)?;
            anyhow::Ok((rate, samples, done))
        }
    }))
    .await?;

    // Every phrase at the rate most phrases have (a fallback mid-narration may bring another).
    let source_rate = spoken.first().map(|(rate, _, _)| *rate).unwrap_or(22_050);
    let ms_to_samples = |ms: u64| (ms * u64::from(source_rate) / 1000) as usize;
    let mut samples: Vec<i16> = Vec::new();
    let mut cues = Vec::with_capacity(phrases.len());
    let mut cost_micros = 0;
    let mut voices: Vec<String> = Vec::new();
    for (phrase, (rate, audio, done)) in phrases.iter().zip(spoken) {
        cost_micros += done.cost_micros;
        let voice = format!("{}:{}", done.provider, done.model);
        if !voices.contains(&voice) {
            voices.push(voice);
        }
        let audio = if rate == source_rate {
            audio
        } else {
            resample_linear(&audio, rate, source_rate)
        };
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
    let wav = resample(ffmpeg, &samples, source_rate, scratch).await?;
    Ok(Narration {
        wav,
        duration_ms,
        cues,
        cost_micros,
        voices,
    })
}

/// Linear-interpolation resampling of one phrase to `to` Hz.
fn resample_linear(audio: &[i16], from: u32, to: u32) -> Vec<i16> {
    if audio.is_empty() || from == 0 {
        return Vec::new();
    }
    let length = (audio.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    (0..length)
        .map(|i| {
            let position = i as f64 * f64::from(from) / f64::from(to);
            let index = position.floor() as usize;
            let fraction = position - index as f64;
            let a = f64::from(audio[index.min(audio.len() - 1)]);
            let b = f64::from(audio[(index + 1).min(audio.len() - 1)]);
            (a + (b - a) * fraction).round() as i16
        })
        .collect()
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

/// Runs espeak-ng on one phrase; returns a WAV with its size fields filled in.
async fn speak(program: &str, language: &str, rate: u32, text: &str) -> anyhow::Result<Vec<u8>> {
    let output = Child::new(program, SPEAK_TIMEOUT)
        .named("espeak-ng")
        .args([
            "-v",
            language,
            "-s",
            &rate.to_string(),
            "--stdout",
            "--stdin",
        ])
        .stdin(text.as_bytes().to_vec())
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "espeak-ng failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    patch_sizes(output.stdout)
}

/// espeak-ng streams its WAV, leaving placeholder size fields; fills them in.
fn patch_sizes(mut wav: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let data = wav
        .windows(4)
        .position(|w| w == b"data")
        .context("espeak-ng output has no data chunk")?;
    let data_len = u32::try_from(wav.len() - data - 8)?;
    wav[data + 4..data + 8].copy_from_slice(&data_len.to_le_bytes());
    let riff_len = u32::try_from(wav.len() - 8)?;
    wav[4..8].copy_from_slice(&riff_len.to_le_bytes());
    Ok(wav)
}

/// Reads 16-bit PCM from a WAV (mixing stereo down to mono).
fn decode_wav(bytes: &[u8]) -> anyhow::Result<(u32, Vec<i16>)> {
    let reader =
        hound::WavReader::new(Cursor::new(bytes)).context("the voice did not return a WAV")?;
    let spec = reader.spec();
    anyhow::ensure!(
        spec.bits_per_sample == 16
            && spec.sample_format == hound::SampleFormat::Int
            && spec.channels >= 1,
        "unsupported voice format {spec:?}"
    );
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()?;
    let channels = usize::from(spec.channels);
    let mono = if channels == 1 {
        samples
    } else {
        samples
            .chunks_exact(channels)
            .map(|frame| {
                (frame.iter().map(|s| i32::from(*s)).sum::<i32>() / channels as i32) as i16
            })
            .collect()
    };
    Ok((spec.sample_rate, mono))
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
    let result = Child::new(ffmpeg, RESAMPLE_TIMEOUT)
        .named("FFmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i"])
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
        .output()
        .await?;
    if !result.status.success() {
        // Not every FFmpeg build has soxr; the default resampler is fine too.
        let fallback = Child::new(ffmpeg, RESAMPLE_TIMEOUT)
            .named("FFmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i"])
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
