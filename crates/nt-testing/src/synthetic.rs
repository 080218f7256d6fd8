//! Seeded synthetic series with known structure, for tests.

use nt_core::TimeSeries;
use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, Normal};

const HOUR_MS: i64 = 3_600_000;

fn hourly(name: &str, values: Vec<f64>) -> TimeSeries {
    // 2020-01-01T00:00:00Z
    let start = 1_577_836_800_000i64;
    let timestamps = (0..values.len() as i64)
        .map(|i| start + i * HOUR_MS)
        .collect();
    TimeSeries::new(
        timestamps,
        vec![nt_core::Column {
            name: name.to_string(),
            values,
        }],
    )
    .expect("hourly timestamps are strictly increasing")
}

/// `n` hourly values of a Gaussian random walk starting at 100 with step std `sigma`.
pub fn random_walk(n: usize, sigma: f64, seed: u64) -> TimeSeries {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, sigma).expect("sigma is finite and non-negative");
    let mut level = 100.0;
    let values = (0..n)
        .map(|_| {
            level += noise.sample(&mut rng);
            level
        })
        .collect();
    hourly("y", values)
}

/// `n` hourly values of `10 + amplitude * sin(2π t / period)` plus Gaussian noise of std `noise`.
pub fn seasonal(n: usize, period: usize, amplitude: f64, noise: f64, seed: u64) -> TimeSeries {
    let mut rng = StdRng::seed_from_u64(seed);
    let dist = Normal::new(0.0, noise).expect("noise is finite and non-negative");
    let values = (0..n)
        .map(|t| {
            let phase = std::f64::consts::TAU * t as f64 / period as f64;
            10.0 + amplitude * phase.sin() + dist.sample(&mut rng)
        })
        .collect();
    hourly("y", values)
}

/// `n` hourly values of `intercept + slope * t` exactly.
pub fn linear(n: usize, intercept: f64, slope: f64) -> TimeSeries {
    hourly("y", (0..n).map(|t| intercept + slope * t as f64).collect())
}

/// `n` vectors of `dim` values uniform in [-0.5, 0.5), from a seeded linear congruential
/// generator: cheap, deterministic test data for vector search.
pub fn uniform_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            (0..dim)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_series_repeat_and_differ_by_seed() {
        assert_eq!(random_walk(50, 1.0, 7), random_walk(50, 1.0, 7));
        assert_ne!(random_walk(50, 1.0, 7), random_walk(50, 1.0, 8));
        let s = seasonal(48, 24, 2.0, 0.0, 1);
        let y = s.column("y").unwrap();
        assert!((y[6] - 12.0).abs() < 1e-9 && (y[30] - 12.0).abs() < 1e-9);
        assert_eq!(linear(3, 1.0, 2.0).column("y").unwrap(), &[1.0, 3.0, 5.0]);
    }
}
