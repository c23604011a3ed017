//! The offline image check at the size the image service produces: wall time of `inspect_png`
//! (decode, luma statistics, difference hash) on a 2048×2048 RGB PNG, best and median of 5.
//!
//! Run: `cargo bench -p moderation --bench inspect`.

use std::time::Instant;

use moderation::image_check::inspect_png;

const SIZE: u32 = 2048;
const REPEATS: usize = 5;

/// A structured 2048×2048 RGB PNG.
fn test_png() -> anyhow::Result<Vec<u8>> {
    let pixels: Vec<u8> = (0..SIZE * SIZE)
        .flat_map(|i| {
            let (x, y) = (i % SIZE, i / SIZE);
            [((x ^ y) & 0xff) as u8, (x / 8) as u8, (y / 8) as u8]
        })
        .collect();
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, SIZE, SIZE);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(bytes)
}

fn main() -> anyhow::Result<()> {
    let png = test_png()?;
    let mut millis = Vec::with_capacity(REPEATS);
    let mut facts = None;
    for _ in 0..REPEATS {
        let started = Instant::now();
        facts = Some(inspect_png(&png)?);
        millis.push(started.elapsed().as_secs_f64() * 1e3);
    }
    millis.sort_by(f64::total_cmp);
    let facts = facts.ok_or_else(|| anyhow::anyhow!("no run"))?;
    println!(
        "inspect_png 2048x2048 ({} KiB): best {:.1} ms, median {:.1} ms (luma stddev {:.1}, dhash {:016x})",
        png.len() / 1024,
        millis[0],
        millis[REPEATS / 2],
        facts.luma_stddev,
        facts.dhash
    );
    Ok(())
}
