//! The offline painter at the size the image service produces: wall time of `render_png` (plan,
//! paint, PNG encode) for 2048×2048 scenes of different motifs and moods, best and median of each.
//!
//! Run: `cargo bench -p image --bench paint`.

use std::time::Instant;

use image::render::{render_png, SceneArt};

const SCENES: [(&str, &str); 4] = [
    ("A lighthouse keeper watches the stormy sea", "tense"),
    ("Morning mist over a quiet pine forest", "calm"),
    ("The city skyline glows at midnight", "mysterious"),
    ("Children run across golden hills at sunrise", "joyful"),
];
const REPEATS: usize = 3;

fn main() -> anyhow::Result<()> {
    for (description, mood) in SCENES {
        let mut millis = Vec::with_capacity(REPEATS);
        let mut size = 0;
        for repeat in 0..REPEATS {
            let art = SceneArt {
                description,
                mood,
                seed: 9 + repeat as u64,
                width: 2048,
                height: 2048,
            };
            let started = Instant::now();
            size = render_png(&art)?.len();
            millis.push(started.elapsed().as_secs_f64() * 1e3);
        }
        millis.sort_by(f64::total_cmp);
        println!(
            "render_png 2048x2048 '{description}' ({mood}): best {:.0} ms, median {:.0} ms, {} KiB",
            millis[0],
            millis[REPEATS / 2],
            size / 1024
        );
    }
    Ok(())
}
