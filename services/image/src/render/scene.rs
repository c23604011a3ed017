//! The scene: the plan laid out in pixels for one output size, everything the row painters read.

use std::f64::consts::TAU;

use super::glow::Glow;
use super::land::{build_layers, FogGeo, LayerGeo};
use super::lighthouse::Beam;
use super::maths::{sin_det, ExpLut};
use super::palette::{mix, Rgb};
use super::plan::{LayerKind, Plan, Ridge};
use super::post::Finish;
use super::sky::{light_disc, light_glow, scatter_stars, sky_rows, CloudGeo, Disc, Star};
use super::water::WaterGeo;

/// The output size and the measures derived from it that the whole scene is laid out in.
pub(super) struct Frame {
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) wf: f64,
    pub(super) hf: f64,
    /// The shorter side.
    pub(super) s: f64,
    /// Vertical unit: blends height and the shorter side so portrait frames stay balanced.
    pub(super) vu: f64,
    pub(super) horizon_px: f64,
    pub(super) water_on: bool,
    /// First water row (== h without water).
    pub(super) hy: usize,
    /// Centre and radius of the sun or moon.
    pub(super) light_x: f64,
    pub(super) light_y: f64,
    pub(super) light_r: f64,
}

impl Frame {
    fn new(plan: &Plan, w: usize, h: usize) -> Frame {
        let (wf, hf) = (w as f64, h as f64);
        let s = wf.min(hf);
        let horizon_px = plan.horizon * hf;
        let water_on = plan.water.0 && h >= 4;
        let l = &plan.light;
        Frame {
            w,
            h,
            wf,
            hf,
            s,
            vu: 0.5 * (hf + s),
            horizon_px,
            water_on,
            hy: if water_on {
                (horizon_px.round() as usize).clamp(1, h - 1)
            } else {
                h
            },
            light_x: l.x * wf,
            light_y: horizon_px * (1.0 - l.elevation),
            light_r: (l.radius * s).max(1.0),
        }
    }
}

/// The plan laid out in pixels for one output size: all that the row painters read.
pub(super) struct Scene {
    pub(super) w: usize,
    pub(super) h: usize,
    /// First water row (== h without water).
    pub(super) hy: usize,
    pub(super) horizon_px: f64,
    pub(super) s: f64,
    pub(super) sky_rows: Vec<Rgb>,
    pub(super) glow: Option<Glow>,
    pub(super) disc: Option<Disc>,
    pub(super) stars: Vec<Star>,
    pub(super) star_tint: Rgb,
    pub(super) clouds: Vec<CloudGeo>,
    pub(super) cloud_lit: Rgb,
    pub(super) cloud_dark: Rgb,
    pub(super) layers: Vec<LayerGeo>,
    pub(super) fog: Vec<FogGeo>,
    pub(super) fog_col: Rgb,
    pub(super) lamp_glow: Option<Glow>,
    pub(super) beam: Option<Beam>,
    pub(super) water: Option<WaterGeo>,
    /// Foreground framing layer that also covers water rows.
    pub(super) front: Option<usize>,
    /// Light wash, vignette and film grain.
    pub(super) finish: Finish,
    /// Per column: above this row centre no layer has any coverage.
    pub(super) sky_end: Vec<f32>,
    pub(super) exp: ExpLut,
    pub(super) sin: Vec<f32>,
}

impl Scene {
    pub(super) fn build(plan: &Plan, w: usize, h: usize) -> Scene {
        let p = &plan.palette;
        let frame = Frame::new(plan, w, h);
        let (layers, lighthouse_light) = build_layers(plan, &frame);
        let (lamp_glow, beam) = match lighthouse_light {
            Some(light) => (Some(light.glow), light.beam),
            None => (None, None),
        };
        let water = frame.water_on.then(|| WaterGeo::new(plan, &frame));
        let sin = (0..1024)
            .map(|i| sin_det(i as f64 / 1024.0 * TAU) as f32)
            .collect();
        let sky_end = (0..w)
            .map(|x| {
                layers
                    .iter()
                    .map(|l: &LayerGeo| l.s0[x])
                    .fold(f32::MAX, f32::min)
            })
            .collect();

        Scene {
            w,
            h,
            hy: frame.hy,
            horizon_px: frame.horizon_px,
            s: frame.s,
            sky_rows: sky_rows(p, &frame),
            glow: Some(light_glow(plan, &frame)),
            disc: light_disc(plan, &frame),
            stars: scatter_stars(plan, &frame),
            star_tint: mix(p.light, [0.9, 0.95, 1.0], 0.6),
            clouds: plan
                .clouds
                .iter()
                .map(|c| CloudGeo::new(c, &frame))
                .collect(),
            cloud_lit: p.cloud_lit,
            cloud_dark: p.cloud_dark,
            layers,
            fog: plan.fog.iter().map(|f| FogGeo::new(f, &frame)).collect(),
            fog_col: p.fog,
            lamp_glow,
            beam,
            front: if water.is_some() {
                plan.layers
                    .iter()
                    .rposition(|l| matches!(l.kind, LayerKind::Ridge(Ridge { frame: Some(_), .. })))
            } else {
                None
            },
            water,
            finish: Finish::new(plan, &frame),
            sky_end,
            exp: ExpLut::new(),
            sin,
        }
    }
}
