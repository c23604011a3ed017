//! WAV output: the mastered frames as a 16-bit stereo PCM file.

use std::io::Cursor;

use anyhow::Context as _;

use super::SAMPLE_RATE;

/// Rounds to 16-bit, staying one step inside full scale.
#[inline]
fn to_i16(x: f32) -> i16 {
    let y = x * 32767.0;
    let y = if y >= 0.0 { y + 0.5 } else { y - 0.5 };
    (y as i32).clamp(-32766, 32766) as i16
}

/// Writes the left and right channels of `frames` as a 16-bit stereo WAV.
pub(super) fn encode_wav(frames: &[[f32; 3]]) -> anyhow::Result<Vec<u8>> {
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
