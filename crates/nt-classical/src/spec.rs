//! [`ClassicalSpec`]: one serde-tagged value naming any classical model with its configuration,
//! what a CLI parses, a registry stores and a server loads.

use nt_core::{Fit, FitDyn, Forecast, Horizon, Predict, TimeSeries};
use serde::{Deserialize, Serialize};

use crate::{
    DriftConfig, ElasticNetConfig, Error, EtsConfig, FittedDrift, FittedElasticNet, FittedEts,
    FittedMean, FittedMstl, FittedNaive, FittedSeasonalNaive, MeanConfig, MstlConfig, NaiveConfig,
    Result, SeasonalNaiveConfig,
};
use crate::{FittedGarch, GarchConfig};

/// Any fitted classical model, serializable: what a classical model directory stores
/// (`fitted.json`) so that a registered ETS or elastic net forecasts from a fresh history with
/// its fitted parameters, without refitting. JSON: `{"model": "ets", ...the fitted state}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FittedClassical {
    /// A fitted random walk.
    Naive(FittedNaive),
    /// A fitted seasonal random walk.
    SeasonalNaive(FittedSeasonalNaive),
    /// A fitted random walk with drift.
    Drift(FittedDrift),
    /// A fitted historic mean.
    Mean(FittedMean),
    /// A fitted AutoETS (the selected model, its parameters and initial state).
    Ets(FittedEts),
    /// A fitted MSTL.
    Mstl(FittedMstl),
    /// A fitted elastic net.
    #[serde(rename = "elasticnet")]
    ElasticNet(FittedElasticNet),
    /// A fitted standard Theta model. The four Theta variants hold the same type (its kind
    /// is also in the payload); the tag names the model as its spec does.
    Theta(crate::FittedTheta),
    /// A fitted optimized Theta model.
    OptimizedTheta(crate::FittedTheta),
    /// A fitted dynamic Theta model.
    DynamicTheta(crate::FittedTheta),
    /// A fitted dynamic optimized Theta model.
    DynamicOptimizedTheta(crate::FittedTheta),
    /// A fitted GARCH / GJR-GARCH on 100 × log returns.
    Garch(FittedGarch),
    /// A fitted ARIMA with fixed orders.
    Arima(crate::FittedArima),
    /// The ARIMA chosen by AutoARIMA (its own tag, so a saved model matches its spec name).
    #[serde(rename = "autoarima")]
    AutoArima(crate::FittedArima),
}

impl FittedClassical {
    fn inner(&self) -> &dyn Predict {
        match self {
            FittedClassical::Naive(m) => m,
            FittedClassical::SeasonalNaive(m) => m,
            FittedClassical::Drift(m) => m,
            FittedClassical::Mean(m) => m,
            FittedClassical::Ets(m) => m,
            FittedClassical::Mstl(m) => m,
            FittedClassical::ElasticNet(m) => m,
            FittedClassical::Theta(m)
            | FittedClassical::OptimizedTheta(m)
            | FittedClassical::DynamicTheta(m)
            | FittedClassical::DynamicOptimizedTheta(m) => m,
            FittedClassical::Garch(m) => m,
            FittedClassical::Arima(m) | FittedClassical::AutoArima(m) => m,
        }
    }

    /// The longest horizon it forecasts (`None`: any).
    pub fn max_horizon(&self) -> Option<usize> {
        match self {
            FittedClassical::ElasticNet(m) => Some(m.horizon()),
            _ => None,
        }
    }
}

impl Predict for FittedClassical {
    fn predict(&self, history: &TimeSeries, horizon: Horizon) -> nt_core::Result<Forecast> {
        self.inner().predict(history, horizon)
    }
}

/// The names [`ClassicalSpec::from_name`] accepts, as they appear in the `model` tag.
pub const NAMES: &[&str] = &[
    "naive",
    "seasonal-naive",
    "drift",
    "mean",
    "ets",
    "mstl",
    "elasticnet",
    "theta",
    "optimized-theta",
    "dynamic-theta",
    "dynamic-optimized-theta",
    "garch",
    "gjr-garch",
    "garch-t",
    "gjr-garch-t",
    "arima",
    "autoarima",
];

/// Names of [`NAMES`] that are presets of the `garch` model (GJR with `o = 1`, Student-t
/// innovations): they build a [`ClassicalSpec::Garch`], whose name and JSON tag stay `garch`.
pub const GARCH_PRESETS: &[&str] = &["gjr-garch", "garch-t", "gjr-garch-t"];

/// Whether `name` joins the default menu (a backtest without `--models`): every classical
/// model except the GARCH family, which models log returns and so needs prices > 0, and
/// fixed-order `arima`, whose orders are the user's choice (its default AR(1) with a mean cannot
/// even be fitted to a trending price series, whose CSS estimate is non-stationary), and
/// `autoarima`, whose search costs seconds on a thousand seasonal rows and minutes on ten
/// thousand (ask for it by name).
pub fn in_default_menu(name: &str) -> bool {
    !matches!(name, "garch" | "arima" | "autoarima") && !GARCH_PRESETS.contains(&name)
}

/// Any classical model with its configuration. Serialized with the model name in a `model`
/// field next to the configuration's fields, e.g.
/// `{"model": "ets", "season_length": 24}` or `{"model": "seasonal-naive", "season": 24}`;
/// omitted fields take their defaults, unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum ClassicalSpec {
    /// Random walk: [`NaiveConfig`].
    Naive(NaiveConfig),
    /// Seasonal random walk: [`SeasonalNaiveConfig`].
    SeasonalNaive(SeasonalNaiveConfig),
    /// Random walk with drift: [`DriftConfig`].
    Drift(DriftConfig),
    /// Historic mean: [`MeanConfig`].
    Mean(MeanConfig),
    /// Automatic ETS: [`EtsConfig`].
    Ets(EtsConfig),
    /// MSTL decomposition with an ETS trend: [`MstlConfig`].
    Mstl(MstlConfig),
    /// Direct multi-horizon elastic net on lagged windows: [`ElasticNetConfig`].
    #[serde(rename = "elasticnet")]
    ElasticNet(ElasticNetConfig),
    /// Standard Theta (statsforecast's `Theta`): [`crate::ThetaConfig`].
    Theta(crate::ThetaConfig),
    /// Optimized Theta (`OptimizedTheta`): [`crate::ThetaConfig`].
    OptimizedTheta(crate::ThetaConfig),
    /// Dynamic standard Theta (`DynamicTheta`): [`crate::ThetaConfig`].
    DynamicTheta(crate::ThetaConfig),
    /// Dynamic optimized Theta (`DynamicOptimizedTheta`): [`crate::ThetaConfig`].
    DynamicOptimizedTheta(crate::ThetaConfig),
    /// GARCH(p, q) / GJR-GARCH volatility model of the log returns: [`GarchConfig`].
    Garch(GarchConfig),
    /// ARIMA(p,d,q)(P,D,Q)[s] with fixed orders: [`crate::ArimaConfig`].
    Arima(crate::ArimaConfig),
    /// AutoARIMA (statsforecast's stepwise `auto_arima`): [`crate::AutoArimaConfig`].
    #[serde(rename = "autoarima")]
    AutoArima(crate::AutoArimaConfig),
}

/// The few settings [`ClassicalSpec::from_name`] maps onto a model's configuration; every other
/// field keeps its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassicalOptions {
    /// Season length in rows: `seasonal-naive`'s `season`, `ets`'s `season_length`, `mstl`'s
    /// single period.
    pub season: usize,
    /// Lags of `elasticnet`.
    pub input_size: usize,
    /// Steps `elasticnet` is fitted for.
    pub horizon: usize,
    /// Interval coverage levels of every model.
    pub levels: Vec<f64>,
    /// `arima`'s non-seasonal order (p, d, q); `None` keeps [`crate::ArimaConfig`]'s default.
    #[serde(default)]
    pub order: Option<[usize; 3]>,
    /// `arima`'s seasonal order (P, D, Q) over `season`; `None` keeps the default (none).
    #[serde(default)]
    pub seasonal_order: Option<[usize; 3]>,
    /// `autoarima`'s approximate (CSS) scoring during the search; `None` keeps
    /// statsforecast's `auto_arima_f` rule (on above 150 rows or a season above 12).
    #[serde(default)]
    pub approximation: Option<bool>,
}

impl Default for ClassicalOptions {
    /// Hourly defaults: season 24, 48 lags, horizon 24, levels 0.8 and 0.95.
    fn default() -> Self {
        Self {
            season: 24,
            input_size: 48,
            horizon: 24,
            levels: vec![0.8, 0.95],
            order: None,
            seasonal_order: None,
            approximation: None,
        }
    }
}

impl ClassicalSpec {
    /// Same as the crate-level [`NAMES`].
    pub const NAMES: &'static [&'static str] = NAMES;

    /// The model's name, as in the `model` tag and [`NAMES`].
    pub fn name(&self) -> &'static str {
        match self {
            ClassicalSpec::Naive(_) => "naive",
            ClassicalSpec::SeasonalNaive(_) => "seasonal-naive",
            ClassicalSpec::Drift(_) => "drift",
            ClassicalSpec::Mean(_) => "mean",
            ClassicalSpec::Ets(_) => "ets",
            ClassicalSpec::Mstl(_) => "mstl",
            ClassicalSpec::ElasticNet(_) => "elasticnet",
            ClassicalSpec::Theta(_)
            | ClassicalSpec::OptimizedTheta(_)
            | ClassicalSpec::DynamicTheta(_)
            | ClassicalSpec::DynamicOptimizedTheta(_) => self.theta_parts().0.name(),
            ClassicalSpec::Garch(_) => "garch",
            ClassicalSpec::Arima(_) => "arima",
            ClassicalSpec::AutoArima(_) => "autoarima",
        }
    }

    /// The model called `name` (one of [`NAMES`]) configured from `opts` and defaults, then
    /// validated. An unknown name is [`Error::UnknownModel`], listing the known ones.
    pub fn from_name(name: &str, opts: &ClassicalOptions) -> Result<ClassicalSpec> {
        let levels = opts.levels.clone();
        let spec = match name {
            "naive" => ClassicalSpec::Naive(NaiveConfig { levels }),
            "seasonal-naive" => ClassicalSpec::SeasonalNaive(SeasonalNaiveConfig {
                season: opts.season,
                levels,
            }),
            "drift" => ClassicalSpec::Drift(DriftConfig { levels }),
            "mean" => ClassicalSpec::Mean(MeanConfig { levels }),
            "ets" => ClassicalSpec::Ets(EtsConfig {
                season_length: opts.season,
                levels,
                ..EtsConfig::default()
            }),
            "mstl" => ClassicalSpec::Mstl(MstlConfig {
                periods: vec![opts.season],
                levels,
                ..MstlConfig::default()
            }),
            "elasticnet" => ClassicalSpec::ElasticNet(ElasticNetConfig {
                input_size: opts.input_size,
                horizon: opts.horizon,
                levels,
                ..ElasticNetConfig::default()
            }),
            "garch" | "gjr-garch" | "garch-t" | "gjr-garch-t" => {
                ClassicalSpec::Garch(GarchConfig {
                    o: usize::from(name.starts_with("gjr")),
                    distribution: if name.ends_with("-t") {
                        crate::GarchDistribution::StudentT
                    } else {
                        crate::GarchDistribution::Normal
                    },
                    levels,
                    ..GarchConfig::default()
                })
            }
            "theta" | "optimized-theta" | "dynamic-theta" | "dynamic-optimized-theta" => {
                let config = crate::ThetaConfig {
                    season_length: opts.season,
                    levels,
                    ..crate::ThetaConfig::default()
                };
                match name {
                    "theta" => ClassicalSpec::Theta(config),
                    "optimized-theta" => ClassicalSpec::OptimizedTheta(config),
                    "dynamic-theta" => ClassicalSpec::DynamicTheta(config),
                    _ => ClassicalSpec::DynamicOptimizedTheta(config),
                }
            }
            "arima" => {
                let defaults = crate::ArimaConfig::default();
                ClassicalSpec::Arima(crate::ArimaConfig {
                    order: opts.order.unwrap_or(defaults.order),
                    seasonal_order: opts.seasonal_order.unwrap_or(defaults.seasonal_order),
                    season_length: opts.season.max(1),
                    levels,
                    ..defaults
                })
            }
            "autoarima" => ClassicalSpec::AutoArima(crate::AutoArimaConfig {
                season_length: opts.season.max(1),
                levels,
                approximation: opts.approximation,
                ..crate::AutoArimaConfig::default()
            }),
            other => {
                return Err(Error::UnknownModel {
                    name: other.to_string(),
                    known: NAMES.join(", "),
                })
            }
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the configuration it holds.
    pub fn validate(&self) -> Result<()> {
        match self {
            ClassicalSpec::Naive(c) => c.validate(),
            ClassicalSpec::SeasonalNaive(c) => c.validate(),
            ClassicalSpec::Drift(c) => c.validate(),
            ClassicalSpec::Mean(c) => c.validate(),
            ClassicalSpec::Ets(c) => c.validate(),
            ClassicalSpec::Mstl(c) => c.validate(),
            ClassicalSpec::ElasticNet(c) => c.validate(),
            ClassicalSpec::Theta(_)
            | ClassicalSpec::OptimizedTheta(_)
            | ClassicalSpec::DynamicTheta(_)
            | ClassicalSpec::DynamicOptimizedTheta(_) => {
                let (kind, c) = self.theta_parts();
                c.validate(kind)
            }
            ClassicalSpec::Garch(c) => c.validate(),
            ClassicalSpec::Arima(c) => c.validate(),
            ClassicalSpec::AutoArima(c) => c.validate(),
        }
    }

    /// Fits the model on column `target` of `train`, keeping its concrete (serializable) type.
    pub fn fit_model(&self, train: &TimeSeries, target: &str) -> nt_core::Result<FittedClassical> {
        Ok(match self {
            ClassicalSpec::Naive(c) => FittedClassical::Naive(c.fit(train, target)?),
            ClassicalSpec::SeasonalNaive(c) => {
                FittedClassical::SeasonalNaive(c.fit(train, target)?)
            }
            ClassicalSpec::Drift(c) => FittedClassical::Drift(c.fit(train, target)?),
            ClassicalSpec::Mean(c) => FittedClassical::Mean(c.fit(train, target)?),
            ClassicalSpec::Ets(c) => FittedClassical::Ets(c.fit(train, target)?),
            ClassicalSpec::Mstl(c) => FittedClassical::Mstl(c.fit(train, target)?),
            ClassicalSpec::ElasticNet(c) => FittedClassical::ElasticNet(c.fit(train, target)?),
            ClassicalSpec::Theta(_)
            | ClassicalSpec::OptimizedTheta(_)
            | ClassicalSpec::DynamicTheta(_)
            | ClassicalSpec::DynamicOptimizedTheta(_) => {
                let (kind, c) = self.theta_parts();
                let fitted = c.fit_kind(kind, train, target)?;
                match kind {
                    crate::ThetaKind::Standard => FittedClassical::Theta(fitted),
                    crate::ThetaKind::Optimized => FittedClassical::OptimizedTheta(fitted),
                    crate::ThetaKind::Dynamic => FittedClassical::DynamicTheta(fitted),
                    crate::ThetaKind::DynamicOptimized => {
                        FittedClassical::DynamicOptimizedTheta(fitted)
                    }
                }
            }
            ClassicalSpec::Garch(c) => FittedClassical::Garch(c.fit(train, target)?),
            ClassicalSpec::Arima(c) => FittedClassical::Arima(c.fit(train, target)?),
            ClassicalSpec::AutoArima(c) => FittedClassical::AutoArima(c.fit(train, target)?),
        })
    }

    /// The interval coverage levels the model forecasts (each a pair of quantile bands).
    pub fn levels(&self) -> &[f64] {
        match self {
            ClassicalSpec::Naive(c) => &c.levels,
            ClassicalSpec::SeasonalNaive(c) => &c.levels,
            ClassicalSpec::Drift(c) => &c.levels,
            ClassicalSpec::Mean(c) => &c.levels,
            ClassicalSpec::Ets(c) => &c.levels,
            ClassicalSpec::Mstl(c) => &c.levels,
            ClassicalSpec::ElasticNet(c) => &c.levels,
            ClassicalSpec::Theta(c)
            | ClassicalSpec::OptimizedTheta(c)
            | ClassicalSpec::DynamicTheta(c)
            | ClassicalSpec::DynamicOptimizedTheta(c) => &c.levels,
            ClassicalSpec::Garch(c) => &c.levels,
            ClassicalSpec::Arima(c) => &c.levels,
            ClassicalSpec::AutoArima(c) => &c.levels,
        }
    }

    /// The Theta kind and configuration of a Theta variant (`Standard` with the default
    /// configuration for any other variant, which callers never pass).
    fn theta_parts(&self) -> (crate::ThetaKind, &crate::ThetaConfig) {
        use crate::ThetaKind;
        static DEFAULT: std::sync::OnceLock<crate::ThetaConfig> = std::sync::OnceLock::new();
        match self {
            ClassicalSpec::Theta(c) => (ThetaKind::Standard, c),
            ClassicalSpec::OptimizedTheta(c) => (ThetaKind::Optimized, c),
            ClassicalSpec::DynamicTheta(c) => (ThetaKind::Dynamic, c),
            ClassicalSpec::DynamicOptimizedTheta(c) => (ThetaKind::DynamicOptimized, c),
            _ => (
                ThetaKind::Standard,
                DEFAULT.get_or_init(crate::ThetaConfig::default),
            ),
        }
    }

    /// One line for `--help` and the menu.
    pub fn summary(&self) -> &'static str {
        summary_of(self.name())
    }

    /// Fits the model on column `target` of `train` and returns it behind a box.
    pub fn fit_boxed(&self, train: &TimeSeries, target: &str) -> nt_core::Result<Box<dyn Predict>> {
        match self {
            ClassicalSpec::Naive(c) => c.fit_dyn(train, target),
            ClassicalSpec::SeasonalNaive(c) => c.fit_dyn(train, target),
            ClassicalSpec::Drift(c) => c.fit_dyn(train, target),
            ClassicalSpec::Mean(c) => c.fit_dyn(train, target),
            ClassicalSpec::Ets(c) => c.fit_dyn(train, target),
            ClassicalSpec::Mstl(c) => c.fit_dyn(train, target),
            ClassicalSpec::ElasticNet(c) => c.fit_dyn(train, target),
            ClassicalSpec::Theta(_)
            | ClassicalSpec::OptimizedTheta(_)
            | ClassicalSpec::DynamicTheta(_)
            | ClassicalSpec::DynamicOptimizedTheta(_) => {
                let (kind, c) = self.theta_parts();
                Ok(Box::new(c.fit_kind(kind, train, target)?))
            }
            ClassicalSpec::Garch(c) => c.fit_dyn(train, target),
            ClassicalSpec::Arima(c) => c.fit_dyn(train, target),
            ClassicalSpec::AutoArima(c) => c.fit_dyn(train, target),
        }
    }
}

/// One line describing the classical model `name` (one of [`NAMES`]).
pub fn summary_of(name: &str) -> &'static str {
    match name {
        "naive" => "random walk: the last value (the baseline every report compares against)",
        "seasonal-naive" => "seasonal random walk: the value one season ago",
        "drift" => "random walk with the mean drift of the history",
        "mean" => "the historic mean",
        "ets" => "AutoETS (statsforecast's model selection by AICc); filters new histories with its fitted parameters",
        "mstl" => "MSTL: seasonal decomposition with an ETS trend",
        "elasticnet" => "direct multi-horizon elastic net on lagged windows",
        "theta" => "standard Theta (statsforecast's Theta: theta = 2, seasonal decomposition when the ACF test says so)",
        "optimized-theta" => "optimized Theta: theta estimated with the level and alpha (statsforecast's OptimizedTheta)",
        "dynamic-theta" => "dynamic Theta: trend line updated every row (statsforecast's DynamicTheta)",
        "dynamic-optimized-theta" => "dynamic optimized Theta (statsforecast's DynamicOptimizedTheta)",
        "garch" => "GARCH(p,q) / GJR-GARCH (o = 1) on 100 x log returns, normal or Student-t (arch's fit); price bands from the cumulated variance",
        "gjr-garch" => "GJR-GARCH(1,1,1), normal innovations: the garch model with o = 1",
        "garch-t" => "GARCH(1,1) with Student-t innovations: the garch model with distribution student-t",
        "gjr-garch-t" => "GJR-GARCH(1,1,1) with Student-t innovations",
        "arima" => "ARIMA(p,d,q)(P,D,Q)[s] with fixed orders (statsforecast's ARIMA, CSS-ML); filters new histories with its fitted coefficients",
        "autoarima" => "AutoARIMA: d by KPSS, D by seasonal strength, orders by statsforecast's stepwise AICc search; filters new histories with the chosen model's coefficients",
        _ => "",
    }
}

impl FitDyn for ClassicalSpec {
    fn fit_dyn(&self, train: &TimeSeries, target: &str) -> nt_core::Result<Box<dyn Predict>> {
        self.fit_boxed(train, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        let opts = ClassicalOptions::default();
        for name in NAMES.iter().filter(|n| !GARCH_PRESETS.contains(n)) {
            let spec = ClassicalSpec::from_name(name, &opts).unwrap();
            assert_eq!(spec.name(), *name);
            let json = serde_json::to_string(&spec).unwrap();
            assert!(json.contains(&format!("\"model\":\"{name}\"")), "{json}");
            assert_eq!(serde_json::from_str::<ClassicalSpec>(&json).unwrap(), spec);
        }
    }

    #[test]
    fn options_reach_the_configs() {
        let opts = ClassicalOptions {
            season: 7,
            input_size: 10,
            horizon: 5,
            levels: vec![0.9],
            order: Some([2, 1, 0]),
            seasonal_order: Some([1, 0, 0]),
            approximation: Some(false),
        };
        match ClassicalSpec::from_name("elasticnet", &opts).unwrap() {
            ClassicalSpec::ElasticNet(c) => {
                assert_eq!((c.input_size, c.horizon, c.levels), (10, 5, vec![0.9]));
            }
            other => panic!("{other:?}"),
        }
        match ClassicalSpec::from_name("mstl", &opts).unwrap() {
            ClassicalSpec::Mstl(c) => assert_eq!(c.periods, vec![7]),
            other => panic!("{other:?}"),
        }
        // `--order 2,1,0 --seasonal-order 1,0,0` with season 7: ARIMA(2,1,0)(1,0,0)[7].
        match ClassicalSpec::from_name("arima", &opts).unwrap() {
            ClassicalSpec::Arima(c) => {
                assert_eq!(
                    (c.order, c.seasonal_order, c.season_length),
                    ([2, 1, 0], [1, 0, 0], 7)
                );
            }
            other => panic!("{other:?}"),
        }
        // `--approximation off` reaches autoarima's search.
        match ClassicalSpec::from_name("autoarima", &opts).unwrap() {
            ClassicalSpec::AutoArima(c) => {
                assert_eq!((c.approximation, c.season_length), (Some(false), 7))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garch_json() {
        let spec: ClassicalSpec =
            serde_json::from_str(r#"{"model": "garch", "o": 1, "distribution": "student-t"}"#)
                .unwrap();
        match &spec {
            ClassicalSpec::Garch(c) => assert_eq!((c.p, c.o, c.q), (1, 1, 1)),
            other => panic!("{other:?}"),
        }
        assert!(serde_json::from_str::<ClassicalSpec>(r#"{"model": "garch", "oo": 1}"#).is_err());
        // Presets: GJR is o = 1, "-t" Student-t; their name and tag stay "garch".
        let opts = ClassicalOptions::default();
        match ClassicalSpec::from_name("gjr-garch-t", &opts).unwrap() {
            ClassicalSpec::Garch(c) => {
                assert_eq!(c.o, 1);
                assert_eq!(c.distribution, crate::GarchDistribution::StudentT);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            ClassicalSpec::from_name("garch-t", &opts).unwrap().name(),
            "garch"
        );
        assert!(
            !in_default_menu("garch") && !in_default_menu("gjr-garch") && in_default_menu("ets")
        );
    }

    #[test]
    fn unknown_names_and_fields_are_rejected() {
        let e = ClassicalSpec::from_name("sarimax", &ClassicalOptions::default()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("sarimax") && text.contains("seasonal-naive, drift"),
            "{text}"
        );
        let bad = r#"{"model": "ets", "season_lenght": 24}"#;
        assert!(serde_json::from_str::<ClassicalSpec>(bad).is_err());
        let partial: ClassicalSpec =
            serde_json::from_str(r#"{"model": "ets", "season_length": 24}"#).unwrap();
        assert_eq!(
            partial,
            ClassicalSpec::Ets(EtsConfig {
                season_length: 24,
                ..EtsConfig::default()
            })
        );
        let invalid = ClassicalOptions {
            levels: vec![95.0],
            ..ClassicalOptions::default()
        };
        assert!(ClassicalSpec::from_name("naive", &invalid).is_err());
    }
}
