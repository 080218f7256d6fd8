//! Output distributions of probabilistic networks (DeepAR): Student-t and Normal as
//! neuralforecast 3.3's `DistributionLoss` maps a network's raw outputs onto them, with their
//! negative log-likelihood (candle ops, differentiable; and plain `f32` with its gradient),
//! mean, exact quantiles, CDF and seeded sampling.
//!
//! **The mapping** (neuralforecast `losses/pytorch.py`, `student_scale_decouple` and
//! `normal_scale_decouple`): the network emits, per step, the raw values in the order of
//! [`Distribution::param_names`] (`df, loc, scale` for Student-t; `loc, scale` for Normal).
//! Then `df = 3 + softplus(raw_df)`, `scale = (softplus(raw_scale) + eps) · s` and
//! `loc = raw_loc · s + m`, where `(m, s)` are the window scaler's shift and scale and `eps` is
//! 0.1 for Student-t and 0.2 for Normal. neuralforecast always passes the scaler's statistics
//! (the identity scaler's are `m = 0, s = 1`), so `eps` is added whatever the scaler. Because
//! the map is affine in `(m, s)`, the distribution of a scaled value `(y − m)/s` has
//! `loc = raw_loc`, `scale = softplus(raw_scale) + eps`: this module works in that scaled
//! space, and callers map values (draws, means, quantiles) back with `y = m + s·z`. The NLL of
//! `y` and of `z` differ by `ln s` per point (zero for the identity scaler, DeepAR's default);
//! their gradients with respect to the raw outputs are the same.
//!
//! **Special functions** (`ln Γ`, digamma, `erfc`, the regularized incomplete beta) are written
//! here: no crate in the workspace's dependency set provides them to nt-neural (candle has no
//! `lgamma`, and adding `statrs`/`libm` would be a new dependency for four functions). The
//! candle NLL builds `ln Γ` from elementary ops (a shifted Stirling series) so it
//! differentiates on any device.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;
use crate::Result;

/// A distribution family of a probabilistic output head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Student-t (DeepAR's default): `df = 3 + softplus`, `scale = softplus + 0.1`.
    #[default]
    StudentT,
    /// Normal: `scale = softplus + 0.2`.
    Normal,
}

/// The distribution of one step, in the scaled space (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Params {
    /// Student-t with `df` degrees of freedom (> 2 as mapped, so it has a mean and variance).
    StudentT {
        /// Degrees of freedom.
        df: f64,
        /// Location (the mean).
        loc: f64,
        /// Scale (> 0).
        scale: f64,
    },
    /// Normal.
    Normal {
        /// Mean.
        loc: f64,
        /// Standard deviation (> 0).
        scale: f64,
    },
}

/// PyTorch's `F.softplus` (beta 1, threshold 20: the identity above 20).
pub fn softplus(x: f64) -> f64 {
    if x > 20.0 {
        x
    } else {
        x.max(0.0) + (-x.abs()).exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Distribution {
    /// Raw outputs per step: 3 for Student-t, 2 for Normal.
    pub fn n_params(self) -> usize {
        match self {
            Distribution::StudentT => 3,
            Distribution::Normal => 2,
        }
    }

    /// neuralforecast's parameter names, in output order.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            Distribution::StudentT => &["df", "loc", "scale"],
            Distribution::Normal => &["loc", "scale"],
        }
    }

    /// The `eps` added to the softplus of the raw scale.
    pub fn scale_eps(self) -> f64 {
        match self {
            Distribution::StudentT => 0.1,
            Distribution::Normal => 0.2,
        }
    }

    /// The scaled-space distribution of one step's raw outputs (`raw.len() == n_params()`).
    pub fn params(self, raw: &[f32]) -> Params {
        let r = |i: usize| f64::from(raw.get(i).copied().unwrap_or(0.0));
        match self {
            Distribution::StudentT => Params::StudentT {
                df: 3.0 + softplus(r(0)),
                loc: r(1),
                scale: softplus(r(2)) + self.scale_eps(),
            },
            Distribution::Normal => Params::Normal {
                loc: r(0),
                scale: softplus(r(1)) + self.scale_eps(),
            },
        }
    }

    /// Negative log-likelihood of the scaled target `y` under the raw outputs `raw`, and, when
    /// `grad` is given, its derivative with respect to each raw output (written there).
    pub fn nll_and_grad(self, raw: &[f32], y: f32, grad: Option<&mut [f32]>) -> f64 {
        let y = f64::from(y);
        match self.params(raw) {
            Params::StudentT { df, loc, scale } => {
                let z = (y - loc) / scale;
                let a = 1.0 + z * z / df;
                let nll = ln_gamma(df / 2.0) - ln_gamma((df + 1.0) / 2.0)
                    + 0.5 * (df * std::f64::consts::PI).ln()
                    + scale.ln()
                    + 0.5 * (df + 1.0) * a.ln();
                if let Some(g) = grad {
                    let d_df = 0.5 * digamma(df / 2.0) - 0.5 * digamma((df + 1.0) / 2.0)
                        + 0.5 / df
                        + 0.5 * a.ln()
                        - 0.5 * (df + 1.0) * z * z / (df * df * a);
                    let d_loc = -(df + 1.0) * z / (df * a * scale);
                    let d_scale = (1.0 - (df + 1.0) * z * z / (df * a)) / scale;
                    g[0] = (d_df * sigmoid(f64::from(raw[0]))) as f32;
                    g[1] = d_loc as f32;
                    g[2] = (d_scale * sigmoid(f64::from(raw[2]))) as f32;
                }
                nll
            }
            Params::Normal { loc, scale } => {
                let z = (y - loc) / scale;
                let nll = 0.5 * (std::f64::consts::TAU).ln() + scale.ln() + 0.5 * z * z;
                if let Some(g) = grad {
                    g[0] = (-z / scale) as f32;
                    g[1] = ((1.0 - z * z) / scale * sigmoid(f64::from(raw[1]))) as f32;
                }
                nll
            }
        }
    }

    /// Per-point negative log-likelihood `[B, H]` of scaled targets `y` (`[B, H]`) under raw
    /// outputs `raw` (`[B, H, n_params]`), in candle ops (differentiable in `raw`, any device).
    pub fn nll_tensor(self, raw: &Tensor, y: &Tensor) -> Result<Tensor> {
        let (b, h, p) = raw.dims3()?;
        if p != self.n_params() {
            return Err(crate::Error::invalid(
                "train.loss.distribution",
                format!(
                    "the {self:?} head needs {} outputs per step, the model has {p}",
                    self.n_params()
                ),
            ));
        }
        let col = |i: usize| -> Result<Tensor> { Ok(raw.narrow(2, i, 1)?.reshape((b, h))?) };
        match self {
            Distribution::StudentT => {
                let df = (softplus_tensor(&col(0)?)? + 3.0)?;
                let loc = col(1)?;
                let scale = (softplus_tensor(&col(2)?)? + self.scale_eps())?;
                let z = ((y - &loc)? / &scale)?;
                let a = ((z.sqr()? / &df)? + 1.0)?;
                let half = (&df * 0.5)?;
                let half1 = ((&df + 1.0)? * 0.5)?;
                let t = (ln_gamma_tensor(&half)? - ln_gamma_tensor(&half1)?)?;
                let t = (t + ((&df * std::f64::consts::PI)?.log()? * 0.5)?)?;
                let t = (t + scale.log()?)?;
                Ok((t + (half1 * a.log()?)?)?)
            }
            Distribution::Normal => {
                let loc = col(0)?;
                let scale = (softplus_tensor(&col(1)?)? + self.scale_eps())?;
                let z = ((y - &loc)? / &scale)?;
                let t = (scale.log()? + 0.5 * (std::f64::consts::TAU).ln())?;
                Ok((t + (z.sqr()? * 0.5)?)?)
            }
        }
    }
}

/// Softplus in candle ops: `relu(x) + ln(1 + e^−|x|)` (equals PyTorch's to f32 rounding; its
/// threshold at 20 changes the value by under 2e-9).
fn softplus_tensor(x: &Tensor) -> Result<Tensor> {
    Ok((x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?)?)
}

/// `ln Γ(x)` for `x ≥ 1` in candle ops: the recurrence `ln Γ(x) = ln Γ(x + 6) − Σ ln(x + k)`
/// and Stirling's series at `x + 6 ≥ 7` (truncation error below 1e-10).
fn ln_gamma_tensor(x: &Tensor) -> Result<Tensor> {
    let mut shift = x.log()?;
    for k in 1..6 {
        shift = (shift + (x + k as f64)?.log()?)?;
    }
    let w = (x + 6.0)?;
    let inv = w.recip()?;
    let inv2 = inv.sqr()?;
    // 1/(12w) − 1/(360w³) + 1/(1260w⁵) − 1/(1680w⁷)
    let series =
        (((((&inv2 * (-1.0 / 1680.0))? + 1.0 / 1260.0)? * &inv2)? - 1.0 / 360.0)? * &inv2)?;
    let series = ((series + 1.0 / 12.0)? * inv)?;
    let stirling = (((&w - 0.5)? * w.log()?)? - &w)?;
    let stirling = ((stirling + 0.5 * std::f64::consts::TAU.ln())? + series)?;
    Ok((stirling - shift)?)
}

impl Params {
    /// The mean (the location: Student-t's `df > 1` always holds here).
    pub fn mean(&self) -> f64 {
        match *self {
            Params::StudentT { loc, .. } | Params::Normal { loc, .. } => loc,
        }
    }

    /// `ln p(y)`.
    pub fn log_pdf(&self, y: f64) -> f64 {
        match *self {
            Params::StudentT { df, loc, scale } => {
                let z = (y - loc) / scale;
                ln_gamma((df + 1.0) / 2.0)
                    - ln_gamma(df / 2.0)
                    - 0.5 * (df * std::f64::consts::PI).ln()
                    - scale.ln()
                    - 0.5 * (df + 1.0) * (z * z / df).ln_1p()
            }
            Params::Normal { loc, scale } => {
                let z = (y - loc) / scale;
                -0.5 * std::f64::consts::TAU.ln() - scale.ln() - 0.5 * z * z
            }
        }
    }

    /// `P(Y ≤ y)`.
    pub fn cdf(&self, y: f64) -> f64 {
        match *self {
            Params::StudentT { df, loc, scale } => student_t_cdf((y - loc) / scale, df),
            Params::Normal { loc, scale } => normal_cdf((y - loc) / scale),
        }
    }

    /// The `p`-quantile, `0 < p < 1` (exact to about 1e-12 relative: Normal by Acklam's
    /// approximation refined by one Halley step on `erfc`; Student-t by safeguarded Newton on
    /// its CDF through the regularized incomplete beta).
    pub fn quantile(&self, p: f64) -> f64 {
        match *self {
            Params::StudentT { df, loc, scale } => loc + scale * student_t_ppf(p, df),
            Params::Normal { loc, scale } => loc + scale * normal_ppf(p),
        }
    }

    /// One draw, from `rng` (Box–Muller normals; Student-t as `N / sqrt(χ²_ν / ν)` with the
    /// χ² from Marsaglia–Tsang's gamma sampler).
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        match *self {
            Params::StudentT { df, loc, scale } => {
                let n = standard_normal(rng);
                let chi2 = 2.0 * gamma_sample(df / 2.0, rng);
                loc + scale * n / (chi2 / df).sqrt()
            }
            Params::Normal { loc, scale } => loc + scale * standard_normal(rng),
        }
    }
}

/// A standard normal draw (Box–Muller, one of the pair).
pub fn standard_normal(rng: &mut Rng) -> f64 {
    let u1 = rng.next_f64().max(f64::MIN_POSITIVE);
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Gamma(`shape`, 1) draw (Marsaglia & Tsang, 2000; `shape < 1` through
/// `Gamma(shape + 1) · U^(1/shape)`).
pub fn gamma_sample(shape: f64, rng: &mut Rng) -> f64 {
    if shape < 1.0 {
        let u = rng.next_f64().max(f64::MIN_POSITIVE);
        return gamma_sample(shape + 1.0, rng) * u.powf(1.0 / shape);
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
        let u = rng.next_f64().max(f64::MIN_POSITIVE);
        if u < 1.0 - 0.0331 * x.powi(4) || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, 9 terms; relative error about 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * std::f64::consts::TAU.ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The digamma function ψ(x) for `x > 0` (recurrence to `x ≥ 10`, then the asymptotic series;
/// error below 1e-12).
pub fn digamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let inv2 = 1.0 / (x * x);
    acc + x.ln()
        - 0.5 / x
        - inv2 * (1.0 / 12.0 - inv2 * (1.0 / 120.0 - inv2 * (1.0 / 252.0 - inv2 / 240.0)))
}

/// `erfc(x)` to about 1e-15 relative: the Maclaurin series of `erf` for `|x| < 2`, Lentz's
/// continued fraction for the tail beyond.
pub fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
        let (mut term, mut sum) = (x, x);
        let x2 = x * x;
        for n in 1..200 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        return 1.0 - sum * std::f64::consts::FRAC_2_SQRT_PI;
    }
    // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))) (Lentz).
    let tiny = 1e-300;
    let mut f = x;
    let (mut c, mut d) = (x, 0.0);
    for n in 1..500 {
        let a = n as f64 / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
}

/// The standard normal CDF Φ(z).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// The standard normal quantile Φ⁻¹(p): Acklam's rational approximation (relative error
/// 1.2e-9) refined by one Halley step on [`erfc`], which brings it to about 1e-15.
pub fn normal_ppf(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        let q = (-2.0 * q.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.02425 {
        tail(p)
    } else if p > 1.0 - 0.02425 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // Halley: e = Φ(x) − p, u = e·√(2π)·e^(x²/2), x ← x − u / (1 + x·u/2).
    let e = normal_cdf(x) - p;
    let u = e * std::f64::consts::TAU.sqrt() * (0.5 * x * x).exp();
    x - u / (1.0 + 0.5 * x * u)
}

/// The regularized incomplete beta `I_x(a, b)` (Lentz's continued fraction, with the symmetry
/// `I_x(a, b) = 1 − I_{1−x}(b, a)` where it converges faster).
pub fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(1.0 - x, b, a);
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let tiny = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    d = if d.abs() < tiny { tiny } else { d };
    d = 1.0 / d;
    let mut f = d;
    for m in 1..1000 {
        let m = m as f64;
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = 1.0 + num / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-16 {
            break;
        }
    }
    ln_front.exp() * f / a
}

/// The standard Student-t CDF with `df` degrees of freedom.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The standard Student-t quantile: Newton on [`student_t_cdf`] from the Cornish–Fisher start
/// `z + (z³ + z)/(4ν)`, each step kept inside a bisection bracket; converges to about 1e-12.
pub fn student_t_ppf(p: f64, df: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return -student_t_ppf(1.0 - p, df);
    }
    // p ≤ 0.5: the quantile is ≤ 0.
    let z = normal_ppf(p);
    let mut t = z + (z * z * z + z) / (4.0 * df);
    let (mut lo, mut hi) = (f64::NEG_INFINITY, 0.0f64);
    let log_norm =
        ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0) - 0.5 * (df * std::f64::consts::PI).ln();
    for _ in 0..200 {
        let f = student_t_cdf(t, df) - p;
        if f > 0.0 {
            hi = hi.min(t);
        } else {
            lo = lo.max(t);
        }
        let pdf = (log_norm - 0.5 * (df + 1.0) * (t * t / df).ln_1p()).exp();
        let mut next = t - f / pdf;
        if !(next > lo && next < hi && next.is_finite()) {
            next = if lo.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * t.min(-1.0)
            };
        }
        if (next - t).abs() <= 1e-14 * (1.0 + t.abs()) {
            return next;
        }
        t = next;
    }
    t
}

/// The quantile levels a distribution loss with interval `levels` (percent, e.g. `[80, 90]`)
/// reports, ascending, median included as neuralforecast's `level_to_outputs` adds it:
/// `[80, 90]` gives `0.05, 0.1, 0.5, 0.9, 0.95`.
pub fn level_quantiles(levels: &[f64]) -> Vec<f64> {
    let mut q = vec![0.5];
    for &l in levels {
        q.push((50.0 - l / 2.0) / 100.0);
        q.push((50.0 + l / 2.0) / 100.0);
    }
    q.sort_by(f64::total_cmp);
    q.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    q
}

/// What a network with a distribution head offers beyond [`crate::Network::forward`] (whose
/// `[B, H, n_params]` output holds the raw parameters of each step under mean feedback).
pub trait Probabilistic: Send + Sync {
    /// Its distribution family.
    fn distribution(&self) -> Distribution;
    /// The default sample paths at prediction, `(samples, seed)`, when the model forecasts by
    /// sample paths; `None` when it forecasts from the mean-feedback distributions.
    fn default_paths(&self) -> Option<(usize, u64)>;
    /// `samples` sample paths over the horizon for each of the `n` packed rows of `x`
    /// (`[n, packed_input_size]`), in the scaled space, as `[n, samples, H]`: each path feeds
    /// its own draws back. Window `i`'s paths are drawn from `Rng::new(seeds[i])` only, so they
    /// do not depend on the other rows.
    fn sample_paths(&self, x: &[f32], n: usize, samples: usize, seeds: &[u64]) -> Result<Vec<f32>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_functions_match_known_values() {
        // Γ(5) = 24, Γ(0.5) = √π, ψ(1) = −γ, erfc(1) = 0.157299207050285, Φ⁻¹(0.975) =
        // 1.959963984540054 (tables); these fail on a wrong coefficient.
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        assert!((digamma(1.0) + 0.577_215_664_901_532_9).abs() < 1e-12);
        assert!((erfc(1.0) - 0.157_299_207_050_285_13).abs() < 1e-15);
        assert!((erfc(3.0) - 2.209_049_699_858_544e-5).abs() < 1e-19);
        assert!((normal_ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        // t(1) is Cauchy: quantile tan(π(p − 1/2)).
        let p = 0.9;
        let cauchy = (std::f64::consts::PI * (p - 0.5)).tan();
        assert!((student_t_ppf(p, 1.0) - cauchy).abs() < 1e-10);
        assert!((student_t_cdf(cauchy, 1.0) - p).abs() < 1e-13);
    }

    #[test]
    fn nll_gradient_matches_finite_differences_and_candle() {
        // The analytic gradient of the f32 NLL against central differences of the f64 value
        // (step 1e-3): a wrong chain-rule term shows as an error of order 1e-1.
        for (dist, raw) in [
            (Distribution::StudentT, vec![0.3f32, -0.4, 0.2]),
            (Distribution::StudentT, vec![-2.0f32, 1.5, -1.0]),
            (Distribution::Normal, vec![0.7f32, -0.5]),
        ] {
            let y = 0.9f32;
            let mut g = vec![0f32; raw.len()];
            let v = dist.nll_and_grad(&raw, y, Some(&mut g));
            for i in 0..raw.len() {
                let (mut up, mut dn) = (raw.clone(), raw.clone());
                up[i] += 1e-3;
                dn[i] -= 1e-3;
                let fd = (dist.nll_and_grad(&up, y, None) - dist.nll_and_grad(&dn, y, None)) / 2e-3;
                assert!(
                    (fd - f64::from(g[i])).abs() < 1e-3,
                    "{dist:?} {i}: {fd} vs {}",
                    g[i]
                );
            }
            // The NLL is −log_pdf of the mapped parameters, and candle's tensor version agrees.
            assert!((v + dist.params(&raw).log_pdf(f64::from(y))).abs() < 1e-12);
            let dev = candle_core::Device::Cpu;
            let t = Tensor::from_vec(raw.clone(), (1, 1, raw.len()), &dev).unwrap();
            let yt = Tensor::from_vec(vec![y], (1, 1), &dev).unwrap();
            let c: Vec<f32> = dist
                .nll_tensor(&t, &yt)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert!(
                (f64::from(c[0]) - v).abs() < 1e-5,
                "{dist:?}: candle {} vs {v}",
                c[0]
            );
        }
    }

    #[test]
    fn samples_follow_the_distribution() {
        // 40k draws of t(5, loc 1, scale 2): the share below the 0.1 and 0.9 quantiles is
        // 0.1 ± 0.005 (about 3.3 standard errors), and the same seed gives the same draws.
        let p = Params::StudentT {
            df: 5.0,
            loc: 1.0,
            scale: 2.0,
        };
        let (q1, q9) = (p.quantile(0.1), p.quantile(0.9));
        let mut rng = Rng::new(3);
        let draws: Vec<f64> = (0..40_000).map(|_| p.sample(&mut rng)).collect();
        let below = draws.iter().filter(|&&d| d < q1).count() as f64 / 40_000.0;
        let above = draws.iter().filter(|&&d| d > q9).count() as f64 / 40_000.0;
        assert!(
            (below - 0.1).abs() < 0.005 && (above - 0.1).abs() < 0.005,
            "{below} {above}"
        );
        let mut again = Rng::new(3);
        assert_eq!(p.sample(&mut again), draws[0]);
        assert_eq!(
            level_quantiles(&[80.0, 90.0]),
            vec![0.05, 0.1, 0.5, 0.9, 0.95]
        );
    }
}
