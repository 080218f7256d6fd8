//! The fixed-length model embedding: architecture, training-data profile and metrics.
//!
//! Every component is scaled to about [-1, 1] so that no block dominates the cosine; the table
//! [`COMPONENTS`] (also in the crate README) names each index. The data block
//! ([`PROFILE_RANGE`]) alone is what [`crate::Registry::recommend`] compares.

use std::collections::BTreeMap;
use std::ops::Range;

use nt_models::ModelSpec;
use nt_neural::{Family, ScalerType};

use crate::profile::DataProfile;

/// Length of every model embedding.
pub const EMBEDDING_DIM: usize = 40;

/// Length of the data-profile block.
pub const PROFILE_LEN: usize = PROFILE_RANGE.end - PROFILE_RANGE.start;

/// Indices of the data-profile block inside the embedding.
pub const PROFILE_RANGE: Range<usize> = 16..34;

/// Version of the embedding's definition; stored embeddings of another version are recomputed
/// when the registry opens (2: the model's family instead of an NHITS/N-BEATS one-hot; 3: four
/// features of the log returns in the data block).
pub const EMBEDDING_VERSION: u32 = 3;

/// `(name, definition)` of each embedding component, by index.
pub const COMPONENTS: [(&str, &str); EMBEDDING_DIM] = [
    (
        "family_statistical",
        "1 for a statistical model (naive, ETS, MSTL, ...), else 0",
    ),
    (
        "family_linear",
        "1 for a linear model (DLinear, NLinear, elastic net), else 0",
    ),
    (
        "family_mlp",
        "1 for an MLP-block network (NHITS, N-BEATS), else 0",
    ),
    (
        "family_convolutional",
        "1 for a convolutional network (TCN), else 0",
    ),
    (
        "family_recurrent",
        "1 for a recurrent network (LSTM, GRU, DeepAR), else 0",
    ),
    (
        "family_attention",
        "1 for an attention network (PatchTST, Transformers), else 0",
    ),
    ("log_input_size", "ln(1+L) / ln(1025), L = input window"),
    ("log_horizon", "ln(1+H) / ln(1025), H = horizon"),
    ("input_horizon_ratio", "clamp(ln(L/H) / ln(32), -1, 1)"),
    ("log_params", "ln(1+weights) / ln(1e8)"),
    ("depth", "min(blocks or layers / 10, 1)"),
    ("log_width", "ln(1+mean hidden width) / ln(4097)"),
    ("log_lr", "clamp((log10(lr) + 6) / 6, 0, 1)"),
    ("log_max_steps", "ln(1+max_steps) / ln(100001)"),
    (
        "scaled_inputs",
        "1 if a per-window scaler (standard, robust) is used",
    ),
    (
        "probabilistic",
        "1 if the loss has several outputs per step (quantiles)",
    ),
    (
        "log_length",
        "min(ln(1+rows) / ln(1e6+1), 1) of the training data",
    ),
    (
        "log_step",
        "clamp(log10(step seconds) / log10(3.15e7), 0, 1); 0 when unknown",
    ),
    ("volatility", "min(sd(diff) / sd(level) / 1.5, 1)"),
    ("acf_1", "autocorrelation of the levels at lag 1"),
    ("acf_2", "autocorrelation of the levels at lag 2"),
    ("acf_5", "autocorrelation of the levels at lag 5"),
    ("acf_10", "autocorrelation of the levels at lag 10"),
    (
        "diff_acf_1",
        "autocorrelation of the first differences at lag 1",
    ),
    (
        "log_season_period",
        "ln(period) / ln(168); 0 without a detected period",
    ),
    (
        "seasonal_strength",
        "max(0, 1 - var(R)/var(S+R)), in [0, 1]",
    ),
    ("trend_strength", "max(0, 1 - var(R)/var(T+R)), in [0, 1]"),
    ("diff_skewness", "tanh(skewness of the differences / 2)"),
    (
        "diff_kurtosis",
        "tanh(excess kurtosis of the differences / 10)",
    ),
    (
        "return_volatility",
        "clamp((log10(sd of log returns) + 2.5) / 1.5, -1, 1); 0 without returns",
    ),
    (
        "return_kurtosis",
        "tanh(excess kurtosis of the log returns / 5); 0 without returns",
    ),
    (
        "return_acf_1",
        "autocorrelation of the log returns at lag 1; 0 without returns",
    ),
    (
        "squared_return_acf_1",
        "autocorrelation of the squared log returns at lag 1 (volatility clustering); 0 without returns",
    ),
    (
        "has_profile",
        "1 when a data profile was recorded (the block is all 0 otherwise)",
    ),
    (
        "skill",
        "tanh(skill), skill = metric `skill`, else 1 - val_mae / rw_mae; 0 when unknown",
    ),
    ("has_skill", "1 when a skill is known"),
    ("log_train_steps", "ln(1+metric `steps`) / ln(100001)"),
    (
        "stopped_early",
        "metric `stopped_early` (1 when early stopping ended training)",
    ),
    (
        "best_step_fraction",
        "metric `best_step` / `steps`, 0 when unknown",
    ),
    (
        "generalization_gap",
        "tanh(ln(best_val_loss / final_train_loss)); 0 when unknown",
    ),
];

fn ln_scaled(x: f64, top: f64) -> f32 {
    ((1.0 + x.max(0.0)).ln() / (1.0 + top).ln()).min(1.0) as f32
}

/// The skill recorded in `metrics`: `skill`, else `1 - val_mae / rw_mae` when both are
/// positive and finite.
pub fn skill_of(metrics: &BTreeMap<String, f64>) -> Option<f64> {
    if let Some(s) = metrics.get("skill").filter(|s| s.is_finite()) {
        return Some(*s);
    }
    match (metrics.get("val_mae"), metrics.get("rw_mae")) {
        (Some(m), Some(rw)) if m.is_finite() && rw.is_finite() && *rw > 0.0 => Some(1.0 - m / rw),
        _ => None,
    }
}

/// The data block (indices [`PROFILE_RANGE`]) of a profile.
pub fn profile_block(p: Option<&DataProfile>) -> [f32; PROFILE_LEN] {
    let Some(p) = p else {
        return [0.0; PROFILE_LEN];
    };
    let r = p.returns.as_ref();
    let returns = [
        r.filter(|r| r.volatility > 0.0)
            .map(|r| ((r.volatility.log10() + 2.5) / 1.5).clamp(-1.0, 1.0) as f32)
            .unwrap_or(0.0),
        r.map(|r| (r.kurtosis / 5.0).tanh() as f32).unwrap_or(0.0),
        r.map(|r| r.acf1 as f32).unwrap_or(0.0),
        r.map(|r| r.squared_acf1 as f32).unwrap_or(0.0),
    ];
    let log_step = p
        .step_seconds
        .filter(|s| *s > 0.0)
        .map(|s| (s.log10() / 3.15e7f64.log10()).clamp(0.0, 1.0) as f32)
        .unwrap_or(0.0);
    [
        ln_scaled(p.length as f64, 1e6),
        log_step,
        (p.volatility / 1.5).clamp(0.0, 1.0) as f32,
        p.acf[0] as f32,
        p.acf[1] as f32,
        p.acf[2] as f32,
        p.acf[3] as f32,
        p.diff_acf1 as f32,
        p.season_period
            .map(|s| ((s as f64).ln() / 168f64.ln()).min(1.0) as f32)
            .unwrap_or(0.0),
        p.seasonal_strength.clamp(0.0, 1.0) as f32,
        p.trend_strength.clamp(0.0, 1.0) as f32,
        (p.diff_skewness / 2.0).tanh() as f32,
        (p.diff_kurtosis / 10.0).tanh() as f32,
        returns[0],
        returns[1],
        returns[2],
        returns[3],
        1.0,
    ]
}

/// What the architecture block of the embedding is computed from; [`ArchSummary::of`] derives
/// it from any [`ModelSpec`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArchSummary {
    /// Broad kind (one-hot over [`Family::ALL`]: a closed set, so the length never changes).
    pub family: Family,
    /// Input window (history rows needed for a classical model).
    pub input_size: usize,
    /// Horizon (0 when unbounded).
    pub horizon: usize,
    /// Weights or fitted numbers.
    pub params: usize,
    /// Blocks or layers.
    pub depth: usize,
    /// Mean hidden width.
    pub width: f64,
    /// Initial learning rate (0 for classical models).
    pub lr: f64,
    /// Training steps planned (0 for classical models).
    pub max_steps: usize,
    /// Whether inputs are scaled per window.
    pub scaled: bool,
    /// Whether the model forecasts quantiles or intervals beside the point.
    pub probabilistic: bool,
}

impl ArchSummary {
    /// The summary of `spec` with `params` weights, reading `input_size` rows and forecasting
    /// up to `horizon` steps.
    pub fn of(spec: &ModelSpec, params: usize, input_size: usize, horizon: usize) -> Self {
        match spec {
            ModelSpec::Neural(n) => {
                let f = n.features();
                let cfg = n.train_config();
                ArchSummary {
                    family: f.family,
                    input_size,
                    horizon,
                    params,
                    depth: f.depth,
                    width: f.width,
                    lr: cfg.lr,
                    max_steps: cfg.max_steps,
                    scaled: cfg.scaler != ScalerType::Identity,
                    probabilistic: cfg.loss.n_outputs() > 1,
                }
            }
            other => ArchSummary {
                family: other.family(),
                input_size,
                horizon,
                params,
                depth: 0,
                width: 0.0,
                lr: 0.0,
                max_steps: 0,
                scaled: false,
                probabilistic: true,
            },
        }
    }
}

/// Builds the embedding of a model from its architecture summary, training-data profile and
/// metrics. Deterministic; every component finite.
pub fn model_embedding(
    arch: &ArchSummary,
    profile: Option<&DataProfile>,
    metrics: &BTreeMap<String, f64>,
) -> Vec<f32> {
    let mut v = Vec::with_capacity(EMBEDDING_DIM);
    let (l, h) = (arch.input_size as f64, arch.horizon as f64);
    for f in Family::ALL {
        v.push(if f == arch.family { 1.0 } else { 0.0 });
    }
    v.push(ln_scaled(l, 1024.0));
    v.push(ln_scaled(h, 1024.0));
    v.push(if l > 0.0 && h > 0.0 {
        ((l / h).ln() / 32f64.ln()).clamp(-1.0, 1.0) as f32
    } else {
        0.0
    });
    v.push(ln_scaled(arch.params as f64, 1e8 - 1.0));
    v.push((arch.depth as f32 / 10.0).min(1.0));
    v.push(ln_scaled(arch.width, 4096.0));
    v.push(if arch.lr > 0.0 {
        ((arch.lr.log10() + 6.0) / 6.0).clamp(0.0, 1.0) as f32
    } else {
        0.0
    });
    v.push(ln_scaled(arch.max_steps as f64, 1e5));
    v.push(if arch.scaled { 1.0 } else { 0.0 });
    v.push(if arch.probabilistic { 1.0 } else { 0.0 });
    v.extend_from_slice(&profile_block(profile));
    let skill = skill_of(metrics);
    v.push(skill.map(|s| s.tanh() as f32).unwrap_or(0.0));
    v.push(if skill.is_some() { 1.0 } else { 0.0 });
    let steps = metrics.get("steps").copied().filter(|s| s.is_finite());
    v.push(steps.map(|s| ln_scaled(s, 1e5)).unwrap_or(0.0));
    v.push(
        metrics
            .get("stopped_early")
            .map(|s| s.clamp(0.0, 1.0) as f32)
            .unwrap_or(0.0),
    );
    v.push(match (metrics.get("best_step"), steps) {
        (Some(b), Some(s)) if s > 0.0 => (b / s).clamp(0.0, 1.0) as f32,
        _ => 0.0,
    });
    v.push(
        match (
            metrics.get("best_val_loss"),
            metrics.get("final_train_loss"),
        ) {
            (Some(v), Some(t)) if *v > 0.0 && *t > 0.0 && v.is_finite() && t.is_finite() => {
                (v / t).ln().tanh() as f32
            }
            _ => 0.0,
        },
    );
    debug_assert_eq!(v.len(), EMBEDDING_DIM);
    v.iter_mut()
        .for_each(|x| *x = if x.is_finite() { *x } else { 0.0 });
    v
}

/// Cosine similarity; 0 when either vector is all zeros.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na <= 0.0 || nb <= 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}
