//! One module per subcommand; `run` dispatches.

mod backtest;
mod demo;
mod forecast;
mod menu;

use anyhow::Result;

use crate::cli::Command;

/// Runs one parsed subcommand.
pub(crate) fn run(command: Command) -> Result<()> {
    match command {
        Command::Backtest(args) => backtest::run(&args),
        Command::Forecast(args) => forecast::run(&args),
        Command::Demo(args) => demo::run(&args),
    }
}
