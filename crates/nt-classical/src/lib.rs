#![doc = include_str!("../README.md")]

mod arima;
mod elasticnet;
mod error;
mod ets;
mod garch;
mod history;
mod mstl;
mod simple;
mod spec;
mod stats;
mod theta;

pub use arima::{
    ArimaConfig, Arma, AutoArimaConfig, FittedArima, InfoCriterion, Method as ArimaMethod,
    Regressor,
};
pub use elasticnet::{ElasticNetConfig, FittedElasticNet, Normalization};
pub use error::{Error, Result};
pub use ets::{Component, EtsConfig, EtsModelType, EtsParams, FittedEts};
pub use garch::{
    garch_residual_variance, periods_per_year, FittedGarch, GarchConfig, GarchDistribution,
    GarchMean, VolatilityForecast, RETURN_SCALE,
};
pub use mstl::{mstl_seasonal, FittedMstl, MstlConfig};
pub use simple::{
    DriftConfig, FittedDrift, FittedMean, FittedNaive, FittedSeasonalNaive, MeanConfig,
    NaiveConfig, SeasonalNaiveConfig,
};
pub use spec::{
    in_default_menu, summary_of, ClassicalOptions, ClassicalSpec, FittedClassical, GARCH_PRESETS,
    NAMES,
};
pub use theta::{
    DecompositionType, FitSummary, FittedTheta, ThetaConfig, ThetaKind, ThetaModel, ThetaParams,
    MIN_ROWS as THETA_MIN_ROWS,
};
