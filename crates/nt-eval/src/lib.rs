#![doc = include_str!("../README.md")]

mod backtest;
pub mod conformal;
pub mod dm;
pub mod drift;
mod error;
mod report;
mod scoring;
mod split;
mod verdict;
pub mod volatility;

pub use backtest::{
    backtest, backtest_many, no_progress, BacktestConfig, NamedModel, Progress, Refit, Scale,
    TrainWindow, BASELINE,
};
pub use dm::{diebold_mariano, DieboldMariano};
pub use error::{Error, Result};
pub use report::{
    leaderboard, Actuals, BacktestReport, DataInfo, IntervalScore, ModelScore, MultiReport, Scores,
    WindowForecast, WindowInterval,
};
pub use split::{Split, SplitPlan};
pub use verdict::{Verdict, DEFAULT_MIN_SKILL, DM_ALPHA};
pub use volatility::{volatility_backtest, VolatilityConfig, VolatilityReport, VolatilityScore};

#[cfg(test)]
mod send_sync {
    #[test]
    fn shared_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::BacktestReport>();
        check::<crate::MultiReport>();
        check::<crate::BacktestConfig>();
        check::<crate::Error>();
        check::<crate::drift::ReferenceProfile>();
        check::<crate::drift::DriftReport>();
        check::<crate::drift::DriftThresholds>();
        check::<crate::VolatilityReport>();
    }
}
