//! The plain-text account of a plan's palette and composition choices, for licence and
//! provenance records.

use std::fmt::Write as _;

use super::palette::to_hex;
use super::plan::{LayerKind, Plan, Ridge, TreeKind};
use super::SceneArt;

impl Plan {
    pub(super) fn describe(&self, art: &SceneArt<'_>) -> String {
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
            .filter(|l| matches!(l.kind, LayerKind::Ridge(Ridge { frame: None, .. })))
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
            LayerKind::Ridge(Ridge { frame, .. }) => frame,
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
