//! The sky: its gradient, the sun or moon (glow, disc, crescent, maria), stars and cloud streaks,
//! laid out in pixels, and the sky colour of one pixel.

use std::f64::consts::TAU;

use super::glow::Glow;
use super::maths::{cos_det, fbm, flush, gauss, hash3, sin_det, smoothstep, unit};
use super::palette::{mix, scale, Palette, Rgb};
use super::plan::{CloudSpec, Plan};
use super::scene::{Frame, Scene};

pub(super) struct Disc {
    cx: f64,
    cy: f64,
    r: f64,
    color: Rgb,
    rim: Rgb,
    shadow: Option<(f64, f64)>,
    /// Moon maria: (x, y, radius², darkening) in pixels.
    maria: Vec<(f64, f64, f64, f32)>,
}

pub(super) struct Star {
    x: f64,
    y: f64,
    r: f64,
    b: f32,
}

pub(super) struct CloudGeo {
    pub(super) y0: usize,
    pub(super) y1: usize,
    yo: Vec<f32>,
    inv_h: Vec<f32>,
    dens: Vec<f32>,
    lit: Vec<f32>,
}

/// The sky gradient, one colour per row: top to middle to horizon.
pub(super) fn sky_rows(p: &Palette, frame: &Frame) -> Vec<Rgb> {
    let horizon_px = frame.horizon_px;
    (0..frame.h)
        .map(|y| {
            let t = ((y as f64 + 0.5) / horizon_px).min(1.0);
            if t < 0.55 {
                mix(p.sky_top, p.sky_mid, smoothstep(0.0, 0.55, t) as f32)
            } else {
                mix(p.sky_mid, p.horizon, smoothstep(0.55, 1.0, t) as f32)
            }
        })
        .collect()
}

/// The glow around the sun or moon, with a broad brightening of the sky towards it.
pub(super) fn light_glow(plan: &Plan, frame: &Frame) -> Glow {
    let l = &plan.light;
    let (lx, ly, lr) = (frame.light_x, frame.light_y, frame.light_r);
    Glow::new(
        frame.w,
        lx,
        ly,
        lr * 2.4,
        lr * 7.0,
        l.glow_inner,
        l.glow_outer,
        plan.palette.glow,
    )
    .with_wide(
        lx,
        0.55 * frame.wf.max(frame.s),
        l.glow_wide,
        frame.horizon_px,
    )
}

/// The disc of the sun or moon (a crescent and maria on the moon), unless overcast hides it.
pub(super) fn light_disc(plan: &Plan, frame: &Frame) -> Option<Disc> {
    let (l, p, ns) = (&plan.light, &plan.palette, plan.noise_seed);
    let (lx, ly, lr) = (frame.light_x, frame.light_y, frame.light_r);
    l.disc.then(|| {
        let maria = if l.moon {
            (0..4u64)
                .map(|i| {
                    let a = unit(hash3(ns, 11, i)) * TAU;
                    let d = (0.25 + 0.5 * unit(hash3(ns, 12, i))) * lr;
                    let rr = (0.2 + 0.25 * unit(hash3(ns, 13, i))) * lr;
                    (
                        lx + cos_det(a) * d,
                        ly + sin_det(a) * d,
                        rr * rr,
                        0.05 + 0.06 * unit(hash3(ns, 14, i)) as f32,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        Disc {
            cx: lx,
            cy: ly,
            r: lr,
            color: p.light,
            rim: mix(p.light, p.glow, 0.45),
            shadow: l.crescent.map(|(dx, dy)| (lx + dx * lr, ly + dy * lr)),
            maria,
        }
    })
}

/// Stars, denser and brighter high up, sorted by row.
pub(super) fn scatter_stars(plan: &Plan, frame: &Frame) -> Vec<Star> {
    let ns = plan.noise_seed;
    let (wf, hf, horizon_px) = (frame.wf, frame.hf, frame.horizon_px);
    let star_count = (plan.star_density * wf * hf / 1e6) as u64;
    let star_scale = (frame.s / 1024.0).max(0.5);
    let mut stars: Vec<Star> = (0..star_count)
        .map(|i| {
            let u = unit(hash3(ns, 21, i));
            let v = unit(hash3(ns, 22, i));
            let m = unit(hash3(ns, 23, i));
            Star {
                x: u * wf,
                y: v * v * horizon_px * 0.92,
                r: (0.7 + 1.1 * m * m * m) * star_scale,
                b: (0.25 + 0.75 * m * m) as f32,
            }
        })
        .collect();
    stars.sort_by(|a, b| a.y.total_cmp(&b.y));
    stars
}

impl CloudGeo {
    /// A cloud streak: a lens-shaped band whose thickness follows 1-D noise.
    pub(super) fn new(c: &CloudSpec, frame: &Frame) -> CloudGeo {
        let (w, s, lx) = (frame.w, frame.s, frame.light_x);
        let yc = c.y * frame.horizon_px;
        let thick = c.thick * s;
        let wave = thick * 2.5;
        let mut yo = Vec::with_capacity(w);
        let mut inv_h = Vec::with_capacity(w);
        let mut dens = Vec::with_capacity(w);
        let mut lit = Vec::with_capacity(w);
        for x in 0..w {
            let u = (x as f64 + 0.5) / s;
            let n1 = fbm(c.seed, u * c.freq, 4, 0.0);
            let n2 = fbm(c.seed ^ 0x55, u * c.freq * 1.7 + 3.1, 5, 0.0);
            let cov = smoothstep(c.threshold, c.threshold + 0.22, n2);
            let half = thick * cov * (0.6 + 0.8 * n1);
            yo.push((yc + (n1 - 0.5) * 2.0 * wave) as f32);
            inv_h.push(if half > 0.5 { (1.0 / half) as f32 } else { 0.0 });
            dens.push((c.density * cov.sqrt()) as f32);
            lit.push(flush(0.35 * gauss(x as f64 + 0.5 - lx, s * 0.35)));
        }
        let reach = wave + thick * 1.4 + 2.0;
        CloudGeo {
            y0: (yc - reach).max(0.0) as usize,
            y1: ((yc + reach).max(0.0) as usize).min(frame.hy),
            yo,
            inv_h,
            dens,
            lit,
        }
    }
}

impl Scene {
    /// Adds the stars crossing the row centred on `yd` into `star_buf` (one value per pixel);
    /// returns whether the row has stars at all.
    pub(super) fn star_row(&self, yd: f64, star_buf: &mut [f32]) -> bool {
        let w = self.w;
        let has_stars = !self.stars.is_empty() && yd < self.horizon_px;
        if has_stars {
            star_buf.fill(0.0);
            let fade = ((self.horizon_px - yd) / (0.3 * self.horizon_px)).clamp(0.0, 1.0) as f32;
            let rmax = 2.0 * (self.s / 1024.0).max(0.5) + 1.0;
            let start = self.stars.partition_point(|s| s.y < yd - rmax);
            for st in self.stars[start..].iter().take_while(|s| s.y <= yd + rmax) {
                let dy = yd - st.y;
                let r2 = st.r * st.r;
                if dy * dy >= r2 {
                    continue;
                }
                let x0 = (st.x - st.r).floor().max(0.0) as usize;
                let x1 = ((st.x + st.r).ceil() as usize).min(w);
                for (xi, b) in star_buf.iter_mut().enumerate().take(x1).skip(x0) {
                    let dx = xi as f64 + 0.5 - st.x;
                    let v = (1.0 - (dx * dx + dy * dy) / r2).max(0.0) as f32;
                    *b += st.b * v * v * fade;
                }
            }
        }
        has_stars
    }

    /// The columns the disc of the sun or moon may touch on the row centred on `yd`.
    pub(super) fn disc_span(&self, yd: f64) -> Option<(usize, usize)> {
        let w = self.w;
        self.disc.as_ref().and_then(|d| {
            let dy = yd - d.cy;
            let rr = d.r + 1.0;
            (dy.abs() < rr).then(|| {
                let half = (rr * rr - dy * dy).sqrt();
                (
                    (d.cx - half).floor().max(0.0) as usize,
                    ((d.cx + half).ceil().max(0.0) as usize).min(w),
                )
            })
        })
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn sky(
        &self,
        x: usize,
        yd: f64,
        row: Rgb,
        g: f32,
        stars: f32,
        disc_span: Option<(usize, usize)>,
        clouds: &[usize],
    ) -> Rgb {
        let mut c = row;
        if stars > 0.0 {
            c = mix(c, self.star_tint, (stars * (1.0 - g)).min(1.0));
        }
        if let Some(gl) = &self.glow {
            c = mix(c, gl.color, g.min(1.0));
        }
        if let (Some(d), Some((x0, x1))) = (&self.disc, disc_span) {
            if x >= x0 && x < x1 {
                let dx = x as f64 + 0.5 - d.cx;
                let dy = yd - d.cy;
                let d2 = dx * dx + dy * dy;
                let mut a = ((d.r * d.r - d2) / (2.0 * d.r) + 0.5).clamp(0.0, 1.0);
                if let Some((sx, sy)) = d.shadow {
                    let (ex, ey) = (x as f64 + 0.5 - sx, yd - sy);
                    let s2 = ex * ex + ey * ey;
                    a *= 1.0 - 0.96 * ((d.r * d.r - s2) / (2.0 * d.r) + 0.5).clamp(0.0, 1.0);
                }
                if a > 0.0 {
                    let mut dc = mix(d.color, d.rim, (d2 / (d.r * d.r)).min(1.0) as f32);
                    let mut dark = 0f32;
                    for &(mx, my, mr2, k) in &d.maria {
                        let (ex, ey) = (x as f64 + 0.5 - mx, yd - my);
                        let t = 1.0 - (ex * ex + ey * ey) / mr2;
                        if t > 0.0 {
                            dark += k * (t * t) as f32;
                        }
                    }
                    dc = scale(dc, 1.0 - dark.min(0.35));
                    c = mix(c, dc, a as f32);
                }
            }
        }
        let yf = yd as f32;
        for &ci in clouds {
            let cl = &self.clouds[ci];
            let ih = cl.inv_h[x];
            if ih > 0.0 {
                let d = (yf - cl.yo[x]) * ih;
                if d.abs() < 1.0 {
                    let t = 1.0 - d * d;
                    let a = t * t * cl.dens[x];
                    let light = (0.55 - 0.5 * d + cl.lit[x] + g * 0.5).clamp(0.0, 1.0);
                    let cc = mix(self.cloud_dark, self.cloud_lit, light);
                    c = mix(c, cc, a);
                }
            }
        }
        c
    }
}
