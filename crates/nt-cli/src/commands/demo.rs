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
    settings::check_plot_path(&args.plot)?;
    if args.neural_steps > 0 && !args.no_register {
        settings::check_registry_dir(args.registry.as_deref())?;
    }
    let (series, source) = match &args.data {
        Some(path) => (
            settings::load_file(path, None, "error", &[])?,
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
    let (_, pooled) = backtest::execute(&series, &source, &plan, "demo")?;
    if args.neural_steps > 0 && !args.no_register {
        register_demo_model(args, &series, &plan, &pooled)?;
    }
    Ok(())
}

/// Trains the demo's NHITS on all rows, registers it as `demo-nhits` with its backtest rank and
/// skill, and prints the command that serves it.
fn register_demo_model(
    args: &DemoArgs,
    series: &nt_core::TimeSeries,
    plan: &EvalPlan,
    pooled: &[nt_eval::ModelScore],
) -> Result<()> {
    use std::collections::BTreeMap;
    let Some(spec) = plan
        .models
        .iter()
        .find(|m| m.name == "nhits")
        .map(|m| m.spec.clone())
    else {
        return Ok(());
    };
    let mut ranked: Vec<(&str, f64, Option<f64>)> = pooled
        .iter()
        .filter_map(|m| {
            m.scores
                .as_ref()
                .map(|s| (m.name.as_str(), s.mae, s.skill_mae))
        })
        .collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    let Some(rank) = ranked.iter().position(|m| m.0 == "nhits") else {
        eprintln!("note: the NHITS failed in the backtest; nothing registered");
        return Ok(());
    };
    let (_, mae, skill) = ranked[rank];
    let target = plan.targets[0].clone();
    let registry = super::registry::open(args.registry.as_deref())?;
    let staging = registry
        .dir()
        .join(format!(".demo-model-{}", std::process::id()));
    let opts = nt_neural::TrainOptions {
        out_dir: Some(staging.clone()),
        ..nt_neural::TrainOptions::default()
    };
    let steps = spec
        .as_neural()
        .map_or(1, |n| n.train_config().max_steps as u64);
    let bar = crate::progress::bar(steps, "train demo-nhits on all rows", args.quiet);
    nt_models::train(series, &[target.as_str()], &spec, &opts, &mut |p| {
        bar.set_position(p.step as u64);
        bar.set_message(format!("loss {:.4}", p.train_loss));
    })?;
    bar.finish_and_clear();
    let mut metrics = BTreeMap::from([
        ("backtest_mae".to_string(), mae),
        ("rank".to_string(), (rank + 1) as f64),
        ("models".to_string(), ranked.len() as f64),
    ]);
    if let Some(s) = skill {
        metrics.insert("skill".to_string(), s);
    }
    let tags = BTreeMap::from([("source".to_string(), "nt demo".to_string())]);
    let registered = super::registry::register_dir(
        args.registry.as_deref(),
        "demo-nhits",
        &staging,
        series,
        &target,
        metrics,
        tags,
    );
    let _ = std::fs::remove_dir_all(&staging);
    let (dir, v) = registered?;
    // The served version: promoted, so `nt serve` answers for it without naming a version.
    let v = registry.set_stage(&v.name, v.version, nt_registry::Stage::Production)?;
    let line = format!(
        "registered the demo's NHITS (rank {} of {} by MAE{}) as {} (production) in {}\nserve it: nt serve --registry {}   then POST http://127.0.0.1:8080/v1/models/demo-nhits/predict",
        rank + 1,
        ranked.len(),
        skill
            .map(|s| format!(", skill vs random walk {s:+.3}"))
            .unwrap_or_default(),
        v.reference(),
        dir.display(),
        dir.display()
    );
    if args.format == Format::Table {
        println!("\n{line}");
    } else {
        eprintln!("{line}");
    }
    Ok(())
}
