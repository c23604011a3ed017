//! Land layers in pixels: each layer's silhouette (ridge, skyline, lighthouse), its colour with
//! face shading, light patches, valley mist and glow, and the fog bands between layers.

use super::glow::Glow;
use super::lighthouse::{add_lighthouse, Lamp, LighthouseLight};
use super::maths::{fbm, lerp, pixel_hash, smoothstep, value_noise};
use super::palette::{mix, scale, Palette, Rgb};
use super::plan::{FogSpec, LayerKind, LayerSpec, Plan, Ridge};
use super::profile::{box_blur, Profile};
use super::ridge::add_ridge;
use super::scene::Frame;
use super::skyline::{add_skyline, SkylineParams, Windows};

pub(super) struct LayerGeo {
    /// Coverage ramp start (top of the pixel's profile range − 0.5).
    pub(super) s0: Vec<f32>,
    /// 1 / ramp width.
    inv_w: Vec<f32>,
    /// Rows from here down are fully covered.
    pub(super) full: Vec<f32>,
    /// Profile at the column centre.
    top: Vec<f32>,
    /// Where valley mist starts: the smoothed bare ridge (or a level line for skylines).
    mist_top: Vec<f32>,
    col: Vec<Rgb>,
    /// Light patches: per-column amplitude times per-row strength.
    patch_x: Vec<f32>,
    patch_y: Vec<f32>,
    mist: Rgb,
    mist_inv: f32,
    mist_max: f32,
    glow_catch: f32,
    windows: Option<Windows>,
    lamp: Option<Lamp>,
}

impl LayerGeo {
    #[inline(always)]
    pub(super) fn coverage(&self, x: usize, yf: f32) -> f32 {
        ((yf - self.s0[x]) * self.inv_w[x]).clamp(0.0, 1.0)
    }

    #[inline(always)]
    pub(super) fn color(&self, x: usize, yf: f32, y: usize, glow: Option<(&Glow, f32)>) -> Rgb {
        let mut c = scale(self.col[x], 1.0 + self.patch_x[x] * self.patch_y[y]);
        if let Some(win) = &self.windows {
            let key = win.col[x];
            if key != u32::MAX {
                let v = (y as f64 + 0.5) / win.cell_h;
                let f = v - v.floor();
                if f > 0.3 && f < 0.72 && f64::from(yf - self.top[x]) > win.cell_h * 0.9 {
                    let h = pixel_hash(key, v as u32, win.seed);
                    c = if h % 1000 < win.lit_permille {
                        win.lit
                    } else {
                        mix(c, win.dark, 0.35)
                    };
                }
            }
        }
        if let Some(l) = &self.lamp {
            let xf = x as f32 + 0.5;
            if xf > l.x0 && xf < l.x1 && yf > l.y0 && yf < l.y1 {
                return l.color;
            }
        }
        let m = ((yf - self.mist_top[x]) * self.mist_inv).clamp(0.0, 1.0) * self.mist_max;
        c = mix(c, self.mist, m);
        if let Some((g, v)) = glow {
            c = mix(c, g.color, v * self.glow_catch);
        }
        c
    }
}

/// A layer's outline and what stands on it, before it is coloured.
struct LayerShape {
    /// Row of the layer's base.
    base_y: f64,
    prof: Profile,
    /// The bare ridge under trees and towers (none for skylines).
    bare: Option<Vec<f32>>,
    windows: Option<Windows>,
    lamp: Option<Lamp>,
}

/// Lays out the land layers, far to near. The lighthouse, if any, stands on the nearest ridge
/// (not the framing mass); what it casts beyond its silhouette is returned too.
pub(super) fn build_layers(plan: &Plan, frame: &Frame) -> (Vec<LayerGeo>, Option<LighthouseLight>) {
    let p = &plan.palette;
    let (wf, s, vu) = (frame.wf, frame.s, frame.vu);
    let atmos = mix(p.haze, p.horizon, 0.35);
    let last_ridge = plan
        .layers
        .iter()
        .rposition(|l| matches!(l.kind, LayerKind::Ridge(Ridge { frame: None, .. })));
    let mut lighthouse_light = None;
    let layers = plan
        .layers
        .iter()
        .enumerate()
        .map(|(li, spec)| {
            let base_y = frame.horizon_px + spec.drop * frame.hf;
            let mut shape = LayerShape {
                base_y,
                prof: Profile {
                    samples: vec![f32::MAX; 2 * frame.w + 1],
                },
                bare: None,
                windows: None,
                lamp: None,
            };
            match &spec.kind {
                LayerKind::Ridge(ridge) => {
                    let headland = plan.lighthouse.as_ref().filter(|_| Some(li) == last_ridge);
                    let bare = add_ridge(
                        &mut shape.prof,
                        ridge,
                        spec.seed,
                        base_y,
                        headland.map(|lh| lh.x * wf),
                        frame,
                    );
                    if let Some(lh) = headland {
                        let (lamp, light) = add_lighthouse(&mut shape.prof, &bare, lh, p, frame);
                        shape.lamp = Some(lamp);
                        lighthouse_light = Some(light);
                    }
                    shape.bare = Some(bare.samples);
                }
                LayerKind::Skyline {
                    center,
                    spread,
                    max_height,
                    lit,
                } => {
                    shape.windows = Some(add_skyline(
                        &mut shape.prof,
                        SkylineParams {
                            base_y: if frame.water_on { base_y + 1.0 } else { base_y },
                            center: center * wf,
                            spread: spread * wf.max(s),
                            max_height: max_height * vu,
                            lit: *lit,
                            seed: spec.seed,
                            s,
                            w: frame.w,
                        },
                        mix(p.window, [1.0, 0.9, 0.7], 0.1),
                        mix(p.land, p.sky_mid, 0.4),
                    ));
                }
            }
            LayerGeo::new(spec, shape, p, atmos, frame)
        })
        .collect();
    (layers, lighthouse_light)
}

impl LayerGeo {
    /// Colours a layer: atmospheric perspective, faces shaded towards the light, drifting light
    /// patches and valley mist.
    fn new(
        spec: &LayerSpec,
        shape: LayerShape,
        p: &Palette,
        atmos: Rgb,
        frame: &Frame,
    ) -> LayerGeo {
        let Frame {
            w,
            h,
            s,
            vu,
            water_on,
            light_x: lx,
            ..
        } = *frame;
        let LayerShape {
            base_y,
            prof,
            bare: shade_src,
            windows,
            lamp,
        } = shape;
        let base_col = mix(p.land, atmos, spec.haze as f32);
        // Sunlit patches and cloud shadows drifting across the land: a smooth separable
        // product, so they read as soft blotches rather than stripes.
        let patch_amp = lerp(0.18, 0.06, spec.haze.min(1.0));
        let patch_freq = lerp(1.8, 3.0, spec.depth);
        let patch_x = (0..w)
            .map(|x| {
                let n = value_noise(spec.seed ^ 0x5a7c, (x as f64 + 0.5) / s * patch_freq);
                (patch_amp * (2.0 * n - 1.0)) as f32
            })
            .collect();
        let patch_y = (0..h)
            .map(|y| {
                let n = value_noise(spec.seed ^ 0x7c5a, (y as f64 + 0.5) / s * 3.0);
                (0.25 + 0.75 * n) as f32
            })
            .collect();
        let dist = (0.02 * s).max(1.0);
        // Broad shapes of the bare ridge: drive face shading and valley mist, so neither
        // streaks below individual trees or peaks.
        let smooth = shade_src.map(|src| {
            let r = (0.025 * s * 2.0) as usize;
            box_blur(&box_blur(&src, r), r)
        });
        let skyline_mist = match &spec.kind {
            LayerKind::Skyline { max_height, .. } => base_y - 0.5 * max_height * vu,
            LayerKind::Ridge(_) => base_y,
        } as f32;
        let mut s0 = Vec::with_capacity(w);
        let mut inv_w = Vec::with_capacity(w);
        let mut full = Vec::with_capacity(w);
        let mut top = Vec::with_capacity(w);
        let mut mist_top = Vec::with_capacity(w);
        let mut col = Vec::with_capacity(w);
        for x in 0..w {
            let tri = &prof.samples[2 * x..2 * x + 3];
            let ta = tri[0].min(tri[1]).min(tri[2]);
            let tb = tri[0].max(tri[1]).max(tri[2]);
            let width = tb - ta + 1.0;
            s0.push(ta - 0.5);
            inv_w.push(1.0 / width);
            full.push(ta - 0.5 + width);
            top.push(tri[1]);
            let mut c = base_col;
            if let Some(src) = &smooth {
                let xc = x as f64 + 0.5;
                let a = src[((xc - dist) * 2.0).max(0.0) as usize];
                let b = src[(((xc + dist) * 2.0) as usize).min(2 * w)];
                let slope = f64::from(b - a) / (2.0 * dist);
                // Faces turned towards the light are brighter; under the light neither is.
                let toward = ((lx - xc) / (0.15 * s)).clamp(-1.0, 1.0);
                let k = (slope * toward * 2.0).clamp(-1.0, 1.0) * 0.14 * (1.0 - spec.haze);
                c = scale(c, (1.0 + k) as f32);
                mist_top.push(src[2 * x + 1]);
            } else {
                mist_top.push(skyline_mist);
            }
            col.push(c);
        }
        let is_frame = matches!(spec.kind, LayerKind::Ridge(Ridge { frame: Some(_), .. }));
        LayerGeo {
            s0,
            inv_w,
            full,
            top,
            mist_top,
            col,
            patch_x,
            patch_y,
            mist: mix(atmos, p.fog, 0.5),
            mist_inv: (1.0 / (0.11 * vu)) as f32,
            mist_max: if is_frame {
                0.08
            } else if spec.depth >= 0.999 && !water_on {
                0.12
            } else {
                lerp(0.7, 0.3, spec.depth) as f32
            },
            glow_catch: (0.05 + 0.6 * spec.haze) as f32,
            windows,
            lamp,
        }
    }
}

pub(super) struct FogGeo {
    pub(super) behind: usize,
    pub(super) yc: f64,
    pub(super) sigma: f64,
    pub(super) strength: f64,
    pub(super) fm: Vec<f32>,
}

impl FogGeo {
    pub(super) fn new(f: &FogSpec, frame: &Frame) -> FogGeo {
        let (w, s, hf) = (frame.w, frame.s, frame.hf);
        FogGeo {
            behind: f.behind,
            yc: frame.horizon_px + f.y * hf,
            sigma: f.thick * hf,
            strength: f.strength,
            fm: (0..w)
                .map(|x| {
                    let n = fbm(f.seed, (x as f64 + 0.5) / s * 1.6, 2, 0.0);
                    (0.3 + 0.7 * smoothstep(0.2, 0.8, n)) as f32
                })
                .collect(),
        }
    }
}
