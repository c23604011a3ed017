//! Image measurements for moderation rules: size, contrast (luma deviation) and a perceptual hash.
//!
//! One decode and one pass over the pixels: luma (0.299 R + 0.587 G + 0.114 B, in integer
//! thousandths) feeds both the deviation and a 9×8 box-averaged difference hash (dHash).

use anyhow::{bail, Context as _, Result};

/// Measurements moderation rules judge an image by.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFacts {
    pub width: u32,
    pub height: u32,
    /// Population standard deviation of luma, on the 0–255 scale.
    pub luma_stddev: f64,
    /// 64-bit difference hash: bit `y * 8 + x` is set when block (x, y) of the 9×8 box-averaged
    /// luma grid is brighter than block (x + 1, y).
    pub dhash: u64,
}

/// Columns and rows of the dHash grid.
const HASH_W: usize = 9;
const HASH_H: usize = 8;

/// Decodes a PNG (8-bit RGB or RGBA, or grayscale) and measures it.
///
/// Other PNG flavours are normalised to 8 bits per channel first (16-bit samples are stripped,
/// palettes and low bit depths expanded). Alpha is ignored: luma is measured on the colour
/// channels as stored.
pub fn inspect_png(bytes: &[u8]) -> Result<ImageFacts> {
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().context("reading PNG header")?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .context("decoding PNG image data")?;
    if frame.bit_depth != png::BitDepth::Eight {
        bail!("unsupported PNG bit depth {:?}", frame.bit_depth);
    }
    let (width, height) = (frame.width, frame.height);
    let (w, h) = (width as usize, height as usize);
    let stride = frame.line_size;
    let pixels = &buf[..stride * h];
    let acc = match frame.color_type {
        png::ColorType::Grayscale => accumulate::<1>(pixels, w, h, stride),
        png::ColorType::GrayscaleAlpha => accumulate::<2>(pixels, w, h, stride),
        png::ColorType::Rgb => accumulate::<3>(pixels, w, h, stride),
        png::ColorType::Rgba => accumulate::<4>(pixels, w, h, stride),
        png::ColorType::Indexed => bail!("PNG palette was not expanded"),
    };
    Ok(ImageFacts {
        width,
        height,
        luma_stddev: acc.stddev(),
        dhash: acc.dhash(pixels, w, h, stride),
    })
}

/// Bits that differ between two perceptual hashes.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// Running sums of one pass over the pixels; luma is in thousandths (0..=255_000).
struct Accumulator {
    pixels: u64,
    sum: u128,
    sum_sq: u128,
    blocks: [[u64; HASH_W]; HASH_H],
    counts: [[u64; HASH_W]; HASH_H],
    channels: usize,
}

/// Luma of one pixel in thousandths: 299 R + 587 G + 114 B, or 1000 × grey.
#[inline(always)]
fn luma<const C: usize>(px: &[u8]) -> u64 {
    if C < 3 {
        1000 * u64::from(px[0])
    } else {
        299 * u64::from(px[0]) + 587 * u64::from(px[1]) + 114 * u64::from(px[2])
    }
}

fn accumulate<const C: usize>(pixels: &[u8], w: usize, h: usize, stride: usize) -> Accumulator {
    // Block column of every pixel column, computed once.
    let block_x: Vec<usize> = (0..w).map(|x| x * HASH_W / w).collect();
    let mut acc = Accumulator {
        pixels: (w * h) as u64,
        sum: 0,
        sum_sq: 0,
        blocks: [[0; HASH_W]; HASH_H],
        counts: [[0; HASH_W]; HASH_H],
        channels: C,
    };
    for (y, row) in pixels.chunks_exact(stride).take(h).enumerate() {
        let by = y * HASH_H / h;
        let mut row_blocks = [0u64; HASH_W];
        let mut row_sum = 0u64;
        let mut row_sq = 0u64;
        for (px, &bx) in row[..w * C].chunks_exact(C).zip(&block_x) {
            let l = luma::<C>(px);
            row_sum += l;
            row_sq += l * l;
            row_blocks[bx] += l;
        }
        acc.sum += u128::from(row_sum);
        acc.sum_sq += u128::from(row_sq);
        for (b, r) in acc.blocks[by].iter_mut().zip(row_blocks) {
            *b += r;
        }
    }
    for (by, counts) in acc.counts.iter_mut().enumerate() {
        let rows = span(by, HASH_H, h);
        for (bx, c) in counts.iter_mut().enumerate() {
            *c = (rows * span(bx, HASH_W, w)) as u64;
        }
    }
    acc
}

/// How many of `n` pixels fall in cell `i` of `cells` (pixel p goes to cell p * cells / n).
fn span(i: usize, cells: usize, n: usize) -> usize {
    let first = (i * n).div_ceil(cells);
    let end = ((i + 1) * n).div_ceil(cells);
    end.min(n) - first.min(n)
}

impl Accumulator {
    fn stddev(&self) -> f64 {
        if self.pixels == 0 {
            return 0.0;
        }
        // Exact integer variance × n², then scaled back from thousandths.
        let n = u128::from(self.pixels);
        let num = n * self.sum_sq - self.sum * self.sum;
        (num as f64).sqrt() / n as f64 / 1000.0
    }

    /// Mean luma of each grid cell as (sum, count); cells with no pixels (images narrower than
    /// 9 or shorter than 8 pixels) take the pixel under the cell's centre.
    fn cell(
        &self,
        bx: usize,
        by: usize,
        pixels: &[u8],
        w: usize,
        h: usize,
        stride: usize,
    ) -> (u128, u128) {
        let count = self.counts[by][bx];
        if count > 0 {
            return (u128::from(self.blocks[by][bx]), u128::from(count));
        }
        let x = ((2 * bx + 1) * w / (2 * HASH_W)).min(w - 1);
        let y = ((2 * by + 1) * h / (2 * HASH_H)).min(h - 1);
        let c = self.channels;
        let px = &pixels[y * stride + x * c..y * stride + x * c + c];
        let l = match c {
            1 | 2 => luma::<1>(px),
            _ => luma::<3>(px),
        };
        (u128::from(l), 1)
    }

    fn dhash(&self, pixels: &[u8], w: usize, h: usize, stride: usize) -> u64 {
        let mut hash = 0u64;
        if w == 0 || h == 0 {
            return hash;
        }
        for by in 0..HASH_H {
            for bx in 0..HASH_W - 1 {
                let (a_sum, a_n) = self.cell(bx, by, pixels, w, h, stride);
                let (b_sum, b_n) = self.cell(bx + 1, by, pixels, w, h, stride);
                // Compare means without division: a_sum / a_n > b_sum / b_n.
                if a_sum * b_n > b_sum * a_n {
                    hash |= 1 << (by * (HASH_W - 1) + bx);
                }
            }
        }
        hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes test pixels with the png crate.
    fn encode(
        w: u32,
        h: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
    ) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, w, h);
            encoder.set_color(color);
            encoder.set_depth(depth);
            let mut writer = encoder.write_header()?;
            writer.write_image_data(data)?;
            writer.finish()?;
        }
        Ok(out)
    }

    fn rgb(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .flat_map(|(x, y)| f(x, y))
            .collect()
    }

    fn rgb_png(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Result<Vec<u8>> {
        encode(
            w,
            h,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &rgb(w, h, f),
        )
    }

    /// A structured, asymmetric test image: diagonal ramp plus a bright disc.
    fn scene(x: u32, y: u32) -> [u8; 3] {
        let (dx, dy) = (x as i64 - 20, y as i64 - 30);
        let disc = if dx * dx + dy * dy < 150 { 90 } else { 0 };
        let v = (x * 2 + y / 2 + disc).min(255) as u8;
        [v, v / 2, 255 - v]
    }

    #[test]
    fn flat_colour_has_no_deviation() -> Result<()> {
        let facts = inspect_png(&rgb_png(64, 48, |_, _| [40, 120, 200])?)?;
        assert_eq!((facts.width, facts.height), (64, 48));
        assert!(facts.luma_stddev.abs() < 1e-9, "{}", facts.luma_stddev);
        assert_eq!(facts.dhash, 0);
        Ok(())
    }

    #[test]
    fn gradient_has_high_deviation() -> Result<()> {
        let facts = inspect_png(&rgb_png(256, 64, |x, _| [x as u8; 3])?)?;
        // A uniform 0..=255 ramp: stddev = sqrt((256² - 1) / 12) ≈ 73.9.
        assert!(
            (facts.luma_stddev - 73.9).abs() < 0.1,
            "{}",
            facts.luma_stddev
        );
        // Brightening to the right: no block is brighter than its right neighbour.
        assert_eq!(facts.dhash, 0);
        let falling = inspect_png(&rgb_png(256, 64, |x, _| [255 - x as u8; 3])?)?;
        assert_eq!(falling.dhash, u64::MAX);
        Ok(())
    }

    #[test]
    fn stddev_matches_a_direct_computation() -> Result<()> {
        let (w, h) = (37, 23);
        let data = rgb(w, h, scene);
        let facts = inspect_png(&encode(
            w,
            h,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &data,
        )?)?;
        let l: Vec<f64> = data
            .chunks_exact(3)
            .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
            .collect();
        let mean = l.iter().sum::<f64>() / l.len() as f64;
        let sd = (l.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / l.len() as f64).sqrt();
        assert!(
            (facts.luma_stddev - sd).abs() < 1e-9,
            "{} vs {sd}",
            facts.luma_stddev
        );
        Ok(())
    }

    #[test]
    fn identical_images_hash_identically() -> Result<()> {
        let a = inspect_png(&rgb_png(90, 70, scene)?)?;
        let b = inspect_png(&rgb_png(90, 70, scene)?)?;
        assert_eq!(a, b);
        assert_eq!(hamming(a.dhash, b.dhash), 0);
        Ok(())
    }

    #[test]
    fn mirror_image_is_far_away() -> Result<()> {
        let (w, h) = (90, 70);
        let a = inspect_png(&rgb_png(w, h, scene)?)?;
        let b = inspect_png(&rgb_png(w, h, |x, y| scene(w - 1 - x, y))?)?;
        assert!((a.luma_stddev - b.luma_stddev).abs() < 1e-9);
        let d = hamming(a.dhash, b.dhash);
        assert!(d >= 48, "mirror distance {d}");
        Ok(())
    }

    #[test]
    fn hamming_counts_bits() {
        assert_eq!(hamming(0, 0), 0);
        assert_eq!(hamming(0, u64::MAX), 64);
        assert_eq!(hamming(0b1011, 0b0110), 3);
    }

    #[test]
    fn grey_rgba_and_rgb_agree() -> Result<()> {
        let (w, h) = (40, 30);
        let grey: Vec<u8> = (0..h)
            .flat_map(|y| (0..w).map(move |x| ((x * 5 + y * 3) % 256) as u8))
            .collect();
        let as_rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
        let as_rgba: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v, 128]).collect();
        let as_grey_alpha: Vec<u8> = grey.iter().flat_map(|&v| [v, 7]).collect();
        let as_grey16: Vec<u8> = grey.iter().flat_map(|&v| [v, 0x5a]).collect();
        let g = inspect_png(&encode(
            w,
            h,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &grey,
        )?)?;
        let r = inspect_png(&encode(
            w,
            h,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &as_rgb,
        )?)?;
        let ra = inspect_png(&encode(
            w,
            h,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &as_rgba,
        )?)?;
        let ga = inspect_png(&encode(
            w,
            h,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Eight,
            &as_grey_alpha,
        )?)?;
        let g16 = inspect_png(&encode(
            w,
            h,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &as_grey16,
        )?)?;
        for other in [&r, &ra, &ga, &g16] {
            assert_eq!(g.dhash, other.dhash);
            assert!((g.luma_stddev - other.luma_stddev).abs() < 1e-9);
            assert_eq!((other.width, other.height), (w, h));
        }
        assert!(g.luma_stddev > 10.0);
        Ok(())
    }

    #[test]
    fn tiny_images_are_measured() -> Result<()> {
        for (w, h) in [(1, 1), (3, 2), (8, 9), (9, 8), (1, 40)] {
            let facts = inspect_png(&rgb_png(w, h, |x, y| [(x * 60) as u8, (y * 30) as u8, 9])?)?;
            assert_eq!((facts.width, facts.height), (w, h));
            assert!(facts.luma_stddev.is_finite());
        }
        // A single pixel is one flat cell everywhere.
        assert_eq!(inspect_png(&rgb_png(1, 1, |_, _| [200, 10, 10])?)?.dhash, 0);
        Ok(())
    }

    #[test]
    fn truncated_or_garbage_bytes_are_errors() -> Result<()> {
        let png = rgb_png(64, 64, scene)?;
        assert!(inspect_png(&png[..png.len() / 2]).is_err());
        assert!(inspect_png(&png[..20]).is_err());
        assert!(inspect_png(&[]).is_err());
        assert!(inspect_png(b"definitely not a png").is_err());
        Ok(())
    }
}
