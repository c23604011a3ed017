//! Hashing, platform-independent maths (`exp`, `sin` from basic arithmetic) and value noise.

use std::f64::consts::{FRAC_PI_2, LN_2, LOG2_E, PI, TAU};

/// FNV-1a's offset basis: the state of a fresh `FnvHasher`.
pub(super) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, continuing from `state` (stable across Rust releases, unlike `DefaultHasher`).
pub(super) fn fnv1a(state: u64, bytes: &[u8]) -> u64 {
    let mut hasher = fnv::FnvHasher::with_key(state);
    std::hash::Hasher::write(&mut hasher, bytes);
    std::hash::Hasher::finish(&hasher)
}

/// SplitMix64 finaliser: a strong 64-bit mix.
pub(super) fn mix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash of a seed and two integers.
pub(super) fn hash3(seed: u64, a: u64, b: u64) -> u64 {
    mix64(seed ^ mix64(a ^ mix64(b).rotate_left(17)))
}

/// Uniform in [0, 1) from a hash.
pub(super) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Cheap 32-bit per-pixel hash for film grain and sparkles.
#[inline]
pub(super) fn pixel_hash(x: u32, y: u32, seed: u32) -> u32 {
    let mut h = x.wrapping_mul(0x9e37_79b1) ^ y.wrapping_mul(0x85eb_ca77) ^ seed;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2c1b_3c6d);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297a_2d39);
    h ^ (h >> 15)
}

/// e^(-x) for x ≥ 0, from basic arithmetic only (platform independent).
pub(super) fn exp_neg(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    if x > 700.0 {
        return 0.0;
    }
    let t = x * LOG2_E;
    let n = t.floor();
    let u = (t - n) * LN_2;
    let mut sum = 1.0;
    let mut term = 1.0;
    for k in 1..=12 {
        term *= -u / f64::from(k);
        sum += term;
    }
    // 2^-n as an exact power of two; n ≤ 1010 here.
    sum * f64::from_bits((1023 - n as u64) << 52)
}

/// Narrows to `f32`, flushing tiny values to zero: products of them would be denormal, which
/// is very slow on x86.
pub(super) fn flush(v: f64) -> f32 {
    if v.abs() < 1e-6 {
        0.0
    } else {
        v as f32
    }
}

/// Gaussian bump e^(-(d/sigma)²).
pub(super) fn gauss(d: f64, sigma: f64) -> f64 {
    let t = d / sigma;
    exp_neg(t * t)
}

/// sin(x) from basic arithmetic only (platform independent, |error| < 1e-6).
pub(super) fn sin_det(x: f64) -> f64 {
    let r = x - (x / TAU).round() * TAU;
    let r = if r > FRAC_PI_2 {
        PI - r
    } else if r < -FRAC_PI_2 {
        -PI - r
    } else {
        r
    };
    let r2 = r * r;
    r * (1.0
        - r2 / 6.0 * (1.0 - r2 / 20.0 * (1.0 - r2 / 42.0 * (1.0 - r2 / 72.0 * (1.0 - r2 / 110.0)))))
}

pub(super) fn cos_det(x: f64) -> f64 {
    sin_det(x + FRAC_PI_2)
}

pub(super) fn smoothstep(e0: f64, e1: f64, x: f64) -> f64 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

pub(super) fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// 1-D value noise in [0, 1] with quintic fade.
pub(super) fn value_noise(seed: u64, x: f64) -> f64 {
    let i = x.floor();
    let f = x - i;
    let i = i as i64;
    let a = unit(mix64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let b = unit(mix64(
        seed ^ (i.wrapping_add(1) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    ));
    let t = f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
    a + (b - a) * t
}

/// Fractal (fBm) value noise in [0, 1]; `sharp` blends in ridged octaves for peaky mountains.
pub(super) fn fbm(seed: u64, x: f64, octaves: u32, sharp: f64) -> f64 {
    let mut sum = 0.0;
    let mut norm = 0.0;
    let mut amp = 1.0;
    let mut freq = 1.0;
    for o in 0..octaves {
        let s = mix64(seed.wrapping_add(u64::from(o)));
        let n = value_noise(s, x * freq + f64::from(o) * 17.31);
        let ridged = 1.0 - (2.0 * n - 1.0).abs();
        let v = n + (ridged * ridged - n) * sharp;
        sum += v * amp;
        norm += amp;
        amp *= 0.5;
        freq *= 2.03;
    }
    sum / norm
}

/// 2-D value noise in [0, 1] with quintic fade.
pub(super) fn value_noise2(seed: u64, x: f64, y: f64) -> f64 {
    let (ix, iy) = (x.floor(), y.floor());
    let (fx, fy) = (x - ix, y - iy);
    let (ix, iy) = (ix as i64 as u64, iy as i64 as u64);
    let v = |a: u64, b: u64| unit(hash3(seed, a, b));
    let fade = |f: f64| f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
    let (tx, ty) = (fade(fx), fade(fy));
    let top = lerp(v(ix, iy), v(ix.wrapping_add(1), iy), tx);
    let bottom = lerp(
        v(ix, iy.wrapping_add(1)),
        v(ix.wrapping_add(1), iy.wrapping_add(1)),
        tx,
    );
    lerp(top, bottom, ty)
}

/// Lookup of e^(-t) for t in [0, 8), 32 steps per unit.
pub(super) struct ExpLut([f32; 256]);

impl ExpLut {
    pub(super) fn new() -> ExpLut {
        let mut t = [0f32; 256];
        for (i, v) in t.iter_mut().enumerate() {
            *v = exp_neg(i as f64 / 32.0) as f32;
        }
        ExpLut(t)
    }

    #[inline(always)]
    pub(super) fn get(&self, t: f32) -> f32 {
        let i = (t * 32.0) as usize;
        if i < 256 {
            self.0[i]
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_maths_is_accurate() {
        for i in 0..200 {
            let x = f64::from(i) * 0.05;
            assert!((exp_neg(x) - (-x).exp()).abs() < 1e-9, "exp {x}");
            let y = f64::from(i) * 0.37 - 30.0;
            assert!((sin_det(y) - y.sin()).abs() < 1e-5, "sin {y}");
        }
    }
}
