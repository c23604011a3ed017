//! DSP primitives: time and pan helpers, the sine table, band-limited oscillators, the one-pole
//! filter, the ADSR envelope and white noise.

use std::f32::consts::{FRAC_PI_4, TAU};
use std::sync::OnceLock;

use super::SR;

pub(super) fn secs(s: f32) -> usize {
    (s.max(0.0) * SR).round() as usize
}

/// Share of a 60 dB decay worth rendering: the −40 dB point.
pub(super) const TAIL: f32 = 2.0 / 3.0;

/// Per-sample multiplier that falls by 60 dB over `secs`.
pub(super) fn falloff(secs: f32) -> f32 {
    if secs <= 0.0 {
        0.0
    } else {
        (0.001f32.ln() / (secs * SR)).exp()
    }
}

/// Exact one-pole low-pass coefficient for `cutoff` Hz.
pub(super) fn lp_coef(cutoff: f32) -> f32 {
    1.0 - (-TAU * cutoff.clamp(10.0, SR * 0.45) / SR).exp()
}

/// Cheap approximation of [`lp_coef`] for cut-offs that move every sample.
#[inline]
pub(super) fn lp_coef_fast(cutoff: f32) -> f32 {
    let w = TAU * cutoff.max(10.0) / SR;
    w / (1.0 + w)
}

/// Constant-power pan: −1 is hard left, +1 hard right.
pub(super) fn pan_gains(pan: f32) -> (f32, f32) {
    let angle = (pan.clamp(-1.0, 1.0) + 1.0) * FRAC_PI_4;
    (angle.cos(), angle.sin())
}

/// Brings any phase into [0, 1).
#[inline]
pub(super) fn wrap(x: f32) -> f32 {
    let w = x - (x as i32) as f32;
    if w < 0.0 {
        w + 1.0
    } else {
        w
    }
}

const TABLE_LEN: usize = 4096;

/// One sine cycle with a guard point, read with linear interpolation.
pub(super) struct SineTable {
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
    pub(super) fn shared() -> &'static Self {
        static TABLE: OnceLock<SineTable> = OnceLock::new();
        TABLE.get_or_init(Self::new)
    }

    /// sin(2π·phase) for any non-negative phase (whole cycles wrap).
    #[inline]
    pub(super) fn at(&self, phase: f32) -> f32 {
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
pub(super) struct Phasor {
    phase: f32,
    pub(super) inc: f32,
}

impl Phasor {
    pub(super) fn new(freq: f32, phase: f32) -> Self {
        Self {
            phase: wrap(phase),
            inc: (freq / SR).min(0.5),
        }
    }

    #[inline]
    pub(super) fn tick(&mut self) -> f32 {
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
pub(super) fn saw(p: f32, dt: f32) -> f32 {
    2.0 * p - 1.0 - poly_blep(p, dt)
}

#[inline]
pub(super) fn square(p: f32, dt: f32) -> f32 {
    let naive = if p < 0.5 { 1.0 } else { -1.0 };
    naive + poly_blep(p, dt) - poly_blep(wrap(p + 0.5), dt)
}

#[inline]
pub(super) fn triangle(p: f32) -> f32 {
    4.0 * (p - 0.5).abs() - 1.0
}

#[derive(Debug, Clone, Copy)]
pub(super) struct OnePole {
    y: f32,
    pub(super) a: f32,
}

impl OnePole {
    pub(super) fn new(a: f32) -> Self {
        Self { y: 0.0, a }
    }

    #[inline]
    pub(super) fn process(&mut self, x: f32) -> f32 {
        self.y += self.a * (x - self.y);
        self.y
    }
}

/// Envelope times in seconds; `decay` and `release` are times to fall by 60 dB.
#[derive(Debug, Clone, Copy)]
pub(super) struct Adsr {
    pub(super) attack: f32,
    pub(super) decay: f32,
    pub(super) sustain: f32,
    pub(super) release: f32,
}

/// A running ADSR: linear attack, exponential decay and release.
#[derive(Debug, Clone, Copy)]
pub(super) struct Env {
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
    pub(super) fn new(adsr: Adsr, gate: usize) -> Self {
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
    pub(super) fn len(&self) -> usize {
        self.gate + self.release * 2 / 3
    }

    #[inline]
    pub(super) fn tick(&mut self) -> f32 {
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
pub(super) struct Noise(pub(super) u32);

impl Noise {
    #[inline]
    pub(super) fn tick(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        (x as i32) as f32 * (1.0 / 2_147_483_648.0)
    }
}
