//! Separable Gaussian glows: around the sun or moon and the lighthouse's lantern.

use super::maths::{flush, gauss};
use super::palette::Rgb;

/// A separable Gaussian glow: value = 1 - (1 - a·gx·gy)(1 - b·hx·hy).
pub(super) struct Glow {
    gx: Vec<f32>,
    hx: Vec<f32>,
    /// Broad horizontal falloff (no vertical falloff above the horizon).
    wx: Vec<f32>,
    wide: f64,
    horizon: f64,
    /// Vertical sigma relative to horizontal (< 1: a horizontally spread glow).
    vscale: f64,
    cy: f64,
    sigma_in: f64,
    sigma_out: f64,
    inner: f64,
    outer: f64,
    pub(super) color: Rgb,
}

impl Glow {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        w: usize,
        cx: f64,
        cy: f64,
        sigma_in: f64,
        sigma_out: f64,
        inner: f64,
        outer: f64,
        color: Rgb,
    ) -> Glow {
        let col = |sigma: f64| {
            (0..w)
                .map(|x| flush(gauss(x as f64 + 0.5 - cx, sigma)))
                .collect()
        };
        Glow {
            gx: col(sigma_in),
            hx: col(sigma_out),
            wx: Vec::new(),
            wide: 0.0,
            horizon: 1.0,
            vscale: 1.0,
            cy,
            sigma_in,
            sigma_out,
            inner,
            outer,
            color,
        }
    }

    /// Adds a broad sky brightening towards `cx`, strongest near the horizon.
    pub(super) fn with_wide(mut self, cx: f64, sigma: f64, strength: f64, horizon: f64) -> Glow {
        self.wx = (0..self.gx.len())
            .map(|x| flush(gauss(x as f64 + 0.5 - cx, sigma)))
            .collect();
        self.wide = strength;
        self.horizon = horizon.max(1.0);
        self.vscale = 0.6;
        self
    }

    /// Row factors (inner, outer, wide) for row centre `yf`.
    pub(super) fn row(&self, yf: f64) -> (f32, f32, f32) {
        let t = (yf / self.horizon).min(1.0);
        (
            flush(self.inner * gauss(yf - self.cy, self.sigma_in * self.vscale)),
            flush(self.outer * gauss(yf - self.cy, self.sigma_out * self.vscale)),
            (self.wide * (0.4 + 0.6 * t * t)) as f32,
        )
    }

    #[inline(always)]
    pub(super) fn at(&self, x: usize, row: (f32, f32, f32)) -> f32 {
        let a = row.0 * self.gx[x];
        let b = row.1 * self.hx[x];
        let c = if self.wx.is_empty() {
            0.0
        } else {
            row.2 * self.wx[x]
        };
        1.0 - (1.0 - a) * (1.0 - b) * (1.0 - c)
    }
}
