//! Deterministic, weighted A/B bucketing: maps a run onto an experiment arm via SHA-256.

use sha2::{Digest, Sha256};

/// Assigns `run_id` to one arm of experiment `experiment_id`; returns the arm's index.
///
/// The assignment hashes `"{experiment_id}:{run_id}"` with SHA-256, reads the first 8
/// bytes as a big-endian `u64` and scales it onto `[0, total_weight)` with a 128-bit
/// multiply-and-shift (no modulo bias). The arm is the one whose cumulative-weight
/// interval contains that point, so arm `i` is chosen with probability
/// `weights[i] / total_weight` and an arm of weight 0 is never chosen.
///
/// The same inputs always give the same arm, on every machine and in every release, so
/// this function must not change once experiments depend on it.
///
/// `weights` should hold at least one positive weight; if it is empty or sums to zero
/// there is nothing to choose from and the function returns 0.
pub fn bucket(experiment_id: &str, run_id: &str, weights: &[u32]) -> usize {
    let total_weight: u64 = weights.iter().map(|&weight| u64::from(weight)).sum();
    if total_weight == 0 {
        return 0;
    }
    let point = scale_onto(hash_prefix(experiment_id, run_id), total_weight);
    let mut cumulative = 0_u64;
    for (index, &weight) in weights.iter().enumerate() {
        cumulative += u64::from(weight);
        if point < cumulative {
            return index;
        }
    }
    // Not reached: `point < total_weight`, the final cumulative sum.
    weights.iter().rposition(|&weight| weight > 0).unwrap_or(0)
}

/// First 8 bytes of SHA-256(`"{experiment_id}:{run_id}"`), read as a big-endian `u64`.
fn hash_prefix(experiment_id: &str, run_id: &str) -> u64 {
    let digest = Sha256::digest(format!("{experiment_id}:{run_id}").as_bytes());
    let mut prefix = [0_u8; 8];
    prefix.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(prefix)
}

/// Maps a uniform `u64` onto `[0, total)` as `floor(hash · total / 2^64)`.
fn scale_onto(hash: u64, total: u64) -> u64 {
    // The product shifted right by 64 is < total <= u64::MAX, so the cast is lossless.
    ((u128::from(hash) * u128::from(total)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPERIMENT: &str = "6f1c2a4e-9b3d-4c8a-a1e2-3f4b5c6d7e8f";
    const RUNS: usize = 10_000;

    fn counts(experiment_id: &str, weights: &[u32]) -> Vec<usize> {
        let mut counts = vec![0; weights.len()];
        for index in 0..RUNS {
            counts[bucket(experiment_id, &format!("run-{index}"), weights)] += 1;
        }
        counts
    }

    #[test]
    fn same_inputs_give_same_arm() {
        for index in 0..100 {
            let run_id = format!("run-{index}");
            let first = bucket(EXPERIMENT, &run_id, &[1, 1, 1]);
            assert_eq!(first, bucket(EXPERIMENT, &run_id, &[1, 1, 1]));
        }
    }

    #[test]
    fn matches_independently_computed_assignments() {
        // sha256("exp-1:run-42") starts 50753c1dc59af1dd; that / 2^64 ≈ 0.31429.
        assert_eq!(hash_prefix("exp-1", "run-42"), 0x5075_3c1d_c59a_f1dd);
        assert_eq!(bucket("exp-1", "run-42", &[1, 1, 1]), 0);
        assert_eq!(bucket("exp-1", "run-42", &[1, 3]), 1);
        assert_eq!(bucket("exp-1", "run-42", &[1; 1000]), 314);
    }

    #[test]
    fn equal_weights_pass_chi_square_goodness_of_fit() {
        let observed = counts(EXPERIMENT, &[1, 1, 1]);
        let expected = RUNS as f64 / 3.0;
        let statistic: f64 = observed
            .iter()
            .map(|&count| (count as f64 - expected).powi(2) / expected)
            .sum();
        // Critical value of chi-square with 2 degrees of freedom at p = 0.001.
        assert!(
            statistic < 13.816,
            "chi-square {statistic} for {observed:?}"
        );
    }

    #[test]
    fn one_to_three_weights_split_a_quarter_and_three_quarters() {
        let observed = counts(EXPERIMENT, &[1, 3]);
        let share_first = observed[0] as f64 / RUNS as f64;
        assert!(
            (share_first - 0.25).abs() <= 0.02,
            "first arm share {share_first}"
        );
        assert_eq!(observed[0] + observed[1], RUNS);
    }

    #[test]
    fn zero_weight_arm_is_never_chosen() {
        let observed = counts(EXPERIMENT, &[2, 0, 1]);
        assert_eq!(observed[1], 0);
        assert!(observed[0] > 0 && observed[2] > 0);
    }

    #[test]
    fn scaling_stays_within_range_at_the_extremes() {
        assert_eq!(scale_onto(0, 7), 0);
        assert_eq!(scale_onto(u64::MAX, 7), 6);
        assert_eq!(scale_onto(u64::MAX, u64::MAX), u64::MAX - 1);
    }

    #[test]
    fn degenerate_weights_return_zero() {
        assert_eq!(bucket(EXPERIMENT, "run-1", &[]), 0);
        assert_eq!(bucket(EXPERIMENT, "run-1", &[0, 0]), 0);
    }
}
