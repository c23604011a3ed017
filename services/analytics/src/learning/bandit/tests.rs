//! Tests of the Thompson-sampling bandit: simulated experiments, P(best) and promotion.

use super::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const TRUE_RATES: [f64; 3] = [0.10, 0.12, 0.20];
const BEST_ARM: usize = 2;
const ROUNDS: usize = 2_000;
const MIN_EXPOSURES: u64 = 20;

/// Result of one simulated Bernoulli experiment.
struct Simulation {
    chosen_arms: Vec<usize>,
    evidence: Vec<ArmEvidence>,
    rng: ChaCha8Rng,
}

impl Simulation {
    fn exposures(&self) -> Vec<u64> {
        self.evidence.iter().map(|arm| arm.exposures).collect()
    }

    fn posteriors(&self, model: RewardModel) -> Vec<Posterior> {
        self.evidence
            .iter()
            .map(|arm| posterior(model, arm))
            .collect()
    }

    fn share_on(&self, arm: usize, rounds: std::ops::Range<usize>) -> f64 {
        let window = &self.chosen_arms[rounds];
        window.iter().filter(|&&chosen| chosen == arm).count() as f64 / window.len() as f64
    }
}

fn simulate_bernoulli(true_rates: &[f64], rounds: usize, seed: u64) -> Simulation {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut evidence = vec![ArmEvidence::default(); true_rates.len()];
    let mut chosen_arms = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let posteriors: Vec<Posterior> = evidence
            .iter()
            .map(|arm| posterior(RewardModel::Bernoulli, arm))
            .collect();
        let exposures: Vec<u64> = evidence.iter().map(|arm| arm.exposures).collect();
        let arm = choose_arm(&posteriors, &exposures, MIN_EXPOSURES, &mut rng);
        let success = rng.random::<f64>() < true_rates[arm];
        evidence[arm].record_completion(if success { 1.0 } else { 0.0 });
        chosen_arms.push(arm);
    }
    Simulation {
        chosen_arms,
        evidence,
        rng,
    }
}

#[test]
fn thompson_sampling_concentrates_on_the_best_bernoulli_arm() {
    let mut simulation = simulate_bernoulli(&TRUE_RATES, ROUNDS, 7);
    let overall = simulation.share_on(BEST_ARM, 0..ROUNDS);
    let late = simulation.share_on(BEST_ARM, ROUNDS / 2..ROUNDS);
    assert!(overall >= 0.80, "best arm got {overall} of all pulls");
    assert!(late >= 0.90, "best arm got {late} of the last 1,000 pulls");

    let posteriors = simulation.posteriors(RewardModel::Bernoulli);
    let exposures = simulation.exposures();
    let chances = probability_best(&posteriors, 10_000, &mut simulation.rng);
    let winner = promotion(&chances, &exposures, MIN_EXPOSURES, 0.95);
    assert_eq!(winner.map(|found| found.arm), Some(BEST_ARM), "{chances:?}");
}

#[test]
fn warm_up_is_round_robin_until_every_arm_has_the_minimum() {
    let simulation = simulate_bernoulli(&TRUE_RATES, 60, 11);
    let expected: Vec<usize> = (0..60).map(|round| round % 3).collect();
    assert_eq!(simulation.chosen_arms, expected);
}

#[test]
fn identical_posteriors_split_probability_evenly() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let same = Posterior::Beta {
        alpha: 11.0,
        beta: 91.0,
    };
    let chances = probability_best(&[same, same], 20_000, &mut rng);
    assert!(
        chances.iter().all(|p| (p - 0.5).abs() <= 0.03),
        "{chances:?}"
    );
    assert!((chances.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn clearly_separated_posteriors_favour_the_better_arm() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let worse = Posterior::Beta {
        alpha: 11.0,
        beta: 91.0,
    };
    let better = Posterior::Beta {
        alpha: 41.0,
        beta: 61.0,
    };
    let chances = probability_best(&[worse, better], 20_000, &mut rng);
    assert!(chances[1] > 0.99, "{chances:?}");
}

#[test]
fn normal_model_picks_the_arm_with_higher_median_views() {
    // Views are log-normal: medians 1,000 and 2,000, log-scale spread 1.0.
    let log_medians = [1_000_f64.ln(), 2_000_f64.ln()];
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let mut evidence = [ArmEvidence::default(); 2];
    let mut pulls = [0_usize; 2];
    for _ in 0..500 {
        let posteriors = evidence.map(|arm| posterior(RewardModel::Normal, &arm));
        let exposures = evidence.map(|arm| arm.exposures);
        let arm = choose_arm(&posteriors, &exposures, 10, &mut rng);
        let views = (log_medians[arm] + sampling::standard_normal(&mut rng)).exp();
        evidence[arm].record_views(views);
        pulls[arm] += 1;
    }
    assert!(pulls[1] > pulls[0], "pulls {pulls:?}");

    let posteriors = evidence.map(|arm| posterior(RewardModel::Normal, &arm));
    let chances = probability_best(&posteriors, 10_000, &mut rng);
    let exposures = evidence.map(|arm| arm.exposures);
    let winner = promotion(&chances, &exposures, 10, 0.95);
    assert_eq!(winner.map(|found| found.arm), Some(1), "{chances:?}");
}

#[test]
fn no_promotion_before_every_arm_has_the_minimum() {
    assert_eq!(promotion(&[0.01, 0.99], &[25, 19], 20, 0.95), None);
    assert_eq!(
        promotion(&[0.01, 0.99], &[25, 20], 20, 0.95).map(|p| p.arm),
        Some(1)
    );
}

#[test]
fn no_promotion_below_threshold_or_for_mismatched_input() {
    assert_eq!(promotion(&[0.06, 0.94], &[50, 50], 20, 0.95), None);
    assert_eq!(promotion(&[0.01, 0.99], &[50], 20, 0.95), None);
    assert_eq!(promotion(&[], &[], 0, 0.95), None);
}

#[test]
fn bernoulli_posterior_uses_fractional_successes() {
    let mut evidence = ArmEvidence::default();
    for fraction in [0.5, 0.25, 1.0, 1.5, f64::NAN] {
        evidence.record_completion(fraction);
    }
    // 1.5 clamps to 1.0 and NaN counts as 0: 2.75 successes out of 5.
    let expected = Posterior::Beta {
        alpha: 3.75,
        beta: 3.25,
    };
    assert_eq!(posterior(RewardModel::Bernoulli, &evidence), expected);
}

#[test]
fn normal_posterior_uses_sample_mean_and_variance_over_n() {
    let mut evidence = ArmEvidence::default();
    assert_eq!(
        posterior(RewardModel::Normal, &evidence),
        Posterior::Normal {
            mean: 0.0,
            variance: NORMAL_EMPTY_PRIOR_VARIANCE
        }
    );
    evidence.record_value(2.0);
    assert_eq!(
        posterior(RewardModel::Normal, &evidence),
        Posterior::Normal {
            mean: 2.0,
            variance: NORMAL_SINGLE_OBSERVATION_VARIANCE
        }
    );
    for value in [4.0, 6.0] {
        evidence.record_value(value);
    }
    // Values 2, 4, 6: mean 4, unbiased sample variance 4, posterior variance 4 / 3.
    let Posterior::Normal { mean, variance } = posterior(RewardModel::Normal, &evidence) else {
        panic!("expected a Normal posterior");
    };
    assert!((mean - 4.0).abs() < 1e-12);
    assert!((variance - 4.0 / 3.0).abs() < 1e-12);
}

#[test]
fn identical_normal_observations_keep_a_variance_floor() {
    let mut evidence = ArmEvidence::default();
    for _ in 0..4 {
        evidence.record_views(99.0);
    }
    let Posterior::Normal { mean, variance } = posterior(RewardModel::Normal, &evidence) else {
        panic!("expected a Normal posterior");
    };
    assert!((mean - 100_f64.ln()).abs() < 1e-12);
    assert!((variance - NORMAL_MIN_SAMPLE_VARIANCE / 4.0).abs() < 1e-15);
}

#[test]
fn posterior_serialises_with_a_kind_tag() -> Result<(), serde_json::Error> {
    let beta = Posterior::Beta {
        alpha: 3.0,
        beta: 9.0,
    };
    let json = serde_json::to_string(&beta)?;
    assert_eq!(json, r#"{"kind":"beta","alpha":3.0,"beta":9.0}"#);
    let normal = Posterior::Normal {
        mean: 1.5,
        variance: 0.25,
    };
    let json = serde_json::to_string(&normal)?;
    assert_eq!(json, r#"{"kind":"normal","mean":1.5,"variance":0.25}"#);
    assert_eq!(serde_json::from_str::<Posterior>(&json)?, normal);
    Ok(())
}

#[test]
fn posterior_means() {
    let beta = Posterior::Beta {
        alpha: 1.0,
        beta: 3.0,
    };
    assert!((beta.mean() - 0.25).abs() < 1e-12);
    let normal = Posterior::Normal {
        mean: -2.0,
        variance: 1.0,
    };
    assert_eq!(normal.mean(), -2.0);
}
