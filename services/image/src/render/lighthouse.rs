//! The lighthouse on the headland: its tower, lantern room and roof raised on the ridge, and the
//! lantern's glow and beam.

use super::glow::Glow;
use super::palette::{mix, Palette, Rgb};
use super::plan::Lighthouse;
use super::profile::Profile;
use super::scene::Frame;

/// Lit lantern room of the lighthouse, in pixels.
pub(super) struct Lamp {
    pub(super) x0: f32,
    pub(super) x1: f32,
    pub(super) y0: f32,
    pub(super) y1: f32,
    pub(super) color: Rgb,
}

/// A lighthouse beam: origin (x, y) and unit direction (dx, dy) in pixels, and its colour.
pub(super) type Beam = (f64, f64, f64, f64, Rgb);

/// What the lighthouse casts beyond its silhouette.
pub(super) struct LighthouseLight {
    pub(super) glow: Glow,
    pub(super) beam: Option<Beam>,
}

/// Raises the lighthouse on `prof`, standing on the bare ridge line `bare`; returns its lit
/// lantern room and the light it casts.
pub(super) fn add_lighthouse(
    prof: &mut Profile,
    bare: &Profile,
    lighthouse: &Lighthouse,
    p: &Palette,
    frame: &Frame,
) -> (Lamp, LighthouseLight) {
    let Frame {
        w,
        wf,
        s,
        vu,
        horizon_px,
        ..
    } = *frame;
    let hx = lighthouse.x * wf;
    let ground = f64::from(bare.at(hx)).min(horizon_px - 0.01 * vu);
    let tower = 0.11 * vu;
    let (hb, ht) = (0.016 * s, 0.011 * s);
    let top = ground - tower;
    prof.raise(hx - hb, hx + hb, |x| {
        let d = (x - hx).abs();
        if d <= ht {
            top
        } else {
            top + (d - ht) / (hb - ht) * tower
        }
    });
    let (lw, lh) = (0.0075 * s, 0.024 * vu);
    prof.raise(hx - lw, hx + lw, |_| top - lh);
    let roof = 0.016 * vu;
    let rw = 0.0105 * s;
    prof.raise(hx - rw, hx + rw, |x| {
        top - lh - roof * (1.0 - (x - hx).abs() / rw)
    });
    let lamp_y = top - lh * 0.5;
    let lamp = Lamp {
        x0: (hx - lw * 0.75) as f32,
        x1: (hx + lw * 0.75) as f32,
        y0: (top - lh * 0.85) as f32,
        y1: (top - lh * 0.15) as f32,
        color: mix(p.window, [1.0, 1.0, 1.0], 0.4),
    };
    let glow = Glow::new(
        w,
        hx,
        lamp_y,
        0.012 * s,
        0.05 * s,
        0.85,
        0.35,
        mix(p.window, [1.0, 1.0, 1.0], 0.3),
    );
    let beam = lighthouse.beam.map(|(dir, lift)| {
        let len = (1.0 + lift * lift).sqrt();
        (
            hx,
            lamp_y,
            dir / len,
            -lift / len,
            mix(p.window, p.fog, 0.5),
        )
    });
    (lamp, LighthouseLight { glow, beam })
}
