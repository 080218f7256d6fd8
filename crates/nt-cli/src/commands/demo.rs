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
    if !args.no_register {
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
        arima: Default::default(),
        ensemble: Default::default(),
        hybrid: Default::default(),
        format: args.format,
        plot: Some(args.plot.clone()),
        quiet: args.quiet,
        min_skill: args.min_skill,
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
    if !args.no_register {
        register_demo_model(args, &series, &plan, &pooled)?;
    }
    Ok(())
}

/// Registers the demo's result: the best model that beats the random walk (skill ≥ the minimum
/// and DM p < 0.05), trained on all rows as `demo-<model>` and promoted to production; when no
/// model beats it, the NHITS is registered without promotion and the output says so.
fn register_demo_model(
    args: &DemoArgs,
    series: &nt_core::TimeSeries,
    plan: &EvalPlan,
    pooled: &[nt_eval::ModelScore],
) -> Result<()> {
    use std::collections::BTreeMap;
    let baseline = nt_eval::BASELINE;
    let ranked: Vec<&nt_eval::ModelScore> = nt_eval::leaderboard(pooled)
        .into_iter()
        .filter(|m| m.scores.is_some())
        .collect();
    let winner = ranked.iter().find(|m| {
        m.name != baseline
            && m.scores
                .as_ref()
                .is_some_and(|s| nt_eval::Verdict::of(s, plan.min_skill) == nt_eval::Verdict::Beats)
    });
    let chosen = match winner {
        Some(w) => w.name.as_str(),
        None => "nhits",
    };
    let Some(spec) = plan
        .models
        .iter()
        .find(|m| m.name == chosen)
        .map(|m| m.spec.clone())
    else {
        let line = "no model beats the random walk, so nothing was registered or promoted";
        if args.format == Format::Table {
            println!("\n{line}");
        } else {
            eprintln!("{line}");
        }
        return Ok(());
    };
    let Some(rank) = ranked.iter().position(|m| m.name == chosen) else {
        eprintln!("note: the {chosen} failed in the backtest; nothing registered");
        return Ok(());
    };
    let scores = ranked[rank].scores.as_ref();
    let mae = scores.map_or(f64::NAN, |s| s.mae);
    let skill = scores.and_then(|s| s.skill_mae);
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
    let bar = crate::progress::bar(steps, format!("train {chosen} on all rows"), args.quiet);
    let trained = nt_models::train(series, &[target.as_str()], &spec, &opts, &mut |p| {
        bar.set_message(format!("training loss {:.4} (scaled)", p.train_loss));
        bar.set_position(p.step as u64);
    });
    bar.finish_and_clear();
    if let Err(e) = trained {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e.into());
    }
    let mut metrics = BTreeMap::from([
        ("backtest_mae".to_string(), mae),
        ("rank".to_string(), (rank + 1) as f64),
        ("models".to_string(), ranked.len() as f64),
    ]);
    if let Some(s) = skill {
        metrics.insert("skill".to_string(), s);
    }
    let tags = BTreeMap::from([("source".to_string(), "nt demo".to_string())]);
    let name = format!("demo-{chosen}");
    let registered = super::registry::register_dir(
        args.registry.as_deref(),
        &name,
        &staging,
        series,
        &target,
        nt_registry::RegisterRequest {
            metrics,
            tags,
            ..nt_registry::RegisterRequest::default()
        },
    );
    let _ = std::fs::remove_dir_all(&staging);
    let (dir, v) = registered?;
    let skill_text = skill
        .map(|s| format!(", skill vs random walk {:+.2}%", s * 100.0))
        .unwrap_or_default();
    let line = if winner.is_some() {
        // The served version: promoted, so `nt serve` answers for it without naming a version.
        let v = registry.set_stage(&v.name, v.version, nt_registry::Stage::Production)?;
        format!(
            "promoted {} to production: the best model that beats the random walk (rank {} of {} by MAE{skill_text}), registered in {}\nserve it: nt serve --registry {}   then POST http://127.0.0.1:8080/v1/models/{name}/predict",
            v.reference(),
            rank + 1,
            ranked.len(),
            dir.display(),
            dir.display()
        )
    } else {
        format!(
            "no model beats the random walk, so none was promoted to production; the NHITS is registered as {} (rank {} of {} by MAE{skill_text}) in {}, not promoted\ntry it anyway: nt serve --registry {}   then POST http://127.0.0.1:8080/v1/models/{}/predict",
            v.reference(),
            rank + 1,
            ranked.len(),
            dir.display(),
            dir.display(),
            v.reference()
        )
    };
    let next = after_deployment(&v, &dir, series, &target)?;
    if args.format == Format::Table {
        println!("\n{line}\n\n{next}");
    } else {
        eprintln!("{line}\n\n{next}");
    }
    Ok(())
}

/// The commands of the loop after deployment, for the version the demo registered: serve it with
/// a key, forecast with timestamps (so the forecast can be scored; the request body, the last
/// rows of the demo's data, is written to `<registry>/demo-predict.json`), send the actuals, read
/// the live scores, check drift offline, retrain from it, route a canary and compare, roll back.
/// The demo is one-shot: it runs none of them.
fn after_deployment(
    v: &nt_registry::ModelVersion,
    dir: &std::path::Path,
    series: &nt_core::TimeSeries,
    target: &str,
) -> Result<String> {
    let (name, reference, reg) = (&v.name, v.reference(), dir.display());
    let served = if v.stage == nt_registry::Stage::Production {
        name.clone()
    } else {
        reference.clone()
    };
    let n = series.len();
    let take = v.input_size.max(2).min(n);
    let values = series.column(target)?[n - take..].to_vec();
    let ts = &series.timestamps()[n - take..];
    let step = match ts {
        [.., a, b] => b - a,
        _ => 3_600_000,
    };
    let next_ts = ts.last().copied().unwrap_or(0) + step;
    let body = serde_json::json!({"history": {"values": values, "timestamps": ts}});
    let body_path = dir.join("demo-predict.json");
    nt_neural::checkpoint::write_atomic(&body_path, serde_json::to_string(&body)?.as_bytes())?;
    let body_path = body_path.display();
    Ok(format!(
        "after deployment (the demo runs none of these; KEY is your API key, NEW.csv newer data):
  serve        NT_API_KEY=KEY nt serve --registry {reg} --api-key-env NT_API_KEY
  forecast     curl -s localhost:8080/v1/models/{served}/predict -H 'content-type: application/json' -d @{body_path}
  actuals      curl -s localhost:8080/v1/models/{name}/actuals -H 'Authorization: Bearer KEY' \\
                 -H 'content-type: application/json' -d '{{\"actuals\": [{{\"timestamp\": {next_ts}, \"value\": OBSERVED}}]}}'
  live scores  curl -s localhost:8080/v1/models/{name}/scores    (gauges nt_live_* on /metrics)
  drift        nt monitor {reference} --registry {reg} --data NEW.csv --plot drift.svg
  retrain      nt train --from {reference} --registry {reg} --data NEW.csv --max-steps 200
  canary       nt registry route {name} --canary {name}@NEW:10% --registry {reg}
  compare      nt registry compare {reference} {name}@NEW --registry {reg}
  promote      nt registry promote {name}@NEW --registry {reg}    (undo: nt registry rollback {name})"
    ))
}
