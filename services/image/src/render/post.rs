//! Post-processing of each painted row: the low-frequency light wash, an off-centre vignette,
//! film grain, and quantisation to bytes.

use super::maths::{pixel_hash, value_noise2};
use super::plan::Plan;
use super::scene::Frame;

/// Grid columns of the light wash, at most.
const WASH_COLS: usize = 64;

/// A smooth 2-D light wash: fractal noise sampled on a coarse grid and interpolated per pixel, so
/// broad areas are subtly, unevenly lit (and no two scenes share the same light structure).
pub(super) struct Wash {
    /// (rows + 1) × (cols + 1) grid values, scaled by the amplitude.
    grid: Vec<f32>,
    cols: usize,
    /// Per pixel column: grid cell and smoothed fraction.
    at_x: Vec<(usize, f32)>,
    /// Per pixel row: grid cell and smoothed fraction.
    at_y: Vec<(usize, f32)>,
}

impl Wash {
    /// `stretch` > 1 elongates features horizontally.
    pub(super) fn new(seed: u64, w: usize, h: usize, amp: f64, freq: f64, stretch: f64) -> Wash {
        let (wf, hf) = (w as f64, h as f64);
        let s = wf.min(hf);
        let cell = (s / 20.0).max(wf / (WASH_COLS - 1) as f64).max(1.0);
        let cell_y = (cell / stretch).max(1.0);
        let cols = ((wf / cell).ceil() as usize).min(WASH_COLS - 1) + 1;
        let rows = (hf / cell_y).ceil() as usize + 1;
        let mut grid = Vec::with_capacity((rows + 1) * (cols + 1));
        for i in 0..=rows {
            for j in 0..=cols {
                let (u, v) = (j as f64 * cell / s, i as f64 * cell_y * stretch / s);
                let mut n = 0.0;
                let mut norm = 0.0;
                let mut a = 1.0;
                let mut f = freq;
                for o in 0..3u64 {
                    n += a * value_noise2(seed.wrapping_add(o), u * f + 3.0, v * f + 7.0);
                    norm += a;
                    a *= 0.5;
                    f *= 2.0;
                }
                grid.push((amp * ((n / norm * 2.0 - 1.0) * 1.8).clamp(-1.0, 1.0)) as f32);
            }
        }
        let smooth = |t: f64| (t * t * (3.0 - 2.0 * t)) as f32;
        let split = |p: f64, cell: f64| {
            let c = p / cell;
            let i = c.floor();
            (i as usize, smooth(c - i))
        };
        Wash {
            grid,
            cols,
            at_x: (0..w)
                .map(|x| {
                    let (i, t) = split(x as f64 + 0.5, cell);
                    (i.min(cols - 1), t)
                })
                .collect(),
            at_y: (0..h)
                .map(|y| {
                    let (i, t) = split(y as f64 + 0.5, cell_y);
                    (i.min(rows - 1), t)
                })
                .collect(),
        }
    }

    /// Fills `out` (one value per pixel) with the wash along pixel row `y`.
    pub(super) fn fill_row(&self, y: usize, out: &mut [f32]) {
        let (i, t) = self.at_y[y];
        let stride = self.cols + 1;
        let a = &self.grid[i * stride..(i + 1) * stride];
        let b = &self.grid[(i + 1) * stride..(i + 2) * stride];
        let mut row = [0f32; WASH_COLS + 1];
        for ((o, &p), &q) in row.iter_mut().zip(a).zip(b) {
            *o = p + (q - p) * t;
        }
        for (o, &(j, tx)) in out.iter_mut().zip(&self.at_x) {
            let (p, q) = (row[j], row[j + 1]);
            *o = p + (q - p) * tx;
        }
    }
}

/// Row buffers of [`Finish::row`].
pub(super) struct FinishScratch {
    /// Per pixel: light wash, then the combined gain.
    wash: Vec<f32>,
    /// Per channel: the gain.
    gain: Vec<f32>,
}

impl FinishScratch {
    pub(super) fn new(w: usize) -> FinishScratch {
        FinishScratch {
            wash: vec![0.0; w],
            gain: vec![0.0; w * 3],
        }
    }
}

/// The per-scene tables of the finishing pass.
pub(super) struct Finish {
    w: usize,
    wash: Wash,
    /// Per column: vignette x² (horizontal weight folded in).
    vig_x: Vec<f32>,
    /// Per row: vignette y².
    vig_y: Vec<f32>,
    vignette: f32,
    grain_seed: u32,
    /// Film grain in 8-bit levels, per channel, read in windows of
    /// `3 * w` starting at a hashed pixel offset below `grain_period`.
    grain_table: Vec<f32>,
    grain_period: usize,
}

impl Finish {
    pub(super) fn new(plan: &Plan, frame: &Frame) -> Finish {
        let Frame { w, h, wf, hf, .. } = *frame;
        let ns = plan.noise_seed;

        // Vignette, off-centre per scene.
        let (vcx, vcy) = plan.vignette_center;
        let vig_x = (0..w)
            .map(|x| {
                let n = ((x as f64 + 0.5) / wf - vcx) * 2.0;
                (0.35 * n * n) as f32
            })
            .collect();
        let vig_y = (0..h)
            .map(|y| {
                let n = ((y as f64 + 0.5) / hf - vcy) * 2.0;
                (n * n) as f32
            })
            .collect();
        // Triangular-distributed grain; the period is not a multiple of the width, so rows
        // (which start at hashed offsets) never line up.
        let grain_period = (w + 1).max(4093) | 1;
        // Stored per channel (the same value thrice: luminance grain) so the final pass is a
        // straight element-wise loop.
        let grain_table = (0..3 * (grain_period + w))
            .map(|i| {
                let h = pixel_hash((i / 3 % grain_period) as u32, 0x9a11, (ns >> 32) as u32);
                ((h & 0xff) + ((h >> 8) & 0xff)) as f32 * (1.0 / 255.0) - 1.0
            })
            .map(|v| v * plan.grain)
            .collect();
        Finish {
            w,
            wash: Wash::new(ns ^ 0xa5a5, w, h, f64::from(plan.wash), 3.5, 1.0),
            vig_x,
            vig_y,
            vignette: plan.vignette,
            grain_seed: (ns >> 32) as u32,
            grain_table,
            grain_period,
        }
    }

    /// Finishes a row of linear colours: light wash, vignette, film grain, quantisation.
    ///
    /// Kept branch-free over plain slices so the compiler can vectorise it. The grain is a
    /// per-scene table read at a hashed offset per row: rows are uncorrelated windows of it.
    pub(super) fn row(&self, y: usize, color: &[f32], scratch: &mut FinishScratch, out: &mut [u8]) {
        let FinishScratch { wash, gain } = scratch;
        self.wash.fill_row(y, wash);
        let vy = self.vig_y[y];
        let vig = self.vignette;
        for (wv, &vx) in wash.iter_mut().zip(&self.vig_x) {
            let r2 = (0.5 * (vx + vy)).min(1.2);
            *wv = (1.0 - vig * (0.35 * r2 + 0.65 * r2 * r2)) * (1.0 + *wv) * 255.0;
        }
        for (g, &v) in gain.chunks_exact_mut(3).zip(wash.iter()) {
            g.fill(v);
        }
        let offset =
            3 * ((pixel_hash(0x5eed, y as u32, self.grain_seed) as usize) % self.grain_period);
        let grain = &self.grain_table[offset..offset + 3 * self.w];
        for (((o, &c), &v), &g) in out.iter_mut().zip(color).zip(gain.iter()).zip(grain) {
            *o = quantise(c * v + g);
        }
    }
}

/// Rounds a 0–255 float to a byte, saturating (NaN → 0).
///
/// Adding 1.5·2²³ puts the rounded integer in the low mantissa bits: branch-free and
/// vectorisable, unlike `as u8`, which must handle NaN and saturation lane by lane.
#[inline(always)]
#[allow(clippy::manual_clamp)] // `clamp` would pass NaN through; `max` maps it to 0.
pub(super) fn quantise(v: f32) -> u8 {
    ((v.max(0.0).min(255.0) + 12_582_912.0).to_bits() & 0xff) as u8
}
