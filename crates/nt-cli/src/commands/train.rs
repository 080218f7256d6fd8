//! `nt train`: train a neural model (or fit a classical one) on a file and save it as a model
//! directory.

use std::cell::RefCell;

use anyhow::{Context, Result};
use nt_classical::ClassicalOptions;
use nt_models::NameOptions;
use nt_neural::{TrainOptions, TrainProgress};

use crate::cli::TrainArgs;
use crate::progress;
use crate::settings;

/// Runs `nt train`.
pub(crate) fn run(args: &TrainArgs) -> Result<()> {
    // A bad registry name is refused before any training, not after it.
    if let Some(name) = &args.register {
        nt_registry::validate_name(name)?;
    }
    let series = settings::load_data(&args.data)?;
    let targets = settings::resolve_targets(&series, args.data.target.as_deref())?;
    let season = settings::resolve_season(&series, args.season)?;
    let levels = settings::resolve_levels(&args.level)?;
    let name_opts = NameOptions {
        classical: ClassicalOptions {
            season,
            input_size: settings::resolve_input_size(
                args.lags.or(Some(args.input_size)),
                season,
                args.horizon,
            )?,
            horizon: args.horizon,
            levels,
        },
        neural_input_size: args.input_size,
    };
    let spec = args.flags.model_spec(
        &args.model.to_ascii_lowercase(),
        args.input_size,
        args.horizon,
        &name_opts,
    )?;
    let opts = TrainOptions {
        out_dir: Some(args.out.clone()),
        resume: args.resume,
        checkpoint_every: Some(args.checkpoint_every).filter(|n| *n > 0),
    };
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let max_steps = spec
        .as_neural()
        .map(|n| n.train_config().max_steps as u64)
        .unwrap_or(1);
    let bar = progress::bar(max_steps, format!("train {}", spec.name()), args.quiet);
    let bar = RefCell::new(bar);
    let mut on_step = |p: &TrainProgress| {
        let bar = bar.borrow();
        bar.set_position(p.step as u64);
        let val = p
            .val_loss
            .map(|v| format!(" val {v:.4}"))
            .unwrap_or_default();
        bar.set_message(format!("loss {:.4}{val}", p.train_loss));
    };
    let trained = nt_models::train(&series, &target_refs, &spec, &opts, &mut on_step)
        .with_context(|| format!("training {} on {}", spec.name(), args.data.data.display()))?;
    bar.borrow().finish_and_clear();

    if let Some(name) = &args.register {
        let target = &targets[0];
        let mut metrics = std::collections::BTreeMap::new();
        // Neural models validate on their held-out tail; a classical fit saw every row, so its
        // validation score is in-sample and is not recorded as one.
        let val_rows = spec
            .as_neural()
            .map(|n| n.train_config().val_rows(series.len()))
            .unwrap_or(0);
        if let Some((mae, rw)) =
            super::registry::validation_mae(&*trained.model, &series, target, val_rows)
        {
            metrics.insert("val_mae".to_string(), mae);
            metrics.insert("rw_mae".to_string(), rw);
            if rw > 0.0 {
                metrics.insert("skill".to_string(), 1.0 - mae / rw);
            }
        }
        let tags = std::collections::BTreeMap::from([
            ("source".to_string(), args.data.data.display().to_string()),
            ("target".to_string(), target.clone()),
        ]);
        let (dir, v) = super::registry::register_dir(
            args.registry.as_deref(),
            name,
            &args.out,
            &series,
            target,
            metrics,
            tags,
        )?;
        if args.json {
            eprintln!("registered {} in {}", v.reference(), dir.display());
        } else {
            let skill = nt_registry::embedding::skill_of(&v.metrics)
                .map(|s| format!(" (validation skill vs random walk {s:+.3})"))
                .unwrap_or_default();
            println!("registered {}{skill} in {}", v.reference(), dir.display());
        }
    }
    let r = trained.report.as_ref();
    let summary = serde_json::json!({
        "tool": "nt",
        "command": "train",
        "model": spec.name(),
        "out": args.out.display().to_string(),
        "targets": targets,
        "steps": r.map(|r| r.steps),
        "final_train_loss": r.map(|r| r.final_train_loss),
        "best_val_loss": r.and_then(|r| r.best_val_loss),
        "best_step": r.and_then(|r| r.best_step),
        "stopped_early": r.map(|r| r.stopped_early),
        "parameters": trained.model.params(),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if let Some(r) = r {
        println!(
            "trained {} on {} ({} targets) in {} steps: train loss {:.4}{}; saved to {}",
            spec.name(),
            args.data.data.display(),
            targets.len(),
            r.steps,
            r.final_train_loss,
            r.best_val_loss
                .map(|v| format!(
                    ", best val loss {v:.4} at step {}",
                    r.best_step.unwrap_or(0)
                ))
                .unwrap_or_default(),
            args.out.display()
        );
    } else {
        println!(
            "fitted {} on {} (column {}, {} rows); saved to {}",
            spec.name(),
            args.data.data.display(),
            targets[0],
            series.len(),
            args.out.display()
        );
    }
    if !args.json {
        println!(
            "next: nt predict --model {} --data {}",
            args.out.display(),
            args.data.data.display()
        );
    }
    Ok(())
}
