//! Writing the parts: the tempo grid and, bar by bar, the pad chords, bass line, lead and drums.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::genre::Genre;
use super::instruments::{Note, Synth};
use super::mood::Mood;
use super::style::{BassLine, Beat, Lead, Style};
use super::theory::{place, voice_progression, Chord, Plan};
use super::SAMPLE_RATE;

/// The tempo grid in frames.
#[derive(Debug, Clone, Copy)]
struct Grid {
    frames_per_beat: f64,
    frames: usize,
}

impl Grid {
    fn new(tempo: u32, frames: usize) -> Self {
        Self {
            frames_per_beat: 60.0 * f64::from(SAMPLE_RATE) / f64::from(tempo.max(1)),
            frames,
        }
    }

    /// Frame at which `beats` (counted from the start) fall.
    fn at(self, beats: f64) -> usize {
        (beats * self.frames_per_beat).round() as usize
    }

    /// Frames spanned by `beats`.
    fn span(self, beats: f64) -> usize {
        self.at(beats)
    }

    /// Bars (of four beats) needed to cover the track, plus one so the music runs to the very end.
    fn bars(self) -> usize {
        (self.frames as f64 / (4.0 * self.frames_per_beat)).ceil() as usize + 1
    }
}

/// What the part writers need to know about the bar being written.
struct BarCtx<'a> {
    grid: Grid,
    /// Beat at which the bar starts.
    beat0: f64,
    mood: Mood,
    tonic: i32,
    /// Pitch class of the chord root.
    root: i32,
    pcs: &'a [i32],
    voicing: &'a [i32],
    scale: [i32; 7],
    /// 0.5..=1, set per four-bar section.
    density: f32,
    /// 0..4, set per four-bar section.
    pattern: usize,
}

impl BarCtx<'_> {
    fn note(&self, beat: f64, beats: f64, midi: i32, vel: f32, pan: f32) -> Note {
        Note {
            start: self.grid.at(self.beat0 + beat),
            gate: self.grid.span(beats),
            midi: midi as f32,
            vel,
            pan,
        }
    }
}

/// Pan position of voice `j` of `n`, spread evenly over ±`width`.
fn spread(j: usize, n: usize, width: f32) -> f32 {
    if n <= 1 {
        0.0
    } else {
        -width + 2.0 * width * j as f32 / (n - 1) as f32
    }
}

pub(super) fn arrange(
    plan: &Plan,
    genre: &Genre,
    rng: &mut ChaCha8Rng,
    synth: &mut Synth,
) -> Vec<String> {
    let style = Style::new(plan.mood, genre);
    let frames = synth.mix.frames();
    let grid = Grid::new(plan.tempo, frames);
    let bars = grid.bars();
    // Short tracks start everything at once; longer ones let the pad breathe first.
    let intro = usize::from(bars >= 6);
    let drums_in = if bars >= 10 { 2 } else { intro };
    let voicings = voice_progression(plan.progression, plan.tonic, genre.sevenths);
    let chords: Vec<(Chord, Vec<i32>)> = plan
        .progression
        .iter()
        .map(|&c| (c, c.pitch_classes(plan.tonic, genre.sevenths)))
        .collect();

    if style.drone {
        synth.drone(place(plan.tonic, 36) as f32, frames);
    }

    let mut density = 1.0f32;
    let mut pattern = 0usize;
    for (bar, ((chord, pcs), voicing)) in
        chords.iter().zip(&voicings).cycle().take(bars).enumerate()
    {
        if bar % 4 == 0 {
            density = rng.random_range(0.5f32..=1.0);
            pattern = rng.random_range(0..4usize);
        }
        let ctx = BarCtx {
            grid,
            beat0: bar as f64 * 4.0,
            mood: plan.mood,
            tonic: plan.tonic,
            root: (plan.tonic + chord.root).rem_euclid(12),
            pcs,
            voicing,
            scale: plan.mode.scale(),
            density,
            pattern,
        };

        // The first chord starts quickly: the master fade-in already makes it gentle.
        let attack = if bar == 0 {
            style.pad.attack.min(0.3)
        } else {
            style.pad.attack
        };
        for (j, &midi) in voicing.iter().enumerate() {
            let pan = spread(j, voicing.len(), 0.4);
            synth.pad(ctx.note(0.0, 4.05, midi, 1.0, pan), &style.pad, attack);
        }
        if bar >= intro {
            if let Some(line) = style.bass {
                bass_bar(synth, rng, &ctx, line);
            }
            lead_bar(synth, rng, &ctx, &style);
        }
        if bar >= drums_in {
            drum_bar(synth, rng, &ctx, style.beat);
        }
    }
    style.instruments()
}

fn bass_bar(synth: &mut Synth, rng: &mut ChaCha8Rng, ctx: &BarCtx<'_>, line: BassLine) {
    let root = place(ctx.root, 40);
    match line {
        BassLine::Held => {
            if ctx.mood == Mood::Melancholic || rng.random_bool(0.4) {
                synth.bass(ctx.note(0.0, 3.9, root, 1.0, 0.0), line);
            } else {
                synth.bass(ctx.note(0.0, 1.9, root, 1.0, 0.0), line);
                let second = if rng.random_bool(0.4) {
                    place(ctx.root + 7, 40)
                } else {
                    root
                };
                synth.bass(ctx.note(2.0, 1.9, second, 0.85, 0.0), line);
            }
        }
        BassLine::Eighths => {
            for step in 0..8 {
                let midi = if step == 7 && rng.random_bool(0.3) {
                    root + 12
                } else {
                    root
                };
                let vel = match step % 4 {
                    0 => 1.0,
                    2 => 0.8,
                    _ => 0.65,
                };
                synth.bass(ctx.note(step as f64 * 0.5, 0.42, midi, vel, 0.0), line);
            }
        }
        BassLine::Quarters => {
            const PATTERNS: [[i32; 4]; 4] =
                [[0, 0, 7, 0], [0, 12, 7, 12], [0, 0, 0, 7], [0, 7, 12, 7]];
            for (beat, &offset) in PATTERNS[ctx.pattern % PATTERNS.len()].iter().enumerate() {
                let vel = if beat == 0 { 1.0 } else { 0.8 };
                synth.bass(ctx.note(beat as f64, 0.85, root + offset, vel, 0.0), line);
            }
            if rng.random_bool(0.25) {
                synth.bass(ctx.note(3.5, 0.4, root + 7, 0.6, 0.0), line);
            }
        }
    }
}

/// Degrees of the seven-note scale that form its pentatonic subset (minor pentatonic in minor and dorian).
const PENTATONIC: [usize; 5] = [0, 2, 3, 4, 6];

fn lead_bar(synth: &mut Synth, rng: &mut ChaCha8Rng, ctx: &BarCtx<'_>, style: &Style) {
    let grid = ctx.grid;
    match style.lead {
        Lead::Bells => {
            let mut hits = 0;
            for step in 0..8 {
                let p = ctx.density * if step % 2 == 0 { 0.45 } else { 0.15 };
                let forced = step == 4 && hits == 0 && rng.random_bool(0.5);
                if rng.random::<f32>() < p || forced {
                    hits += 1;
                    let pc = ctx.pcs[rng.random_range(0..ctx.pcs.len())];
                    let lift = if rng.random_bool(0.25) { 12 } else { 0 };
                    let vel = rng.random_range(0.55f32..1.0);
                    let pan = rng.random_range(-0.5f32..0.5);
                    let note = ctx.note(step as f64 * 0.5, 2.0, place(pc, 72) + lift, vel, pan);
                    echoed(synth, grid, note, Synth::bell);
                }
            }
        }
        Lead::SparsePlucks => {
            for step in 0..8 {
                let p = ctx.density * if step % 2 == 0 { 0.2 } else { 0.08 };
                if rng.random::<f32>() < p {
                    let degree = PENTATONIC[rng.random_range(0..PENTATONIC.len())];
                    let lift = if rng.random_bool(0.3) { 12 } else { 0 };
                    let midi = place(ctx.tonic + ctx.scale[degree], 62) + lift;
                    let vel = rng.random_range(0.5f32..0.9);
                    let pan = rng.random_range(-0.6f32..0.6);
                    let note = ctx.note(step as f64 * 0.5, 0.5, midi, vel, pan);
                    let (tone, decay) = (style.pluck, style.pluck_decay);
                    echoed(synth, grid, note, |s, n| s.pluck(n, tone, decay));
                }
            }
        }
        Lead::Arpeggio => {
            let mut notes: Vec<i32> = ctx.pcs.iter().map(|&pc| place(pc, 64)).collect();
            notes.sort_unstable();
            let upper: Vec<i32> = notes.iter().map(|n| n + 12).collect();
            notes.extend(upper);
            let n = notes.len();
            for step in 0..8usize {
                let index = match ctx.pattern {
                    0 => step % n,
                    1 => {
                        let period = 2 * (n - 1);
                        let t = step % period;
                        if t < n {
                            t
                        } else {
                            period - t
                        }
                    }
                    2 if step % 2 == 0 => (step / 2) % n,
                    2 => n - 1 - (step / 2) % n,
                    _ => rng.random_range(0..n),
                };
                // Sparser sections let some off-beats rest.
                if step % 2 == 1 && rng.random::<f32>() < (1.0 - ctx.density) * 0.5 {
                    continue;
                }
                let accent = if step % 2 == 0 { 0.95 } else { 0.7 };
                let vel = accent * rng.random_range(0.9f32..1.0);
                let pan = if step % 2 == 0 { -0.25 } else { 0.25 };
                let beat = step as f64 * 0.5;
                synth.pluck(
                    ctx.note(beat, 0.5, notes[index], vel, pan),
                    style.pluck,
                    style.pluck_decay,
                );
                if ctx.mood == Mood::Joyful && step % 2 == 1 && rng.random_bool(0.15) {
                    let next = notes[(index + 1) % n];
                    synth.pluck(
                        ctx.note(beat + 0.25, 0.25, next, vel * 0.8, -pan),
                        style.pluck,
                        style.pluck_decay,
                    );
                }
            }
        }
        Lead::Piano => {
            synth.piano(ctx.note(0.0, 4.0, place(ctx.root, 45), 0.75, -0.2));
            let upper: Vec<i32> = ctx.voicing.iter().map(|&m| place(m, 60)).collect();
            const ORDERS: [[usize; 3]; 4] = [[0, 1, 2], [1, 2, 0], [2, 1, 0], [0, 2, 1]];
            for (beat, &which) in ORDERS[ctx.pattern % ORDERS.len()].iter().enumerate() {
                if rng.random::<f32>() < 0.6 + 0.35 * ctx.density {
                    let beat = beat as f64 + 1.0;
                    let vel = rng.random_range(0.5f32..0.7);
                    let midi = upper[which % upper.len()];
                    synth.piano(ctx.note(beat, 4.0 - beat, midi, vel, 0.15));
                }
            }
            if rng.random::<f32>() < 0.45 * ctx.density {
                let degree = rng.random_range(0..ctx.scale.len());
                let beat = if rng.random_bool(0.5) { 0.0 } else { 2.0 };
                let midi = place(ctx.tonic + ctx.scale[degree], 72);
                synth.piano(ctx.note(beat, 2.0, midi, 0.7, 0.1));
            }
        }
    }
}

/// Plays `note` and two quieter repeats, dotted-eighth apart and bouncing across the stereo field.
fn echoed(synth: &mut Synth, grid: Grid, note: Note, play: impl Fn(&mut Synth, Note)) {
    play(synth, note);
    for (k, (delay, level)) in [(0.75, 0.38f32), (1.5, 0.15)].into_iter().enumerate() {
        let pan = if k == 0 { -note.pan } else { note.pan };
        play(
            synth,
            Note {
                start: note.start + grid.span(delay),
                vel: note.vel * level,
                pan,
                ..note
            },
        );
    }
}

fn drum_bar(synth: &mut Synth, rng: &mut ChaCha8Rng, ctx: &BarCtx<'_>, beat: Beat) {
    let at = |beats: f64| ctx.grid.at(ctx.beat0 + beats);
    match beat {
        Beat::None => {}
        Beat::Ticks => {
            for step in 0..16 {
                let pan = rng.random_range(-0.3f32..0.3);
                if step % 4 == 0 {
                    synth.tick(at(step as f64 * 0.25), 0.8, pan);
                } else if rng.random::<f32>() < 0.1 + 0.4 * ctx.density {
                    let vel = rng.random_range(0.25f32..0.5);
                    synth.tick(at(step as f64 * 0.25), vel, pan);
                }
            }
            synth.kick(at(0.0), 0.8);
            if rng.random_bool(0.4) {
                synth.kick(at(2.5), 0.5);
            }
        }
        Beat::Pop { four_on_floor } => {
            for beat in 0..4u8 {
                let q = f64::from(beat);
                if four_on_floor || beat % 2 == 0 {
                    synth.kick(at(q), 0.9);
                }
                synth.hat(at(q + 0.5), 0.7, 0.2);
                if four_on_floor {
                    synth.hat(at(q), 0.3, 0.2);
                    if rng.random_bool(f64::from(0.2 * ctx.density)) {
                        synth.hat(at(q + 0.75), 0.3, 0.25);
                    }
                }
            }
        }
        Beat::Soft => {
            synth.kick(at(0.0), 0.6);
            synth.kick(at(2.5), 0.45);
            for e in 0..8 {
                let vel = if e % 2 == 1 { 0.45 } else { 0.25 };
                synth.hat(at(f64::from(e) * 0.5), vel, 0.2);
            }
        }
    }
}
