//! City skylines: blocks of buildings with set-backs and antennas raised on a layer's profile,
//! and the layout of their windows.

use super::maths::{gauss, hash3, unit};
use super::palette::Rgb;
use super::profile::Profile;

pub(super) struct Windows {
    /// Per column: building id << 10 | window column, or `u32::MAX` between windows.
    pub(super) col: Vec<u32>,
    pub(super) cell_h: f64,
    pub(super) lit_permille: u32,
    pub(super) seed: u32,
    pub(super) lit: Rgb,
    pub(super) dark: Rgb,
}

pub(super) struct SkylineParams {
    pub(super) base_y: f64,
    pub(super) center: f64,
    pub(super) spread: f64,
    pub(super) max_height: f64,
    pub(super) lit: f64,
    pub(super) seed: u64,
    pub(super) s: f64,
    pub(super) w: usize,
}

/// Adds a skyline of buildings to a profile; returns its window layout.
pub(super) fn add_skyline(prof: &mut Profile, sp: SkylineParams, lit: Rgb, dark: Rgb) -> Windows {
    let s = sp.s;
    let mut col = vec![u32::MAX; sp.w];
    let cell_w = (0.009 * s).max(3.0);
    let cell_h = (0.012 * s).max(3.0);
    let mut x = 0.0f64;
    let mut id = 0u64;
    while x < sp.w as f64 {
        let r = |k: u64| unit(hash3(sp.seed ^ 0xb1d, id, k));
        let bw = s * (0.025 + 0.045 * r(0));
        let gap = if r(1) < 0.3 { s * 0.006 * r(2) } else { 0.0 };
        let cx = x + bw * 0.5;
        let env = 0.25 + 0.75 * gauss(cx - sp.center, sp.spread);
        let bh = sp.max_height * env * (0.35 + 0.65 * r(3));
        if r(4) < 0.92 {
            let top = sp.base_y - bh;
            prof.raise(x, x + bw, |_| top);
            if r(5) < 0.35 {
                let inset = bw * (0.15 + 0.1 * r(6));
                prof.raise(x + inset, x + bw - inset, |_| top - bh * 0.12);
            }
            if r(7) < 0.25 {
                let aw = (0.0012 * s).max(0.6);
                prof.raise(cx - aw, cx + aw, |_| top - bh * (0.2 + 0.25 * r(8)));
            }
            let margin = cell_w * 0.6;
            let x0 = (x + margin).max(0.0) as usize;
            let x1 = ((x + bw - margin).max(0.0) as usize).min(sp.w);
            for (xi, c) in col.iter_mut().enumerate().take(x1).skip(x0) {
                let v = (xi as f64 + 0.5 - x) / cell_w;
                let f = v - v.floor();
                if f > 0.25 && f < 0.7 {
                    *c = ((id as u32 & 0x3f_ffff) << 10) | (v as u32 & 0x3ff);
                }
            }
        }
        x += bw + gap;
        id += 1;
    }
    Windows {
        col,
        cell_h,
        lit_permille: (sp.lit * 1000.0) as u32,
        seed: (sp.seed >> 7) as u32,
        lit,
        dark,
    }
}
