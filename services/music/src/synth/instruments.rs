//! The instruments: pad, basses, bell, pluck, piano, drone and drums, each scheduled into the mix
//! as a voice with its own reverb send.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::dsp::{
    falloff, lp_coef, lp_coef_fast, pan_gains, saw, secs, square, triangle, wrap, Adsr, Env, Noise,
    OnePole, Phasor, SineTable, TAIL,
};
use super::genre::PluckTone;
use super::mix::Mix;
use super::style::{BassLine, PadSound};
use super::theory::{cents_ratio, midi_hz};
use super::SR;

/// Reverb send levels per instrument family.
const SEND_PAD: f32 = 0.5;
const SEND_BASS: f32 = 0.04;
const SEND_BELL: f32 = 0.7;
const SEND_PLUCK: f32 = 0.45;
const SEND_PIANO: f32 = 0.45;
const SEND_DRONE: f32 = 0.3;
const SEND_KICK: f32 = 0.03;
const SEND_PERC: f32 = 0.2;

/// One note to render: where it starts and how long it is held, in frames.
#[derive(Debug, Clone, Copy)]
pub(super) struct Note {
    pub(super) start: usize,
    pub(super) gate: usize,
    pub(super) midi: f32,
    pub(super) vel: f32,
    pub(super) pan: f32,
}

/// The instruments, writing into one mix.
pub(super) struct Synth {
    pub(super) mix: Mix,
    sine: &'static SineTable,
    brightness: f32,
    /// Oscillator phases and noise seeds, kept apart from the composition's choices.
    rng: ChaCha8Rng,
}

impl Synth {
    pub(super) fn new(frames: usize, brightness: f32, seed: u64) -> Self {
        Self {
            mix: Mix::new(frames),
            sine: SineTable::shared(),
            brightness,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn phase(&mut self) -> f32 {
        self.rng.random()
    }

    fn noise(&mut self) -> Noise {
        Noise(self.rng.random::<u32>() | 1)
    }

    /// Two detuned saw/triangle oscillators through one-pole low-passes, spread left and right.
    pub(super) fn pad(&mut self, n: Note, sound: &PadSound, attack: f32) {
        let f = midi_hz(n.midi);
        let detune = cents_ratio(sound.detune_cents);
        let mut a = Phasor::new(f * detune, self.phase());
        let mut b = Phasor::new(f / detune, self.phase());
        let coef = lp_coef(sound.cutoff * self.brightness);
        let (mut fa, mut fb) = (OnePole::new(coef), OnePole::new(coef));
        let (al, ar) = pan_gains(n.pan - sound.width);
        let (bl, br) = pan_gains(n.pan + sound.width);
        let adsr = Adsr {
            attack,
            decay: 1.0,
            sustain: 1.0,
            release: sound.release,
        };
        let mut env = Env::new(adsr, n.gate);
        let gain = n.vel * sound.gain;
        let (saw_w, tri_w) = (sound.saw, 1.0 - sound.saw);
        self.mix.add_stereo(n.start, env.len(), SEND_PAD, move || {
            let e = env.tick() * gain;
            let (pa, pb) = (a.tick(), b.tick());
            let xa = fa.process(saw_w * saw(pa, a.inc) + tri_w * triangle(pa)) * e;
            let xb = fb.process(saw_w * saw(pb, b.inc) + tri_w * triangle(pb)) * e;
            (xa * al + xb * bl, xa * ar + xb * br)
        });
    }

    pub(super) fn bass(&mut self, n: Note, line: BassLine) {
        let f = midi_hz(n.midi);
        let mut osc = Phasor::new(f, 0.0);
        let sine = self.sine;
        match line {
            BassLine::Held => {
                let adsr = Adsr {
                    attack: 0.015,
                    decay: 0.8,
                    sustain: 0.75,
                    release: 0.25,
                };
                let mut env = Env::new(adsr, n.gate);
                let g = n.vel * 0.30;
                self.mix
                    .add_mono(n.start, env.len(), n.pan, SEND_BASS, move || {
                        let p = osc.tick();
                        let x = sine.at(p) + 0.3 * sine.at(2.0 * p) + 0.1 * sine.at(3.0 * p);
                        x * env.tick() * g
                    });
            }
            BassLine::Eighths => {
                let adsr = Adsr {
                    attack: 0.004,
                    decay: 0.2,
                    sustain: 0.3,
                    release: 0.05,
                };
                let mut env = Env::new(adsr, n.gate);
                let (base, depth) = (140.0 * self.brightness, 900.0 * n.vel * self.brightness);
                let mut sweep = 1.0f32;
                let sweep_k = falloff(0.25);
                let (mut lp1, mut lp2) = (OnePole::new(0.0), OnePole::new(0.0));
                let g = n.vel * 0.26;
                self.mix
                    .add_mono(n.start, env.len(), n.pan, SEND_BASS, move || {
                        let p = osc.tick();
                        let a = lp_coef_fast(base + depth * sweep);
                        sweep *= sweep_k;
                        lp1.a = a;
                        lp2.a = a;
                        let x = 0.8 * saw(p, osc.inc) + 0.5 * sine.at(p);
                        lp2.process(lp1.process(x)) * env.tick() * g
                    });
            }
            BassLine::Quarters => {
                let adsr = Adsr {
                    attack: 0.008,
                    decay: 0.4,
                    sustain: 0.55,
                    release: 0.1,
                };
                let mut env = Env::new(adsr, n.gate);
                let mut lp = OnePole::new(lp_coef(700.0 * self.brightness));
                let g = n.vel * 0.28;
                self.mix
                    .add_mono(n.start, env.len(), n.pan, SEND_BASS, move || {
                        let p = osc.tick();
                        let x = 0.7 * sine.at(p) + 0.35 * lp.process(saw(p, osc.inc));
                        x * env.tick() * g
                    });
            }
        }
    }

    /// FM bell: a sine carrier modulated at 3.5× with a fast-decaying index.
    pub(super) fn bell(&mut self, n: Note) {
        let f = midi_hz(n.midi);
        let mut carrier = Phasor::new(f, 0.0);
        let mut modulator = Phasor::new(f * 3.5, 0.0);
        let mut index = 0.25 * n.vel;
        let index_k = falloff(0.6);
        let ring = 2.4;
        let adsr = Adsr {
            attack: 0.002,
            decay: ring,
            sustain: 0.0,
            release: 0.2,
        };
        let mut env = Env::new(adsr, secs(ring * TAIL));
        let g = n.vel * 0.2;
        let sine = self.sine;
        self.mix
            .add_mono(n.start, env.len(), n.pan, SEND_BELL, move || {
                let m = sine.at(modulator.tick()) * index;
                index *= index_k;
                sine.at(wrap(carrier.tick() + m)) * env.tick() * g
            });
    }

    /// Plucked string: a bright oscillator through a low-pass whose cut-off falls quickly.
    pub(super) fn pluck(&mut self, n: Note, tone: PluckTone, decay: f32) {
        let f = midi_hz(n.midi);
        let mut osc = Phasor::new(f, self.phase());
        let floor = f * 1.5;
        let peak = (f * 8.0 * self.brightness).clamp(floor, 9000.0);
        let mut sweep = 1.0f32;
        let sweep_k = falloff(0.35);
        let mut lp = OnePole::new(0.0);
        let adsr = Adsr {
            attack: 0.002,
            decay,
            sustain: 0.0,
            release: 0.05,
        };
        let mut env = Env::new(adsr, secs(decay * TAIL));
        let g = n.vel * 0.14;
        self.mix
            .add_mono(n.start, env.len(), n.pan, SEND_PLUCK, move || {
                let p = osc.tick();
                let x = match tone {
                    PluckTone::Saw => saw(p, osc.inc),
                    PluckTone::Square => 0.8 * square(p, osc.inc),
                    PluckTone::Triangle => triangle(p) + 0.25 * saw(p, osc.inc),
                };
                lp.a = lp_coef_fast(floor + (peak - floor) * sweep);
                sweep *= sweep_k;
                lp.process(x) * env.tick() * g
            });
    }

    /// Piano-like tone: four slightly stretched partials, the higher ones dying sooner.
    pub(super) fn piano(&mut self, n: Note) {
        const AMPS: [f32; 4] = [1.0, 0.45, 0.22, 0.12];
        let f = midi_hz(n.midi);
        let ring = (3.2 - (n.midi - 48.0) * 0.04).clamp(1.2, 3.2);
        let mut partials: [Phasor; 4] = std::array::from_fn(|k| {
            let h = (k + 1) as f32;
            Phasor::new(f * h * (1.0 + 0.0004 * h * h).sqrt(), 0.0)
        });
        let mut levels: [f32; 4] = std::array::from_fn(|k| AMPS[k] * n.vel.powf(k as f32 * 0.5));
        let ks: [f32; 4] = std::array::from_fn(|k| falloff(ring / (1.0 + 0.7 * k as f32)));
        let adsr = Adsr {
            attack: 0.004,
            decay: 1.0,
            sustain: 1.0,
            release: 0.4,
        };
        let mut env = Env::new(adsr, n.gate.min(secs(ring * TAIL)));
        let g = 0.2 * n.vel.sqrt();
        let sine = self.sine;
        self.mix
            .add_mono(n.start, env.len(), n.pan, SEND_PIANO, move || {
                let mut x = 0.0;
                for ((osc, level), k) in partials.iter_mut().zip(levels.iter_mut()).zip(&ks) {
                    x += sine.at(osc.tick()) * *level;
                    *level *= *k;
                }
                x * env.tick() * g
            });
    }

    /// A low sub sine plus root-and-fifth saws under a slowly breathing low-pass, for the whole track.
    pub(super) fn drone(&mut self, midi: f32, frames: usize) {
        let f = midi_hz(midi);
        let spread = cents_ratio(4.0);
        let mut sub = Phasor::new(f, 0.0);
        let mut a = Phasor::new(f * spread, self.phase());
        let mut b = Phasor::new(f * 1.5 / spread, self.phase());
        let mut lfo = Phasor::new(0.06, self.phase());
        let (mut fl, mut fr) = (OnePole::new(0.0), OnePole::new(0.0));
        let adsr = Adsr {
            attack: 3.0,
            decay: 1.0,
            sustain: 1.0,
            release: 0.1,
        };
        let mut env = Env::new(adsr, frames);
        let (low, depth) = (160.0 * self.brightness, 320.0 * self.brightness);
        let sine = self.sine;
        self.mix.add_stereo(0, frames, SEND_DRONE, move || {
            let e = env.tick() * 0.2;
            let c = lp_coef_fast(low + depth * (0.5 + 0.5 * sine.at(lfo.tick())));
            fl.a = c;
            fr.a = c;
            let sa = saw(a.tick(), a.inc);
            let sb = saw(b.tick(), b.inc);
            let s = 0.6 * sine.at(sub.tick());
            let l = fl.process(0.65 * sa + 0.35 * sb);
            let r = fr.process(0.35 * sa + 0.65 * sb);
            ((s + l) * e, (s + r) * e)
        });
    }

    /// Sine kick with a falling pitch.
    pub(super) fn kick(&mut self, start: usize, vel: f32) {
        let mut phase = 0.0f32;
        let mut extra = 75.0f32;
        let extra_k = (-1.0 / (0.03 * SR)).exp();
        let mut amp = vel * 0.45;
        let amp_k = falloff(0.45);
        let sine = self.sine;
        self.mix
            .add_mono(start, secs(0.45), 0.0, SEND_KICK, move || {
                let x = sine.at(phase) * amp;
                phase += (45.0 + extra) / SR;
                if phase >= 1.0 {
                    phase -= 1.0;
                }
                extra *= extra_k;
                amp *= amp_k;
                x
            });
    }

    /// Closed hi-hat: high-passed noise with a very short decay.
    pub(super) fn hat(&mut self, start: usize, vel: f32, pan: f32) {
        let mut noise = self.noise();
        let mut lp = OnePole::new(lp_coef(7000.0));
        let mut amp = vel * 0.07;
        let amp_k = falloff(0.05);
        self.mix
            .add_mono(start, secs(0.06), pan, SEND_PERC, move || {
                let x = noise.tick();
                let y = (x - lp.process(x)) * amp;
                amp *= amp_k;
                y
            });
    }

    /// Muted tick: band-passed noise and a short high sine blip.
    pub(super) fn tick(&mut self, start: usize, vel: f32, pan: f32) {
        let mut noise = self.noise();
        let (mut lp_hi, mut lp_lo) = (OnePole::new(lp_coef(3500.0)), OnePole::new(lp_coef(900.0)));
        let mut blip = Phasor::new(1300.0, 0.0);
        let mut amp = vel * 0.14;
        let amp_k = falloff(0.03);
        let sine = self.sine;
        self.mix
            .add_mono(start, secs(0.03), pan, SEND_PERC, move || {
                let x = lp_hi.process(noise.tick());
                let band = x - lp_lo.process(x);
                let y = (0.8 * band + 0.4 * sine.at(blip.tick())) * amp;
                amp *= amp_k;
                y
            });
    }
}
