//! Water: rippled, blurred reflections of the finished land rows, wind patches, glitter under the
//! light and mist near the horizon.

use super::maths::{exp_neg, fbm, flush, hash3, unit, value_noise};
use super::paint::Scratch;
use super::palette::{mix, scale, Rgb};
use super::plan::Plan;
use super::post::Wash;
use super::scene::{Frame, Scene};

pub(super) struct WaterGeo {
    near: Rgb,
    deep: Rgb,
    mist: Rgb,
    glint: Option<(f64, f64, Rgb)>,
    band_seed: u64,
    /// Wind patches: horizontally stretched areas of brighter or darker ripples.
    wind: Wash,
    /// Phase accumulators per row (fixed point, 2^32 = one turn).
    phase1: Vec<u32>,
    phase2: Vec<u32>,
}

impl WaterGeo {
    pub(super) fn new(plan: &Plan, frame: &Frame) -> WaterGeo {
        let (p, l, ns) = (&plan.palette, &plan.light, plan.noise_seed);
        let Frame {
            w,
            h,
            s,
            hy,
            light_x: lx,
            light_r: lr,
            ..
        } = *frame;
        let depth_rows = h - hy;
        let mut phase1 = Vec::with_capacity(depth_rows);
        let mut phase2 = Vec::with_capacity(depth_rows);
        let (mut a, mut b) = (0f64, 0.37f64);
        for dy in 0..depth_rows {
            let depth = (dy as f64 + 0.5) / depth_rows as f64;
            // Rows near the horizon are far away: waves change phase quickly there.
            a += 0.05 / (depth + 0.03);
            b += 0.031 / (depth + 0.05);
            phase1.push((a.fract() * 4_294_967_296.0) as u32);
            phase2.push((b.fract() * 4_294_967_296.0) as u32);
        }
        WaterGeo {
            near: mix(p.horizon, p.water, 0.55),
            deep: scale(p.water, 0.72),
            mist: mix(p.fog, p.horizon, 0.5),
            glint: (l.disc && l.elevation > 0.0)
                .then(|| (lx, lr / (0.05 * s), mix(p.light, [1.0, 1.0, 1.0], 0.3))),
            band_seed: ns ^ 0x77,
            wind: Wash::new(ns ^ 0x3d3d, w, h, 0.2, 4.5, 3.5),
            phase1,
            phase2,
        }
    }
}

impl Scene {
    pub(super) fn paint_water_row(
        &self,
        wg: &WaterGeo,
        y: usize,
        out: &mut [u8],
        clean: &[u8],
        scratch: &mut Scratch,
    ) {
        let w = self.w;
        let hy = self.hy;
        let dy = y - hy;
        let rows = (self.h - hy) as f64;
        let depth = (dy as f64 + 0.5) / rows;
        let yf = y as f32 + 0.5;
        let s = self.s;

        // Mirror row, with a little vertical jitter that grows with depth.
        let jitter = (unit(hash3(wg.band_seed, 1, y as u64)) * depth * 0.004 * s) as usize;
        let src = (hy - 1).saturating_sub(dy + jitter);
        let src_row = &clean[src * w * 3..(src + 1) * w * 3];

        let amp = ((0.0012 + 0.011 * depth) * s) as f32;
        let wl1 = (0.012 + 0.11 * depth) * s;
        let wl2 = wl1 * 0.43;
        let k1 = (4_294_967_296.0 / wl1.max(1.0)) as u32;
        let k2 = (4_294_967_296.0 / wl2.max(1.0)) as u32;
        let mut ph1 = wg.phase1[dy];
        let mut ph2 = wg.phase2[dy];
        let blur = (depth * 0.006 * s) as isize;
        let refl = (0.72 - 0.4 * depth) as f32;
        let band = 1.0
            + 0.1 * (fbm(wg.band_seed, y as f64 / s * 60.0, 3, 0.0) - 0.5) as f32
            + if unit(hash3(wg.band_seed, 2, y as u64 / 3)) < 0.06 {
                0.05
            } else {
                0.0
            };
        let base = mix(wg.near, wg.deep, depth.sqrt() as f32);
        let mist = flush(0.55 * exp_neg(dy as f64 / (0.025 * self.h as f64)));

        // The mirrored row, blurred more with depth and already mixed with the water colour,
        // prepared once per row so the pixel loop makes one displaced read.
        let Scratch {
            color,
            wind,
            refl: refl_row,
            refl_tmp,
            finish,
            ..
        } = scratch;
        for (t, &v) in refl_tmp.iter_mut().zip(src_row) {
            *t = f32::from(v) * (1.0 / 255.0);
        }
        blur_rgb(refl_tmp, refl_row, blur.max(0) as usize);
        for p in refl_row.chunks_exact_mut(3) {
            for (v, b) in p.iter_mut().zip(base) {
                *v = b + (*v - b) * refl;
            }
        }
        // Glitter under the light: short horizontal dashes, brighter on some rows than others.
        let glint = wg.glint.map(|(gx, size, gc)| {
            let gw = s * (0.012 + 0.09 * depth) * size.clamp(0.6, 1.6);
            let row_bright = 0.3 + 0.7 * unit(hash3(wg.band_seed, 3, y as u64)) as f32;
            let dash = 1.0 / (s * (0.003 + 0.02 * depth)).max(1.0);
            (
                gx,
                (1.0 / (gw * gw)) as f32,
                gc,
                (0.95 - 0.45 * depth) as f32 * row_bright,
                dash,
                hash3(wg.band_seed, 4, y as u64),
            )
        });
        let glint_span = glint.map_or((0, 0), |(gx, inv, ..)| {
            let reach = (8.0 / f64::from(inv)).sqrt();
            (
                (gx - reach).floor().max(0.0) as usize,
                ((gx + reach).ceil().max(0.0) as usize).min(w),
            )
        });
        wg.wind.fill_row(y, wind);
        let max_x = w as isize - 1;
        for (x, (px, &wind)) in color.chunks_exact_mut(3).zip(wind.iter()).enumerate() {
            let wave =
                0.65 * self.sin[(ph1 >> 22) as usize] + 0.35 * self.sin[(ph2 >> 22) as usize];
            ph1 = ph1.wrapping_add(k1);
            ph2 = ph2.wrapping_add(k2);
            let xs = (x as isize + (wave * amp) as isize).clamp(0, max_x) as usize;
            let r = &refl_row[xs * 3..xs * 3 + 3];
            let mut c = scale([r[0], r[1], r[2]], band * (1.0 + wind));
            if let (Some((gx, inv, gc, strength, dash, seed)), true) =
                (glint, x >= glint_span.0 && x < glint_span.1)
            {
                let xc = x as f64 + 0.5;
                let dx = (xc - gx) as f32;
                let t = dx * dx * inv;
                if t < 8.0 {
                    let n = value_noise(seed, xc * dash) as f32;
                    let on = ((n - 0.5) * 4.0).clamp(0.0, 1.0) * (0.6 + 0.4 * wave);
                    c = mix(c, gc, (self.exp.get(t) * on * strength).min(1.0));
                }
            }
            c = mix(c, wg.mist, mist);
            if let Some(front) = self.front.map(|i| &self.layers[i]) {
                let a = front.coverage(x, yf);
                if a > 0.0 {
                    c = mix(c, front.color(x, yf, y, None), a);
                }
            }
            px.copy_from_slice(&c);
        }
        self.finish.row(y, color, finish, out);
    }
}

/// Horizontal [1 2 1] blur of a packed RGB row with taps `radius` pixels apart (clamped at the
/// edges); the interior is a straight element-wise loop.
fn blur_rgb(src: &[f32], dst: &mut [f32], radius: usize) {
    let w = src.len() / 3;
    if radius == 0 || w == 0 {
        dst.copy_from_slice(src);
        return;
    }
    let tap = |x: usize, c: usize, d: isize| {
        let xx = (x as isize + d).clamp(0, w as isize - 1) as usize;
        src[xx * 3 + c]
    };
    let r = radius as isize;
    for x in (0..w.min(radius)).chain(w.saturating_sub(radius).max(radius)..w) {
        for c in 0..3 {
            dst[x * 3 + c] = 0.25 * (tap(x, c, -r) + 2.0 * src[x * 3 + c] + tap(x, c, r));
        }
    }
    if w > 2 * radius {
        let o = radius * 3;
        let n = (w - 2 * radius) * 3;
        for (((d, &a), &b), &c) in dst[o..o + n]
            .iter_mut()
            .zip(&src[..n])
            .zip(&src[o..o + n])
            .zip(&src[2 * o..2 * o + n])
        {
            *d = 0.25 * (a + 2.0 * b + c);
        }
    }
}
