//! The mixer: voices scheduled on the timeline and rendered block by block into a stereo mix
//! plus a mono reverb send.

use super::dsp::pan_gains;

/// Frames rendered at a time: every voice adds into one block while it is still in cache.
const BLOCK: usize = 1024;

/// A sounding note that renders itself a block at a time.
trait Voice {
    /// Adds this voice's next `out.len()` frames into `out` (`[left, right, reverb send]`).
    fn fill(&mut self, out: &mut [[f32; 3]]);
}

/// A voice made of a per-frame closure returning the left and right sample.
struct FnVoice<F> {
    next: F,
    /// Reverb send applied to the sum of both channels.
    send: f32,
}

impl<F: FnMut() -> (f32, f32)> Voice for FnVoice<F> {
    #[inline]
    fn fill(&mut self, out: &mut [[f32; 3]]) {
        for frame in out {
            let (a, b) = (self.next)();
            frame[0] += a;
            frame[1] += b;
            frame[2] += (a + b) * self.send;
        }
    }
}

/// A voice placed in the track: it sounds over frames `start..end`.
struct Scheduled {
    start: usize,
    end: usize,
    voice: Box<dyn Voice>,
}

/// The score of voices, rendered in one block-wise pass into a stereo mix plus a mono reverb send.
pub(super) struct Mix {
    frames: usize,
    voices: Vec<Scheduled>,
}

impl Mix {
    pub(super) fn new(frames: usize) -> Self {
        Self {
            frames,
            voices: Vec::new(),
        }
    }

    pub(super) fn frames(&self) -> usize {
        self.frames
    }

    /// Schedules `len` frames of a stereo voice from `start`, clipped to the track, feeding the reverb at `send`.
    pub(super) fn add_stereo(
        &mut self,
        start: usize,
        len: usize,
        send: f32,
        next: impl FnMut() -> (f32, f32) + 'static,
    ) {
        let end = start.saturating_add(len).min(self.frames);
        if start >= end {
            return;
        }
        self.voices.push(Scheduled {
            start,
            end,
            voice: Box::new(FnVoice {
                next,
                send: send * 0.5,
            }),
        });
    }

    /// Renders every voice, block by block, into interleaved `[left, right, send]` frames.
    pub(super) fn render(self) -> Vec<[f32; 3]> {
        let mut out = vec![[0.0f32; 3]; self.frames];
        let mut pending = self.voices;
        // Stable, so voices starting together keep their (deterministic) order.
        pending.sort_by_key(|v| v.start);
        let mut pending = pending.into_iter().peekable();
        let mut active: Vec<Scheduled> = Vec::new();
        for (index, block) in out.chunks_mut(BLOCK).enumerate() {
            let block_start = index * BLOCK;
            let block_end = block_start + block.len();
            while let Some(voice) = pending.next_if(|v| v.start < block_end) {
                active.push(voice);
            }
            for v in &mut active {
                let from = v.start.max(block_start) - block_start;
                let to = v.end.min(block_end) - block_start;
                if from < to {
                    v.voice.fill(&mut block[from..to]);
                }
            }
            active.retain(|v| v.end > block_end);
        }
        out
    }

    /// Adds a mono voice, panned.
    #[inline]
    pub(super) fn add_mono(
        &mut self,
        start: usize,
        len: usize,
        pan: f32,
        send: f32,
        mut voice: impl FnMut() -> f32 + 'static,
    ) {
        let (gl, gr) = pan_gains(pan);
        self.add_stereo(start, len, send, move || {
            let x = voice();
            (x * gl, x * gr)
        });
    }
}
