//! `nt demo`: the README's main job. Builds a seeded sample market (or reads `--data`), backtests
//! every model against the random walk, prints the leaderboard and writes a plot. No network.

use anyhow::Result;
use nt_data::synthetic::{sample_market, MarketConfig};

use super::backtest::{self, EvalPlan};
use crate::cli::{DemoArgs, EvalArgs, Format, ScaleArg, SplitArg};
use crate::neural_flags::NeuralFlags;
use crate::settings;

/// Runs `nt demo`.
pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    let (series, source) = match &args.data {
        Some(path) => (
            settings::load_file(path, None, "error")?,
            path.display().to_string(),
        ),
        None => {
            let cfg = MarketConfig {
                seed: args.seed,
                rows: args.rows,
                ..MarketConfig::default()
            };
            (
                sample_market(&cfg)?,
                format!(
                    "sample market (seed {}, {} hourly rows)",
                    args.seed, args.rows
                ),
            )
        }
    };
    // Every classical model and, unless switched off, an NHITS on a small budget: 256 windows a
    // step, per-window standardization (prices wander), early stopping on the last 10% of rows.
    let mut models = super::menu::classical_names();
    let neural = NeuralFlags {
        max_steps: Some(args.neural_steps),
        windows_batch_size: Some(256),
        scaler: Some("standard".into()),
        val_fraction: Some(0.1),
        val_check_steps: Some((args.neural_steps / 6).max(1)),
        early_stop: Some(3),
        ..NeuralFlags::default()
    };
    if args.neural_steps > 0 {
        models.push("nhits".into());
    }
    let eval = EvalArgs {
        models: Some(models),
        horizon: args.horizon,
        input_size: None,
        season: None,
        split: SplitArg::Rolling,
        windows: Some(args.windows),
        step: args.step,
        refit_every: 0,
        train_window: "expanding".into(),
        scale: ScaleArg::Original,
        level: vec![80.0, 95.0],
        format: args.format,
        plot: Some(args.plot.clone()),
        quiet: args.quiet,
    };
    let plan: EvalPlan = backtest::plan(&series, args.target.as_deref(), &eval, &neural)?;
    if args.format == Format::Table {
        println!(
            "nt demo: {} models against the random walk, {} origins {} rows apart, horizon {}\n",
            plan.models.len(),
            args.windows,
            args.step,
            args.horizon
        );
    }
    backtest::execute(&series, &source, &plan, "demo")
}
