//! Thompson-sampling bandit: per-arm evidence, posteriors, P(best), arm choice and promotion.

pub mod sampling;
#[cfg(test)]
mod tests;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Variance of the Normal model's prior for an arm with no observations.
///
/// Wide enough (standard deviation 1,000 on the `ln(1 + views)` scale, where real values
/// lie in about 0–20) to be uninformative, centred on 0.
pub const NORMAL_EMPTY_PRIOR_VARIANCE: f64 = 1.0e6;

/// Per-observation variance assumed by the Normal model when an arm has one observation,
/// since one value gives no sample variance. On the `ln(1 + views)` scale 1.0 means
/// views typically within a factor of about e of the observed value.
pub const NORMAL_SINGLE_OBSERVATION_VARIANCE: f64 = 1.0;

/// Floor on the Normal model's sample variance, so identical observations still leave
/// some uncertainty.
pub const NORMAL_MIN_SAMPLE_VARIANCE: f64 = 1.0e-6;

/// Belief about one arm's mean reward, to sample from (Thompson) or summarise.
///
/// Serialises as e.g. `{"kind":"beta","alpha":3.0,"beta":9.0}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Posterior {
    /// Beta distribution over a success rate; both parameters positive.
    Beta {
        /// Prior 1 plus the (fractional) successes.
        alpha: f64,
        /// Prior 1 plus the (fractional) failures.
        beta: f64,
    },
    /// Normal distribution over a mean reward.
    Normal {
        /// Centre of the belief.
        mean: f64,
        /// Variance of the belief about the mean (not of single rewards).
        variance: f64,
    },
}

impl Posterior {
    /// Draws one plausible value of the arm's mean reward.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        match *self {
            Posterior::Beta { alpha, beta } => sampling::beta(alpha, beta, rng),
            Posterior::Normal { mean, variance } => {
                mean + variance.max(0.0).sqrt() * sampling::standard_normal(rng)
            }
        }
    }

    /// Expected value of the arm's mean reward under this belief.
    pub fn mean(&self) -> f64 {
        match *self {
            Posterior::Beta { alpha, beta } => alpha / (alpha + beta),
            Posterior::Normal { mean, .. } => mean,
        }
    }
}

/// What has been observed for one arm.
///
/// For [`RewardModel::Bernoulli`] only `exposures` and `successes` are used; for
/// [`RewardModel::Normal`] only `exposures`, `sum` and `sum_squares`, which hold values on
/// the `ln(1 + views)` scale when filled through [`ArmEvidence::record_views`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmEvidence {
    /// Number of rewards observed (videos published on this arm and measured).
    pub exposures: u64,
    /// Sum of success fractions, each in `[0, 1]`; at most `exposures`.
    pub successes: f64,
    /// Sum of the continuous rewards.
    pub sum: f64,
    /// Sum of the squared continuous rewards.
    pub sum_squares: f64,
}

impl ArmEvidence {
    /// Records one Bernoulli-type reward: `fraction` 1.0 for a success, 0.0 for a failure,
    /// or a fraction in between, such as a video's completion rate.
    ///
    /// A fraction `r` counts as `r` of a success and `1 - r` of a failure (a fractional
    /// Beta update). That keeps the posterior mean at the average fraction, but treats a
    /// video's completion rate as if it were one coin flip, so the posterior is as wide as
    /// for binary outcomes. Values outside `[0, 1]` are clamped; `NaN` counts as 0.
    pub fn record_completion(&mut self, fraction: f64) {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self.exposures += 1;
        self.successes += fraction;
    }

    /// Records one continuous reward, a view count, as `ln(1 + views)`.
    ///
    /// View counts are heavy-tailed, roughly log-normal, so the Normal model works on their
    /// logarithm and compares arms by median-like rather than mean views. Negative or
    /// `NaN` counts are treated as 0.
    pub fn record_views(&mut self, views: f64) {
        self.record_value(views.max(0.0).ln_1p());
    }

    /// Records one continuous reward exactly as given, with no transformation.
    pub fn record_value(&mut self, value: f64) {
        self.exposures += 1;
        self.sum += value;
        self.sum_squares += value * value;
    }
}

/// Which kind of reward an experiment optimises, and so which posterior it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardModel {
    /// Success rates (including fractional ones such as completion rate): Beta posterior.
    Bernoulli,
    /// Continuous rewards such as `ln(1 + views at 48 h)`: Normal posterior.
    Normal,
}

/// Builds the posterior for one arm from its evidence.
///
/// - `Bernoulli`: `Beta(1 + successes, 1 + exposures - successes)`, a uniform prior;
///   `successes` is clamped to `[0, exposures]`.
/// - `Normal`: a plug-in approximation, mean = sample mean and variance = sample
///   variance / n, with the unbiased sample variance floored at
///   [`NORMAL_MIN_SAMPLE_VARIANCE`]. With one observation the sample variance is taken as
///   [`NORMAL_SINGLE_OBSERVATION_VARIANCE`]; with none the posterior is the wide prior
///   `Normal { mean: 0, variance: NORMAL_EMPTY_PRIOR_VARIANCE }`. For small `n` this is
///   somewhat narrower than the exact Student-t posterior, so keep a warm-up
///   (`min_exposures` of 10 or more) in [`choose_arm`] and [`promotion`].
pub fn posterior(model: RewardModel, evidence: &ArmEvidence) -> Posterior {
    let count = evidence.exposures as f64;
    match model {
        RewardModel::Bernoulli => {
            let successes = if evidence.successes.is_nan() {
                0.0
            } else {
                evidence.successes.clamp(0.0, count)
            };
            Posterior::Beta {
                alpha: 1.0 + successes,
                beta: 1.0 + count - successes,
            }
        }
        RewardModel::Normal => match evidence.exposures {
            0 => Posterior::Normal {
                mean: 0.0,
                variance: NORMAL_EMPTY_PRIOR_VARIANCE,
            },
            1 => Posterior::Normal {
                mean: evidence.sum,
                variance: NORMAL_SINGLE_OBSERVATION_VARIANCE,
            },
            _ => {
                let mean = evidence.sum / count;
                let sample_variance = (evidence.sum_squares - count * mean * mean) / (count - 1.0);
                Posterior::Normal {
                    mean,
                    variance: sample_variance.max(NORMAL_MIN_SAMPLE_VARIANCE) / count,
                }
            }
        },
    }
}

/// Index of the largest value; ties go to the lowest index and `NaN` never wins.
/// Returns 0 for an empty or all-`NaN` input.
fn index_of_max(values: impl IntoIterator<Item = f64>) -> usize {
    let mut best_index = 0;
    let mut best_value = f64::NEG_INFINITY;
    for (index, value) in values.into_iter().enumerate() {
        if value > best_value {
            best_index = index;
            best_value = value;
        }
    }
    best_index
}

/// Estimates each arm's probability of having the highest mean reward, by Monte Carlo.
///
/// Each of `draws` rounds samples every posterior once and credits the arm with the
/// largest sample (ties to the lowest index). The fractions returned sum to 1. With
/// `draws == 0` every arm gets `1 / arms`; with no posteriors the result is empty.
/// The standard error of each fraction is at most `0.5 / sqrt(draws)`.
pub fn probability_best(posteriors: &[Posterior], draws: usize, rng: &mut impl Rng) -> Vec<f64> {
    if posteriors.is_empty() {
        return Vec::new();
    }
    if draws == 0 {
        return vec![1.0 / posteriors.len() as f64; posteriors.len()];
    }
    let mut wins = vec![0_usize; posteriors.len()];
    for _ in 0..draws {
        let winner = index_of_max(posteriors.iter().map(|posterior| posterior.sample(rng)));
        wins[winner] += 1;
    }
    wins.into_iter()
        .map(|count| count as f64 / draws as f64)
        .collect()
}

/// Chooses the arm for the next exposure.
///
/// Warm-up: while any arm has fewer than `min_exposures`, returns the arm with the fewest
/// exposures (lowest index on ties), so every arm reaches the minimum sample in
/// round-robin order before any reallocation, as Amplitude and LaunchDarkly require.
/// After that, Thompson sampling: one draw from each posterior, and the arm with the
/// largest draw (lowest index on ties).
///
/// `posteriors[i]` and `exposures[i]` describe arm `i`; an arm missing from `exposures`
/// counts as having none. With no posteriors there is no arm, and 0 is returned.
pub fn choose_arm(
    posteriors: &[Posterior],
    exposures: &[u64],
    min_exposures: u64,
    rng: &mut impl Rng,
) -> usize {
    let exposures_of = |arm: usize| exposures.get(arm).copied().unwrap_or(0);
    let least_exposed = (0..posteriors.len()).min_by_key(|&arm| exposures_of(arm));
    if let Some(arm) = least_exposed {
        if exposures_of(arm) < min_exposures {
            return arm;
        }
    }
    index_of_max(posteriors.iter().map(|posterior| posterior.sample(rng)))
}

/// An arm ready to take all traffic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    /// Index of the winning arm.
    pub arm: usize,
    /// Its estimated probability of being the best arm.
    pub probability_best: f64,
}

/// Decides whether an experiment has a winner.
///
/// Returns the arm with the highest `probability_best` (lowest index on ties) when every
/// arm has at least `min_exposures` and that probability is at least `threshold`
/// (e.g. 0.95). Returns `None` otherwise, including when the slices are empty or of
/// different lengths.
pub fn promotion(
    probability_best: &[f64],
    exposures: &[u64],
    min_exposures: u64,
    threshold: f64,
) -> Option<Promotion> {
    if probability_best.is_empty() || probability_best.len() != exposures.len() {
        return None;
    }
    if exposures.iter().any(|&count| count < min_exposures) {
        return None;
    }
    let arm = index_of_max(probability_best.iter().copied());
    let best = probability_best[arm];
    (best >= threshold).then_some(Promotion {
        arm,
        probability_best: best,
    })
}
