//! A small seeded random number generator (xoshiro256++ seeded through SplitMix64) whose whole
//! state is four `u64`s, so training can save it in a checkpoint and resume bit for bit.

use serde::{Deserialize, Serialize};

/// Deterministic pseudo-random numbers: the same seed gives the same sequence on every platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from `seed` (SplitMix64 expands it into the 256-bit state).
    pub fn new(seed: u64) -> Self {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Self {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform `f64` in `[0, 1)` (53 random bits).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `[0, n)`; `n` must be at least 1 (0 is treated as 1).
    pub fn below(&mut self, n: usize) -> usize {
        // Lemire's multiply-shift; the bias is below 2^-64 * n, negligible for our sizes.
        let n = n.max(1) as u128;
        ((self.next_u64() as u128 * n) >> 64) as usize
    }

    /// Shuffles `v` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }

    /// `k` distinct indices drawn uniformly from `0..n` (a partial Fisher–Yates), in draw order;
    /// all of `0..n` shuffled when `k >= n`.
    pub fn sample_without_replacement(&mut self, n: usize, k: usize) -> Vec<usize> {
        let k = k.min(n);
        if n <= 4 * k.max(1) {
            let mut idx: Vec<usize> = (0..n).collect();
            for i in 0..k {
                let j = i + self.below(n - i);
                idx.swap(i, j);
            }
            idx.truncate(k);
            return idx;
        }
        // The same partial Fisher–Yates over a virtual `0..n`: only the displaced positions are
        // stored, so drawing k of many windows costs O(k), not an O(n) index per step. Same
        // draws, same result as the dense branch.
        let mut displaced: std::collections::HashMap<usize, usize> =
            std::collections::HashMap::with_capacity(2 * k);
        let mut out = Vec::with_capacity(k);
        for i in 0..k {
            let j = i + self.below(n - i);
            let at_j = displaced.get(&j).copied().unwrap_or(j);
            let at_i = displaced.get(&i).copied().unwrap_or(i);
            displaced.insert(j, at_i);
            out.push(at_j);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_sampling_draws_what_the_dense_shuffle_draws() {
        // Above 4k candidates the virtual-array branch runs; it must equal the dense shuffle.
        let (mut a, mut b) = (Rng::new(11), Rng::new(11));
        let sparse = a.sample_without_replacement(10_000, 50);
        let mut idx: Vec<usize> = (0..10_000).collect();
        for i in 0..50 {
            let j = i + b.below(10_000 - i);
            idx.swap(i, j);
        }
        assert_eq!(sparse, idx[..50].to_vec());
        let mut seen = sparse.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 50);
    }

    #[test]
    fn same_seed_same_stream_and_ranges_hold() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(8).next_u64(), xs[0]);
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
            assert!(r.below(3) < 3);
        }
        let mut s = r.sample_without_replacement(10, 4);
        assert_eq!(s.len(), 4);
        s.sort_unstable();
        s.dedup();
        assert_eq!(s.len(), 4, "indices are distinct");
        // The mean of 10,000 uniforms is within 0.02 of 0.5 (std of the mean is 0.0029).
        let mean = (0..10_000).map(|_| r.next_f64()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
