//! Silhouette profiles (the top edge of a layer, per half pixel) and their box blur.

/// Profile sampled at half-pixel steps: sample k is at x = k / 2.
pub(super) struct Profile {
    pub(super) samples: Vec<f32>,
}

impl Profile {
    pub(super) fn at(&self, x_px: f64) -> f32 {
        let k = ((x_px * 2.0).round().max(0.0) as usize).min(self.samples.len() - 1);
        self.samples[k]
    }

    /// Lowers the profile (raises the shape) to `f(x)` over `[x0, x1]` pixels.
    pub(super) fn raise(&mut self, x0: f64, x1: f64, f: impl Fn(f64) -> f64) {
        let last = self.samples.len() - 1;
        let k0 = ((x0 * 2.0).floor().max(0.0) as usize).min(last);
        let k1 = ((x1 * 2.0).ceil().max(0.0) as usize).min(last);
        for k in k0..=k1 {
            let x = k as f64 * 0.5;
            if x >= x0 && x <= x1 {
                let v = f(x) as f32;
                if v < self.samples[k] {
                    self.samples[k] = v;
                }
            }
        }
    }
}

/// Box blur of a profile with the given radius (in samples), using prefix sums.
pub(super) fn box_blur(src: &[f32], radius: usize) -> Vec<f32> {
    let n = src.len();
    let mut prefix = Vec::with_capacity(n + 1);
    let mut acc = 0f64;
    prefix.push(0f64);
    for &v in src {
        acc += f64::from(v);
        prefix.push(acc);
    }
    (0..n)
        .map(|i| {
            let a = i.saturating_sub(radius);
            let b = (i + radius + 1).min(n);
            ((prefix[b] - prefix[a]) / (b - a) as f64) as f32
        })
        .collect()
}
