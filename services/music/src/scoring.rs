//! Music through the music chain: the prompt every provider reads, the procedural synthesiser as
//! the free last resort, and fitting a provider's track to the narration with FFmpeg.

use std::{collections::HashMap, path::Path, sync::Mutex};

use async_trait::async_trait;
use providers::{
    capability::{MusicReply, MusicRequest},
    client::{Answer, CallError, Client},
    units::Units,
};
use serde_json::{json, Value};

use crate::synth::{compose, TrackSpec};

const MOOD_MARK: &str = " instrumental background music, mood: ";
const STYLE: &str = ". No vocals, steady, loopable.";

/// The request for a run's music bed; the synthesiser parses genre and mood back from the prompt.
pub fn track_request(genre: &str, mood: &str, duration_ms: u64, seed: u64) -> MusicRequest {
    MusicRequest {
        prompt: format!("{genre}{MOOD_MARK}{mood}{STYLE}"),
        duration_ms: u32::try_from(duration_ms).unwrap_or(u32::MAX),
        seed,
    }
}

fn parse_prompt(prompt: &str) -> (&str, &str) {
    let body = prompt.strip_suffix(STYLE).unwrap_or(prompt);
    body.split_once(MOOD_MARK).unwrap_or((body, "calm"))
}

/// The procedural synthesiser: exactly the requested length, royalty-free; it keeps the musical
/// details of each track until the worker collects them for the licence record.
#[derive(Default)]
pub struct Synthesiser {
    details: Mutex<HashMap<(String, u32, u64), Value>>,
}

impl Synthesiser {
    /// Tempo, key, progression and instruments of the track made for `request`, once.
    pub fn take_details(&self, request: &MusicRequest) -> Option<Value> {
        let key = (request.prompt.clone(), request.duration_ms, request.seed);
        self.details.lock().ok()?.remove(&key)
    }
}

#[async_trait]
impl Client<providers::Music> for Synthesiser {
    fn provider(&self) -> &str {
        "offline"
    }

    fn model(&self) -> &str {
        "synthesiser"
    }

    fn paid(&self) -> bool {
        false
    }

    async fn call(&self, request: &MusicRequest) -> Result<Answer<MusicReply>, CallError> {
        let (genre, mood) = parse_prompt(&request.prompt);
        let (genre, mood, seed, duration_ms) = (
            genre.to_owned(),
            mood.to_owned(),
            request.seed,
            u64::from(request.duration_ms),
        );
        let track = tokio::task::spawn_blocking(move || {
            compose(&TrackSpec {
                mood: &mood,
                genre: &genre,
                duration_ms,
                seed,
            })
        })
        .await
        .map_err(|e| CallError::transient(format!("synthesiser: {e}")))?
        .map_err(|e| CallError::Refused {
            detail: format!("{e:#}"),
        })?;
        let details = json!({
            "tempo_bpm": track.tempo_bpm, "key": track.key, "progression": track.progression,
            "instruments": track.instruments, "seed": request.seed,
        });
        if let Ok(mut map) = self.details.lock() {
            if map.len() > 256 {
                map.clear();
            }
            map.insert(
                (request.prompt.clone(), request.duration_ms, request.seed),
                details,
            );
        }
        Ok(Answer::new(
            MusicReply {
                audio: track.wav.into(),
                format: "wav".to_owned(),
            },
            Units::default(),
        ))
    }
}

/// A provider's track as 48 kHz stereo WAV of exactly `duration_ms`: padded or cut, with fades.
pub async fn fit(
    ffmpeg: &str,
    audio: &[u8],
    format: &str,
    duration_ms: u64,
    scratch: &Path,
) -> anyhow::Result<Vec<u8>> {
    let seconds = duration_ms as f64 / 1000.0;
    let fade_out = (seconds - 2.0).max(0.0);
    let filter =
        format!("apad,atrim=0:{seconds:.3},afade=t=in:d=1,afade=t=out:st={fade_out:.3}:d=2");
    let args = [
        "-af",
        &filter,
        "-ar",
        "48000",
        "-ac",
        "2",
        "-c:a",
        "pcm_s16le",
    ];
    shared::ffmpeg::convert(
        ffmpeg,
        audio,
        &format!("provider.{format}"),
        &args,
        "music.wav",
        scratch,
        "the provider's track",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthesiser_reads_genre_and_mood_back_from_the_prompt() {
        let request = track_request("lo-fi", "melancholic", 1000, 1);
        assert_eq!(parse_prompt(&request.prompt), ("lo-fi", "melancholic"));
    }
}
