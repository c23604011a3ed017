//! Captions from the narration's measured cues: SRT and VTT sidecars, and ASS styled per format's safe area.

use crate::formats::{Format, Geometry as _};

/// A phrase and when it is spoken (as the tts service measured it).
pub use messages::jobs::Cue;

/// Pauses shorter than this are bridged, so captions do not flicker between phrases.
const BRIDGE_MS: u64 = 500;

/// Display cues: each phrase held until the next starts when the pause between them is short.
pub fn display_cues(cues: &[Cue], until_ms: u64) -> Vec<Cue> {
    let mut out: Vec<Cue> = cues
        .iter()
        .filter(|c| c.start_ms < until_ms)
        .cloned()
        .collect();
    for i in 0..out.len() {
        let next_start = out.get(i + 1).map(|n| n.start_ms);
        let cue = &mut out[i];
        if let Some(next) = next_start {
            if next.saturating_sub(cue.end_ms) <= BRIDGE_MS {
                cue.end_ms = next;
            }
        }
        cue.end_ms = cue.end_ms.min(until_ms).max(cue.start_ms + 1);
    }
    out
}

fn clock(ms: u64, separator: char) -> String {
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

pub fn srt(cues: &[Cue]) -> String {
    cues.iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{}\n{} --> {}\n{}\n",
                i + 1,
                clock(c.start_ms, ','),
                clock(c.end_ms, ','),
                c.text
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn vtt(cues: &[Cue]) -> String {
    let body: Vec<String> = cues
        .iter()
        .map(|c| {
            format!(
                "{} --> {}\n{}\n",
                clock(c.start_ms, '.'),
                clock(c.end_ms, '.'),
                c.text
            )
        })
        .collect();
    format!("WEBVTT\n\n{}", body.join("\n"))
}

fn ass_clock(ms: u64) -> String {
    let cs = ms / 10;
    format!(
        "{}:{:02}:{:02}.{:02}",
        cs / 360_000,
        cs / 6000 % 60,
        cs / 100 % 60,
        cs % 100
    )
}

fn ass_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('{', "(")
        .replace('}', ")")
        .replace('\n', "\\N")
}

/// An ASS script sized to the format, with the caption block inside its safe area.
pub fn ass(cues: &[Cue], format: Format) -> String {
    let (w, h) = (format.width(), format.height());
    let area = format.caption_area();
    let font_size = (f64::from(w.min(h)) * area.font_scale).round();
    let outline = (font_size / 14.0).round().max(2.0);
    let margin_v = (f64::from(h) * area.bottom).round();
    let margin_l = (f64::from(w) * area.left).round();
    let margin_r = (f64::from(w) * area.right).round();
    let mut script = format!(
        "[Script Info]\nScriptType: v4.00+\nPlayResX: {w}\nPlayResY: {h}\nWrapStyle: 0\nScaledBorderAndShadow: yes\n\n\
         [V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n\
         Style: Caption,DejaVu Sans,{font_size},&H00FFFFFF,&H00FFFFFF,&H00101010,&H80000000,-1,0,0,0,100,100,0,0,1,{outline},1,2,{margin_l},{margin_r},{margin_v},1\n\n\
         [Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    );
    for cue in cues {
        script.push_str(&format!(
            "Dialogue: 0,{},{},Caption,,0,0,0,,{}\n",
            ass_clock(cue.start_ms),
            ass_clock(cue.end_ms),
            ass_text(&cue.text)
        ));
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(start_ms: u64, end_ms: u64, text: &str, sentence_index: usize) -> Cue {
        Cue {
            start_ms,
            end_ms,
            text: text.to_owned(),
            scene_index: 0,
            sentence_index,
        }
    }

    #[test]
    fn short_pauses_are_bridged_and_cues_never_overlap() {
        let cues = vec![
            cue(0, 900, "one", 0),
            cue(990, 2000, "two", 0),
            cue(3000, 4000, "three", 1),
        ];
        let shown = display_cues(&cues, 10_000);
        assert_eq!(shown[0].end_ms, 990);
        assert_eq!(shown[1].end_ms, 2000, "a long pause stays a pause");
        assert!(shown.windows(2).all(|w| w[0].end_ms <= w[1].start_ms));
        assert_eq!(display_cues(&cues, 2500).len(), 2);
    }

    #[test]
    fn sidecars_are_well_formed() {
        let cues = vec![
            cue(1230, 3450, "Hello there", 0),
            cue(3_600_000, 3_601_000, "an hour in", 1),
        ];
        assert_eq!(srt(&cues), "1\n00:00:01,230 --> 00:00:03,450\nHello there\n\n2\n01:00:00,000 --> 01:00:01,000\nan hour in\n");
        assert!(vtt(&cues).starts_with("WEBVTT\n\n00:00:01.230 --> 00:00:03.450\nHello there\n"));
        let script = ass(&cues, Format::Portrait);
        assert!(script.contains("PlayResX: 1080\nPlayResY: 1920"));
        assert!(script.contains("Dialogue: 0,0:00:01.23,0:00:03.45,Caption,,0,0,0,,Hello there"));
    }
}
