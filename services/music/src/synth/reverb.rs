//! A small Schroeder/Freeverb-style stereo reverb: damped feedback combs and all-passes, run at
//! half the output rate.

use super::SR;

/// Feedback comb with a damping low-pass in its loop.
struct Comb {
    buf: Vec<f32>,
    pos: usize,
    feedback: f32,
    damp: f32,
    store: f32,
}

impl Comb {
    fn new(len: usize, feedback: f32, damp: f32) -> Self {
        Self {
            buf: vec![0.0; len.max(1)],
            pos: 0,
            feedback,
            damp,
            store: 0.0,
        }
    }

    #[inline]
    fn process(&mut self, x: f32) -> f32 {
        let out = self.buf[self.pos];
        self.store = out + (self.store - out) * self.damp;
        self.buf[self.pos] = x + self.store * self.feedback;
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        out
    }
}

struct Allpass {
    buf: Vec<f32>,
    pos: usize,
}

impl Allpass {
    fn new(len: usize) -> Self {
        Self {
            buf: vec![0.0; len.max(1)],
            pos: 0,
        }
    }

    #[inline]
    fn process(&mut self, x: f32) -> f32 {
        let b = self.buf[self.pos];
        self.buf[self.pos] = x + b * 0.5;
        self.pos += 1;
        if self.pos == self.buf.len() {
            self.pos = 0;
        }
        b - x
    }
}

/// A small Schroeder/Freeverb-style stereo reverb: four damped combs and two all-passes per side.
pub(super) struct Reverb {
    combs: [[Comb; 4]; 2],
    allpasses: [[Allpass; 2]; 2],
}

const REVERB_INPUT: f32 = 0.2;
/// The reverb's own sample rate: half the output rate.
const REVERB_RATE: f32 = SR / 2.0;

impl Reverb {
    pub(super) fn new() -> Self {
        const COMBS: [usize; 4] = [1116, 1188, 1277, 1356];
        const ALLPASSES: [usize; 2] = [556, 441];
        const STEREO_SPREAD: usize = 23;
        let scale = |n: usize, side: usize| {
            ((n + side * STEREO_SPREAD) as f32 * REVERB_RATE / 44_100.0).round() as usize
        };
        Self {
            combs: std::array::from_fn(|side| {
                std::array::from_fn(|k| Comb::new(scale(COMBS[k], side), 0.82, 0.35))
            }),
            allpasses: std::array::from_fn(|side| {
                std::array::from_fn(|k| Allpass::new(scale(ALLPASSES[k], side)))
            }),
        }
    }

    #[inline]
    pub(super) fn process(&mut self, x: f32) -> [f32; 2] {
        let input = x * REVERB_INPUT;
        let mut out = [0.0f32; 2];
        for ((o, combs), allpasses) in out
            .iter_mut()
            .zip(self.combs.iter_mut())
            .zip(self.allpasses.iter_mut())
        {
            let mut y = combs.iter_mut().map(|c| c.process(input)).sum::<f32>();
            for ap in allpasses.iter_mut() {
                y = ap.process(y);
            }
            *o = y;
        }
        out
    }
}
