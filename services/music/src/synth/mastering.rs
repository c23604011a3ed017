//! Mastering: the reverb return, DC blocking, peak normalisation to about −6 dBFS and the fades.

use std::f32::consts::FRAC_PI_2;

use super::mix::Mix;
use super::reverb::Reverb;
use super::FRAMES_PER_MS;

/// Peak level after the final normalisation: about −6 dBFS.
const PEAK_TARGET: f32 = 0.5012;
const FADE_IN_MS: u64 = 1_000;
const FADE_OUT_MS: u64 = 2_000;

/// Adds the reverb, removes DC, normalises the peak to about −6 dBFS and applies the fades.
pub(super) fn master(mix: Mix, reverb_wet: f32) -> Vec<[f32; 3]> {
    let mut frames = mix.render();
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
