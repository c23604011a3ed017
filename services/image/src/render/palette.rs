//! Colours and palettes: RGB helpers, the moods and their hand-tuned palettes, seeded variation
//! and the night version of each.

use super::maths::{cos_det, sin_det};

pub(super) type Rgb = [f32; 3];

pub(super) fn hex(c: u32) -> Rgb {
    [
        ((c >> 16) & 0xff) as f32 / 255.0,
        ((c >> 8) & 0xff) as f32 / 255.0,
        (c & 0xff) as f32 / 255.0,
    ]
}

#[inline(always)]
pub(super) fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

#[inline(always)]
pub(super) fn scale(a: Rgb, k: f32) -> Rgb {
    [a[0] * k, a[1] * k, a[2] * k]
}

pub(super) fn to_hex(c: Rgb) -> String {
    let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
    format!("#{:02x}{:02x}{:02x}", q(c[0]), q(c[1]), q(c[2]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mood {
    Calm,
    Mysterious,
    Tense,
    Hopeful,
    Melancholic,
    Joyful,
}

impl Mood {
    pub(super) const ALL: [Mood; 6] = [
        Mood::Calm,
        Mood::Mysterious,
        Mood::Tense,
        Mood::Hopeful,
        Mood::Melancholic,
        Mood::Joyful,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Mood::Calm => "calm",
            Mood::Mysterious => "mysterious",
            Mood::Tense => "tense",
            Mood::Hopeful => "hopeful",
            Mood::Melancholic => "melancholic",
            Mood::Joyful => "joyful",
        }
    }

    pub(super) fn from_word(word: &str) -> Option<Mood> {
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
    pub(super) fn night_chance(self) -> f64 {
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
pub(super) struct Palette {
    pub(super) sky_top: Rgb,
    pub(super) sky_mid: Rgb,
    pub(super) horizon: Rgb,
    pub(super) light: Rgb,
    pub(super) glow: Rgb,
    pub(super) land: Rgb,
    pub(super) haze: Rgb,
    pub(super) water: Rgb,
    pub(super) fog: Rgb,
    pub(super) cloud_lit: Rgb,
    pub(super) cloud_dark: Rgb,
    pub(super) window: Rgb,
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
    pub(super) fn base(mood: Mood, variant: usize) -> Palette {
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
    pub(super) fn vary(self, hue_deg: f64, saturation: f32, brightness: f32) -> Palette {
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
    pub(super) fn night(self) -> Palette {
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
