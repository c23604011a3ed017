//! Ridge layers: hills, islands and peaks from 1-D fractal noise, the foreground framing mass,
//! and the tree silhouettes along their tops.

use super::maths::{fbm, gauss, hash3, smoothstep, unit};
use super::plan::{Ridge, TreeKind};
use super::profile::Profile;
use super::scene::Frame;

/// Draws a ridge with its trees into `prof`, its base at row `base_y`; returns the bare ridge
/// line under the trees. `headland` (a column, in pixels) keeps land under the lighthouse when
/// the ridge breaks into islands.
pub(super) fn add_ridge(
    prof: &mut Profile,
    ridge: &Ridge,
    seed: u64,
    base_y: f64,
    headland: Option<f64>,
    frame: &Frame,
) -> Profile {
    let Frame {
        h,
        wf,
        hf,
        s,
        vu,
        water_on,
        hy,
        ..
    } = *frame;
    let Ridge {
        mean,
        amp,
        freq,
        octaves,
        sharp,
        islands,
        tilt,
        peak,
        frame: framing,
        trees,
    } = ridge;
    for (k, v) in prof.samples.iter_mut().enumerate() {
        let xp = k as f64 * 0.5;
        let u = xp / s;
        let n = fbm(seed, u * freq + 5.0, *octaves, *sharp);
        let mut height = (mean + amp * (2.0 * n - 1.0) + tilt * (xp / wf - 0.5)) * vu;
        if let Some((px, pw, ph)) = peak {
            height += ph * vu * gauss(xp - px * wf, pw * s);
        }
        if let Some((ef, th)) = islands {
            let e = fbm(seed ^ 0xabc, u * ef + 9.0, 3, 0.0);
            let mut env = smoothstep(th - 0.12, th + 0.12, e);
            if let Some(hx) = headland {
                env = env.max(smoothstep(0.16 * s, 0.05 * s, (xp - hx).abs()));
            }
            height *= env;
        }
        *v = if let Some((left, fpeak, reach)) = framing {
            let d = if *left { xp / wf } else { 1.0 - xp / wf };
            let env = 1.0 - smoothstep(0.1 * reach, *reach, d);
            let env = env * (2.0 - env);
            let fh = (fpeak * hf + amp * (2.0 * n - 1.0) * vu) * env;
            if fh < 0.25 {
                (h + 2) as f32
            } else {
                (hf - fh) as f32
            }
        } else if height < 0.25 && water_on {
            (hy + 2) as f32
        } else {
            (base_y - height.max(0.0)) as f32
        };
    }
    let bare = Profile {
        samples: prof.samples.clone(),
    };
    if let Some((kind, size, density)) = trees {
        let no_land = if framing.is_some() { h } else { hy };
        add_trees(prof, *kind, size * s, *density, seed, wf, no_land);
    }
    bare
}

/// Adds tree silhouettes along a ridge profile.
fn add_trees(
    prof: &mut Profile,
    kind: TreeKind,
    size: f64,
    density: f64,
    seed: u64,
    width: f64,
    hy: usize,
) {
    let size = size.max(2.0);
    let bare = Profile {
        samples: prof.samples.clone(),
    };
    let mut x = -size;
    let mut i = 0u64;
    while x < width + size {
        let id = i;
        i += 1;
        let r = |k: u64| unit(hash3(seed ^ 0x7ee5, id, k));
        // Round canopies vary in size and overlap closely, so the tree line reads as a bumpy
        // canopy rather than a row of separate blobs.
        let rad = size * (0.2 + 0.3 * r(2));
        x += match kind {
            TreeKind::Conifer => size * (0.3 + 0.45 * r(0)),
            TreeKind::Round => rad * (0.45 + 0.4 * r(0)),
        };
        if r(1) > density {
            continue;
        }
        let ground = f64::from(bare.at(x));
        if ground >= hy as f64 - 0.5 {
            continue; // no land here (open water)
        }
        match kind {
            TreeKind::Conifer => {
                let th = size * (0.65 + 0.7 * r(2));
                let hw = th * (0.18 + 0.1 * r(3));
                let tip = ground + size * 0.12 - th;
                prof.raise(x - hw, x + hw, |xx| tip + (xx - x).abs() * th / hw);
            }
            TreeKind::Round => {
                let cy = ground + size * 0.1 - rad * (1.3 + 0.4 * r(3));
                prof.raise(x - rad, x + rad, |xx| {
                    let d = xx - x;
                    cy - (rad * rad - d * d).max(0.0).sqrt()
                });
            }
        }
    }
}
