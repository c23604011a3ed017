//! The line-up a mood and genre call for: pad sound, bass line, lead, beat and the instrument names.

use super::genre::{Genre, PluckTone};
use super::mood::Mood;

#[derive(Debug, Clone, Copy)]
pub(super) struct PadSound {
    pub(super) detune_cents: f32,
    /// Saw share of the oscillator mix; the rest is triangle.
    pub(super) saw: f32,
    pub(super) cutoff: f32,
    /// Stereo distance between the two detuned oscillators.
    pub(super) width: f32,
    pub(super) attack: f32,
    pub(super) release: f32,
    pub(super) gain: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BassLine {
    /// Sine bass in whole or half notes.
    Held,
    /// Filtered saw pulsing in eighths.
    Eighths,
    /// Rounded bass in quarter-note patterns.
    Quarters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lead {
    Bells,
    SparsePlucks,
    Arpeggio,
    Piano,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Beat {
    None,
    Ticks,
    Pop { four_on_floor: bool },
    Soft,
}

pub(super) struct Style {
    pub(super) pad: PadSound,
    pad_name: &'static str,
    pub(super) bass: Option<BassLine>,
    pub(super) lead: Lead,
    pub(super) pluck: PluckTone,
    pub(super) pluck_decay: f32,
    pub(super) drone: bool,
    pub(super) beat: Beat,
}

impl Style {
    pub(super) fn new(mood: Mood, genre: &Genre) -> Self {
        let pad = |detune_cents, saw, cutoff, width, attack, release, gain| PadSound {
            detune_cents,
            saw,
            cutoff,
            width,
            attack,
            release,
            gain,
        };
        let mut style = match mood {
            Mood::Calm => Self {
                pad: pad(4.0, 0.3, 1000.0, 0.25, 0.8, 1.5, 0.10),
                pad_name: "soft pad",
                bass: Some(BassLine::Held),
                lead: Lead::Bells,
                pluck: PluckTone::Triangle,
                pluck_decay: 0.8,
                drone: false,
                beat: Beat::None,
            },
            Mood::Mysterious => Self {
                pad: pad(14.0, 0.8, 750.0, 0.6, 1.0, 2.0, 0.09),
                pad_name: "detuned pad",
                bass: None,
                lead: Lead::SparsePlucks,
                pluck: PluckTone::Triangle,
                pluck_decay: 0.9,
                drone: true,
                beat: Beat::None,
            },
            Mood::Tense => Self {
                pad: pad(7.0, 0.9, 600.0, 0.4, 0.25, 0.6, 0.08),
                pad_name: "dark pad",
                bass: Some(BassLine::Eighths),
                lead: Lead::SparsePlucks,
                pluck: PluckTone::Square,
                pluck_decay: 0.5,
                drone: false,
                beat: Beat::Ticks,
            },
            Mood::Hopeful => Self {
                pad: pad(6.0, 0.6, 1500.0, 0.35, 0.4, 0.8, 0.07),
                pad_name: "warm pad",
                bass: Some(BassLine::Quarters),
                lead: Lead::Arpeggio,
                pluck: PluckTone::Saw,
                pluck_decay: 0.45,
                drone: false,
                beat: Beat::Pop {
                    four_on_floor: false,
                },
            },
            Mood::Joyful => Self {
                pad: pad(8.0, 0.8, 2200.0, 0.4, 0.15, 0.5, 0.06),
                pad_name: "bright pad",
                bass: Some(BassLine::Quarters),
                lead: Lead::Arpeggio,
                pluck: PluckTone::Saw,
                pluck_decay: 0.35,
                drone: false,
                beat: Beat::Pop {
                    four_on_floor: true,
                },
            },
            Mood::Melancholic => Self {
                pad: pad(5.0, 0.4, 850.0, 0.3, 1.2, 2.0, 0.09),
                pad_name: "slow pad",
                bass: Some(BassLine::Held),
                lead: Lead::Piano,
                pluck: PluckTone::Triangle,
                pluck_decay: 0.8,
                drone: false,
                beat: Beat::None,
            },
        };
        if genre.beat && style.beat == Beat::None && mood != Mood::Mysterious {
            style.beat = Beat::Soft;
        }
        if let Some(tone) = genre.pluck {
            style.pluck = tone;
        }
        style
    }

    pub(super) fn instruments(&self) -> Vec<String> {
        let mut names = vec![self.pad_name.to_string()];
        if let Some(line) = self.bass {
            names.push(
                match line {
                    BassLine::Held => "sine bass",
                    BassLine::Eighths => "pulsing bass",
                    BassLine::Quarters => "round bass",
                }
                .to_string(),
            );
        }
        if self.drone {
            names.push("low drone".to_string());
        }
        names.push(match self.lead {
            Lead::Bells => "bell arpeggio".to_string(),
            Lead::SparsePlucks => format!("{} pluck", self.pluck.name()),
            Lead::Arpeggio => format!("{} pluck arpeggio", self.pluck.name()),
            Lead::Piano => "piano-like keys".to_string(),
        });
        let beat: &[&str] = match self.beat {
            Beat::None => &[],
            Beat::Ticks => &["muted percussion ticks", "low kick"],
            Beat::Pop { .. } => &["kick", "hi-hat"],
            Beat::Soft => &["soft kick", "soft hi-hat"],
        };
        names.extend(beat.iter().map(|s| s.to_string()));
        names
    }
}
