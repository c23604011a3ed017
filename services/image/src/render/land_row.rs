//! Painting one row above the water: sky, land layers, fog bands, the lantern's glow and the
//! lighthouse beam, composited pixel by pixel.

use super::maths::gauss;
use super::paint::Scratch;
use super::palette::mix;
use super::post::quantise;
use super::scene::Scene;

impl Scene {
    pub(super) fn paint_land_row(
        &self,
        y: usize,
        out: &mut [u8],
        clean: Option<&mut [u8]>,
        scratch: &mut Scratch,
    ) {
        let star_buf = &mut scratch.star[..];
        let yd = y as f64 + 0.5;
        let yf = yd as f32;
        let sky_row = self.sky_rows[y];
        let glow_row = self.glow.as_ref().map(|g| g.row(yd));
        let lamp_row = self.lamp_glow.as_ref().map(|g| g.row(yd));

        let has_stars = self.star_row(yd, star_buf);
        let disc_span = self.disc_span(yd);

        let mut active_clouds = [0usize; 8];
        let mut n_clouds = 0;
        for (i, c) in self.clouds.iter().enumerate() {
            if y >= c.y0 && y < c.y1 && n_clouds < active_clouds.len() {
                active_clouds[n_clouds] = i;
                n_clouds += 1;
            }
        }
        let mut active_fog = [(0usize, 0f32); 4];
        let mut n_fog = 0;
        for (i, f) in self.fog.iter().enumerate() {
            let wgt = f.strength * gauss(yd - f.yc, f.sigma);
            if wgt > 0.004 && n_fog < active_fog.len() {
                active_fog[n_fog] = (i, wgt as f32);
                n_fog += 1;
            }
        }
        let beam_rows = self
            .beam
            .filter(|b| yd < b.1 + 0.05 * self.s && yd > b.1 - 0.6 * self.h as f64);

        let n = self.layers.len();
        let clouds = &active_clouds[..n_clouds];
        for (x, px) in scratch.color.chunks_exact_mut(3).enumerate() {
            let g = match (&self.glow, glow_row) {
                (Some(gl), Some(r)) => gl.at(x, r),
                _ => 0.0,
            };
            let glow = self.glow.as_ref().map(|gl| (gl, g));

            // The nearest fully covering layer hides everything behind it; above every layer's
            // ramp the pixel is plain sky.
            let mut base = n;
            if yf > self.sky_end[x] {
                for l in (0..n).rev() {
                    if yf >= self.layers[l].full[x] {
                        base = l;
                        break;
                    }
                }
            }
            let (mut c, start) = if base < n {
                (self.layers[base].color(x, yf, y, glow), base + 1)
            } else {
                let stars = if has_stars { star_buf[x] } else { 0.0 };
                let sky = self.sky(x, yd, sky_row, g, stars, disc_span, clouds);
                (sky, if yf > self.sky_end[x] { 0 } else { n })
            };
            let mut front = if base < n { base as isize } else { -1 };
            for l in start..n {
                let layer = &self.layers[l];
                let a = layer.coverage(x, yf);
                if a > 0.0 {
                    c = mix(c, layer.color(x, yf, y, glow), a);
                    front = l as isize;
                }
            }
            for &(fi, wgt) in &active_fog[..n_fog] {
                let f = &self.fog[fi];
                if front <= f.behind as isize {
                    c = mix(c, self.fog_col, wgt * f.fm[x]);
                }
            }
            if let (Some(gl), Some(r)) = (&self.lamp_glow, lamp_row) {
                let v = gl.at(x, r);
                if v > 0.002 {
                    c = mix(c, gl.color, v);
                }
            }
            if let Some((bx, by, dx, dy, bc)) = beam_rows {
                let px = x as f64 + 0.5 - bx;
                let py = yd - by;
                let along = px * dx + py * dy;
                if along > 0.0 {
                    let perp = px * dy - py * dx;
                    let t = perp / (along * 0.07 + 0.006 * self.s);
                    let k = self.exp.get((t * t) as f32)
                        * (0.55 / (1.0 + along / (0.7 * self.s))) as f32;
                    c = mix(c, bc, k);
                }
            }
            px.copy_from_slice(&c);
        }
        if let Some(cl) = clean {
            // Unfinished colours, mirrored later by the water.
            for (o, &v) in cl.iter_mut().zip(&scratch.color) {
                *o = quantise(v * 255.0);
            }
        }
        self.finish.row(y, &scratch.color, &mut scratch.finish, out);
    }
}
