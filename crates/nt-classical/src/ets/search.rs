//! Fitting one ETS model by maximum likelihood, and the automatic search over model types by
//! AICc (statsforecast's `etsmodel` / `ets_f`, R's `forecast::ets`).

use super::engine::{
    complete_state, filter, initial_state, Component, EtsModelType, EtsParams, Spec,
};
use super::optim::NelderMead;

/// Default box for (alpha, beta, gamma, phi), as statsforecast and R.
const LOWER: [f64; 4] = [1e-4, 1e-4, 1e-4, 0.8];
const UPPER: [f64; 4] = [0.9999, 0.9999, 0.9999, 0.98];

/// A letter of a model specification: a fixed component or `Z` (search).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    Fixed(Component),
    Auto,
}

/// A parsed model specification such as `ZZZ`, `AAN` or `MAM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModelSpec {
    pub(crate) error: Choice,
    pub(crate) trend: Choice,
    pub(crate) season: Choice,
}

impl ModelSpec {
    /// Parses a three-letter code (error ∈ {A, M, Z}; trend, season ∈ {N, A, M, Z}), rejecting
    /// the combinations R and statsforecast forbid (additive error with a multiplicative
    /// component; M error, M trend, A season). Returns what was wrong otherwise.
    pub(crate) fn parse(code: &str) -> Result<Self, String> {
        let letters: Vec<char> = code.chars().collect();
        if letters.len() != 3 {
            return Err(format!(
                "`{code}` is not three letters (error, trend, season), e.g. `ZZZ`"
            ));
        }
        let component = |c: char, allow_none: bool| match c {
            'N' if allow_none => Some(Choice::Fixed(Component::None)),
            'A' => Some(Choice::Fixed(Component::Additive)),
            'M' => Some(Choice::Fixed(Component::Multiplicative)),
            'Z' => Some(Choice::Auto),
            _ => None,
        };
        let error = component(letters[0], false)
            .ok_or_else(|| format!("error letter `{}` must be A, M or Z", letters[0]))?;
        let trend = component(letters[1], true)
            .ok_or_else(|| format!("trend letter `{}` must be N, A, M or Z", letters[1]))?;
        let season = component(letters[2], true)
            .ok_or_else(|| format!("season letter `{}` must be N, A, M or Z", letters[2]))?;
        let mult = Choice::Fixed(Component::Multiplicative);
        let add = Choice::Fixed(Component::Additive);
        if (error == add && (trend == mult || season == mult))
            || (error == mult && trend == mult && season == add)
        {
            return Err(format!(
                "`{code}` is a forbidden combination (unstable model)"
            ));
        }
        Ok(Self {
            error,
            trend,
            season,
        })
    }
}

/// What the search may try.
#[derive(Debug, Clone)]
pub(crate) struct Search {
    pub(crate) spec: ModelSpec,
    pub(crate) damped: Option<bool>,
    pub(crate) allow_multiplicative_trend: bool,
    pub(crate) max_iter: usize,
}

/// One fitted ETS model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fitted {
    pub(crate) spec: Spec,
    pub(crate) params: EtsParams,
    /// Full initial state `[l, b?, s_0..s_{m−1}]`.
    pub(crate) init: Vec<f64>,
    /// −2·log-likelihood up to a constant (statsforecast's `lik`).
    pub(crate) lik: f64,
    pub(crate) aic: f64,
    pub(crate) aicc: f64,
    pub(crate) bic: f64,
    /// Residual variance: Σe² / (n − k − 1), k the number of estimated values + 1.
    pub(crate) sigma2: f64,
    /// Estimated values (free smoothing parameters and initial states) + 1 for the variance.
    pub(crate) n_params: usize,
}

/// Parameters fixed by the caller (`None` = estimate).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fixed {
    pub(crate) alpha: Option<f64>,
}

/// Why a search found no model.
#[derive(Debug)]
pub(crate) enum SearchError {
    /// Too few rows for the smallest candidate.
    TooShort { needed: usize, got: usize },
    /// Multiplicative error asked for, data not positive (index of the first bad value).
    NonPositive { index: usize },
    /// Every candidate failed.
    NoModel,
}

/// Fits one model type by minimizing the likelihood criterion over the smoothing parameters and
/// the initial state. `None` when the model cannot be fitted to `y` (too short, singular
/// initialization, non-finite likelihood).
///
/// Differences from statsforecast 2.1.1, following R's `forecast::ets` and fable: the parameter
/// box is not narrowed by the starting values (statsforecast narrows it in place, and the
/// narrowing leaks into later candidates), and the usual-region constraints β ≤ α and
/// γ ≤ 1 − α are enforced during the optimization, not only at the starting point.
pub(crate) fn fit_model(
    y: &[f64],
    kind: EtsModelType,
    m: usize,
    fixed: Fixed,
    max_iter: usize,
) -> Option<Fitted> {
    let m = if kind.season.is_some() { m } else { 1 };
    let spec = Spec { kind, m };
    let has_trend = kind.trend.is_some();
    let has_season = kind.season.is_some();

    // Starting values (statsforecast/R `initparam`).
    let mut alpha0 = fixed
        .alpha
        .unwrap_or(LOWER[0] + 0.2 * (UPPER[0] - LOWER[0]) / m as f64);
    if !(0.0..=1.0).contains(&alpha0) {
        alpha0 = LOWER[0] + 2e-3;
    }
    let beta0 = has_trend.then(|| {
        let upper = UPPER[1].min(alpha0);
        let b = LOWER[1] + 0.1 * (upper - LOWER[1]);
        if b < 0.0 || b > alpha0 {
            alpha0 - 1e-3
        } else {
            b
        }
    });
    let gamma0 = has_season.then(|| {
        let upper = UPPER[2].min(1.0 - alpha0);
        let g = LOWER[2] + 0.05 * (upper - LOWER[2]);
        if g < 0.0 || g > 1.0 - alpha0 {
            1.0 - alpha0 - 1e-3
        } else {
            g
        }
    });
    let phi0 = kind.damped.then(|| {
        let p = LOWER[3] + 0.99 * (UPPER[3] - LOWER[3]);
        if (0.0..=1.0).contains(&p) {
            p
        } else {
            UPPER[3] - 1e-3
        }
    });

    let state0 = initial_state(y, &spec)?;
    let free_alpha = fixed.alpha.is_none();
    let mut x0 = Vec::new();
    let mut lower = Vec::new();
    let mut upper = Vec::new();
    for (i, start) in [free_alpha.then_some(alpha0), beta0, gamma0, phi0]
        .into_iter()
        .enumerate()
    {
        if let Some(v) = start {
            x0.push(v);
            lower.push(LOWER[i]);
            upper.push(UPPER[i]);
        }
    }
    let n_smoothing = x0.len();
    x0.extend_from_slice(&state0);
    lower.resize(x0.len(), f64::NEG_INFINITY);
    upper.resize(x0.len(), f64::INFINITY);
    let np = x0.len();
    if np + 1 >= y.len() {
        return None;
    }

    let params_of = |x: &[f64]| {
        let mut j = 0;
        let mut next = |used: bool, default: f64| {
            if used {
                j += 1;
                x[j - 1]
            } else {
                default
            }
        };
        let alpha = next(free_alpha, alpha0);
        let beta = next(has_trend, 0.0);
        let gamma = next(has_season, 0.0);
        let phi = next(kind.damped, 1.0);
        EtsParams {
            alpha,
            beta,
            gamma,
            phi,
        }
    };
    let season_start = spec.season_start();
    let objective = |x: &[f64]| -> f64 {
        let p = params_of(x);
        if (has_trend && p.beta > p.alpha) || (has_season && p.gamma > 1.0 - p.alpha) {
            return f64::INFINITY;
        }
        let full = complete_state(&spec, &x[n_smoothing..]);
        if kind.season == Component::Multiplicative && full[season_start..].iter().any(|s| *s < 0.0)
        {
            return f64::INFINITY;
        }
        let lik = filter(&spec, &p, &full, y, None).max(-1e10);
        if lik.is_nan() {
            f64::INFINITY
        } else {
            lik
        }
    };
    let nm = NelderMead {
        init_step: 0.05,
        zero_pert: 1e-4,
        tol_std: 1e-4,
        max_iter,
    };
    let (best, _) = nm.minimize(objective, &x0, &lower, &upper);

    let params = params_of(&best);
    let init = complete_state(&spec, &best[n_smoothing..]);
    let mut errors = Vec::with_capacity(y.len());
    let lik = filter(&spec, &params, &init, y, Some(&mut errors));
    if !lik.is_finite() {
        return None;
    }
    let n = y.len() as f64;
    let k = (np + 1) as f64;
    let aic = lik + 2.0 * k;
    let bic = lik + n.ln() * k;
    let dof = n - k - 1.0;
    let aicc = if dof != 0.0 {
        aic + 2.0 * k * (k + 1.0) / dof
    } else {
        f64::INFINITY
    };
    let sigma2 = errors.iter().map(|e| e * e).sum::<f64>() / dof;
    Some(Fitted {
        spec,
        params,
        init,
        lik,
        aic,
        aicc,
        bic,
        sigma2,
        n_params: np + 1,
    })
}

/// The automatic search: every admissible combination allowed by `search`, fitted with
/// [`fit_model`], the lowest AICc wins (ties keep the first, in statsforecast's order: error
/// A before M, trend N, A (, M), season N, A, M, damped before undamped).
///
/// Like statsforecast: a constant series gets ETS(A,N,N) with α = 0.9999; a season length of 1
/// or a series no longer than one season drops the seasonal component; multiplicative error
/// and seasonality are only tried on strictly positive data.
pub(crate) fn auto(
    y: &[f64],
    season_length: usize,
    search: &Search,
) -> Result<Fitted, SearchError> {
    let n = y.len();
    let ann = EtsModelType {
        error: Component::Additive,
        trend: Component::None,
        season: Component::None,
        damped: false,
    };
    if n >= 2 && y.iter().all(|v| *v == y[0]) {
        return fit_model(
            y,
            ann,
            1,
            Fixed {
                alpha: Some(0.9999),
            },
            search.max_iter,
        )
        .ok_or(SearchError::NoModel);
    }
    let mut season = search.spec.season;
    if season_length <= 1 || n <= season_length {
        season = Choice::Fixed(Component::None);
    }
    let first_non_positive = y.iter().position(|v| *v <= 0.0);
    let positive = first_non_positive.is_none();
    if let (Choice::Fixed(Component::Multiplicative), Some(index)) =
        (search.spec.error, first_non_positive)
    {
        return Err(SearchError::NonPositive { index });
    }
    let specified = |c: Choice| {
        matches!(
            c,
            Choice::Fixed(Component::Additive | Component::Multiplicative)
        )
    };
    let npars = 2
        + 2 * usize::from(specified(search.spec.trend))
        + 2 * usize::from(specified(season))
        + usize::from(search.damped == Some(true));
    if n <= npars + 4 {
        return Err(SearchError::TooShort {
            needed: npars + 5,
            got: n,
        });
    }
    let errors: Vec<Component> = match search.spec.error {
        Choice::Fixed(c) => vec![c],
        Choice::Auto => vec![Component::Additive, Component::Multiplicative],
    };
    let trends: Vec<Component> = match search.spec.trend {
        Choice::Fixed(c) => vec![c],
        Choice::Auto if search.allow_multiplicative_trend => {
            vec![
                Component::None,
                Component::Additive,
                Component::Multiplicative,
            ]
        }
        Choice::Auto => vec![Component::None, Component::Additive],
    };
    let seasons: Vec<Component> = match season {
        Choice::Fixed(c) => vec![c],
        Choice::Auto => vec![
            Component::None,
            Component::Additive,
            Component::Multiplicative,
        ],
    };
    let dampings: Vec<bool> = match search.damped {
        Some(d) => vec![d],
        None => vec![true, false],
    };

    let mut best: Option<Fitted> = None;
    for &error in &errors {
        for &trend in &trends {
            for &season in &seasons {
                for &damped in &dampings {
                    use Component::{Additive as A, Multiplicative as M, None as N};
                    let skip = (trend == N && damped)
                        || (error == A && (trend == M || season == M))
                        || (error == M && trend == M && season == A)
                        || (!positive && (error == M || season == M))
                        || (season != N && season_length <= 1);
                    if skip {
                        continue;
                    }
                    let kind = EtsModelType {
                        error,
                        trend,
                        season,
                        damped,
                    };
                    let Some(fit) =
                        fit_model(y, kind, season_length, Fixed::default(), search.max_iter)
                    else {
                        continue;
                    };
                    if fit.aicc.is_nan() {
                        continue;
                    }
                    if best.as_ref().is_none_or(|b| fit.aicc < b.aicc) {
                        best = Some(fit);
                    }
                }
            }
        }
    }
    match best {
        Some(b) if b.aicc.is_finite() => Ok(b),
        _ => Err(SearchError::NoModel),
    }
}
