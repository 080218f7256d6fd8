//! Adam and AdamW with PyTorch's update rule and a state that can be saved and restored (candle-nn's
//! `AdamW` computes the same update but keeps its moments private, so a run could not resume).

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};

use crate::config::Optimizer;
use crate::Result;

pub(crate) const BETA1: f64 = 0.9;
pub(crate) const BETA2: f64 = 0.999;
pub(crate) const EPS: f64 = 1e-8;

/// Adam (`weight_decay = 0`) or AdamW over a fixed, named list of variables.
///
/// Update at step `t` (1-based), as `torch.optim.Adam`/`AdamW`:
/// `m = β1 m + (1-β1) g`, `v = β2 v + (1-β2) g²`, (AdamW: `θ *= 1 - lr·wd`),
/// `θ -= lr / (1-β1^t) · m / (sqrt(v) / sqrt(1-β2^t) + ε)`.
#[derive(Debug)]
pub struct Adam {
    vars: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: usize,
    weight_decay: f64,
}

impl Adam {
    /// A fresh optimizer (zero moments, step 0) for `vars`; `weight_decay` is used only by
    /// [`Optimizer::AdamW`].
    pub fn new(kind: Optimizer, weight_decay: f64, vars: Vec<(String, Var)>) -> Result<Self> {
        let m = vars
            .iter()
            .map(|(_, v)| v.as_tensor().zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let v = m.clone();
        let weight_decay = match kind {
            Optimizer::Adam => 0.0,
            Optimizer::AdamW => weight_decay,
        };
        Ok(Self {
            vars,
            m,
            v,
            t: 0,
            weight_decay,
        })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.t
    }

    /// The variables, with their names.
    pub fn vars(&self) -> &[(String, Var)] {
        &self.vars
    }

    /// Scales every gradient so their global L2 norm is at most `max_norm`
    /// (`torch.nn.utils.clip_grad_norm_`: factor `max_norm / (norm + 1e-6)` when below 1) and
    /// returns the norm before clipping.
    pub fn clip_grad_norm(&self, grads: &mut GradStore, max_norm: f64) -> Result<f64> {
        let mut total = 0f64;
        for (_, var) in &self.vars {
            if let Some(g) = grads.get(var.as_tensor()) {
                total += g
                    .sqr()?
                    .sum_all()?
                    .to_dtype(candle_core::DType::F64)?
                    .to_scalar::<f64>()?;
            }
        }
        let norm = total.sqrt();
        let coef = max_norm / (norm + 1e-6);
        if coef < 1.0 {
            for (_, var) in &self.vars {
                if let Some(g) = grads.remove(var.as_tensor()) {
                    grads.insert(var.as_tensor(), (g * coef)?);
                }
            }
        }
        Ok(norm)
    }

    /// One update with learning rate `lr`; variables without a gradient are left alone (their
    /// moments too, as PyTorch does for parameters whose `grad` is `None`).
    ///
    /// On the CPU the update runs as one fused pass over each variable (a dozen tensor ops per
    /// variable, each allocating, cost 5-10x more); elsewhere it uses tensor ops on the device.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        self.step_by(&|_, var: &Var| grads.get(var.as_tensor()).cloned(), lr)
    }

    /// Like [`step`](Self::step) with the gradients given by variable name (for example
    /// gradients computed elsewhere, as the parity test feeds PyTorch's).
    pub fn step_named(
        &mut self,
        grads: &std::collections::HashMap<String, Tensor>,
        lr: f64,
    ) -> Result<()> {
        self.step_by(&|name, _| grads.get(name).cloned(), lr)
    }

    fn step_by(&mut self, grad_of: &dyn Fn(&str, &Var) -> Option<Tensor>, lr: f64) -> Result<()> {
        self.t += 1;
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        let bc1 = 1.0 - BETA1.powi(t);
        let bc2_sqrt = (1.0 - BETA2.powi(t)).sqrt();
        let step_size = lr / bc1;
        for i in 0..self.vars.len() {
            let (name, var) = self.vars[i].clone();
            let Some(g) = grad_of(&name, &var) else {
                continue;
            };
            let g = &g;
            if var.device().is_cpu() && var.dtype() == DType::F32 {
                self.fused_cpu_step(i, g, lr)?;
                continue;
            }
            let m = ((&self.m[i] * BETA1)? + (g * (1.0 - BETA1))?)?;
            let v = ((&self.v[i] * BETA2)? + (g.sqr()? * (1.0 - BETA2))?)?;
            let denom = ((v.sqrt()? / bc2_sqrt)? + EPS)?;
            let mut theta = var.as_tensor().clone();
            if self.weight_decay > 0.0 {
                theta = (theta * (1.0 - lr * self.weight_decay))?;
            }
            let update = ((&m / &denom)? * step_size)?;
            var.set(&(theta - update)?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// The same update as the tensor path, element by element in f32 (PyTorch's order of
    /// operations: `m.lerp_(g, 1-β1)`, `v = β2 v + (1-β2) g²`, `θ -= step · m / (sqrt(v)/bc2 + ε)`).
    fn fused_cpu_step(&mut self, i: usize, g: &Tensor, lr: f64) -> Result<()> {
        let var = &self.vars[i].1;
        let shape = var.as_tensor().shape().clone();
        let g: Vec<f32> = g.flatten_all()?.to_vec1()?;
        let mut theta: Vec<f32> = var.as_tensor().flatten_all()?.to_vec1()?;
        let mut m: Vec<f32> = self.m[i].flatten_all()?.to_vec1()?;
        let mut v: Vec<f32> = self.v[i].flatten_all()?.to_vec1()?;
        crate::engine::adam::AdamStep::at(self.t, lr, self.weight_decay)
            .apply(&mut theta, &g, &mut m, &mut v);
        let dev = var.device().clone();
        var.set(&Tensor::from_vec(theta, shape.clone(), &dev)?)?;
        self.m[i] = Tensor::from_vec(m, shape.clone(), &dev)?;
        self.v[i] = Tensor::from_vec(v, shape, &dev)?;
        Ok(())
    }

    /// The moments as named tensors (`adam.m.NAME`, `adam.v.NAME`) for a checkpoint.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.vars.len());
        for (i, (name, _)) in self.vars.iter().enumerate() {
            out.push((format!("adam.m.{name}"), self.m[i].clone()));
            out.push((format!("adam.v.{name}"), self.v[i].clone()));
        }
        out
    }

    /// Restores the moments saved by [`state_tensors`](Self::state_tensors) and the step count.
    pub fn restore(&mut self, step: usize, get: &dyn Fn(&str) -> Option<Tensor>) -> Result<()> {
        for (i, (name, var)) in self.vars.iter().enumerate() {
            for (slot, key) in [(0, format!("adam.m.{name}")), (1, format!("adam.v.{name}"))] {
                let t = get(&key).ok_or_else(|| crate::Error::Checkpoint {
                    path: "optimizer state".into(),
                    reason: format!("missing tensor `{key}`"),
                })?;
                if t.dims() != var.as_tensor().dims() {
                    return Err(crate::Error::Checkpoint {
                        path: "optimizer state".into(),
                        reason: format!(
                            "tensor `{key}` has shape {:?}, expected {:?}",
                            t.dims(),
                            var.as_tensor().dims()
                        ),
                    });
                }
                if slot == 0 {
                    self.m[i] = t;
                } else {
                    self.v[i] = t;
                }
            }
        }
        self.t = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn first_adam_step_moves_each_weight_by_lr() {
        // At t = 1, m̂ = g and v̂ = g², so every weight moves by lr · sign(g) (up to ε).
        let w = Var::from_vec(vec![1.0f32, -2.0, 3.0], 3, &Device::Cpu).unwrap();
        let mut opt = Adam::new(Optimizer::Adam, 0.0, vec![("w".into(), w.clone())]).unwrap();
        let loss = (w.as_tensor() * &Tensor::new(&[2.0f32, -1.0, 0.5], &Device::Cpu).unwrap())
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        opt.step(&grads, 0.1).unwrap();
        let got = w.as_tensor().to_vec1::<f32>().unwrap();
        for (g, e) in got.iter().zip([0.9f32, -1.9, 2.9]) {
            assert!((g - e).abs() < 1e-6, "{got:?}");
        }
        assert_eq!(opt.steps(), 1);
    }

    #[test]
    fn matches_candle_adamw_without_decay() {
        use candle_nn::Optimizer as _;
        // Candle-nn's AdamW with weight_decay 0 is torch's Adam; ours must agree over 5 steps of
        // a quadratic loss sum((w - c)^2).
        let dev = Device::Cpu;
        let c = Tensor::new(&[0.3f32, -1.0, 2.0, 0.0], &dev).unwrap();
        let a = Var::from_vec(vec![1.0f32, 2.0, -1.0, 0.5], 4, &dev).unwrap();
        let b = Var::from_vec(vec![1.0f32, 2.0, -1.0, 0.5], 4, &dev).unwrap();
        let mut ours = Adam::new(Optimizer::Adam, 0.0, vec![("a".into(), a.clone())]).unwrap();
        let params = candle_nn::ParamsAdamW {
            lr: 0.05,
            weight_decay: 0.0,
            ..Default::default()
        };
        let mut theirs = candle_nn::AdamW::new(vec![b.clone()], params).unwrap();
        for _ in 0..5 {
            let la = (a.as_tensor() - &c)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap();
            ours.step(&la.backward().unwrap(), 0.05).unwrap();
            let lb = (b.as_tensor() - &c)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap();
            theirs.backward_step(&lb).unwrap();
        }
        let (x, y) = (
            a.as_tensor().to_vec1::<f32>().unwrap(),
            b.as_tensor().to_vec1::<f32>().unwrap(),
        );
        for (p, q) in x.iter().zip(&y) {
            assert!((p - q).abs() < 1e-6, "{x:?} vs {y:?}");
        }
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let w = Var::from_vec(vec![0.0f32, 0.0], 2, &Device::Cpu).unwrap();
        let opt = Adam::new(Optimizer::Adam, 0.0, vec![("w".into(), w.clone())]).unwrap();
        // gradient (3, 4): norm 5, clipped to 1 -> (0.6, 0.8)
        let loss = (w.as_tensor() * &Tensor::new(&[3.0f32, 4.0], &Device::Cpu).unwrap())
            .unwrap()
            .sum_all()
            .unwrap();
        let mut grads = loss.backward().unwrap();
        let norm = opt.clip_grad_norm(&mut grads, 1.0).unwrap();
        assert!((norm - 5.0).abs() < 1e-6);
        let g = grads.get(w.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        assert!(
            (g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5,
            "{g:?}"
        );
    }
}
