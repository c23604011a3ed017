//! The plan: every palette and composition choice for a scene, drawn from its seeded RNG and
//! independent of the output resolution.

use std::f64::consts::TAU;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::keywords::{
    motif, Source, CITY_WORDS, DAY_WORDS, LOW_SUN_WORDS, MIST_WORDS, NIGHT_WORDS, OVERCAST_WORDS,
    TREE_WORDS, WATER_WORDS,
};
use super::maths::{cos_det, fnv1a, lerp, mix64, sin_det, FNV_OFFSET};
use super::palette::{Mood, Palette};
use super::SceneArt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TreeKind {
    Conifer,
    Round,
}

#[derive(Debug, Clone)]
pub(super) struct Light {
    pub(super) moon: bool,
    /// Centre, as a fraction of the width.
    pub(super) x: f64,
    /// Height above the horizon, as a fraction of the horizon's distance from the top.
    pub(super) elevation: f64,
    /// Radius, as a fraction of the shorter side.
    pub(super) radius: f64,
    /// Whether the disc itself is visible (overcast skies show only the glow).
    pub(super) disc: bool,
    /// Crescent: offset of the shadow disc, in radii.
    pub(super) crescent: Option<(f64, f64)>,
    pub(super) glow_inner: f64,
    pub(super) glow_outer: f64,
    /// Broad brightening of the whole sky towards the light.
    pub(super) glow_wide: f64,
}

#[derive(Debug, Clone)]
pub(super) enum LayerKind {
    Ridge(Ridge),
    Skyline {
        center: f64,
        spread: f64,
        max_height: f64,
        lit: f64,
    },
}

/// A range of hills (or islands, or the foreground framing mass) from 1-D fractal noise.
#[derive(Debug, Clone)]
pub(super) struct Ridge {
    pub(super) mean: f64,
    pub(super) amp: f64,
    pub(super) freq: f64,
    pub(super) octaves: u32,
    pub(super) sharp: f64,
    /// Water scenes: islands where low-frequency noise exceeds the threshold.
    pub(super) islands: Option<(f64, f64)>,
    /// Height change across the frame (fraction of the vertical unit), for asymmetry.
    pub(super) tilt: f64,
    /// A dominant peak: (centre as fraction of width, width as fraction of the short side, height).
    pub(super) peak: Option<(f64, f64, f64)>,
    /// Foreground framing mass rising from the bottom on one side: (left?, height as fraction
    /// of the image height, reach as fraction of the width).
    pub(super) frame: Option<(bool, f64, f64)>,
    pub(super) trees: Option<(TreeKind, f64, f64)>,
}

#[derive(Debug, Clone)]
pub(super) struct LayerSpec {
    pub(super) kind: LayerKind,
    /// 0 = farthest, 1 = nearest.
    pub(super) depth: f64,
    /// How far the layer's base sits below the horizon, as a fraction of the height.
    pub(super) drop: f64,
    /// Atmospheric perspective: 0 = land colour, 1 = sky haze.
    pub(super) haze: f64,
    pub(super) seed: u64,
}

#[derive(Debug, Clone)]
pub(super) struct CloudSpec {
    /// Centre, as a fraction of the horizon's distance from the top.
    pub(super) y: f64,
    /// Half thickness, as a fraction of the shorter side.
    pub(super) thick: f64,
    pub(super) freq: f64,
    pub(super) threshold: f64,
    pub(super) density: f64,
    pub(super) seed: u64,
}

#[derive(Debug, Clone)]
pub(super) struct FogSpec {
    /// Layer index the fog band lies just in front of.
    pub(super) behind: usize,
    /// Centre offset below the horizon, as a fraction of the height.
    pub(super) y: f64,
    pub(super) thick: f64,
    pub(super) strength: f64,
    pub(super) seed: u64,
}

#[derive(Debug, Clone)]
pub(super) struct Lighthouse {
    pub(super) x: f64,
    pub(super) beam: Option<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) rng_seed: u64,
    pub(super) mood: Mood,
    pub(super) mood_hashed: bool,
    pub(super) variant: usize,
    pub(super) hue_shift: f64,
    pub(super) saturation: f32,
    pub(super) brightness: f32,
    pub(super) palette: Palette,
    pub(super) night: (bool, Source),
    pub(super) water: (bool, Source),
    pub(super) trees: (Option<TreeKind>, Source),
    pub(super) skyline: (bool, Source),
    pub(super) low_sun: (bool, Source),
    pub(super) horizon: f64,
    pub(super) light: Light,
    pub(super) layers: Vec<LayerSpec>,
    pub(super) clouds: Vec<CloudSpec>,
    pub(super) fog: Vec<FogSpec>,
    pub(super) lighthouse: Option<Lighthouse>,
    /// Stars per megapixel.
    pub(super) star_density: f64,
    /// Grain amplitude in 8-bit levels.
    pub(super) grain: f32,
    pub(super) vignette: f32,
    /// Vignette centre (fractions of width and height).
    pub(super) vignette_center: (f64, f64),
    /// Amplitude of the low-frequency light wash.
    pub(super) wash: f32,
    pub(super) weather: ((bool, Source), (bool, Source)),
    pub(super) noise_seed: u64,
}

impl Plan {
    pub(super) fn new(art: &SceneArt<'_>) -> Plan {
        let mood_norm = art.mood.trim().to_lowercase();
        let text_hash = fnv1a(
            fnv1a(fnv1a(FNV_OFFSET, art.description.as_bytes()), &[0xff]),
            mood_norm.as_bytes(),
        );
        let rng_seed = mix64(mix64(art.seed) ^ text_hash);
        let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);

        let (mood, mood_hashed) = match mood_norm
            .split(|c: char| !c.is_alphanumeric())
            .find_map(Mood::from_word)
        {
            Some(m) => (m, false),
            None => {
                let h = fnv1a(FNV_OFFSET, mood_norm.as_bytes());
                (Mood::ALL[(h % Mood::ALL.len() as u64) as usize], true)
            }
        };
        let words: Vec<String> = art
            .description
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();

        // Draw every coin regardless of keywords so one keyword does not reshuffle the rest.
        let variant = rng.random_range(0..2usize);
        let hue_shift = rng.random_range(-14.0..14.0);
        let saturation = rng.random_range(0.88f32..1.12);
        let brightness = rng.random_range(0.94f32..1.05);
        let night_coin = rng.random_bool(mood.night_chance());
        let water_coin = rng.random_bool(0.35);
        let trees_coin = rng.random_bool(0.4);
        let skyline_coin = rng.random_bool(0.2);
        let low_coin = rng.random_bool(0.45);
        let round_coin = rng.random_bool(match mood {
            Mood::Joyful | Mood::Hopeful => 0.6,
            _ => 0.25,
        });
        let hide_coin = rng.random_bool(0.6);

        let mut night = motif(&words, NIGHT_WORDS, night_coin);
        if !night.1.is_keyword() {
            if let Some(k) = Source::detect(&words, DAY_WORDS) {
                night = (false, Source::Keyword(k));
            }
        }
        let overcast = motif(&words, OVERCAST_WORDS, false);
        let misty = motif(&words, MIST_WORDS, false);
        let water = motif(&words, WATER_WORDS, water_coin);
        let trees_on = motif(&words, TREE_WORDS, trees_coin);
        let skyline = motif(&words, CITY_WORDS, skyline_coin);
        let low_sun = motif(&words, LOW_SUN_WORDS, low_coin);
        let trees = (
            trees_on.0.then_some(if round_coin {
                TreeKind::Round
            } else {
                TreeKind::Conifer
            }),
            trees_on.1,
        );
        let lighthouse_word = Source::detect(&words, &["lighthouse", "lighthouses"]).is_some();

        let mut palette = Palette::base(mood, variant).vary(hue_shift, saturation, brightness);
        if night.0 {
            palette = palette.night();
        }

        let horizon = if water.0 {
            rng.random_range(0.44..0.66)
        } else {
            rng.random_range(0.56..0.7)
        };

        // Light: the moon at night, otherwise the sun (hidden behind overcast on some grey days).
        let light_x = rng.random_range(0.08..0.92);
        let light = if night.0 {
            let crescent = rng.random_bool(0.5).then(|| {
                let a = rng.random_range(0.0..TAU);
                let d = rng.random_range(0.3..0.6);
                (cos_det(a) * d, sin_det(a) * d)
            });
            Light {
                moon: true,
                x: light_x,
                elevation: rng.random_range(0.35..0.8),
                radius: rng.random_range(0.03..0.055),
                disc: true,
                crescent,
                glow_inner: 0.55,
                glow_outer: 0.28,
                glow_wide: rng.random_range(0.05..0.1),
            }
        } else {
            let elevation = if low_sun.0 {
                rng.random_range(0.02..0.2)
            } else {
                rng.random_range(0.25..0.7)
            };
            let (radius, disc, inner, outer) = match mood {
                Mood::Tense => (rng.random_range(0.06..0.1), true, 0.75, 0.55),
                Mood::Melancholic => (
                    rng.random_range(0.035..0.055),
                    rng.random_bool(0.4),
                    0.45,
                    0.3,
                ),
                Mood::Mysterious => (rng.random_range(0.035..0.06), true, 0.6, 0.4),
                _ => (rng.random_range(0.035..0.065), true, 0.8, 0.5),
            };
            Light {
                moon: false,
                x: light_x,
                elevation,
                radius,
                disc: disc && !(overcast.0 && hide_coin),
                crescent: None,
                glow_inner: inner,
                glow_outer: outer,
                glow_wide: if overcast.0 {
                    0.06
                } else {
                    rng.random_range(0.06..0.14)
                },
            }
        };

        // Land layers, far to near.
        let ridges = if water.0 {
            rng.random_range(2..=4usize)
        } else {
            rng.random_range(3..=5usize)
        };
        let total = ridges + usize::from(skyline.0);
        // The skyline sits just behind the nearest ridge on land, or on the shore by water.
        let skyline_slot = if water.0 {
            total - 1
        } else {
            total.saturating_sub(2)
        };
        let mut layers = Vec::with_capacity(total);
        let scene_tilt = rng.random_range(-1.0..1.0);
        for i in 0..total {
            let depth = if total > 1 {
                i as f64 / (total - 1) as f64
            } else {
                1.0
            };
            let seed = rng.random::<u64>();
            let haze = (1.0 - depth) * (1.0 - depth) * rng.random_range(0.65..0.85);
            let drop = if water.0 {
                0.0
            } else {
                depth * depth * rng.random_range(0.1..0.17)
            };
            let kind = if skyline.0 && i == skyline_slot {
                LayerKind::Skyline {
                    center: rng.random_range(0.25..0.75),
                    spread: rng.random_range(0.2..0.45),
                    max_height: rng.random_range(0.14..0.24),
                    lit: if night.0 {
                        rng.random_range(0.25..0.45)
                    } else {
                        0.0
                    },
                }
            } else {
                let jitter = rng.random_range(0.75..1.3);
                let (mean, amp) = if water.0 {
                    (lerp(0.13, 0.03, depth) * jitter, lerp(0.09, 0.025, depth))
                } else {
                    (lerp(0.15, 0.05, depth) * jitter, lerp(0.11, 0.05, depth))
                };
                let islands = water.0.then(|| {
                    (
                        rng.random_range(0.6..1.6),
                        rng.random_range(0.35..0.6) - 0.1 * (1.0 - depth),
                    )
                });
                let with_trees = trees.0.filter(|_| depth >= 0.45 || total <= 2);
                let tilt = scene_tilt * lerp(0.1, 0.035, depth) * rng.random_range(0.6..1.2);
                let peak_coin = rng.random_bool(0.55) && depth < 0.7;
                let peak = (
                    rng.random_range(0.1..0.9),
                    rng.random_range(0.06..0.2),
                    lerp(0.12, 0.05, depth) * rng.random_range(0.7..1.3),
                );
                LayerKind::Ridge(Ridge {
                    tilt,
                    peak: peak_coin.then_some(peak),
                    frame: None,
                    mean,
                    amp: amp * rng.random_range(0.75..1.3),
                    freq: lerp(2.8, 1.1, depth) * rng.random_range(0.8..1.25),
                    octaves: if depth < 0.5 { 6 } else { 5 },
                    sharp: if depth < 0.6 {
                        rng.random_range(0.3..0.9)
                    } else {
                        rng.random_range(0.0..0.3)
                    },
                    islands,
                    trees: with_trees.map(|k| {
                        (
                            k,
                            lerp(0.022, 0.055, depth) * rng.random_range(0.85..1.2),
                            if trees.1.is_keyword() { 0.9 } else { 0.6 },
                        )
                    }),
                })
            };
            layers.push(LayerSpec {
                kind,
                depth,
                drop,
                haze,
                seed,
            });
        }

        // A foreground mass on one side (a repoussoir) frames about half of the scenes.
        let frame_coin = rng.random_bool(if water.0 { 0.7 } else { 0.5 });
        let frame = (
            rng.random_bool(0.5),
            rng.random_range(0.12..0.32),
            rng.random_range(0.2..0.45),
        );
        let frame_seed = rng.random::<u64>();
        if frame_coin {
            layers.push(LayerSpec {
                kind: LayerKind::Ridge(Ridge {
                    mean: 0.0,
                    amp: 0.06,
                    freq: 4.0,
                    octaves: 6,
                    sharp: 0.5,
                    islands: None,
                    tilt: 0.0,
                    peak: None,
                    frame: Some(frame),
                    // Tall pines in wooded scenes, otherwise low shrubs.
                    trees: Some(match trees.0 {
                        Some(_) => (TreeKind::Conifer, 0.08, 0.85),
                        None => (TreeKind::Round, 0.028, 0.7),
                    }),
                }),
                depth: 1.0,
                drop: 0.0,
                haze: 0.0,
                seed: frame_seed,
            });
        }

        let cloud_count = match (mood, night.0) {
            _ if overcast.0 => rng.random_range(3..=6),
            (Mood::Melancholic, _) => rng.random_range(2..=5),
            (_, true) => rng.random_range(0..=2),
            _ => rng.random_range(0..=3),
        };
        let clouds = (0..cloud_count)
            .map(|_| CloudSpec {
                y: rng.random_range(0.12..0.8),
                thick: rng.random_range(0.006..0.022),
                freq: rng.random_range(1.2..3.5),
                threshold: rng.random_range(0.35..0.6),
                density: rng.random_range(0.35..0.8),
                seed: rng.random(),
            })
            .collect();

        let fog_count = if misty.0 {
            3
        } else {
            rng.random_range(1..=3usize)
        }
        .min(total);
        let fog_boost = if misty.0 { 0.15 } else { 0.0 };
        let fog = (0..fog_count)
            .map(|_| {
                let behind = rng.random_range(0..total.saturating_sub(1).max(1));
                let base = layers.get(behind).map_or(0.0, |l| l.drop);
                FogSpec {
                    behind,
                    y: base - rng.random_range(0.0..0.05),
                    thick: rng.random_range(0.025..0.07),
                    strength: rng.random_range(0.3..0.65) + fog_boost,
                    seed: rng.random(),
                }
            })
            .collect();

        let lighthouse_x = if rng.random_bool(0.5) {
            rng.random_range(0.12..0.3)
        } else {
            rng.random_range(0.7..0.88)
        };
        let beam_coin = rng.random_bool(0.5);
        let beam = (
            if rng.random_bool(0.5) { 1.0 } else { -1.0 },
            rng.random_range(0.04..0.3),
        );
        let lighthouse = (water.0 && lighthouse_word).then(|| Lighthouse {
            x: lighthouse_x,
            beam: (night.0 || beam_coin).then_some(beam),
        });

        let grain = rng.random_range(2.0f32..4.0);
        let vignette = rng.random_range(0.22f32..0.4);
        let vignette_center = (rng.random_range(0.32..0.68), rng.random_range(0.4..0.6));
        let wash = rng.random_range(0.09f32..0.13);
        let noise_seed = rng.random();

        Plan {
            rng_seed,
            mood,
            mood_hashed,
            variant,
            hue_shift,
            saturation,
            brightness,
            palette,
            night,
            water,
            trees,
            skyline,
            low_sun,
            horizon,
            light,
            layers,
            clouds,
            fog,
            lighthouse,
            star_density: if night.0 { 190.0 } else { 0.0 },
            grain,
            vignette,
            vignette_center,
            wash,
            weather: (overcast, misty),
            noise_seed,
        }
    }
}
