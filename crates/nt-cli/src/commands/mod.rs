//! One module per subcommand; `run` dispatches.

mod backtest;
mod bench;
mod conformal_table;
mod demo;
mod forecast;
mod import;
pub(crate) mod menu;
pub(crate) mod monitor;
mod predict;
mod registry;
pub(crate) mod serve;
mod traffic;
mod train;
pub(crate) mod tune;
mod volatility;
mod warm_start;

use anyhow::Result;

use crate::cli::Command;

/// Runs one parsed subcommand.
pub(crate) fn run(command: Command) -> Result<()> {
    match command {
        Command::Backtest(args) => backtest::run(&args),
        Command::Forecast(args) => forecast::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Registry(args) => registry::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Monitor(args) => monitor::run(&args),
        Command::Tune(args) => tune::run(&args),
    }
}
