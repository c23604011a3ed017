//! Random samplers for the bandit: standard normal (Box–Muller), gamma (Marsaglia–Tsang), beta.

use rand::Rng;

/// Uniform draw from `(0, 1]`, safe to take the logarithm of.
fn open_unit(rng: &mut impl Rng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// Draws from the standard normal distribution with the Box–Muller transform.
///
/// One of the pair of values the transform yields is discarded, which keeps the sampler
/// stateless at the cost of one extra uniform draw.
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let radius = (-2.0 * open_unit(rng).ln()).sqrt();
    let angle = std::f64::consts::TAU * rng.random::<f64>();
    radius * angle.cos()
}

/// Draws from Gamma(`shape`, scale 1) with the Marsaglia–Tsang squeeze method.
///
/// For `shape < 1` it draws from Gamma(`shape + 1`) and multiplies by `U^(1/shape)`
/// (Marsaglia and Tsang's boost), since the method itself needs `shape >= 1`.
/// A `shape` that is not positive and finite yields 0.
pub fn gamma(shape: f64, rng: &mut impl Rng) -> f64 {
    if !(shape.is_finite() && shape > 0.0) {
        return 0.0;
    }
    if shape < 1.0 {
        return gamma(shape + 1.0, rng) * open_unit(rng).powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = standard_normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = open_unit(rng);
        let x_squared = x * x;
        if u < 1.0 - 0.0331 * x_squared * x_squared
            || u.ln() < 0.5 * x_squared + d * (1.0 - v + v.ln())
        {
            return d * v;
        }
    }
}

/// Draws from Beta(`alpha`, `beta`) as `X / (X + Y)` with `X ~ Gamma(alpha)`, `Y ~ Gamma(beta)`.
///
/// If both gamma draws underflow to zero (possible only for tiny shapes) the mean
/// `alpha / (alpha + beta)` is returned instead of `NaN`.
pub fn beta(alpha: f64, beta: f64, rng: &mut impl Rng) -> f64 {
    let x = gamma(alpha, rng);
    let y = gamma(beta, rng);
    let total = x + y;
    if total > 0.0 {
        x / total
    } else {
        alpha / (alpha + beta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const DRAWS: usize = 200_000;

    fn mean_and_variance(mut draw: impl FnMut() -> f64) -> (f64, f64) {
        let samples: Vec<f64> = (0..DRAWS).map(|_| draw()).collect();
        let mean = samples.iter().sum::<f64>() / DRAWS as f64;
        let variance =
            samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (DRAWS as f64 - 1.0);
        (mean, variance)
    }

    #[test]
    fn gamma_matches_mean_and_variance_of_shape() {
        // Gamma(k, 1) has mean k and variance k; tolerances are ~6 standard errors.
        for (seed, shape) in [(1, 0.5), (2, 1.0), (3, 5.0)] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let (mean, variance) = mean_and_variance(|| gamma(shape, &mut rng));
            assert!(
                (mean - shape).abs() / shape < 0.02,
                "shape {shape}: mean {mean}"
            );
            assert!(
                (variance - shape).abs() / shape < 0.05,
                "shape {shape}: variance {variance}"
            );
        }
    }

    #[test]
    fn gamma_with_invalid_shape_is_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        assert_eq!(gamma(0.0, &mut rng), 0.0);
        assert_eq!(gamma(-1.0, &mut rng), 0.0);
        assert_eq!(gamma(f64::NAN, &mut rng), 0.0);
    }

    #[test]
    fn standard_normal_has_zero_mean_unit_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (mean, variance) = mean_and_variance(|| standard_normal(&mut rng));
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.02, "variance {variance}");
    }

    #[test]
    fn beta_matches_mean_and_variance() {
        let (alpha, beta_shape) = (2.0, 5.0);
        let total = alpha + beta_shape;
        let want_mean = alpha / total;
        let want_variance = alpha * beta_shape / (total * total * (total + 1.0));
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let (mean, variance) = mean_and_variance(|| beta(alpha, beta_shape, &mut rng));
        assert!((mean - want_mean).abs() < 0.002, "mean {mean}");
        assert!((variance - want_variance).abs() / want_variance < 0.03);
    }
}
