//! End-to-end tests of the painter: determinism, sizes, variety and motif choices.

use anyhow::{ensure, Result};

use super::paint::paint_with;
use super::plan::Plan;
use super::{describe, render_png, SceneArt};

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
