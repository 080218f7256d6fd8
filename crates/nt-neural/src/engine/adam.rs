//! Adam/AdamW over the engine's flat weights, in place: one pass over weights, gradients and
//! both moments together, split over rayon's threads in fixed chunks (PyTorch's update rule and
//! order of operations, as `crate::optim::Adam`), and global-norm gradient clipping.

use rayon::prelude::*;

use crate::config::Optimizer;

use crate::optim::{BETA1, BETA2, EPS};

/// Elements per parallel chunk (fixed, so sums and updates do not depend on the thread count).
const CHUNK: usize = 16 * 1024;

/// The f32 coefficients of one Adam/AdamW update at step `t` (1-based), PyTorch's rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamStep {
    step: f32,
    bc2: f32,
    decay: f32,
}

impl AdamStep {
    /// The coefficients at step `t` with learning rate `lr` and decoupled decay `weight_decay`
    /// (0 for Adam).
    pub(crate) fn at(t: usize, lr: f64, weight_decay: f64) -> Self {
        let t = i32::try_from(t).unwrap_or(i32::MAX);
        let bc1 = 1.0 - BETA1.powi(t);
        Self {
            step: (lr / bc1) as f32,
            bc2: (1.0 - BETA2.powi(t)).sqrt() as f32,
            // Multiplying by exactly 1 leaves a weight's bits unchanged when nothing decays.
            decay: if weight_decay > 0.0 {
                (1.0 - lr * weight_decay) as f32
            } else {
                1.0
            },
        }
    }

    /// Updates `theta` and both moments in place from `grad`, element by element (PyTorch's
    /// order: `m.lerp_(g, 1-β1)`, `v = β2 v + (1-β2) g²`, `θ -= step · m / (sqrt(v)/bc2 + ε)`),
    /// over zipped iterators so the loop vectorizes. The one copy of the update: candle's
    /// `crate::optim::Adam` calls it too.
    pub(crate) fn apply(&self, theta: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32]) {
        let (b1, b2) = (BETA1 as f32, BETA2 as f32);
        let (ob1, ob2) = ((1.0 - BETA1) as f32, (1.0 - BETA2) as f32);
        let eps = EPS as f32;
        for (((th, &g), m), v) in theta
            .iter_mut()
            .zip(grad)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            let mk = b1 * *m + ob1 * g;
            let vk = b2 * *v + ob2 * g * g;
            *th = *th * self.decay - self.step * (mk / (vk.sqrt() / self.bc2 + eps));
            *m = mk;
            *v = vk;
        }
    }
}

/// The optimizer state: both moments (same layout as the weights) and the step count.
#[derive(Debug, Clone)]
pub(crate) struct FlatAdam {
    pub(crate) m: Vec<f32>,
    pub(crate) v: Vec<f32>,
    pub(crate) t: usize,
    weight_decay: f64,
}

impl FlatAdam {
    /// Zero moments for `n` weights; `weight_decay` is used by AdamW only.
    pub(crate) fn new(kind: Optimizer, weight_decay: f64, n: usize) -> Self {
        Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            weight_decay: match kind {
                Optimizer::Adam => 0.0,
                Optimizer::AdamW => weight_decay,
            },
        }
    }

    /// One update of `theta` with `grad` at learning rate `lr`.
    pub(crate) fn step(&mut self, theta: &mut [f32], grad: &[f32], lr: f64) {
        self.t += 1;
        let coeffs = AdamStep::at(self.t, lr, self.weight_decay);
        theta
            .par_chunks_mut(CHUNK)
            .zip(grad.par_chunks(CHUNK))
            .zip(self.m.par_chunks_mut(CHUNK))
            .zip(self.v.par_chunks_mut(CHUNK))
            .for_each(|(((th, g), m), v)| coeffs.apply(th, g, m, v));
    }
}

/// Scales `grad` so its L2 norm is at most `max_norm` (`clip_grad_norm_`: factor
/// `max_norm / (norm + 1e-6)` when below 1); returns the norm before clipping.
pub(crate) fn clip_grad_norm(grad: &mut [f32], max_norm: f64) -> f64 {
    let partial: Vec<f64> = grad
        .par_chunks(CHUNK)
        .map(|c| c.iter().map(|&g| f64::from(g) * f64::from(g)).sum::<f64>())
        .collect();
    let norm = partial.iter().sum::<f64>().sqrt();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let c = coef as f32;
        grad.par_chunks_mut(CHUNK)
            .for_each(|g| g.iter_mut().for_each(|v| *v *= c));
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_weight_by_lr_and_clipping_bounds_the_norm() {
        let mut theta = vec![1.0f32, -2.0, 3.0];
        let mut opt = FlatAdam::new(Optimizer::Adam, 0.0, 3);
        opt.step(&mut theta, &[2.0, -1.0, 0.5], 0.1);
        for (g, e) in theta.iter().zip([0.9f32, -1.9, 2.9]) {
            assert!((g - e).abs() < 1e-6, "{theta:?}");
        }
        let mut g = vec![3.0f32, 4.0];
        assert!((clip_grad_norm(&mut g, 1.0) - 5.0).abs() < 1e-9);
        assert!((g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5);
    }
}
