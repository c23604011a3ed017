//! Offline procedural scene art: a layered landscape painted from a scene's description and mood.
//!
//! Everything is derived from the inputs: a `Plan` of palette and composition choices is drawn
//! from a ChaCha8 RNG seeded by the scene's seed mixed with an FNV-1a hash of description and mood,
//! then `paint` rasterises it row by row. The pixel path uses only IEEE basic arithmetic, `sqrt`
//! and our own `exp`/`sin` approximations (no libm transcendental functions), so output bytes do
//! not depend on the platform's maths library.

use std::f64::consts::{FRAC_PI_2, LN_2, LOG2_E, PI, TAU};
use std::fmt::Write as _;

use anyhow::{ensure, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What to paint for one scene.
#[derive(Debug, Clone, Copy)]
pub struct SceneArt<'a> {
    /// Free-text description of the scene; keywords in it pick motifs (water, trees, skyline, night).
    pub description: &'a str,
    /// Mood of the scene; picks the palette (unknown moods fall back by hashing).
    pub mood: &'a str,
    /// Variation seed, e.g. the run's seed.
    pub seed: u64,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

/// Largest accepted side, in pixels.
const MAX_SIDE: u32 = 16_384;
/// Largest accepted area, in pixels (64 Mpx).
const MAX_PIXELS: u64 = 1 << 26;

/// Paints the scene and encodes it as an 8-bit RGB PNG. Same inputs → byte-identical output.
pub fn render_png(art: &SceneArt<'_>) -> Result<Vec<u8>> {
    ensure!(
        art.width > 0 && art.height > 0,
        "image size must be non-zero, got {}x{}",
        art.width,
        art.height
    );
    ensure!(
        art.width <= MAX_SIDE
            && art.height <= MAX_SIDE
            && u64::from(art.width) * u64::from(art.height) <= MAX_PIXELS,
        "image size {}x{} is too large (max {MAX_SIDE} per side, {MAX_PIXELS} pixels)",
        art.width,
        art.height
    );
    let plan = Plan::new(art);
    let rgb = paint(&plan, art.width as usize, art.height as usize);
    encode_png(art.width, art.height, &rgb)
}

/// The palette/composition choices made, for licence/provenance records and tests.
pub fn describe(art: &SceneArt<'_>) -> String {
    Plan::new(art).describe(art)
}

fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(rgb.len() / 3);
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // Fast deflate with the cheap Sub filter: on these images adaptive filtering saves ~3 %
        // of the bytes for ~50 % more encoding time, and Paeth is slower and no smaller.
        encoder.set_compression(png::Compression::Fast);
        encoder.set_filter(png::FilterType::Sub);
        encoder.set_adaptive_filter(png::AdaptiveFilterType::NonAdaptive);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Hashing and deterministic maths.

/// FNV-1a's offset basis: the state of a fresh `FnvHasher`.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, continuing from `state` (stable across Rust releases, unlike `DefaultHasher`).
fn fnv1a(state: u64, bytes: &[u8]) -> u64 {
    let mut hasher = fnv::FnvHasher::with_key(state);
    std::hash::Hasher::write(&mut hasher, bytes);
    std::hash::Hasher::finish(&hasher)
}

/// SplitMix64 finaliser: a strong 64-bit mix.
fn mix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hash of a seed and two integers.
fn hash3(seed: u64, a: u64, b: u64) -> u64 {
    mix64(seed ^ mix64(a ^ mix64(b).rotate_left(17)))
}

/// Uniform in [0, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Cheap 32-bit per-pixel hash for film grain and sparkles.
#[inline]
fn pixel_hash(x: u32, y: u32, seed: u32) -> u32 {
    let mut h = x.wrapping_mul(0x9e37_79b1) ^ y.wrapping_mul(0x85eb_ca77) ^ seed;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2c1b_3c6d);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297a_2d39);
    h ^ (h >> 15)
}

/// e^(-x) for x ≥ 0, from basic arithmetic only (platform independent).
fn exp_neg(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    if x > 700.0 {
        return 0.0;
    }
    let t = x * LOG2_E;
    let n = t.floor();
    let u = (t - n) * LN_2;
    let mut sum = 1.0;
    let mut term = 1.0;
    for k in 1..=12 {
        term *= -u / f64::from(k);
        sum += term;
    }
    // 2^-n as an exact power of two; n ≤ 1010 here.
    sum * f64::from_bits((1023 - n as u64) << 52)
}

/// Narrows to `f32`, flushing tiny values to zero: products of them would be denormal, which
/// is very slow on x86.
fn flush(v: f64) -> f32 {
    if v.abs() < 1e-6 {
        0.0
    } else {
        v as f32
    }
}

/// Gaussian bump e^(-(d/sigma)²).
fn gauss(d: f64, sigma: f64) -> f64 {
    let t = d / sigma;
    exp_neg(t * t)
}

/// sin(x) from basic arithmetic only (platform independent, |error| < 1e-6).
fn sin_det(x: f64) -> f64 {
    let r = x - (x / TAU).round() * TAU;
    let r = if r > FRAC_PI_2 {
        PI - r
    } else if r < -FRAC_PI_2 {
        -PI - r
    } else {
        r
    };
    let r2 = r * r;
    r * (1.0
        - r2 / 6.0 * (1.0 - r2 / 20.0 * (1.0 - r2 / 42.0 * (1.0 - r2 / 72.0 * (1.0 - r2 / 110.0)))))
}

fn cos_det(x: f64) -> f64 {
    sin_det(x + FRAC_PI_2)
}

fn smoothstep(e0: f64, e1: f64, x: f64) -> f64 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a + (b - a) * t
}

/// 1-D value noise in [0, 1] with quintic fade.
fn value_noise(seed: u64, x: f64) -> f64 {
    let i = x.floor();
    let f = x - i;
    let i = i as i64;
    let a = unit(mix64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let b = unit(mix64(
        seed ^ (i.wrapping_add(1) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    ));
    let t = f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
    a + (b - a) * t
}

/// Fractal (fBm) value noise in [0, 1]; `sharp` blends in ridged octaves for peaky mountains.
fn fbm(seed: u64, x: f64, octaves: u32, sharp: f64) -> f64 {
    let mut sum = 0.0;
    let mut norm = 0.0;
    let mut amp = 1.0;
    let mut freq = 1.0;
    for o in 0..octaves {
        let s = mix64(seed.wrapping_add(u64::from(o)));
        let n = value_noise(s, x * freq + f64::from(o) * 17.31);
        let ridged = 1.0 - (2.0 * n - 1.0).abs();
        let v = n + (ridged * ridged - n) * sharp;
        sum += v * amp;
        norm += amp;
        amp *= 0.5;
        freq *= 2.03;
    }
    sum / norm
}

// ---------------------------------------------------------------------------------------------
// Colours and palettes.

type Rgb = [f32; 3];

fn hex(c: u32) -> Rgb {
    [
        ((c >> 16) & 0xff) as f32 / 255.0,
        ((c >> 8) & 0xff) as f32 / 255.0,
        (c & 0xff) as f32 / 255.0,
    ]
}

#[inline(always)]
fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

#[inline(always)]
fn scale(a: Rgb, k: f32) -> Rgb {
    [a[0] * k, a[1] * k, a[2] * k]
}

fn to_hex(c: Rgb) -> String {
    let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
    format!("#{:02x}{:02x}{:02x}", q(c[0]), q(c[1]), q(c[2]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mood {
    Calm,
    Mysterious,
    Tense,
    Hopeful,
    Melancholic,
    Joyful,
}

impl Mood {
    const ALL: [Mood; 6] = [
        Mood::Calm,
        Mood::Mysterious,
        Mood::Tense,
        Mood::Hopeful,
        Mood::Melancholic,
        Mood::Joyful,
    ];

    fn name(self) -> &'static str {
        match self {
            Mood::Calm => "calm",
            Mood::Mysterious => "mysterious",
            Mood::Tense => "tense",
            Mood::Hopeful => "hopeful",
            Mood::Melancholic => "melancholic",
            Mood::Joyful => "joyful",
        }
    }

    fn from_word(word: &str) -> Option<Mood> {
        Some(match word {
            "calm" | "peaceful" | "serene" | "tranquil" | "relaxed" | "relaxing" | "gentle"
            | "quiet" | "soothing" | "still" => Mood::Calm,
            "mysterious" | "mystery" | "eerie" | "mystical" | "magical" | "enigmatic"
            | "ominous" | "dreamy" | "haunting" | "dark" | "surreal" => Mood::Mysterious,
            "tense" | "tension" | "suspense" | "suspenseful" | "dramatic" | "angry" | "intense"
            | "dangerous" | "urgent" | "epic" | "scary" | "fearful" | "thrilling" => Mood::Tense,
            "hopeful" | "hope" | "inspiring" | "inspirational" | "uplifting" | "warm"
            | "optimistic" | "triumphant" | "motivational" | "romantic" => Mood::Hopeful,
            "melancholic" | "melancholy" | "sad" | "somber" | "sombre" | "nostalgic" | "lonely"
            | "wistful" | "bittersweet" | "gloomy" | "reflective" => Mood::Melancholic,
            "joyful" | "joy" | "happy" | "cheerful" | "playful" | "fun" | "excited"
            | "exciting" | "bright" | "festive" | "energetic" | "upbeat" | "whimsical" => {
                Mood::Joyful
            }
            _ => return None,
        })
    }

    /// Chance of a night scene when the description does not ask for one.
    fn night_chance(self) -> f64 {
        match self {
            Mood::Mysterious => 0.45,
            Mood::Tense => 0.3,
            Mood::Melancholic => 0.25,
            Mood::Calm => 0.2,
            Mood::Hopeful | Mood::Joyful => 0.08,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Palette {
    sky_top: Rgb,
    sky_mid: Rgb,
    horizon: Rgb,
    light: Rgb,
    glow: Rgb,
    land: Rgb,
    haze: Rgb,
    water: Rgb,
    fog: Rgb,
    cloud_lit: Rgb,
    cloud_dark: Rgb,
    window: Rgb,
}

impl Palette {
    fn from_hex(c: [u32; 12]) -> Palette {
        Palette {
            sky_top: hex(c[0]),
            sky_mid: hex(c[1]),
            horizon: hex(c[2]),
            light: hex(c[3]),
            glow: hex(c[4]),
            land: hex(c[5]),
            haze: hex(c[6]),
            water: hex(c[7]),
            fog: hex(c[8]),
            cloud_lit: hex(c[9]),
            cloud_dark: hex(c[10]),
            window: hex(c[11]),
        }
    }

    /// Two hand-tuned palettes per mood.
    fn base(mood: Mood, variant: usize) -> Palette {
        // sky_top, sky_mid, horizon, light, glow, land, haze, water, fog, cloud_lit, cloud_dark, window
        let c = match (mood, variant % 2) {
            (Mood::Calm, 0) => [
                0x4f86b0, 0x9ccbdc, 0xe4f1ec, 0xfffbeb, 0xf3f1dc, 0x1c4b58, 0xa3cbd2, 0x4f8ea6,
                0xdcecee, 0xffffff, 0x9fb9c9, 0xffe2a8,
            ],
            (Mood::Calm, _) => [
                0x3f7396, 0x8fc4c9, 0xf2e2d6, 0xfff3e3, 0xffd9c4, 0x1f4f5a, 0xb2d2d0, 0x5a97a3,
                0xe9eee9, 0xfff6f0, 0xa9b9c6, 0xffe2a8,
            ],
            (Mood::Mysterious, 0) => [
                0x120a2a, 0x3a2364, 0x2e8086, 0xd9f5ee, 0x5cc3b9, 0x090c1c, 0x48598a, 0x182c48,
                0x6a7fa8, 0x8d7cbc, 0x281c45, 0x9ff2e0,
            ],
            (Mood::Mysterious, _) => [
                0x0c1630, 0x2d2a6e, 0x6b4fa0, 0xe8e0ff, 0x9a7fe0, 0x070a18, 0x3d4f7e, 0x14213d,
                0x5e6f99, 0x9c8cc9, 0x221a40, 0xb8a8ff,
            ],
            (Mood::Tense, 0) => [
                0x1a0507, 0x5c0f13, 0xd4471f, 0xffd27a, 0xff5a1f, 0x110304, 0x7c2519, 0x2b0a0b,
                0x8c3b25, 0xe3633b, 0x3b0c0f, 0xffb347,
            ],
            (Mood::Tense, _) => [
                0x0f0608, 0x3e0c14, 0x9e2a1c, 0xffb36b, 0xe8481c, 0x0a0304, 0x5e1c17, 0x1f0709,
                0x6f2a22, 0xc2502f, 0x2a0a0d, 0xff9a3c,
            ],
            (Mood::Hopeful, 0) => [
                0x6f90c6, 0xf2c6a3, 0xffe3a3, 0xfffbe6, 0xffd27a, 0x5b3d53, 0xe6b89a, 0xc7a08d,
                0xfde6cc, 0xfff1d8, 0xd89f94, 0xffe2a8,
            ],
            (Mood::Hopeful, _) => [
                0x8fa8d8, 0xffd1b0, 0xfff0c2, 0xfffff0, 0xffe08a, 0x6a4a4f, 0xf0c8a6, 0xd6b39a,
                0xfff0dc, 0xfff8e8, 0xe3b3a0, 0xffe2a8,
            ],
            (Mood::Melancholic, 0) => [
                0x4c5765, 0x8592a0, 0xb9c1c8, 0xe7eaeb, 0xc9d0d5, 0x283038, 0x99a3ad, 0x66717e,
                0xc4cacf, 0xd0d5d9, 0x6c7580, 0xf0d9a8,
            ],
            (Mood::Melancholic, _) => [
                0x3a4a5e, 0x6f8399, 0xa7b4bf, 0xdde3e8, 0xb5c2cc, 0x1f2833, 0x8593a2, 0x53657a,
                0xb6c1ca, 0xc3cdd5, 0x5b6878, 0xf0d9a8,
            ],
            (Mood::Joyful, 0) => [
                0x1d8fe1, 0x6dc9f5, 0xfff3b5, 0xfffde8, 0xfff09e, 0x1e7b3e, 0x9ed8c0, 0x27a6d8,
                0xf0fbff, 0xffffff, 0xbfe0f5, 0xffe2a8,
            ],
            (Mood::Joyful, _) => [
                0xff6f91, 0xffb88c, 0xfff1a8, 0xffffff, 0xffe27a, 0x3b2a6b, 0xf5a3b5, 0xff9eb0,
                0xffe8f0, 0xffffff, 0xf7b6c8, 0xffe2a8,
            ],
        };
        Palette::from_hex(c)
    }

    fn map(self, f: impl Fn(Rgb) -> Rgb) -> Palette {
        Palette {
            sky_top: f(self.sky_top),
            sky_mid: f(self.sky_mid),
            horizon: f(self.horizon),
            light: f(self.light),
            glow: f(self.glow),
            land: f(self.land),
            haze: f(self.haze),
            water: f(self.water),
            fog: f(self.fog),
            cloud_lit: f(self.cloud_lit),
            cloud_dark: f(self.cloud_dark),
            window: self.window,
        }
    }

    /// Seeded variation: hue rotation about the grey axis, saturation and brightness.
    fn vary(self, hue_deg: f64, saturation: f32, brightness: f32) -> Palette {
        let a = hue_deg.to_radians();
        let (cs, sn) = (cos_det(a), sin_det(a));
        let k = (1.0 - cs) / 3.0;
        let r = (1.0f64 / 3.0).sqrt() * sn;
        let m = [
            [cs + k, k - r, k + r],
            [k + r, cs + k, k - r],
            [k - r, k + r, cs + k],
        ]
        .map(|row| row.map(|v| v as f32));
        self.map(|c| {
            let rot = [0, 1, 2].map(|i| m[i][0] * c[0] + m[i][1] * c[1] + m[i][2] * c[2]);
            let grey = 0.299 * rot[0] + 0.587 * rot[1] + 0.114 * rot[2];
            rot.map(|v| ((grey + (v - grey) * saturation) * brightness).clamp(0.0, 1.0))
        })
    }

    /// The same mood after dark: deep blue skies, a pale moon, dim land; the mood's tint survives.
    fn night(self) -> Palette {
        Palette {
            sky_top: mix(self.sky_top, hex(0x03050d), 0.82),
            sky_mid: mix(self.sky_mid, hex(0x0b1430), 0.78),
            horizon: mix(self.horizon, hex(0x1f2c4d), 0.7),
            light: mix(hex(0xf3f0e4), self.light, 0.15),
            glow: mix(self.glow, hex(0x7f97c0), 0.55),
            land: mix(self.land, hex(0x020408), 0.6),
            haze: mix(self.haze, hex(0x1a2440), 0.72),
            water: mix(self.water, hex(0x08101f), 0.75),
            fog: mix(self.fog, hex(0x34415f), 0.7),
            cloud_lit: mix(self.cloud_lit, hex(0x5d6c8c), 0.65),
            cloud_dark: mix(self.cloud_dark, hex(0x0d1322), 0.78),
            window: self.window,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The plan: every choice, independent of the output resolution.

const WATER_WORDS: &[&str] = &[
    "sea",
    "seas",
    "ocean",
    "oceans",
    "lighthouse",
    "lighthouses",
    "harbor",
    "harbors",
    "harbour",
    "harbours",
    "lake",
    "lakes",
    "river",
    "rivers",
    "beach",
    "shore",
    "coast",
    "bay",
    "pier",
    "seaside",
    "lagoon",
    "pond",
    "waves",
];
const TREE_WORDS: &[&str] = &[
    "forest", "forests", "tree", "trees", "woods", "woodland", "wood", "pine", "pines", "jungle",
    "grove",
];
const CITY_WORDS: &[&str] = &[
    "city",
    "cities",
    "street",
    "streets",
    "town",
    "towns",
    "tower",
    "towers",
    "building",
    "buildings",
    "skyline",
    "downtown",
    "skyscraper",
    "skyscrapers",
    "village",
];
const NIGHT_WORDS: &[&str] = &[
    "night",
    "nights",
    "nighttime",
    "tonight",
    "star",
    "stars",
    "starry",
    "starlit",
    "moon",
    "moons",
    "moonlit",
    "moonlight",
    "dark",
    "darkness",
    "midnight",
];
const DAY_WORDS: &[&str] = &[
    "morning",
    "noon",
    "midday",
    "afternoon",
    "daylight",
    "daytime",
    "sunny",
    "sunshine",
    "sunrise",
    "dawn",
    "sun",
];
const OVERCAST_WORDS: &[&str] = &[
    "rain", "rainy", "raining", "storm", "stormy", "cloudy", "clouds", "overcast", "grey", "gray",
    "drizzle", "thunder",
];
const MIST_WORDS: &[&str] = &["mist", "misty", "fog", "foggy", "haze", "hazy"];
const LOW_SUN_WORDS: &[&str] = &[
    "sunset", "sunsets", "sunrise", "sunrises", "dawn", "dusk", "twilight", "evening",
];

#[derive(Debug, Clone, Copy)]
enum Source {
    Keyword(&'static str),
    Seed,
}

impl Source {
    fn detect(words: &[String], list: &[&'static str]) -> Option<&'static str> {
        words
            .iter()
            .find_map(|w| list.iter().copied().find(|k| *k == w.as_str()))
    }

    fn is_keyword(self) -> bool {
        matches!(self, Source::Keyword(_))
    }

    fn label(self) -> String {
        match self {
            Source::Keyword(k) => format!("keyword '{k}'"),
            Source::Seed => "seed".to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TreeKind {
    Conifer,
    Round,
}

#[derive(Debug, Clone)]
struct Light {
    moon: bool,
    /// Centre, as a fraction of the width.
    x: f64,
    /// Height above the horizon, as a fraction of the horizon's distance from the top.
    elevation: f64,
    /// Radius, as a fraction of the shorter side.
    radius: f64,
    /// Whether the disc itself is visible (overcast skies show only the glow).
    disc: bool,
    /// Crescent: offset of the shadow disc, in radii.
    crescent: Option<(f64, f64)>,
    glow_inner: f64,
    glow_outer: f64,
    /// Broad brightening of the whole sky towards the light.
    glow_wide: f64,
}

#[derive(Debug, Clone)]
enum LayerKind {
    Ridge {
        mean: f64,
        amp: f64,
        freq: f64,
        octaves: u32,
        sharp: f64,
        /// Water scenes: islands where low-frequency noise exceeds the threshold.
        islands: Option<(f64, f64)>,
        /// Height change across the frame (fraction of the vertical unit), for asymmetry.
        tilt: f64,
        /// A dominant peak: (centre as fraction of width, width as fraction of the short side, height).
        peak: Option<(f64, f64, f64)>,
        /// Foreground framing mass rising from the bottom on one side: (left?, height as fraction
        /// of the image height, reach as fraction of the width).
        frame: Option<(bool, f64, f64)>,
        trees: Option<(TreeKind, f64, f64)>,
    },
    Skyline {
        center: f64,
        spread: f64,
        max_height: f64,
        lit: f64,
    },
}

#[derive(Debug, Clone)]
struct LayerSpec {
    kind: LayerKind,
    /// 0 = farthest, 1 = nearest.
    depth: f64,
    /// How far the layer's base sits below the horizon, as a fraction of the height.
    drop: f64,
    /// Atmospheric perspective: 0 = land colour, 1 = sky haze.
    haze: f64,
    seed: u64,
}

#[derive(Debug, Clone)]
struct CloudSpec {
    /// Centre, as a fraction of the horizon's distance from the top.
    y: f64,
    /// Half thickness, as a fraction of the shorter side.
    thick: f64,
    freq: f64,
    threshold: f64,
    density: f64,
    seed: u64,
}

#[derive(Debug, Clone)]
struct FogSpec {
    /// Layer index the fog band lies just in front of.
    behind: usize,
    /// Centre offset below the horizon, as a fraction of the height.
    y: f64,
    thick: f64,
    strength: f64,
    seed: u64,
}

#[derive(Debug, Clone)]
struct Lighthouse {
    x: f64,
    beam: Option<(f64, f64)>,
}

#[derive(Debug, Clone)]
struct Plan {
    rng_seed: u64,
    mood: Mood,
    mood_hashed: bool,
    variant: usize,
    hue_shift: f64,
    saturation: f32,
    brightness: f32,
    palette: Palette,
    night: (bool, Source),
    water: (bool, Source),
    trees: (Option<TreeKind>, Source),
    skyline: (bool, Source),
    low_sun: (bool, Source),
    horizon: f64,
    light: Light,
    layers: Vec<LayerSpec>,
    clouds: Vec<CloudSpec>,
    fog: Vec<FogSpec>,
    lighthouse: Option<Lighthouse>,
    /// Stars per megapixel.
    star_density: f64,
    /// Grain amplitude in 8-bit levels.
    grain: f32,
    vignette: f32,
    /// Vignette centre (fractions of width and height).
    vignette_center: (f64, f64),
    /// Amplitude of the low-frequency light wash.
    wash: f32,
    weather: ((bool, Source), (bool, Source)),
    noise_seed: u64,
}

/// Picks a motif: a keyword forces it on, otherwise the (always drawn) seeded coin decides.
fn motif(words: &[String], list: &[&'static str], coin: bool) -> (bool, Source) {
    match Source::detect(words, list) {
        Some(k) => (true, Source::Keyword(k)),
        None => (coin, Source::Seed),
    }
}

impl Plan {
    fn new(art: &SceneArt<'_>) -> Plan {
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
                LayerKind::Ridge {
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
                }
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
                kind: LayerKind::Ridge {
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
                },
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

    fn describe(&self, art: &SceneArt<'_>) -> String {
        let p = &self.palette;
        let mut s = String::new();
        let mood = if self.mood_hashed {
            format!(
                "{} (unknown mood '{}' mapped by FNV-1a hash)",
                self.mood.name(),
                art.mood.trim()
            )
        } else {
            self.mood.name().to_string()
        };
        let _ = write!(
            s,
            "procedural landscape {}x{}; generator reelforge-image/render v1; rng ChaCha8 seed {:#018x} \
             (seed {} mixed with FNV-1a of description+mood); mood {mood}; palette {}#{} \
             hue {:+.1}deg sat x{:.2} bright x{:.2}",
            art.width,
            art.height,
            self.rng_seed,
            art.seed,
            self.mood.name(),
            self.variant + 1,
            self.hue_shift,
            self.saturation,
            self.brightness,
        );
        let _ = write!(
            s,
            " [sky {} > {} > {}, light {}, glow {}, land {}, haze {}, water {}, fog {}]",
            to_hex(p.sky_top),
            to_hex(p.sky_mid),
            to_hex(p.horizon),
            to_hex(p.light),
            to_hex(p.glow),
            to_hex(p.land),
            to_hex(p.haze),
            to_hex(p.water),
            to_hex(p.fog),
        );
        let _ = write!(
            s,
            "; time {} ({}); horizon at {:.0}% height",
            if self.night.0 { "night" } else { "day" },
            self.night.1.label(),
            self.horizon * 100.0
        );
        let l = &self.light;
        let body = match (l.moon, l.crescent.is_some()) {
            (true, true) => "crescent moon",
            (true, false) => "full moon",
            (false, _) if !l.disc => "sun hidden by overcast (glow only)",
            (false, _) if self.low_sun.0 => "low sun",
            (false, _) => "sun",
        };
        let _ = write!(
            s,
            "; {body} at x {:.0}% elevation {:.0}% radius {:.1}% with soft glow",
            l.x * 100.0,
            l.elevation * 100.0,
            l.radius * 100.0
        );
        if !l.moon {
            let _ = write!(s, " (sun height from {})", self.low_sun.1.label());
        }
        if self.star_density > 0.0 {
            let _ = write!(s, "; stars ~{:.0}/Mpx", self.star_density);
        }
        let _ = write!(s, "; {} cloud streaks", self.clouds.len());
        let ridges = self
            .layers
            .iter()
            .filter(|l| matches!(l.kind, LayerKind::Ridge { frame: None, .. }))
            .count();
        let _ = write!(
            s,
            "; {ridges} ridges from 1-D fractal value noise with atmospheric perspective (haze {})",
            self.layers
                .iter()
                .map(|l| format!("{:.2}", l.haze))
                .collect::<Vec<_>>()
                .join("/")
        );
        if let Some((left, peak, _)) = self.layers.iter().find_map(|l| match l.kind {
            LayerKind::Ridge { frame, .. } => frame,
            LayerKind::Skyline { .. } => None,
        }) {
            let _ = write!(
                s,
                "; foreground mass framing the {} side ({:.0}% high)",
                if left { "left" } else { "right" },
                peak * 100.0
            );
        }
        let _ = write!(
            s,
            "; water {} ({})",
            if self.water.0 {
                "with rippled reflection bands"
            } else {
                "none"
            },
            self.water.1.label()
        );
        let _ = write!(
            s,
            "; trees {} ({})",
            match self.trees.0 {
                Some(TreeKind::Conifer) => "conifer silhouettes",
                Some(TreeKind::Round) => "round-canopy silhouettes",
                None => "none",
            },
            self.trees.1.label()
        );
        let _ = write!(
            s,
            "; skyline {} ({})",
            if self.skyline.0 {
                if self.night.0 {
                    "silhouette with lit windows"
                } else {
                    "silhouette"
                }
            } else {
                "none"
            },
            self.skyline.1.label()
        );
        if let Some(lh) = &self.lighthouse {
            let _ = write!(
                s,
                "; lighthouse at x {:.0}%{}",
                lh.x * 100.0,
                if lh.beam.is_some() { " with beam" } else { "" }
            );
        }
        let (overcast, misty) = self.weather;
        if overcast.0 {
            let _ = write!(s, "; overcast ({})", overcast.1.label());
        }
        if misty.0 {
            let _ = write!(s, "; misty ({})", misty.1.label());
        }
        let _ = write!(
            s,
            "; {} fog bands; light wash {:.2}; film grain {:.1} levels; vignette {:.2} centred at ({:.2}, {:.2}); no text",
            self.fog.len(),
            self.wash,
            self.grain,
            self.vignette,
            self.vignette_center.0,
            self.vignette_center.1
        );
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Rasterisation.

/// Lookup of e^(-t) for t in [0, 8), 32 steps per unit.
struct ExpLut([f32; 256]);

impl ExpLut {
    fn new() -> ExpLut {
        let mut t = [0f32; 256];
        for (i, v) in t.iter_mut().enumerate() {
            *v = exp_neg(i as f64 / 32.0) as f32;
        }
        ExpLut(t)
    }

    #[inline(always)]
    fn get(&self, t: f32) -> f32 {
        let i = (t * 32.0) as usize;
        if i < 256 {
            self.0[i]
        } else {
            0.0
        }
    }
}

/// A separable Gaussian glow: value = 1 - (1 - a·gx·gy)(1 - b·hx·hy).
struct Glow {
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
    color: Rgb,
}

impl Glow {
    #[allow(clippy::too_many_arguments)]
    fn new(
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
    fn with_wide(mut self, cx: f64, sigma: f64, strength: f64, horizon: f64) -> Glow {
        self.wx = (0..self.gx.len())
            .map(|x| flush(gauss(x as f64 + 0.5 - cx, sigma)))
            .collect();
        self.wide = strength;
        self.horizon = horizon.max(1.0);
        self.vscale = 0.6;
        self
    }

    /// Row factors (inner, outer, wide) for row centre `yf`.
    fn row(&self, yf: f64) -> (f32, f32, f32) {
        let t = (yf / self.horizon).min(1.0);
        (
            flush(self.inner * gauss(yf - self.cy, self.sigma_in * self.vscale)),
            flush(self.outer * gauss(yf - self.cy, self.sigma_out * self.vscale)),
            (self.wide * (0.4 + 0.6 * t * t)) as f32,
        )
    }

    #[inline(always)]
    fn at(&self, x: usize, row: (f32, f32, f32)) -> f32 {
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

struct Disc {
    cx: f64,
    cy: f64,
    r: f64,
    color: Rgb,
    rim: Rgb,
    shadow: Option<(f64, f64)>,
    /// Moon maria: (x, y, radius², darkening) in pixels.
    maria: Vec<(f64, f64, f64, f32)>,
}

struct Star {
    x: f64,
    y: f64,
    r: f64,
    b: f32,
}

struct CloudGeo {
    y0: usize,
    y1: usize,
    yo: Vec<f32>,
    inv_h: Vec<f32>,
    dens: Vec<f32>,
    lit: Vec<f32>,
}

struct FogGeo {
    behind: usize,
    yc: f64,
    sigma: f64,
    strength: f64,
    fm: Vec<f32>,
}

struct Windows {
    /// Per column: building id << 10 | window column, or `u32::MAX` between windows.
    col: Vec<u32>,
    cell_h: f64,
    lit_permille: u32,
    seed: u32,
    lit: Rgb,
    dark: Rgb,
}

/// Lit lantern room of the lighthouse, in pixels.
struct Lamp {
    x0: f32,
    x1: f32,
    y0: f32,
    y1: f32,
    color: Rgb,
}

struct LayerGeo {
    /// Coverage ramp start (top of the pixel's profile range − 0.5).
    s0: Vec<f32>,
    /// 1 / ramp width.
    inv_w: Vec<f32>,
    /// Rows from here down are fully covered.
    full: Vec<f32>,
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
    fn coverage(&self, x: usize, yf: f32) -> f32 {
        ((yf - self.s0[x]) * self.inv_w[x]).clamp(0.0, 1.0)
    }

    #[inline(always)]
    fn color(&self, x: usize, yf: f32, y: usize, glow: Option<(&Glow, f32)>) -> Rgb {
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

struct WaterGeo {
    near: Rgb,
    deep: Rgb,
    mist: Rgb,
    glint: Option<(f64, f64, Rgb)>,
    band_seed: u64,
    /// Wind patches: horizontally stretched areas of brighter or darker ripples.
    wind: Wash,
    /// Phase accumulators per row (fixed point, 2^32 = one turn).
    phase1: Vec<u32>,
    phase2: Vec<u32>,
}

struct Scene {
    w: usize,
    h: usize,
    /// First water row (== h without water).
    hy: usize,
    horizon_px: f64,
    s: f64,
    sky_rows: Vec<Rgb>,
    glow: Option<Glow>,
    disc: Option<Disc>,
    stars: Vec<Star>,
    star_tint: Rgb,
    clouds: Vec<CloudGeo>,
    cloud_lit: Rgb,
    cloud_dark: Rgb,
    layers: Vec<LayerGeo>,
    fog: Vec<FogGeo>,
    fog_col: Rgb,
    lamp_glow: Option<Glow>,
    beam: Option<(f64, f64, f64, f64, Rgb)>,
    water: Option<WaterGeo>,
    /// Foreground framing layer that also covers water rows.
    front: Option<usize>,
    /// Per column: vignette x² (horizontal weight folded in).
    vig_x: Vec<f32>,
    /// Per row: vignette y².
    vig_y: Vec<f32>,
    wash: Wash,
    vignette: f32,
    grain_seed: u32,
    /// Film grain in 8-bit levels, per channel, read in windows of
    /// `3 * w` starting at a hashed pixel offset below `grain_period`.
    grain_table: Vec<f32>,
    grain_period: usize,
    /// Per column: above this row centre no layer has any coverage.
    sky_end: Vec<f32>,
    exp: ExpLut,
    sin: Vec<f32>,
}

/// Profile sampled at half-pixel steps: sample k is at x = k / 2.
struct Profile {
    samples: Vec<f32>,
}

impl Profile {
    fn at(&self, x_px: f64) -> f32 {
        let k = ((x_px * 2.0).round().max(0.0) as usize).min(self.samples.len() - 1);
        self.samples[k]
    }

    /// Lowers the profile (raises the shape) to `f(x)` over `[x0, x1]` pixels.
    fn raise(&mut self, x0: f64, x1: f64, f: impl Fn(f64) -> f64) {
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

impl Scene {
    fn build(plan: &Plan, w: usize, h: usize) -> Scene {
        let p = &plan.palette;
        let (wf, hf) = (w as f64, h as f64);
        let s = wf.min(hf);
        // Vertical unit: blends height and the shorter side so portrait frames stay balanced.
        let vu = 0.5 * (hf + s);
        let horizon_px = plan.horizon * hf;
        let water_on = plan.water.0 && h >= 4;
        let hy = if water_on {
            (horizon_px.round() as usize).clamp(1, h - 1)
        } else {
            h
        };
        let ns = plan.noise_seed;

        // Sky gradient per row.
        let sky_rows = (0..h)
            .map(|y| {
                let t = ((y as f64 + 0.5) / horizon_px).min(1.0);
                if t < 0.55 {
                    mix(p.sky_top, p.sky_mid, smoothstep(0.0, 0.55, t) as f32)
                } else {
                    mix(p.sky_mid, p.horizon, smoothstep(0.55, 1.0, t) as f32)
                }
            })
            .collect();

        // Sun or moon.
        let l = &plan.light;
        let (lx, ly, lr) = (
            l.x * wf,
            horizon_px * (1.0 - l.elevation),
            (l.radius * s).max(1.0),
        );
        let glow = Some(
            Glow::new(
                w,
                lx,
                ly,
                lr * 2.4,
                lr * 7.0,
                l.glow_inner,
                l.glow_outer,
                p.glow,
            )
            .with_wide(lx, 0.55 * wf.max(s), l.glow_wide, horizon_px),
        );
        let disc = l.disc.then(|| {
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
        });

        // Stars, denser and brighter high up.
        let star_count = (plan.star_density * wf * hf / 1e6) as u64;
        let star_scale = (s / 1024.0).max(0.5);
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

        // Cloud streaks: lens-shaped bands whose thickness follows 1-D noise.
        let clouds = plan
            .clouds
            .iter()
            .map(|c| {
                let yc = c.y * horizon_px;
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
                    y1: ((yc + reach).max(0.0) as usize).min(hy),
                    yo,
                    inv_h,
                    dens,
                    lit,
                }
            })
            .collect();

        // Land layers.
        let atmos = mix(p.haze, p.horizon, 0.35);
        let last_ridge = plan
            .layers
            .iter()
            .rposition(|l| matches!(l.kind, LayerKind::Ridge { frame: None, .. }));
        let mut lamp_glow = None;
        let mut beam = None;
        let layers: Vec<LayerGeo> = plan
            .layers
            .iter()
            .enumerate()
            .map(|(li, spec)| {
                let base_y = horizon_px + spec.drop * hf;
                let mut prof = Profile {
                    samples: vec![f32::MAX; 2 * w + 1],
                };
                let mut windows = None;
                let mut lamp = None;
                let mut shade_src: Option<Vec<f32>> = None;
                match &spec.kind {
                    LayerKind::Ridge {
                        mean,
                        amp,
                        freq,
                        octaves,
                        sharp,
                        islands,
                        tilt,
                        peak,
                        frame,
                        trees,
                    } => {
                        let headland = plan
                            .lighthouse
                            .as_ref()
                            .filter(|_| Some(li) == last_ridge)
                            .map(|lh| lh.x * wf);
                        for (k, v) in prof.samples.iter_mut().enumerate() {
                            let xp = k as f64 * 0.5;
                            let u = xp / s;
                            let n = fbm(spec.seed, u * freq + 5.0, *octaves, *sharp);
                            let mut height =
                                (mean + amp * (2.0 * n - 1.0) + tilt * (xp / wf - 0.5)) * vu;
                            if let Some((px, pw, ph)) = peak {
                                height += ph * vu * gauss(xp - px * wf, pw * s);
                            }
                            if let Some((ef, th)) = islands {
                                let e = fbm(spec.seed ^ 0xabc, u * ef + 9.0, 3, 0.0);
                                let mut env = smoothstep(th - 0.12, th + 0.12, e);
                                if let Some(hx) = headland {
                                    env = env.max(smoothstep(0.16 * s, 0.05 * s, (xp - hx).abs()));
                                }
                                height *= env;
                            }
                            *v = if let Some((left, fpeak, reach)) = frame {
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
                            let no_land = if frame.is_some() { h } else { hy };
                            add_trees(&mut prof, *kind, size * s, *density, spec.seed, wf, no_land);
                        }
                        if let Some(hx) = headland {
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
                            lamp = Some(Lamp {
                                x0: (hx - lw * 0.75) as f32,
                                x1: (hx + lw * 0.75) as f32,
                                y0: (top - lh * 0.85) as f32,
                                y1: (top - lh * 0.15) as f32,
                                color: mix(p.window, [1.0, 1.0, 1.0], 0.4),
                            });
                            lamp_glow = Some(Glow::new(
                                w,
                                hx,
                                lamp_y,
                                0.012 * s,
                                0.05 * s,
                                0.85,
                                0.35,
                                mix(p.window, [1.0, 1.0, 1.0], 0.3),
                            ));
                            if let Some((dir, lift)) = plan.lighthouse.as_ref().and_then(|l| l.beam)
                            {
                                let len = (1.0 + lift * lift).sqrt();
                                beam = Some((
                                    hx,
                                    lamp_y,
                                    dir / len,
                                    -lift / len,
                                    mix(p.window, p.fog, 0.5),
                                ));
                            }
                        }
                        shade_src = Some(bare.samples);
                    }
                    LayerKind::Skyline {
                        center,
                        spread,
                        max_height,
                        lit,
                    } => {
                        windows = Some(add_skyline(
                            &mut prof,
                            SkylineParams {
                                base_y: if water_on { base_y + 1.0 } else { base_y },
                                center: center * wf,
                                spread: spread * wf.max(s),
                                max_height: max_height * vu,
                                lit: *lit,
                                seed: spec.seed,
                                s,
                                w,
                            },
                            mix(p.window, [1.0, 0.9, 0.7], 0.1),
                            mix(p.land, p.sky_mid, 0.4),
                        ));
                    }
                }
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
                    LayerKind::Ridge { .. } => base_y,
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
                let is_frame = matches!(spec.kind, LayerKind::Ridge { frame: Some(_), .. });
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
            })
            .collect();

        let fog = plan
            .fog
            .iter()
            .map(|f| FogGeo {
                behind: f.behind,
                yc: horizon_px + f.y * hf,
                sigma: f.thick * hf,
                strength: f.strength,
                fm: (0..w)
                    .map(|x| {
                        let n = fbm(f.seed, (x as f64 + 0.5) / s * 1.6, 2, 0.0);
                        (0.3 + 0.7 * smoothstep(0.2, 0.8, n)) as f32
                    })
                    .collect(),
            })
            .collect();

        let water = water_on.then(|| {
            let depth_rows = h - hy;
            let mut phase1 = Vec::with_capacity(depth_rows);
            let mut phase2 = Vec::with_capacity(depth_rows);
            let (mut a, mut b) = (0f64, 0.37f64);
            for dy in 0..depth_rows {
                let depth = (dy as f64 + 0.5) / depth_rows as f64;
                // Rows near the horizon are far away: waves change phase quickly there.
                a += 0.05 / (depth + 0.03);
                b += 0.031 / (depth + 0.05);
                phase1.push((a.fract() * 4_294_967_296.0) as u32);
                phase2.push((b.fract() * 4_294_967_296.0) as u32);
            }
            WaterGeo {
                near: mix(p.horizon, p.water, 0.55),
                deep: scale(p.water, 0.72),
                mist: mix(p.fog, p.horizon, 0.5),
                glint: (l.disc && l.elevation > 0.0)
                    .then(|| (lx, lr / (0.05 * s), mix(p.light, [1.0, 1.0, 1.0], 0.3))),
                band_seed: ns ^ 0x77,
                wind: Wash::new(ns ^ 0x3d3d, w, h, 0.2, 4.5, 3.5),
                phase1,
                phase2,
            }
        });

        // Vignette, off-centre per scene.
        let (vcx, vcy) = plan.vignette_center;
        let vig_x = (0..w)
            .map(|x| {
                let n = ((x as f64 + 0.5) / wf - vcx) * 2.0;
                (0.35 * n * n) as f32
            })
            .collect();
        let vig_y = (0..h)
            .map(|y| {
                let n = ((y as f64 + 0.5) / hf - vcy) * 2.0;
                (n * n) as f32
            })
            .collect();
        let sin = (0..1024)
            .map(|i| sin_det(i as f64 / 1024.0 * TAU) as f32)
            .collect();
        // Triangular-distributed grain; the period is not a multiple of the width, so rows
        // (which start at hashed offsets) never line up.
        let grain_period = (w + 1).max(4093) | 1;
        // Stored per channel (the same value thrice: luminance grain) so the final pass is a
        // straight element-wise loop.
        let grain_table = (0..3 * (grain_period + w))
            .map(|i| {
                let h = pixel_hash((i / 3 % grain_period) as u32, 0x9a11, (ns >> 32) as u32);
                ((h & 0xff) + ((h >> 8) & 0xff)) as f32 * (1.0 / 255.0) - 1.0
            })
            .map(|v| v * plan.grain)
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
            hy,
            horizon_px,
            s,
            sky_rows,
            glow,
            disc,
            stars,
            star_tint: mix(p.light, [0.9, 0.95, 1.0], 0.6),
            clouds,
            cloud_lit: p.cloud_lit,
            cloud_dark: p.cloud_dark,
            layers,
            fog,
            fog_col: p.fog,
            lamp_glow,
            beam,
            front: if water.is_some() {
                plan.layers
                    .iter()
                    .rposition(|l| matches!(l.kind, LayerKind::Ridge { frame: Some(_), .. }))
            } else {
                None
            },
            water,
            vig_x,
            vig_y,
            wash: Wash::new(ns ^ 0xa5a5, w, h, f64::from(plan.wash), 3.5, 1.0),
            vignette: plan.vignette,
            grain_seed: (ns >> 32) as u32,
            grain_table,
            grain_period,
            sky_end,
            exp: ExpLut::new(),
            sin,
        }
    }

    /// Finishes a row of linear colours: light wash, vignette, film grain, quantisation.
    ///
    /// Kept branch-free over plain slices so the compiler can vectorise it. The grain is a
    /// per-scene table read at a hashed offset per row: rows are uncorrelated windows of it.
    fn finish_row(&self, y: usize, color: &[f32], scratch: &mut FinishScratch, out: &mut [u8]) {
        let FinishScratch { wash, gain } = scratch;
        self.wash.fill_row(y, wash);
        let vy = self.vig_y[y];
        let vig = self.vignette;
        for (wv, &vx) in wash.iter_mut().zip(&self.vig_x) {
            let r2 = (0.5 * (vx + vy)).min(1.2);
            *wv = (1.0 - vig * (0.35 * r2 + 0.65 * r2 * r2)) * (1.0 + *wv) * 255.0;
        }
        for (g, &v) in gain.chunks_exact_mut(3).zip(wash.iter()) {
            g.fill(v);
        }
        let offset =
            3 * ((pixel_hash(0x5eed, y as u32, self.grain_seed) as usize) % self.grain_period);
        let grain = &self.grain_table[offset..offset + 3 * self.w];
        for (((o, &c), &v), &g) in out.iter_mut().zip(color).zip(gain.iter()).zip(grain) {
            *o = quantise(c * v + g);
        }
    }

    fn paint_land_row(
        &self,
        y: usize,
        out: &mut [u8],
        clean: Option<&mut [u8]>,
        scratch: &mut Scratch,
    ) {
        let star_buf = &mut scratch.star[..];
        let w = self.w;
        let yd = y as f64 + 0.5;
        let yf = yd as f32;
        let sky_row = self.sky_rows[y];
        let glow_row = self.glow.as_ref().map(|g| g.row(yd));
        let lamp_row = self.lamp_glow.as_ref().map(|g| g.row(yd));

        // Stars for this row.
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

        // Disc span for this row.
        let disc_span = self.disc.as_ref().and_then(|d| {
            let dy = yd - d.cy;
            let rr = d.r + 1.0;
            (dy.abs() < rr).then(|| {
                let half = (rr * rr - dy * dy).sqrt();
                (
                    (d.cx - half).floor().max(0.0) as usize,
                    ((d.cx + half).ceil().max(0.0) as usize).min(w),
                )
            })
        });

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
        self.finish_row(y, &scratch.color, &mut scratch.finish, out);
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn sky(
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

    fn paint_water_row(
        &self,
        wg: &WaterGeo,
        y: usize,
        out: &mut [u8],
        clean: &[u8],
        scratch: &mut Scratch,
    ) {
        let w = self.w;
        let hy = self.hy;
        let dy = y - hy;
        let rows = (self.h - hy) as f64;
        let depth = (dy as f64 + 0.5) / rows;
        let yf = y as f32 + 0.5;
        let s = self.s;

        // Mirror row, with a little vertical jitter that grows with depth.
        let jitter = (unit(hash3(wg.band_seed, 1, y as u64)) * depth * 0.004 * s) as usize;
        let src = (hy - 1).saturating_sub(dy + jitter);
        let src_row = &clean[src * w * 3..(src + 1) * w * 3];

        let amp = ((0.0012 + 0.011 * depth) * s) as f32;
        let wl1 = (0.012 + 0.11 * depth) * s;
        let wl2 = wl1 * 0.43;
        let k1 = (4_294_967_296.0 / wl1.max(1.0)) as u32;
        let k2 = (4_294_967_296.0 / wl2.max(1.0)) as u32;
        let mut ph1 = wg.phase1[dy];
        let mut ph2 = wg.phase2[dy];
        let blur = (depth * 0.006 * s) as isize;
        let refl = (0.72 - 0.4 * depth) as f32;
        let band = 1.0
            + 0.1 * (fbm(wg.band_seed, y as f64 / s * 60.0, 3, 0.0) - 0.5) as f32
            + if unit(hash3(wg.band_seed, 2, y as u64 / 3)) < 0.06 {
                0.05
            } else {
                0.0
            };
        let base = mix(wg.near, wg.deep, depth.sqrt() as f32);
        let mist = flush(0.55 * exp_neg(dy as f64 / (0.025 * self.h as f64)));

        // The mirrored row, blurred more with depth and already mixed with the water colour,
        // prepared once per row so the pixel loop makes one displaced read.
        let Scratch {
            color,
            wind,
            refl: refl_row,
            refl_tmp,
            finish,
            ..
        } = scratch;
        for (t, &v) in refl_tmp.iter_mut().zip(src_row) {
            *t = f32::from(v) * (1.0 / 255.0);
        }
        blur_rgb(refl_tmp, refl_row, blur.max(0) as usize);
        for p in refl_row.chunks_exact_mut(3) {
            for (v, b) in p.iter_mut().zip(base) {
                *v = b + (*v - b) * refl;
            }
        }
        // Glitter under the light: short horizontal dashes, brighter on some rows than others.
        let glint = wg.glint.map(|(gx, size, gc)| {
            let gw = s * (0.012 + 0.09 * depth) * size.clamp(0.6, 1.6);
            let row_bright = 0.3 + 0.7 * unit(hash3(wg.band_seed, 3, y as u64)) as f32;
            let dash = 1.0 / (s * (0.003 + 0.02 * depth)).max(1.0);
            (
                gx,
                (1.0 / (gw * gw)) as f32,
                gc,
                (0.95 - 0.45 * depth) as f32 * row_bright,
                dash,
                hash3(wg.band_seed, 4, y as u64),
            )
        });
        let glint_span = glint.map_or((0, 0), |(gx, inv, ..)| {
            let reach = (8.0 / f64::from(inv)).sqrt();
            (
                (gx - reach).floor().max(0.0) as usize,
                ((gx + reach).ceil().max(0.0) as usize).min(w),
            )
        });
        wg.wind.fill_row(y, wind);
        let max_x = w as isize - 1;
        for (x, (px, &wind)) in color.chunks_exact_mut(3).zip(wind.iter()).enumerate() {
            let wave =
                0.65 * self.sin[(ph1 >> 22) as usize] + 0.35 * self.sin[(ph2 >> 22) as usize];
            ph1 = ph1.wrapping_add(k1);
            ph2 = ph2.wrapping_add(k2);
            let xs = (x as isize + (wave * amp) as isize).clamp(0, max_x) as usize;
            let r = &refl_row[xs * 3..xs * 3 + 3];
            let mut c = scale([r[0], r[1], r[2]], band * (1.0 + wind));
            if let (Some((gx, inv, gc, strength, dash, seed)), true) =
                (glint, x >= glint_span.0 && x < glint_span.1)
            {
                let xc = x as f64 + 0.5;
                let dx = (xc - gx) as f32;
                let t = dx * dx * inv;
                if t < 8.0 {
                    let n = value_noise(seed, xc * dash) as f32;
                    let on = ((n - 0.5) * 4.0).clamp(0.0, 1.0) * (0.6 + 0.4 * wave);
                    c = mix(c, gc, (self.exp.get(t) * on * strength).min(1.0));
                }
            }
            c = mix(c, wg.mist, mist);
            if let Some(front) = self.front.map(|i| &self.layers[i]) {
                let a = front.coverage(x, yf);
                if a > 0.0 {
                    c = mix(c, front.color(x, yf, y, None), a);
                }
            }
            px.copy_from_slice(&c);
        }
        self.finish_row(y, color, finish, out);
    }
}

/// Horizontal [1 2 1] blur of a packed RGB row with taps `radius` pixels apart (clamped at the
/// edges); the interior is a straight element-wise loop.
fn blur_rgb(src: &[f32], dst: &mut [f32], radius: usize) {
    let w = src.len() / 3;
    if radius == 0 || w == 0 {
        dst.copy_from_slice(src);
        return;
    }
    let tap = |x: usize, c: usize, d: isize| {
        let xx = (x as isize + d).clamp(0, w as isize - 1) as usize;
        src[xx * 3 + c]
    };
    let r = radius as isize;
    for x in (0..w.min(radius)).chain(w.saturating_sub(radius).max(radius)..w) {
        for c in 0..3 {
            dst[x * 3 + c] = 0.25 * (tap(x, c, -r) + 2.0 * src[x * 3 + c] + tap(x, c, r));
        }
    }
    if w > 2 * radius {
        let o = radius * 3;
        let n = (w - 2 * radius) * 3;
        for (((d, &a), &b), &c) in dst[o..o + n]
            .iter_mut()
            .zip(&src[..n])
            .zip(&src[o..o + n])
            .zip(&src[2 * o..2 * o + n])
        {
            *d = 0.25 * (a + 2.0 * b + c);
        }
    }
}

/// Grid columns of the light wash, at most.
const WASH_COLS: usize = 64;

/// Per-thread row buffers.
struct Scratch {
    star: Vec<f32>,
    /// Linear RGB of the row being painted.
    color: Vec<f32>,
    wind: Vec<f32>,
    /// The mirrored row for water, and a staging buffer for it.
    refl: Vec<f32>,
    refl_tmp: Vec<f32>,
    finish: FinishScratch,
}

/// Row buffers of [`Scene::finish_row`].
struct FinishScratch {
    /// Per pixel: light wash, then the combined gain.
    wash: Vec<f32>,
    /// Per channel: the gain.
    gain: Vec<f32>,
}

impl Scratch {
    fn new(w: usize) -> Scratch {
        Scratch {
            star: vec![0.0; w],
            color: vec![0.0; w * 3],
            wind: vec![0.0; w],
            refl: vec![0.0; w * 3],
            refl_tmp: vec![0.0; w * 3],
            finish: FinishScratch {
                wash: vec![0.0; w],
                gain: vec![0.0; w * 3],
            },
        }
    }
}

/// 2-D value noise in [0, 1] with quintic fade.
fn value_noise2(seed: u64, x: f64, y: f64) -> f64 {
    let (ix, iy) = (x.floor(), y.floor());
    let (fx, fy) = (x - ix, y - iy);
    let (ix, iy) = (ix as i64 as u64, iy as i64 as u64);
    let v = |a: u64, b: u64| unit(hash3(seed, a, b));
    let fade = |f: f64| f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
    let (tx, ty) = (fade(fx), fade(fy));
    let top = lerp(v(ix, iy), v(ix.wrapping_add(1), iy), tx);
    let bottom = lerp(
        v(ix, iy.wrapping_add(1)),
        v(ix.wrapping_add(1), iy.wrapping_add(1)),
        tx,
    );
    lerp(top, bottom, ty)
}

/// A smooth 2-D light wash: fractal noise sampled on a coarse grid and interpolated per pixel, so
/// broad areas are subtly, unevenly lit (and no two scenes share the same light structure).
struct Wash {
    /// (rows + 1) × (cols + 1) grid values, scaled by the amplitude.
    grid: Vec<f32>,
    cols: usize,
    /// Per pixel column: grid cell and smoothed fraction.
    at_x: Vec<(usize, f32)>,
    /// Per pixel row: grid cell and smoothed fraction.
    at_y: Vec<(usize, f32)>,
}

impl Wash {
    /// `stretch` > 1 elongates features horizontally.
    fn new(seed: u64, w: usize, h: usize, amp: f64, freq: f64, stretch: f64) -> Wash {
        let (wf, hf) = (w as f64, h as f64);
        let s = wf.min(hf);
        let cell = (s / 20.0).max(wf / (WASH_COLS - 1) as f64).max(1.0);
        let cell_y = (cell / stretch).max(1.0);
        let cols = ((wf / cell).ceil() as usize).min(WASH_COLS - 1) + 1;
        let rows = (hf / cell_y).ceil() as usize + 1;
        let mut grid = Vec::with_capacity((rows + 1) * (cols + 1));
        for i in 0..=rows {
            for j in 0..=cols {
                let (u, v) = (j as f64 * cell / s, i as f64 * cell_y * stretch / s);
                let mut n = 0.0;
                let mut norm = 0.0;
                let mut a = 1.0;
                let mut f = freq;
                for o in 0..3u64 {
                    n += a * value_noise2(seed.wrapping_add(o), u * f + 3.0, v * f + 7.0);
                    norm += a;
                    a *= 0.5;
                    f *= 2.0;
                }
                grid.push((amp * ((n / norm * 2.0 - 1.0) * 1.8).clamp(-1.0, 1.0)) as f32);
            }
        }
        let smooth = |t: f64| (t * t * (3.0 - 2.0 * t)) as f32;
        let split = |p: f64, cell: f64| {
            let c = p / cell;
            let i = c.floor();
            (i as usize, smooth(c - i))
        };
        Wash {
            grid,
            cols,
            at_x: (0..w)
                .map(|x| {
                    let (i, t) = split(x as f64 + 0.5, cell);
                    (i.min(cols - 1), t)
                })
                .collect(),
            at_y: (0..h)
                .map(|y| {
                    let (i, t) = split(y as f64 + 0.5, cell_y);
                    (i.min(rows - 1), t)
                })
                .collect(),
        }
    }

    /// Fills `out` (one value per pixel) with the wash along pixel row `y`.
    fn fill_row(&self, y: usize, out: &mut [f32]) {
        let (i, t) = self.at_y[y];
        let stride = self.cols + 1;
        let a = &self.grid[i * stride..(i + 1) * stride];
        let b = &self.grid[(i + 1) * stride..(i + 2) * stride];
        let mut row = [0f32; WASH_COLS + 1];
        for ((o, &p), &q) in row.iter_mut().zip(a).zip(b) {
            *o = p + (q - p) * t;
        }
        for (o, &(j, tx)) in out.iter_mut().zip(&self.at_x) {
            let (p, q) = (row[j], row[j + 1]);
            *o = p + (q - p) * tx;
        }
    }
}

/// Box blur of a profile with the given radius (in samples), using prefix sums.
fn box_blur(src: &[f32], radius: usize) -> Vec<f32> {
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

/// Rounds a 0–255 float to a byte, saturating (NaN → 0).
///
/// Adding 1.5·2²³ puts the rounded integer in the low mantissa bits: branch-free and
/// vectorisable, unlike `as u8`, which must handle NaN and saturation lane by lane.
#[inline(always)]
#[allow(clippy::manual_clamp)] // `clamp` would pass NaN through; `max` maps it to 0.
fn quantise(v: f32) -> u8 {
    ((v.max(0.0).min(255.0) + 12_582_912.0).to_bits() & 0xff) as u8
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

struct SkylineParams {
    base_y: f64,
    center: f64,
    spread: f64,
    max_height: f64,
    lit: f64,
    seed: u64,
    s: f64,
    w: usize,
}

/// Adds a skyline of buildings to a profile; returns its window layout.
fn add_skyline(prof: &mut Profile, sp: SkylineParams, lit: Rgb, dark: Rgb) -> Windows {
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

/// Paints the planned scene into a packed RGB buffer.
///
/// Rows depend only on their coordinates and the prepared [`Scene`], so bands of rows are painted
/// on scoped threads with byte-identical results whatever the thread count. Water rows mirror the
/// finished (pre-grain) land rows, so they are painted in a second phase.
fn paint(plan: &Plan, w: usize, h: usize) -> Vec<u8> {
    let workers = if w * h >= 1 << 18 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    } else {
        1
    };
    paint_with(plan, w, h, workers)
}

fn paint_with(plan: &Plan, w: usize, h: usize, workers: usize) -> Vec<u8> {
    let workers = workers.max(1);
    let scene = Scene::build(plan, w, h);
    let stride = w * 3;
    let mut out = vec![0u8; stride * h];
    let hy = scene.hy;
    let mut clean = if scene.water.is_some() {
        vec![0u8; stride * hy]
    } else {
        Vec::new()
    };
    let (land, sea) = out.split_at_mut(stride * hy);

    let band = hy.div_ceil(workers).max(1);
    let mut clean_bands = clean.chunks_mut(band * stride);
    let jobs: Vec<_> = land
        .chunks_mut(band * stride)
        .enumerate()
        .map(|(i, rows)| (i * band, rows, clean_bands.next()))
        .collect();
    let paint_land = |(y0, rows, clean): (usize, &mut [u8], Option<&mut [u8]>)| {
        let mut scratch = Scratch::new(w);
        let mut clean_rows = clean.map(|c| c.chunks_exact_mut(stride));
        for (i, row) in rows.chunks_exact_mut(stride).enumerate() {
            let clean_row = clean_rows.as_mut().and_then(Iterator::next);
            scene.paint_land_row(y0 + i, row, clean_row, &mut scratch);
        }
    };
    run_jobs(jobs, &paint_land);

    if let Some(wg) = &scene.water {
        let band = (h - hy).div_ceil(workers).max(1);
        let jobs: Vec<_> = sea
            .chunks_mut(band * stride)
            .enumerate()
            .map(|(i, rows)| (hy + i * band, rows))
            .collect();
        let paint_sea = |(y0, rows): (usize, &mut [u8])| {
            let mut scratch = Scratch::new(w);
            for (i, row) in rows.chunks_exact_mut(stride).enumerate() {
                scene.paint_water_row(wg, y0 + i, row, &clean, &mut scratch);
            }
        };
        run_jobs(jobs, &paint_sea);
    }
    out
}

/// Runs jobs on scoped threads, the first on the calling thread.
fn run_jobs<J: Send>(jobs: Vec<J>, f: &(impl Fn(J) + Sync)) {
    std::thread::scope(|scope| {
        let mut jobs = jobs.into_iter();
        let first = jobs.next();
        for job in jobs {
            scope.spawn(move || f(job));
        }
        if let Some(job) = first {
            f(job);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art<'a>(description: &'a str, mood: &'a str, seed: u64, size: u32) -> SceneArt<'a> {
        SceneArt {
            description,
            mood,
            seed,
            width: size,
            height: size,
        }
    }

    /// Decodes to 8-bit RGB, returning (width, height, pixels).
    fn decode(png_bytes: &[u8]) -> Result<(u32, u32, Vec<u8>)> {
        let decoder = png::Decoder::new(png_bytes);
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf)?;
        ensure!(info.color_type == png::ColorType::Rgb, "expected RGB");
        ensure!(info.bit_depth == png::BitDepth::Eight, "expected 8-bit");
        buf.truncate(info.buffer_size());
        Ok((info.width, info.height, buf))
    }

    fn luma(rgb: &[u8]) -> Vec<f64> {
        rgb.chunks_exact(3)
            .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
            .collect()
    }

    fn stddev(v: &[f64]) -> f64 {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
    }

    /// 64-bit difference hash: 9×8 box-averaged greyscale, bit set when left > right.
    fn dhash(w: u32, h: u32, rgb: &[u8]) -> u64 {
        let (w, h) = (w as usize, h as usize);
        let l = luma(rgb);
        let mut sum = [[0f64; 9]; 8];
        let mut cnt = [[0f64; 9]; 8];
        for y in 0..h {
            let by = y * 8 / h;
            for x in 0..w {
                let bx = x * 9 / w;
                sum[by][bx] += l[y * w + x];
                cnt[by][bx] += 1.0;
            }
        }
        let mut hash = 0u64;
        for y in 0..8 {
            for x in 0..8 {
                let a = sum[y][x] / cnt[y][x].max(1.0);
                let b = sum[y][x + 1] / cnt[y][x + 1].max(1.0);
                if a > b {
                    hash |= 1 << (y * 8 + x);
                }
            }
        }
        hash
    }

    const RUN: [(&str, &str); 8] = [
        ("A lighthouse keeper watches the stormy sea", "tense"),
        ("Morning mist over a quiet pine forest", "calm"),
        ("The city skyline glows at midnight", "mysterious"),
        ("Children run across golden hills at sunrise", "joyful"),
        ("An empty harbor town in the rain", "melancholic"),
        ("A lone traveller crosses the mountains", "hopeful"),
        ("Stars over a still lake", "calm"),
        ("Old streets of a river town at dusk", "nostalgic"),
    ];

    #[test]
    fn deterministic_bytes() -> Result<()> {
        let a = art(
            "A lighthouse on a rocky coast at night",
            "mysterious",
            7,
            320,
        );
        let first = render_png(&a)?;
        let second = render_png(&a)?;
        assert_eq!(first, second);
        assert_eq!(describe(&a), describe(&a));
        Ok(())
    }

    #[test]
    fn thread_count_does_not_change_pixels() {
        for desc in ["a lighthouse on the sea at night", "a forest town at dawn"] {
            let plan = Plan::new(&art(desc, "calm", 11, 96));
            let one = paint_with(&plan, 96, 130, 1);
            assert_eq!(one, paint_with(&plan, 96, 130, 3));
            assert_eq!(one, paint_with(&plan, 96, 130, 7));
        }
    }

    #[test]
    fn different_inputs_differ() -> Result<()> {
        let base = render_png(&art("A quiet forest clearing", "calm", 1, 160))?;
        let other_desc = render_png(&art("A quiet forest river", "calm", 1, 160))?;
        let other_seed = render_png(&art("A quiet forest clearing", "calm", 2, 160))?;
        let other_mood = render_png(&art("A quiet forest clearing", "tense", 1, 160))?;
        assert_ne!(base, other_desc);
        assert_ne!(base, other_seed);
        assert_ne!(base, other_mood);
        assert_ne!(
            describe(&art("A quiet forest clearing", "calm", 1, 160)),
            describe(&art("A quiet forest clearing", "calm", 2, 160))
        );
        Ok(())
    }

    #[test]
    fn requested_size() -> Result<()> {
        for (w, h) in [
            (1, 1),
            (3, 2),
            (64, 48),
            (90, 160),
            (333, 101),
            (4000, 1),
            (1, 3000),
        ] {
            let a = SceneArt {
                description: "harbor city by the sea at night with trees",
                mood: "calm",
                seed: 3,
                width: w,
                height: h,
            };
            let (dw, dh, px) = decode(&render_png(&a)?)?;
            assert_eq!((dw, dh), (w, h));
            assert_eq!(px.len(), (w * h * 3) as usize);
        }
        Ok(())
    }

    #[test]
    fn rejects_bad_sizes() {
        assert!(render_png(&art("x", "calm", 0, 0)).is_err());
        let huge = SceneArt {
            description: "x",
            mood: "calm",
            seed: 0,
            width: 20_000,
            height: 10,
        };
        assert!(render_png(&huge).is_err());
    }

    #[test]
    fn not_blank() -> Result<()> {
        let moods = [
            "calm",
            "mysterious",
            "tense",
            "hopeful",
            "melancholic",
            "joyful",
            "zany",
        ];
        for (i, mood) in moods.iter().enumerate() {
            for desc in [
                "a quiet valley",
                "midnight over the harbor",
                "a city street",
            ] {
                let (w, h, px) = decode(&render_png(&art(desc, mood, i as u64, 192))?)?;
                assert_eq!((w, h), (192, 192));
                let sd = stddev(&luma(&px));
                assert!(sd > 12.0, "{mood} / {desc}: luma stddev {sd:.1}");
            }
        }
        Ok(())
    }

    #[test]
    fn scenes_of_a_run_are_not_near_duplicates() -> Result<()> {
        let mut hashes = Vec::new();
        for (desc, mood) in RUN {
            let (w, h, px) = decode(&render_png(&art(desc, mood, 42, 512))?)?;
            hashes.push((desc, dhash(w, h, &px)));
        }
        let mut min = u32::MAX;
        for (i, (da, a)) in hashes.iter().enumerate() {
            for (db, b) in &hashes[i + 1..] {
                let d = (a ^ b).count_ones();
                min = min.min(d);
                assert!(d > 10, "'{da}' vs '{db}': dHash distance {d}");
            }
        }
        println!("minimum pairwise dHash distance across the run: {min}");
        // The same description and mood with a different seed is a different picture too.
        let (w, h, a) = decode(&render_png(&art(RUN[1].0, RUN[1].1, 1, 256))?)?;
        let (_, _, b) = decode(&render_png(&art(RUN[1].0, RUN[1].1, 2, 256))?)?;
        assert_ne!(dhash(w, h, &a), dhash(w, h, &b));
        Ok(())
    }

    #[test]
    fn keywords_choose_motifs() {
        let d = describe(&art(
            "A lighthouse above the sea at midnight",
            "calm",
            5,
            64,
        ));
        assert!(d.contains("keyword 'lighthouse'"), "{d}");
        assert!(d.contains("keyword 'midnight'"), "{d}");
        assert!(d.contains("lighthouse at x"), "{d}");
        assert!(d.contains("moon"), "{d}");
        let d = describe(&art("Pine forest and the old town", "hopeful", 5, 64));
        assert!(
            d.contains("keyword 'forest'") || d.contains("keyword 'pine'"),
            "{d}"
        );
        assert!(d.contains("keyword 'town'"), "{d}");
        let d = describe(&art("x", "utterly bamboozled", 5, 64));
        assert!(d.contains("unknown mood"), "{d}");
    }

    #[test]
    fn palettes_follow_mood() -> Result<()> {
        // Mean colour over a few daytime scenes: tense is red-dominant, calm is blue-dominant.
        let mean = |mood: &str| -> Result<[f64; 3]> {
            let mut acc = [0f64; 3];
            let mut n = 0f64;
            for seed in 0..4 {
                let (_, _, px) = decode(&render_png(&art("open hills at noon", mood, seed, 96))?)?;
                for p in px.chunks_exact(3) {
                    for c in 0..3 {
                        acc[c] += f64::from(p[c]);
                    }
                    n += 1.0;
                }
            }
            Ok(acc.map(|v| v / n))
        };
        let tense = mean("tense")?;
        let calm = mean("calm")?;
        assert!(tense[0] > tense[2], "tense {tense:?}");
        assert!(calm[2] > calm[0], "calm {calm:?}");
        Ok(())
    }

    #[test]
    fn deterministic_maths_is_accurate() {
        for i in 0..200 {
            let x = f64::from(i) * 0.05;
            assert!((exp_neg(x) - (-x).exp()).abs() < 1e-9, "exp {x}");
            let y = f64::from(i) * 0.37 - 30.0;
            assert!((sin_det(y) - y.sin()).abs() < 1e-5, "sin {y}");
        }
    }
}
