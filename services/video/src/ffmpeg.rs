//! FFmpeg and ffprobe: audio premix and loudness, the one-pass render of every format, thumbnails, checks.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use shared::child::Child;

use crate::formats::{Format, Geometry as _};

pub const FRAME_RATE: u32 = 30;
/// Crossfade between scenes, in ms.
pub const CROSSFADE_MS: u64 = 500;
/// Loudness targets: streaming platforms normalise to about −14 LUFS; keep true peak under −1 dBTP.
pub const TARGET_LUFS: f64 = -14.0;
const TARGET_TRUE_PEAK: f64 = -1.5;
const TARGET_LRA: f64 = 11.0;
/// Music level under the narration before ducking.
const MUSIC_GAIN: f64 = 0.30;

/// Encoder settings of every output; the benchmark's plain re-encode uses exactly these.
pub const ENCODER_ARGS: &[&str] = &[
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    "23",
    "-pix_fmt",
    "yuv420p",
    "-r",
    "30",
    "-c:a",
    "aac",
    "-b:a",
    "160k",
    "-ar",
    "48000",
    "-movflags",
    "+faststart",
];

/// The programs to run.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ffmpeg: String,
    pub ffprobe: String,
    /// Longest one FFmpeg pass may run before it is killed.
    pub timeout: Duration,
}

/// Longest ffprobe may take to read one output.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

async fn run(program: &str, args: &[String], timeout: Duration) -> anyhow::Result<String> {
    let output = Child::new(program, timeout).args(args).output().await?;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
        anyhow::bail!(
            "{program} failed ({}): {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    Ok(stderr)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

/// Measured loudness of the premix, for linear (two-pass) normalisation.
#[derive(Debug, Clone, Deserialize)]
pub struct Loudness {
    pub input_i: String,
    pub input_tp: String,
    pub input_lra: String,
    pub input_thresh: String,
    pub target_offset: String,
}

/// Mixes narration and music (ducked under the voice) to `total_ms` and measures the mix's loudness
/// in the same pass.
pub async fn premix(
    tools: &Tools,
    narration: &Path,
    music: &Path,
    total_ms: u64,
    out: &Path,
) -> anyhow::Result<Loudness> {
    let seconds = total_ms as f64 / 1000.0;
    let graph = format!(
        "[1:a]aformat=channel_layouts=stereo,volume={MUSIC_GAIN}[music];\
         [0:a]aformat=channel_layouts=stereo,apad,asplit=2[voice][key];\
         [music][key]sidechaincompress=threshold=0.015:ratio=6:attack=15:release=350:makeup=1[ducked];\
         [voice][ducked]amix=inputs=2:duration=shortest:normalize=0,atrim=duration={seconds:.3},asetpts=PTS-STARTPTS,asplit=2[mix][probe];\
         [probe]loudnorm=I={TARGET_LUFS}:TP={TARGET_TRUE_PEAK}:LRA={TARGET_LRA}:print_format=json[measured]"
    );
    let mut args = strings(&["-hide_banner", "-nostdin", "-y", "-i"]);
    args.extend([
        path_arg(narration),
        "-i".into(),
        path_arg(music),
        "-filter_complex".into(),
        graph,
    ]);
    args.extend(strings(&[
        "-map",
        "[mix]",
        "-ar",
        "48000",
        "-c:a",
        "pcm_s16le",
    ]));
    args.push(path_arg(out));
    args.extend(strings(&["-map", "[measured]", "-f", "null", "-"]));
    let stderr = run(&tools.ffmpeg, &args, tools.timeout).await?;
    let start = stderr
        .rfind('{')
        .context("loudnorm printed no measurement")?;
    let end = stderr[start..]
        .find('}')
        .context("loudnorm measurement is incomplete")?
        + start
        + 1;
    serde_json::from_str(&stderr[start..end]).context("loudnorm measurement is not JSON")
}

/// One format to produce in the render.
#[derive(Debug, Clone)]
pub struct OutputPlan {
    pub format: Format,
    pub path: PathBuf,
    pub captions: PathBuf,
    pub duration_ms: u64,
}

/// Everything the single render invocation reads.
#[derive(Debug, Clone)]
pub struct RenderPlan {
    pub images: Vec<PathBuf>,
    /// Length of each scene on the timeline (they sum to the full duration).
    pub scene_ms: Vec<u64>,
    pub audio: PathBuf,
    pub loudness: Loudness,
    pub outputs: Vec<OutputPlan>,
}

/// Scene lengths in whole frames, rounded on the timeline so they sum to the rounded total.
fn scene_frames(scene_ms: &[u64]) -> Vec<u64> {
    let to_frames = |ms: u64| (ms * u64::from(FRAME_RATE) + 500) / 1000;
    let mut elapsed = 0;
    let mut previous = 0;
    scene_ms
        .iter()
        .map(|ms| {
            elapsed += ms;
            let boundary = to_frames(elapsed);
            let frames = boundary - previous;
            previous = boundary;
            frames
        })
        .collect()
}

/// The filter graph: each scene image scaled once per format and held as a still with a slow pan;
/// scenes crossfade into each other (only the overlapping half second goes through `xfade`, the
/// rest is concatenated untouched); captions burned inside the format's safe area; one normalised
/// audio track shared by every output.
pub fn filter_graph(plan: &RenderPlan) -> String {
    let fade_frames = CROSSFADE_MS * u64::from(FRAME_RATE) / 1000;
    let fade = fade_frames as f64 / f64::from(FRAME_RATE);
    let frames = scene_frames(&plan.scene_ms);
    let mut graph = String::new();
    let scenes = plan.images.len();
    let formats = plan.outputs.len();
    for scene in 0..scenes {
        let _ = write!(graph, "[{scene}:v]split={formats}");
        for output in 0..formats {
            let _ = write!(graph, "[s{scene}o{output}]");
        }
        graph.push_str(";\n");
    }
    for (o, output) in plan.outputs.iter().enumerate() {
        let (w, h) = (output.format.width(), output.format.height());
        // Cover the frame with 10 % to spare for panning; the sources are square.
        let side = (f64::from(w.max(h)) * 1.10 / 2.0).ceil() as u32 * 2;
        let mut segments = Vec::new();
        for (scene, scene_frames) in frames.iter().enumerate() {
            let (has_head, has_tail) = (scene > 0, scene + 1 < scenes);
            let clip_frames = scene_frames + if has_tail { fade_frames } else { 0 };
            let clip = clip_frames as f64 / f64::from(FRAME_RATE);
            let (x, y) = match scene % 4 {
                0 => (
                    format!("(in_w-out_w)*t/{clip:.3}"),
                    "(in_h-out_h)/2".to_owned(),
                ),
                1 => (
                    format!("(in_w-out_w)*(1-t/{clip:.3})"),
                    "(in_h-out_h)/2".to_owned(),
                ),
                2 => (
                    "(in_w-out_w)/2".to_owned(),
                    format!("(in_h-out_h)*t/{clip:.3}"),
                ),
                _ => (
                    "(in_w-out_w)/2".to_owned(),
                    format!("(in_h-out_h)*(1-t/{clip:.3})"),
                ),
            };
            let parts = 1 + usize::from(has_head) + usize::from(has_tail);
            let _ = writeln!(
                graph,
                "[s{scene}o{o}]scale={side}:{side}:flags=bicubic,format=yuv420p,loop=loop={loops}:size=1:start=0,\
                 setpts=N/{FRAME_RATE}/TB,fps={FRAME_RATE},crop={w}:{h}:x='{x}':y='{y}',setsar=1,split={parts}[p{scene}o{o}b]{head}{tail};",
                loops = clip_frames.saturating_sub(1),
                head = if has_head { format!("[p{scene}o{o}h]") } else { String::new() },
                tail = if has_tail { format!("[p{scene}o{o}t]") } else { String::new() },
            );
            let body_start = if has_head { fade_frames } else { 0 };
            let _ = writeln!(graph, "[p{scene}o{o}b]trim=start_frame={body_start}:end_frame={scene_frames},setpts=PTS-STARTPTS[b{scene}o{o}];");
            if has_head {
                let _ = writeln!(graph, "[p{scene}o{o}h]trim=end_frame={fade_frames},setpts=PTS-STARTPTS[h{scene}o{o}];");
            }
            if has_tail {
                let end = scene_frames + fade_frames;
                let _ = writeln!(graph, "[p{scene}o{o}t]trim=start_frame={scene_frames}:end_frame={end},setpts=PTS-STARTPTS[t{scene}o{o}];");
            }
            if has_head {
                let previous = scene - 1;
                let _ = writeln!(graph, "[t{previous}o{o}][h{scene}o{o}]xfade=transition=fade:duration={fade:.3}:offset=0[x{previous}o{o}];");
                segments.push(format!("[x{previous}o{o}]"));
            }
            segments.push(format!("[b{scene}o{o}]"));
        }
        let duration = output.duration_ms as f64 / 1000.0;
        let _ = writeln!(
            graph,
            "{}concat=n={}:v=1:a=0,trim=duration={duration:.3},setpts=PTS-STARTPTS,ass=filename='{}',format=yuv420p[v{o}];",
            segments.concat(),
            segments.len(),
            output.captions.display()
        );
    }
    let l = &plan.loudness;
    let _ = write!(
        graph,
        "[{scenes}:a]loudnorm=I={TARGET_LUFS}:TP={TARGET_TRUE_PEAK}:LRA={TARGET_LRA}:measured_I={}:measured_TP={}:measured_LRA={}:\
         measured_thresh={}:offset={}:linear=true:print_format=none,aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo,asplit={formats}",
        l.input_i, l.input_tp, l.input_lra, l.input_thresh, l.target_offset
    );
    for o in 0..formats {
        let _ = write!(graph, "[n{o}]");
    }
    graph.push_str(";\n");
    for (o, output) in plan.outputs.iter().enumerate() {
        let duration = output.duration_ms as f64 / 1000.0;
        let _ = writeln!(
            graph,
            "[n{o}]atrim=duration={duration:.3},asetpts=PTS-STARTPTS[a{o}];"
        );
    }
    graph.trim_end().trim_end_matches(';').to_owned()
}

/// Renders every output in one FFmpeg invocation.
pub async fn render(tools: &Tools, plan: &RenderPlan, scratch: &Path) -> anyhow::Result<()> {
    let script = scratch.join("render.filtergraph");
    tokio::fs::write(&script, filter_graph(plan)).await?;
    let mut args = strings(&["-hide_banner", "-nostdin", "-y"]);
    for image in &plan.images {
        args.extend(["-i".into(), path_arg(image)]);
    }
    args.extend([
        "-i".into(),
        path_arg(&plan.audio),
        "-filter_complex_script".into(),
        path_arg(&script),
    ]);
    for (o, output) in plan.outputs.iter().enumerate() {
        args.extend([
            "-map".into(),
            format!("[v{o}]"),
            "-map".into(),
            format!("[a{o}]"),
        ]);
        args.extend(strings(ENCODER_ARGS));
        args.push(path_arg(&output.path));
    }
    run(&tools.ffmpeg, &args, tools.timeout).await.map(|_| ())
}

/// A thumbnail written next to the outputs.
#[derive(Debug, Clone, Serialize)]
pub struct Thumbnail {
    pub name: String,
    pub width: u32,
    pub height: u32,
    #[serde(skip)]
    pub path: PathBuf,
}

/// Wraps a title into lines of at most `width` characters.
fn wrap(title: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for word in title.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines.join("\n")
}

/// 1280×720 and 1080×1920 JPEG thumbnails from the opening image, titled.
pub async fn thumbnails(
    tools: &Tools,
    image: &Path,
    title: &str,
    scratch: &Path,
) -> anyhow::Result<Vec<Thumbnail>> {
    let sizes = [(1280_u32, 720_u32, 28_usize, 64_u32), (1080, 1920, 18, 84)];
    let mut graph = format!("[0:v]split={}", sizes.len());
    for i in 0..sizes.len() {
        let _ = write!(graph, "[t{i}]");
    }
    graph.push(';');
    let mut thumbnails = Vec::new();
    let mut args = strings(&["-hide_banner", "-nostdin", "-y", "-i"]);
    args.push(path_arg(image));
    let mut outputs = Vec::new();
    for (i, (w, h, chars, font_size)) in sizes.iter().enumerate() {
        // One centred drawtext per line, stacked up from the lower safe margin.
        let lines: Vec<String> = wrap(title, *chars).lines().map(str::to_owned).collect();
        let side = w.max(h);
        let _ = write!(graph, "[t{i}]scale={side}:{side},crop={w}:{h}");
        let line_height = font_size + font_size / 4;
        for (n, line) in lines.iter().enumerate() {
            let text = scratch.join(format!("title-{i}-{n}.txt"));
            tokio::fs::write(&text, line).await?;
            let from_bottom = (lines.len() - n) as u32 * line_height;
            let _ = write!(
                graph,
                ",drawtext=textfile='{}':font='DejaVu Sans':fontsize={font_size}:fontcolor=white:\
                 borderw={border}:bordercolor=black@0.85:x=(w-text_w)/2:y=h*0.88-{from_bottom}",
                text.display(),
                border = font_size / 14,
            );
        }
        let _ = write!(graph, "[o{i}];");
        let name = format!("thumbnail-{w}x{h}.jpg");
        let path = scratch.join(&name);
        outputs.extend([
            "-map".to_owned(),
            format!("[o{i}]"),
            "-frames:v".into(),
            "1".into(),
            "-q:v".into(),
            "3".into(),
            path_arg(&path),
        ]);
        thumbnails.push(Thumbnail {
            name,
            width: *w,
            height: *h,
            path,
        });
    }
    args.extend([
        "-filter_complex".into(),
        graph.trim_end_matches(';').to_owned(),
    ]);
    args.extend(outputs);
    run(&tools.ffmpeg, &args, tools.timeout).await?;
    Ok(thumbnails)
}

/// What ffprobe says about an output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    pub video_codec: String,
    pub pixel_format: String,
    pub width: u32,
    pub height: u32,
    pub audio_codec: String,
    pub duration_ms: u64,
}

pub async fn probe(tools: &Tools, path: &Path) -> anyhow::Result<Probe> {
    let output = Child::new(&tools.ffprobe, PROBE_TIMEOUT)
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name,width,height,pix_fmt:format=duration",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let streams = report["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .context("no video stream")?;
    let audio = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .context("no audio stream")?;
    let seconds: f64 = report["format"]["duration"]
        .as_str()
        .unwrap_or("0")
        .parse()?;
    Ok(Probe {
        video_codec: video["codec_name"].as_str().unwrap_or("").to_owned(),
        pixel_format: video["pix_fmt"].as_str().unwrap_or("").to_owned(),
        width: video["width"].as_u64().unwrap_or(0) as u32,
        height: video["height"].as_u64().unwrap_or(0) as u32,
        audio_codec: audio["codec_name"].as_str().unwrap_or("").to_owned(),
        duration_ms: (seconds * 1000.0).round() as u64,
    })
}

/// The checks an output must pass before a run is ready for distribution.
pub fn verify(probe: &Probe, format: Format, expected_ms: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        probe.video_codec == "h264",
        "{}: video codec {} is not h264",
        format.label(),
        probe.video_codec
    );
    anyhow::ensure!(
        probe.pixel_format == "yuv420p",
        "{}: pixel format {} is not yuv420p",
        format.label(),
        probe.pixel_format
    );
    anyhow::ensure!(
        probe.audio_codec == "aac",
        "{}: audio codec {} is not aac",
        format.label(),
        probe.audio_codec
    );
    anyhow::ensure!(
        (probe.width, probe.height) == (format.width(), format.height()),
        "{}: {}x{} instead of {}x{}",
        format.label(),
        probe.width,
        probe.height,
        format.width(),
        format.height()
    );
    anyhow::ensure!(
        probe.duration_ms.abs_diff(expected_ms) <= 500,
        "{}: lasts {} ms, expected {} ms",
        format.label(),
        probe.duration_ms,
        expected_ms
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(scene_ms: Vec<u64>, formats: &[Format]) -> RenderPlan {
        let loudness = Loudness {
            input_i: "-20".into(),
            input_tp: "-3".into(),
            input_lra: "5".into(),
            input_thresh: "-30".into(),
            target_offset: "0".into(),
        };
        RenderPlan {
            images: (0..scene_ms.len())
                .map(|i| PathBuf::from(format!("scene-{i}.png")))
                .collect(),
            audio: PathBuf::from("mix.wav"),
            outputs: formats
                .iter()
                .map(|f| OutputPlan {
                    format: *f,
                    path: PathBuf::from("out.mp4"),
                    captions: PathBuf::from("c.ass"),
                    duration_ms: scene_ms.iter().sum(),
                })
                .collect(),
            scene_ms,
            loudness,
        }
    }

    #[test]
    fn scene_frames_sum_to_the_rounded_timeline() {
        let frames = scene_frames(&[4216, 5050, 3150]);
        assert_eq!(frames.iter().sum::<u64>(), (4216 + 5050 + 3150) * 30 / 1000);
        assert_eq!(frames, vec![126, 152, 94]);
    }

    #[test]
    fn only_the_overlaps_are_crossfaded() {
        let graph = filter_graph(&plan(
            vec![3000, 4000, 5000],
            &[Format::Landscape, Format::Portrait],
        ));
        assert_eq!(
            graph.matches("xfade=").count(),
            4,
            "two transitions per format"
        );
        assert_eq!(
            graph.matches("concat=n=5").count(),
            2,
            "body, fade, body, fade, body"
        );
        assert_eq!(
            graph.matches("[0:v]split=2").count(),
            1,
            "each image is decoded once"
        );
        assert!(graph.contains("crop=1080:1920"));
        assert!(graph.contains("asplit=2[n0][n1]"));
        let single = filter_graph(&plan(vec![5000], &[Format::Square]));
        assert!(!single.contains("xfade") && single.contains("concat=n=1"));
    }

    #[test]
    fn titles_wrap_on_word_boundaries() {
        assert_eq!(
            wrap("The keeper's last night at the lighthouse", 18),
            "The keeper's last\nnight at the\nlighthouse"
        );
    }
}
