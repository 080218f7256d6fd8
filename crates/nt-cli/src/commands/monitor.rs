//! `nt monitor NAME[@V] --data new.csv`: the drift report of a registered version on new data,
//! offline (the same report the server's monitor computes live), recorded in the registry's
//! drift state so that a cron job writes one `drift-alarm` event per episode; with
//! `--retrain-on-alarm` it retrains a candidate when the alarm is on.
//!
//! The new data is forecast from rolling origins without refitting: origins every H rows inside
//! its last `--window` rows, each from the L rows before it (as the validation scores of
//! `nt train --register` are computed), which gives the current predictions and residuals; the
//! inputs are the levels and returns of the last `--window` rows. The exit code is 0 whenever
//! the report was computed, alarm included; scripts read `status` from `--format json`.

mod plot;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use nt_eval::drift::{evaluate, CheckStatus, CurrentSample, DriftReport, DriftThresholds};
use nt_registry::{DriftOutcome, DriftTransition, ModelVersion, Registry};
use serde_json::json;

use crate::cli::{DataArgs, RegFormat};
use crate::exit::UsageError;
use crate::settings;

/// `nt monitor` flags.
#[derive(Debug, Args)]
pub(crate) struct MonitorArgs {
    /// The registered version: NAME (its production version), NAME@V or NAME@latest.
    #[arg(value_name = "NAME[@V]")]
    pub(crate) model: String,
    /// The new data and how to read it (`--target` defaults to the version's first target).
    #[command(flatten)]
    pub(crate) data: DataArgs,
    /// Registry directory (default: $NT_REGISTRY, else ./nt-registry).
    #[arg(long, value_name = "DIR")]
    pub(crate) registry: Option<PathBuf>,
    /// The version's training data (read with the same data flags): builds its drift reference
    /// and stores it with the version (replacing a stored one), for versions registered
    /// without one.
    #[arg(long, value_name = "TRAIN.csv")]
    pub(crate) reference: Option<PathBuf>,
    /// PSI at or above which a check is a warning.
    #[arg(long, value_name = "X", default_value_t = 0.1)]
    pub(crate) psi_warning: f64,
    /// PSI at or above which a check is an alarm.
    #[arg(long, value_name = "X", default_value_t = 0.25)]
    pub(crate) psi_alarm: f64,
    /// KS p-value at or below which the residual check is an alarm.
    #[arg(long, value_name = "P", default_value_t = 0.05)]
    pub(crate) ks_alpha: f64,
    /// Rows of the new data compared (its last N rows; residuals from forecasts inside them).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) window: usize,
    /// Output format (json for scripts: its `status` is ok, warning, alarm or insufficient-data).
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: RegFormat,
    /// Draw the reference and current distributions (ECDFs of levels, returns, residuals) to
    /// FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub(crate) plot: Option<PathBuf>,
    /// Do not record the report in the registry's drift state (no events either).
    #[arg(long)]
    pub(crate) no_record: bool,
    /// When the alarm is on, retrain the version on --data (warm start, or refit for classical
    /// models) and register the result as a candidate whose parent is the monitored version.
    /// Never promotes unless --promote-if-better.
    #[arg(long)]
    pub(crate) retrain_on_alarm: bool,
    /// Training steps of the retraining (default: the version's own max_steps).
    #[arg(long, value_name = "N", requires = "retrain_on_alarm")]
    pub(crate) max_steps: Option<usize>,
    /// Promote the candidate to production only when, on the new data's held-out tail, its
    /// per-origin errors beat the parent's in a Diebold–Mariano test at 5% and its MAE is lower.
    #[arg(long, requires = "retrain_on_alarm")]
    pub(crate) promote_if_better: bool,
    /// No progress bar while retraining.
    #[arg(long)]
    pub(crate) quiet: bool,
}

/// The significance level of the promotion test.
const PROMOTE_ALPHA: f64 = 0.05;

fn thresholds(args: &MonitorArgs) -> Result<DriftThresholds> {
    let t = DriftThresholds {
        psi_warning: args.psi_warning,
        psi_alarm: args.psi_alarm,
        ks_alpha: args.ks_alpha,
        window: args.window,
        ..DriftThresholds::default()
    };
    match t.validate() {
        Ok(()) => Ok(t),
        Err(nt_eval::Error::InvalidConfig { field, reason }) => {
            Err(UsageError(format!("--{}: {reason}", field.replace('_', "-"))).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The drift reference of `model` trained on `series`: its spec's held-out tail gives the
/// residuals, or (a model that holds none out) in-sample residuals of the last rows.
pub(crate) fn reference_for(
    model: &dyn nt_models::Forecaster,
    series: &nt_core::TimeSeries,
    target: &str,
) -> Result<nt_eval::drift::ReferenceProfile> {
    let val_rows = model
        .spec()
        .as_neural()
        .map(|n| n.train_config().val_rows(series.len()))
        .unwrap_or(0);
    let val = super::registry::validation(model, series, target, val_rows);
    super::registry::reference_profile(model, series, target, val.as_ref())
}

fn target_of(v: &ModelVersion, data: &DataArgs, series: &nt_core::TimeSeries) -> Result<String> {
    let target = match &data.target {
        Some(t) if v.targets.iter().any(|x| x == t) => t.clone(),
        Some(t) => {
            return Err(UsageError(format!(
                "--target {t}: {} forecasts {}; name one of those",
                v.reference(),
                v.targets.join(", ")
            ))
            .into())
        }
        None => v
            .targets
            .first()
            .cloned()
            .ok_or_else(|| UsageError(format!("{} records no target column", v.reference())))?,
    };
    if series.column(&target).is_err() {
        return Err(UsageError(format!(
            "{}: no column `{target}` (the target of {}); columns: {}",
            data.data.display(),
            v.reference(),
            series.column_names().join(", ")
        ))
        .into());
    }
    Ok(target)
}

/// Runs `nt monitor`.
pub(crate) fn run(args: &MonitorArgs) -> Result<()> {
    let t = thresholds(args)?;
    if let Some(p) = &args.plot {
        settings::check_plot_path(p)?;
    }
    let reg = super::registry::open_existing(args.registry.as_deref())?;
    let v = super::registry::resolve_ref(&reg, &args.model)?;
    let series = settings::load_data(&args.data)?;
    let target = target_of(&v, &args.data, &series)?;
    let model = reg
        .load(&v.name, v.version)
        .with_context(|| format!("loading {}", v.reference()))?;
    let reference = match (&args.reference, reg.reference(&v.name, v.version)?) {
        (Some(path), _) => {
            let mut d = args.data.clone();
            d.data = path.clone();
            let train = settings::load_data(&d)
                .with_context(|| format!("reading --reference {}", path.display()))?;
            if train.column(&target).is_err() {
                return Err(UsageError(format!(
                    "--reference {}: no column `{target}` (the target of {})",
                    path.display(),
                    v.reference()
                ))
                .into());
            }
            let r = reference_for(&*model, &train, &target)?;
            reg.set_reference(&v.name, v.version, &r)?;
            eprintln!(
                "stored the drift reference of {} built from {} ({} rows)",
                v.reference(),
                path.display(),
                r.rows
            );
            r
        }
        (None, Some(r)) => r,
        (None, None) => {
            return Err(UsageError(format!(
                "{} has no drift reference profile (it was registered before drift monitoring, or without one); build it from the data the version was trained on: nt monitor {} --data {} --reference TRAIN.csv",
                v.reference(),
                v.reference(),
                args.data.data.display()
            ))
            .into())
        }
    };
    let x = series.column(&target)?;
    let n = x.len();
    let rows = args.window.min(n);
    let levels = x[n - rows..].to_vec();
    let l = model.min_history();
    let val_rows = rows.min(n.saturating_sub(l));
    let val = super::registry::validation(&*model, &series, &target, val_rows);
    let mut notes = Vec::new();
    if val.is_none() {
        notes.push(if !model.hist_exog().is_empty() || !model.futr_exog().is_empty() {
            format!("{} reads exogenous columns; its forecasts are not recomputed here, so predictions and residuals are not checked", v.reference())
        } else {
            format!(
                "no forecast fits in the last {rows} rows (the model reads {l} rows and forecasts {} steps)",
                model.max_horizon().unwrap_or(24)
            )
        });
    }
    let (predictions, residuals) = val
        .map(|v| (v.predictions, v.residuals))
        .unwrap_or_default();
    let current = CurrentSample::from_levels(&reference, levels, predictions, residuals);
    let report = evaluate(&reference, &current, &t)?;
    if let Some(p) = &args.plot {
        plot::write(p, &v.reference(), &reference, &current, &report)?;
    }
    let recorded = if args.no_record {
        None
    } else {
        Some(reg.record_drift(&v.name, v.version, &report)?)
    };
    let json = args.format == RegFormat::Json;
    if !json {
        print_table(&v, args, &target, rows, &reference, &report);
        for note in &notes {
            println!("note: {note}");
        }
        match &recorded {
            Some(o) => println!("{}", recorded_line(o)),
            None => println!("not recorded (--no-record)"),
        }
        if let Some(p) = &args.plot {
            println!("plot: {}", p.display());
        }
    }
    let retrain = if args.retrain_on_alarm && report.status == CheckStatus::Alarm {
        Some(retrain(&reg, args, &v, &target, json)?)
    } else {
        if args.retrain_on_alarm && !json {
            println!("no retraining: the alarm is not on");
        }
        None
    };
    if json {
        let out = json!({
            "model": v.reference(),
            "data": args.data.data.display().to_string(),
            "target": target,
            "rows": rows,
            "status": report.status,
            "report": report,
            "notes": notes,
            "recorded": recorded.as_ref().map(recorded_json),
            "retrain": retrain,
            "plot": args.plot.as_ref().map(|p| p.display().to_string()),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

fn recorded_json(o: &DriftOutcome) -> serde_json::Value {
    json!({
        "transition": o.transition,
        "event_id": o.event.as_ref().map(|e| e.id),
        "in_alarm": o.state.in_alarm,
        "since": o.state.since,
        "episodes": o.state.episodes,
    })
}

fn recorded_line(o: &DriftOutcome) -> String {
    let id = o.event.as_ref().map_or(0, |e| e.id);
    match o.transition {
        DriftTransition::AlarmRaised => format!(
            "recorded: drift-alarm event #{id} (episode {} started)",
            o.state.episodes
        ),
        DriftTransition::AlarmContinues => format!(
            "recorded: the alarm goes on since {} (no new event)",
            o.state.since.as_deref().unwrap_or("-")
        ),
        DriftTransition::Cleared => {
            format!("recorded: drift-cleared event #{id} (the episode ended)")
        }
        DriftTransition::Quiet => "recorded: no alarm episode".to_string(),
    }
}

fn print_table(
    v: &ModelVersion,
    args: &MonitorArgs,
    target: &str,
    rows: usize,
    reference: &nt_eval::drift::ReferenceProfile,
    report: &DriftReport,
) {
    println!(
        "drift of {} on {} (column {target}, last {rows} rows) against its reference ({} training rows{})",
        v.reference(),
        args.data.data.display(),
        reference.rows,
        if reference.residuals_in_sample {
            "; validation residuals in-sample"
        } else {
            ""
        }
    );
    let mut table = vec![vec![
        "check".to_string(),
        "statistic".into(),
        "reference n".into(),
        "current n".into(),
        "status".into(),
    ]];
    for c in [&report.levels, &report.returns, &report.predictions] {
        table.push(vec![
            c.name.clone(),
            c.psi.map_or("-".into(), |p| format!("PSI {p:.4}")),
            c.reference_n.to_string(),
            c.current_n.to_string(),
            c.status.to_string(),
        ]);
    }
    let ks = &report.residuals;
    table.push(vec![
        ks.name.clone(),
        match (ks.statistic, ks.p_value, ks.method) {
            (Some(d), Some(p), Some(m)) => format!("KS D {d:.4}, p {p:.3e} ({})", m.as_str()),
            _ => "-".into(),
        },
        ks.reference_n.to_string(),
        ks.current_n.to_string(),
        ks.status.to_string(),
    ]);
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in &table {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("  {}", cells.join("  ").trim_end());
    }
    let t = &report.thresholds;
    println!(
        "thresholds: PSI warning {} / alarm {}, KS alpha {}",
        t.psi_warning, t.psi_alarm, t.ks_alpha
    );
    let word = match report.status {
        CheckStatus::Alarm => "ALARM",
        CheckStatus::Warning => "warning",
        CheckStatus::Ok => "ok",
        CheckStatus::InsufficientData => "insufficient data",
    };
    println!("status: {word}");
    for r in &report.reasons {
        println!("  - {r}");
    }
}

/// Retrains the monitored version on the new data (a candidate, parent = the version), stores
/// the candidate's drift reference, and with `--promote-if-better` promotes it when it wins.
fn retrain(
    reg: &Registry,
    args: &MonitorArgs,
    v: &ModelVersion,
    target: &str,
    json_out: bool,
) -> Result<serde_json::Value> {
    let r = super::warm_start::retrain(
        args.registry.as_deref(),
        &v.reference(),
        &args.data,
        args.max_steps,
        args.quiet || json_out,
    )?;
    let cand = &r.version;
    // The candidate saw the new data: its reference is built from it.
    let series = settings::load_data(&args.data)?;
    let cand_model = reg.load(&cand.name, cand.version)?;
    let cand_ref = reference_for(&*cand_model, &series, target)?;
    reg.set_reference(&cand.name, cand.version, &cand_ref)?;
    let d: Vec<f64> = r
        .child_errors
        .iter()
        .zip(&r.parent_errors)
        .map(|(c, p)| c - p)
        .collect();
    // Origins are H rows apart, so the per-origin losses do not overlap: h = 1.
    let dm = nt_eval::diebold_mariano(&d, 1, "absolute");
    let better = dm
        .as_ref()
        .is_some_and(|t| t.statistic < 0.0 && t.p_value <= PROMOTE_ALPHA)
        && r.val_mae < r.parent_val_mae;
    let verdict = match &dm {
        _ if better => format!(
            "{} beats {} on the held-out tail ({} rows): MAE {:.4} vs {:.4}, Diebold–Mariano p {:.3}",
            cand.reference(),
            v.reference(),
            r.tail_rows,
            r.val_mae,
            r.parent_val_mae,
            dm.as_ref().map_or(f64::NAN, |t| t.p_value)
        ),
        Some(t) => format!(
            "{} does not beat {} on the held-out tail ({} rows): MAE {:.4} vs {:.4}, Diebold–Mariano statistic {:.3}, p {:.3} (needs a negative statistic with p ≤ {PROMOTE_ALPHA} and a lower MAE)",
            cand.reference(),
            v.reference(),
            r.tail_rows,
            r.val_mae,
            r.parent_val_mae,
            t.statistic,
            t.p_value
        ),
        None => format!(
            "{} cannot be compared with {}: the Diebold–Mariano test is undefined on {} forecast origins (MAE {:.4} vs {:.4})",
            cand.reference(),
            v.reference(),
            d.len(),
            r.val_mae,
            r.parent_val_mae
        ),
    };
    let promoted = if args.promote_if_better && better {
        reg.set_stage(&cand.name, cand.version, nt_registry::Stage::Production)?;
        true
    } else {
        false
    };
    if !json_out {
        println!(
            "retrained {} on {} ({} steps): registered candidate {} (parent {})",
            v.reference(),
            args.data.data.display(),
            r.steps,
            cand.reference(),
            v.reference()
        );
        println!("{verdict}");
        if promoted {
            println!("promoted {} to production", cand.reference());
        } else if args.promote_if_better {
            println!("not promoted: {} stays as it was", v.reference());
        } else {
            println!(
                "not promoted (promote it with: nt registry promote {})",
                cand.reference()
            );
        }
    }
    Ok(json!({
        "candidate": cand.reference(),
        "parent": v.reference(),
        "steps": r.steps,
        "tail_rows": r.tail_rows,
        "val_mae": r.val_mae,
        "parent_val_mae": r.parent_val_mae,
        "rw_mae": r.rw_mae,
        "diebold_mariano": dm,
        "better": better,
        "promoted": promoted,
        "verdict": verdict,
    }))
}

/// `nt registry show` lines about drift: whether the version has a reference profile, and its
/// drift state.
pub(crate) fn show_lines(reg: &Registry, v: &ModelVersion) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    match reg.reference(&v.name, v.version)? {
        Some(r) => lines.push(format!(
            "drift ref    {} training rows of {} ({} levels, {} returns [{}], {} validation residuals{})",
            r.rows,
            r.target,
            r.levels.len(),
            r.returns.len(),
            match r.return_kind {
                nt_eval::drift::ReturnKind::Simple => "simple",
                nt_eval::drift::ReturnKind::Difference => "differences",
            },
            r.residuals.len(),
            if r.residuals_in_sample { ", in-sample" } else { "" }
        )),
        None => lines.push(format!(
            "drift ref    none (build one: nt monitor {} --data NEW.csv --reference TRAIN.csv)",
            v.reference()
        )),
    }
    match reg.drift_state(&v.name, v.version)? {
        Some(s) if s.in_alarm => lines.push(format!(
            "drift        ALARM since {} (episode {}; last check {} at {})",
            s.since.as_deref().unwrap_or("-"),
            s.episodes,
            s.last_status,
            s.checked_at
        )),
        Some(s) => lines.push(format!(
            "drift        no open episode; last check {} at {} ({} episodes so far)",
            s.last_status, s.checked_at, s.episodes
        )),
        None => lines.push("drift        never checked".to_string()),
    }
    Ok(lines)
}

/// The `drift` object of `nt registry show --format json`.
pub(crate) fn show_json(reg: &Registry, v: &ModelVersion) -> Result<serde_json::Value> {
    let reference = reg.reference(&v.name, v.version)?;
    let state = reg.drift_state(&v.name, v.version)?;
    Ok(json!({
        "reference": reference.map(|r| json!({
            "target": r.target, "rows": r.rows, "return_kind": r.return_kind,
            "levels": r.levels.len(), "returns": r.returns.len(),
            "residuals": r.residuals.len(), "residuals_in_sample": r.residuals_in_sample,
        })),
        "state": state.map(|s| json!({
            "in_alarm": s.in_alarm, "since": s.since, "checked_at": s.checked_at,
            "last_status": s.last_status, "episodes": s.episodes,
        })),
    }))
}
