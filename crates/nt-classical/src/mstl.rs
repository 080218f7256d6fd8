//! MSTL decomposition (Bandara, Hyndman & Bergmeir, 2021) with an ETS model of the
//! deseasonalized series, as statsforecast's `MSTL(season_length, trend_forecaster=AutoETS("ZZN"))`
//! and augurs' `MSTLModel` with its `AutoETSTrendModel`.
//!
//! The decomposition is augurs' (`augurs::mstl::stlrs`, run in `f64`). The trend model is this
//! crate's ETS engine (see [`crate::EtsConfig`] for why not `augurs-ets`): augurs' fitted trend
//! model cannot be re-run on a new history without refitting.
//!
//! # Forecasting from a new history without refitting
//! `fit` decomposes the training data and selects and estimates the ETS trend model. `predict`
//! decomposes `history` again (STL has no estimated parameters: the same periods and smoother
//! settings), filters its deseasonalized part (trend + remainder) with the fitted ETS
//! parameters — starting from the fitted state when the deseasonalized history agrees with the
//! training one, from a heuristic state otherwise — and adds back the last cycle of each
//! seasonal component. The decomposition uses only the rows of `history`, so nothing after its
//! last row can leak in; it is two-sided within the history, so the seasonal pattern near the
//! end is estimated from data on one side only.
//!
//! Cost per `predict`: one MSTL decomposition of `history` (linear in its length) plus one ETS
//! filter pass.

use augurs::mstl::stlrs::MstlParams;
use nt_core::{Fit, Forecast, Horizon, Predict, QuantileBand, TimeSeries};
use serde::{Deserialize, Serialize};

use crate::ets::{EtsCore, EtsModelType, EtsParams};
use crate::history::target_values;
use crate::stats::validate_levels;
use crate::{Error, Result};

/// Configuration of [`FittedMstl`].
///
/// | name | default | purpose | range |
/// |---|---|---|---|
/// | `periods` | `[24]` | seasonal periods in rows, e.g. `[24, 168]` for hourly data with daily and weekly cycles | non-empty, each ≥ 2 |
/// | `trend` | `"ZZN"` | ETS specification of the deseasonalized series (see [`crate::EtsConfig`]) | season letter must be `N` |
/// | `damped` | `None` | damped trend of the ETS model: `None` tries both | `Some(true)` needs a trend |
/// | `max_iter` | `1000` | Nelder–Mead iterations per ETS candidate | ≥ 1 |
/// | `levels` | `[0.8, 0.95]` | coverage of the central prediction intervals (from the ETS model, shifted by the seasonal forecast) | each in (0, 1), distinct |
///
/// Training and prediction histories need at least `2 · max(periods)` rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MstlConfig {
    /// Seasonal periods, in rows.
    pub periods: Vec<usize>,
    /// ETS specification of the trend model.
    pub trend: String,
    /// Damped trend choice of the ETS model.
    pub damped: Option<bool>,
    /// Nelder–Mead iterations per ETS candidate.
    pub max_iter: usize,
    /// Coverage levels of the prediction intervals.
    pub levels: Vec<f64>,
}

impl Default for MstlConfig {
    fn default() -> Self {
        Self {
            periods: vec![24],
            trend: "ZZN".into(),
            damped: None,
            max_iter: 1000,
            levels: vec![0.8, 0.95],
        }
    }
}

impl MstlConfig {
    /// Checks every field against the range in the table above.
    pub fn validate(&self) -> Result<()> {
        self.search().map(|_| ())
    }

    fn search(&self) -> Result<crate::ets::TrendSearch> {
        let invalid = |name, reason: &str| Error::InvalidParameter {
            model: "mstl",
            name,
            reason: reason.to_string(),
        };
        if self.periods.is_empty() {
            return Err(invalid("periods", "must hold at least one period"));
        }
        if self.periods.iter().any(|p| *p < 2) {
            return Err(invalid("periods", "each period must be at least 2 rows"));
        }
        validate_levels("mstl", &self.levels)?;
        crate::ets::TrendSearch::new("mstl", &self.trend, self.damped, self.max_iter)
    }

    fn rows_needed(&self) -> usize {
        2 * self.periods.iter().copied().max().unwrap_or(2)
    }
}

/// A decomposition: the deseasonalized series and one seasonal component per period.
struct Decomposition {
    deseasonalized: Vec<f64>,
    seasonal: Vec<Vec<f64>>,
}

fn decompose(y: &[f64], periods: &[usize]) -> Result<Decomposition> {
    let fit = MstlParams::new()
        .fit(y, periods)
        .map_err(|e| Error::Decomposition {
            reason: e.to_string(),
        })?;
    let (seasonal, trend, remainder) = fit.into_parts();
    let deseasonalized = trend.iter().zip(&remainder).map(|(t, r)| t + r).collect();
    Ok(Decomposition {
        deseasonalized,
        seasonal,
    })
}

/// The seasonal components of the MSTL decomposition of `y` (augurs' `stlrs`, the smoother
/// settings [`MstlConfig`] uses), one per period in the order of `periods` (each as long as
/// `y`). What `nt-models`' MSTL + neural hybrid subtracts and continues.
pub fn mstl_seasonal(y: &[f64], periods: &[usize]) -> Result<Vec<Vec<f64>>> {
    Ok(decompose(y, periods)?.seasonal)
}

/// A fitted [`MstlConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMstl {
    target: String,
    periods: Vec<usize>,
    rows_needed: usize,
    trend: EtsCore,
    levels: Vec<f64>,
}

impl FittedMstl {
    /// The ETS model selected for the deseasonalized series.
    pub fn trend_model(&self) -> EtsModelType {
        self.trend.fit.spec.kind
    }

    /// Its smoothing parameters.
    pub fn trend_params(&self) -> EtsParams {
        self.trend.fit.params
    }

    /// The seasonal periods.
    pub fn periods(&self) -> &[usize] {
        &self.periods
    }
}

impl Fit for MstlConfig {
    type Fitted = FittedMstl;

    /// Decomposes the training column and fits the ETS trend model. Needs `2 · max(periods)`
    /// rows.
    fn fit(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedMstl> {
        let search = self.search()?;
        let rows_needed = self.rows_needed();
        let y = target_values("mstl", train, target, rows_needed)?;
        let parts = decompose(y, &self.periods)?;
        let trend = search.fit(target, train.timestamps(), &parts.deseasonalized)?;
        Ok(FittedMstl {
            target: target.to_string(),
            periods: self.periods.clone(),
            rows_needed,
            trend,
            levels: self.levels.clone(),
        })
    }
}

impl Predict for FittedMstl {
    /// Decomposes `history`, filters its deseasonalized part with the fitted ETS model and adds
    /// the last seasonal cycles back. Needs `2 · max(periods)` rows.
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        let y = target_values("mstl", history, &self.target, self.rows_needed)?;
        let parts = decompose(y, &self.periods)?;
        let state = self.trend.state_after(
            "mstl",
            &self.target,
            history.timestamps(),
            &parts.deseasonalized,
        )?;
        let h = horizon.get();
        let trend = self.trend.forecast(&state, h, &self.levels, 5000, 1)?;
        let mut offset = vec![0.0; h];
        for (period, component) in self.periods.iter().zip(&parts.seasonal) {
            let last_cycle = &component[component.len() - period..];
            for (i, o) in offset.iter_mut().enumerate() {
                *o += last_cycle[i % period];
            }
        }
        let shift = |values: &[f64]| {
            values
                .iter()
                .zip(&offset)
                .map(|(v, o)| v + o)
                .collect::<Vec<f64>>()
        };
        let bands = trend
            .quantiles()
            .iter()
            .map(|b| QuantileBand {
                q: b.q,
                values: shift(&b.values),
            })
            .collect();
        Forecast::new(shift(trend.point_values()), bands)
    }
}
