//! `nt tune`: hyper-parameter search for a neural model (nt-tune), locally or as a study whose
//! trials any number of `nt tune --worker` processes claim through the registry.
//!
//! Tuning sees only the rows before the test segment of `--split` (ETT: the first 16 months,
//! ratio: the first 80%); the validation segment is their tail, and every trial's value is its
//! best validation loss there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use nt_core::TimeSeries;
use nt_eval::Split;
use nt_neural::NeuralSpec;
use nt_registry::{TrialRecord, TrialState};
use nt_tune::{
    MemoryStore, Objective, Point, Pruner, RegistryStore, Sampler, SamplerKind, SearchSpace,
    StudyConfig, StudyOutcome, TrialContext, TrialRun, TrialRunner,
};
use serde_json::{json, Value};

use crate::cli::Format;
use crate::exit::UsageError;
use crate::settings;

/// `nt tune`.
#[derive(Debug, Args)]
pub(crate) struct TuneArgs {
    /// CSV or Parquet file (local runs and --plan).
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<PathBuf>,
    /// Column to tune on (default: `close` if present, else the last numeric column; `all`: one
    /// global model over every column).
    #[arg(long, value_name = "COL|all")]
    pub(crate) target: Option<String>,
    /// Name of the time column (default: detected).
    #[arg(long, value_name = "COL")]
    pub(crate) time_col: Option<String>,
    /// Empty or NaN cells: error (default), ffill, linear, drop.
    #[arg(long, value_name = "POLICY", default_value = "error")]
    pub(crate) fill: String,
    /// The neural model to tune: nhits, nbeats, dlinear, nlinear, tcn, patchtst, lstm, gru, deepar.
    #[arg(long, value_name = "NAME", default_value = "nhits")]
    pub(crate) model: String,
    /// Steps ahead.
    #[arg(long, short = 'H', default_value_t = 24)]
    pub(crate) horizon: usize,
    /// The base spec's input window (most default spaces set it as horizon × input_size_multiplier).
    #[arg(long, value_name = "L")]
    pub(crate) input_size: Option<usize>,
    /// Which split decides the test segment that tuning never sees (its validation segment is
    /// the one tuning validates on).
    #[arg(long, value_enum, default_value_t = TuneSplit::Ratio)]
    pub(crate) split: TuneSplit,
    /// Trials in the study.
    #[arg(long, value_name = "N")]
    pub(crate) trials: Option<u32>,
    /// Stop starting trials after this many seconds (a running trial finishes).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) budget: Option<f64>,
    /// How the next trial's parameters are drawn.
    #[arg(long, value_enum, default_value_t = SamplerArg::Tpe)]
    pub(crate) sampler: SamplerArg,
    /// Early stopping of bad trials (Optuna's median rule: 5 startup trials, no warm-up).
    #[arg(long, value_enum, default_value_t = PrunerArg::Median)]
    pub(crate) pruner: PrunerArg,
    /// JSON file overriding the model's default search space: `{"train.lr": {"type": "float",
    /// "low": 1e-4, "high": 1e-1, "log": true}, "moving_avg_window": null, ...}` (`int` takes
    /// low, high, step; `choice` takes values; null removes a default entry).
    #[arg(long, value_name = "FILE")]
    pub(crate) space: Option<PathBuf>,
    /// Cap on each trial's training steps.
    #[arg(long, value_name = "S")]
    pub(crate) max_steps: Option<usize>,
    /// The sampler's seed (trials' training seeds are sampled from the space).
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Registry: registers the best model under --name (local runs); holds the study (--plan,
    /// --worker, --status).
    #[arg(long, value_name = "DIR")]
    pub(crate) registry: Option<PathBuf>,
    /// Model name to register the best trial under (local), or the study's name (--plan;
    /// default `tune-MODEL`).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Save the best trial's model to this directory (with tune_history.json).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Plot of the trials (validation loss by trial number, best so far), .svg or .png.
    #[arg(long, value_name = "FILE")]
    pub(crate) plot: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Write the study to DIR/study.json and create it in --registry, for workers.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["worker", "status"])]
    pub(crate) plan: Option<PathBuf>,
    /// Run the study planned in DIR: claim, train, report, finish until no trial is left.
    #[arg(long, value_name = "DIR", conflicts_with = "status")]
    pub(crate) worker: Option<PathBuf>,
    /// Show the study planned in DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) status: Option<PathBuf>,
    /// This worker's id (default: worker-PID).
    #[arg(long, value_name = "ID")]
    pub(crate) worker_id: Option<String>,
    /// A worker's lease on a trial, in seconds: a trial whose worker stops heartbeating for this
    /// long is handed to another worker.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub(crate) lease: f64,
    /// Testing aid: a worker holds each claimed trial this many milliseconds before training it.
    #[arg(long, value_name = "MS", default_value_t = 0, hide = true)]
    pub(crate) hold_ms: u64,
    /// Hide the per-trial progress lines on stderr.
    #[arg(long)]
    pub(crate) quiet: bool,
}

/// `--split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TuneSplit {
    /// 70/10/20 by row.
    Ratio,
    /// ETT's 12/4/4 months.
    Ett,
}

/// `--sampler`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SamplerArg {
    /// Tree-structured Parzen Estimator after 10 random trials.
    Tpe,
    /// Uniform random search.
    Random,
}

/// `--pruner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PrunerArg {
    /// Median stopping.
    Median,
    /// Never prune.
    None,
}

/// An nt-tune error as exit 2 when the user can fix it.
fn tune_err(e: nt_tune::Error) -> anyhow::Error {
    if e.is_bad_input() {
        UsageError(e.to_string()).into()
    } else {
        e.into()
    }
}

/// Everything a worker needs, as written to `study.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Plan {
    name: String,
    data: PathBuf,
    data_sha256: String,
    target: Option<String>,
    time_col: Option<String>,
    fill: String,
    model: String,
    horizon: usize,
    input_size: Option<usize>,
    split: TuneSplit,
    n_trials: u32,
    budget_seconds: Option<f64>,
    sampler: SamplerKind,
    seed: u64,
    pruner: Pruner,
    max_steps: Option<usize>,
    space: SearchSpace,
}

/// A study ready to run: the objective, the settings, what the data was.
struct Prepared {
    objective: Objective,
    config: StudyConfig,
    series: TimeSeries,
    tuning_rows: usize,
    val_rows: usize,
}

pub(crate) fn run(args: &TuneArgs) -> Result<()> {
    if args.lease.is_nan() || args.lease <= 0.0 {
        return Err(UsageError("--lease must be more than 0 seconds".into()).into());
    }
    if let Some(dir) = &args.worker {
        let reg = args.registry.as_deref().ok_or_else(|| {
            UsageError("--worker needs --registry DIR: the registry that holds the study".into())
        })?;
        return worker(args, dir, reg);
    }
    if let Some(dir) = &args.status {
        let reg = args.registry.as_deref().ok_or_else(|| {
            UsageError("--status needs --registry DIR: the registry that holds the study".into())
        })?;
        let plan = read_plan(dir)?;
        let registry = super::registry::open_existing(Some(reg))?;
        let trials = registry.trials(&plan.name)?;
        return report(
            args,
            &plan.space,
            &trials,
            None,
            &json!({"study": plan.name}),
        );
    }
    let mut plan = plan_from_args(args)?;
    if let Some(dir) = &args.plan {
        let reg = args.registry.as_deref().ok_or_else(|| {
            UsageError(
                "--plan needs --registry DIR: the registry the workers claim trials from".into(),
            )
        })?;
        // Everything a worker does is checked here first: data, space, spec.
        plan.data_sha256 = prepare(&plan, None)?.series.fingerprint();
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let definition = serde_json::to_value(&plan)?;
        let registry = super::registry::open(Some(reg))?;
        registry.create_study(&plan.name, &definition, plan.n_trials)?;
        let path = dir.join("study.json");
        std::fs::write(&path, serde_json::to_string_pretty(&definition)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!(
            "planned study {} ({} trials of {}) in {}; run workers with: nt tune --worker {} --registry {}",
            plan.name,
            plan.n_trials,
            plan.model,
            path.display(),
            dir.display(),
            reg.display()
        );
        return Ok(());
    }
    local(args, &plan)
}

fn plan_from_args(args: &TuneArgs) -> Result<Plan> {
    let data = args
        .data
        .as_deref()
        .ok_or_else(|| UsageError("--data FILE is required".into()))?;
    if !data.is_file() {
        return Err(UsageError(format!("--data {}: no such file", data.display())).into());
    }
    let n_trials = args
        .trials
        .ok_or_else(|| UsageError("--trials N is required".into()))?;
    if n_trials == 0 {
        return Err(UsageError("--trials must be at least 1".into()).into());
    }
    if let Some(b) = args.budget {
        if b.is_nan() || b <= 0.0 {
            return Err(UsageError(format!(
                "--budget {b}: must be more than 0 seconds (omit it for no limit)"
            ))
            .into());
        }
    }
    if args.max_steps == Some(0) {
        return Err(UsageError("--max-steps must be at least 1".into()).into());
    }
    if args.horizon == 0 {
        return Err(UsageError("--horizon must be at least 1".into()).into());
    }
    let model = args.model.to_ascii_lowercase();
    let mut space = SearchSpace::default_for(&model).ok_or_else(|| {
        UsageError(format!(
            "--model {model}: no search space; tunable models: nhits, nbeats, dlinear, nlinear, tcn, patchtst, lstm, gru, deepar"
        ))
    })?;
    if let Some(path) = &args.space {
        space.apply_file(path).map_err(tune_err)?;
    }
    if args.plan.is_none() {
        if let Some(name) = &args.name {
            nt_registry::validate_name(name)?;
        }
        if args.name.is_some() != args.registry.is_some() {
            return Err(UsageError(
                "--registry DIR and --name NAME go together: the best model is registered as NAME"
                    .into(),
            )
            .into());
        }
        if let Some(out) = &args.out {
            settings::check_out_dir(out)?;
        }
    }
    let abs =
        std::fs::canonicalize(data).with_context(|| format!("resolving {}", data.display()))?;
    Ok(Plan {
        name: args.name.clone().unwrap_or_else(|| format!("tune-{model}")),
        data: abs,
        data_sha256: String::new(),
        target: args.target.clone(),
        time_col: args.time_col.clone(),
        fill: args.fill.clone(),
        model,
        horizon: args.horizon,
        input_size: args.input_size,
        split: args.split,
        n_trials,
        budget_seconds: args.budget,
        sampler: match args.sampler {
            SamplerArg::Tpe => SamplerKind::Tpe,
            SamplerArg::Random => SamplerKind::Random,
        },
        seed: args.seed,
        pruner: match args.pruner {
            PrunerArg::Median => Pruner::median(),
            PrunerArg::None => Pruner::None,
        },
        max_steps: args.max_steps,
        space,
    })
}

/// Loads the data, cuts the test segment off, builds the base spec and checks the space against
/// it. With `expect_sha`, the data must be the file the plan was made from.
fn prepare(plan: &Plan, expect_sha: Option<&str>) -> Result<Prepared> {
    let series = settings::load_file(&plan.data, plan.time_col.clone(), &plan.fill, &[])?;
    let sha = series.fingerprint();
    if let Some(expected) = expect_sha {
        if expected != sha {
            return Err(UsageError(format!(
                "{}: its data fingerprint {sha} differs from the study's {expected}; workers must read the file the study was planned on",
                plan.data.display()
            ))
            .into());
        }
    }
    let targets = settings::resolve_targets(&series, plan.target.as_deref())?;
    let split = match plan.split {
        TuneSplit::Ratio => Split::default(),
        TuneSplit::Ett => Split::Ett { rows_per_day: None },
    };
    let sp = split
        .plan(&series, plan.horizon, 1)
        .map_err(|e| UsageError(format!("--split: {e}")))?;
    let tuning_rows = sp.n_train + sp.n_val;
    let input_size = plan.input_size.unwrap_or(2 * plan.horizon);
    let base = NeuralSpec::from_name(&plan.model, input_size, plan.horizon)
        .ok_or_else(|| UsageError(format!("--model {}: not a neural model", plan.model)))?;
    plan.space.check(&base).map_err(tune_err)?;
    let mut objective = Objective::new(
        series.head(tuning_rows),
        targets,
        base,
        sp.n_val,
        plan.max_steps,
    )
    .map_err(tune_err)?;
    objective.space_sets_val_check = plan.space.params.contains_key("train.val_check_steps");
    let config = StudyConfig {
        space: plan.space.clone(),
        sampler: Sampler::new(plan.sampler, plan.seed),
        pruner: plan.pruner,
        n_trials: plan.n_trials,
        budget: plan.budget_seconds.map(Duration::from_secs_f64),
        heartbeat_every: Duration::from_secs(1),
        idle_poll: Duration::from_millis(200),
    };
    config.validate().map_err(tune_err)?;
    Ok(Prepared {
        objective,
        config,
        series,
        tuning_rows,
        val_rows: sp.n_val,
    })
}

fn progress_line(quiet: bool) -> impl FnMut(&TrialRecord) {
    move |r: &TrialRecord| {
        if !quiet {
            eprintln!(
                "trial {} {}: validation {}",
                r.number,
                r.state,
                r.value.map_or("-".into(), |v| format!("{v:.5}"))
            );
        }
    }
}

fn local(args: &TuneArgs, plan: &Plan) -> Result<()> {
    let p = prepare(plan, None)?;
    let store = MemoryStore::new(plan.n_trials);
    let mut on_trial = progress_line(args.quiet);
    let outcome =
        nt_tune::run_study(&store, &p.objective, &p.config, &mut on_trial).map_err(tune_err)?;
    let history = nt_tune::history_json(&p.config, &outcome);
    let mut extra = json!({
        "model": plan.model,
        "data": plan.data.display().to_string(),
        "tuning_rows": p.tuning_rows,
        "val_rows": p.val_rows,
        "history": history,
    });
    let saved = save_best(args, plan, &p, &outcome, &history)?;
    if let Some((dir, reference)) = saved {
        extra["saved"] = json!(dir.map(|d| d.display().to_string()));
        extra["registered"] = json!(reference);
    }
    report(
        args,
        &plan.space,
        &outcome.trials,
        Some(outcome.wall_seconds),
        &extra,
    )
}

/// Saves (`--out`) and registers (`--registry --name`) the best trial's model, trained once
/// during the search. Returns the directory and the registered reference.
fn save_best(
    args: &TuneArgs,
    plan: &Plan,
    p: &Prepared,
    outcome: &StudyOutcome,
    history: &Value,
) -> Result<Option<(Option<PathBuf>, Option<String>)>> {
    if args.out.is_none() && args.name.is_none() {
        return Ok(None);
    }
    let (Some(best), Some(model)) = (&outcome.best, &outcome.best_model) else {
        return Err(anyhow::anyhow!(
            "no trial completed: nothing to save or register"
        ));
    };
    let tmp;
    let dir: &Path = match &args.out {
        Some(d) => d,
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path()
        }
    };
    model.save(dir)?;
    let history_path = dir.join("tune_history.json");
    std::fs::write(&history_path, serde_json::to_string_pretty(history)?)
        .with_context(|| format!("writing {}", history_path.display()))?;
    let mut reference = None;
    if let Some(name) = &args.name {
        let target = p.objective.targets[0].clone();
        let value = best.value.unwrap_or(f64::NAN);
        let metrics = std::collections::BTreeMap::from([
            ("val_loss".to_string(), value),
            ("tune_trials".to_string(), outcome.trials.len() as f64),
            ("tune_wall_seconds".to_string(), outcome.wall_seconds),
        ]);
        let tags = std::collections::BTreeMap::from([
            ("source".to_string(), plan.data.display().to_string()),
            ("target".to_string(), target.clone()),
            (
                "tune.sampler".to_string(),
                plan.sampler.as_str().to_string(),
            ),
            ("tune.seed".to_string(), plan.seed.to_string()),
            ("tune.pruner".to_string(), plan.pruner.as_str().to_string()),
            ("tune.best_trial".to_string(), best.number.to_string()),
            ("tune.best_params".to_string(), best.params.to_string()),
            (
                "tune.budget_seconds".to_string(),
                plan.budget_seconds.map_or("none".into(), |b| b.to_string()),
            ),
            ("tune.history".to_string(), history.to_string()),
        ]);
        let (_, v) = super::registry::register_dir(
            args.registry.as_deref(),
            name,
            dir,
            &p.series.head(p.tuning_rows),
            &target,
            nt_registry::RegisterRequest {
                metrics,
                tags,
                ..nt_registry::RegisterRequest::default()
            },
        )?;
        reference = Some(v.reference());
    }
    Ok(Some((args.out.clone(), reference)))
}

fn read_plan(dir: &Path) -> Result<Plan> {
    let path = dir.join("study.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        UsageError(format!(
            "{}: {e}; plan a study first with nt tune --plan {} ...",
            path.display(),
            dir.display()
        ))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("{}: not a study file: {e}", path.display())).into())
}

/// The objective, holding each claimed trial `hold` before training (`--hold-ms`).
struct Held<'a> {
    inner: &'a Objective,
    hold: Duration,
}

impl TrialRunner for Held<'_> {
    fn run_trial(&self, number: u32, params: &Point, ctx: &TrialContext<'_>) -> TrialRun {
        std::thread::sleep(self.hold);
        self.inner.run_trial(number, params, ctx)
    }
}

fn worker(args: &TuneArgs, dir: &Path, reg: &Path) -> Result<()> {
    let plan = read_plan(dir)?;
    let registry = super::registry::open_existing(Some(reg))?;
    let info = registry.study(&plan.name)?;
    let expected: Plan = serde_json::from_value(info.definition.clone())
        .map_err(|e| UsageError(format!("study {}: definition unreadable: {e}", plan.name)))?;
    if expected != plan {
        return Err(UsageError(format!(
            "{}: differs from the study {} in the registry",
            dir.join("study.json").display(),
            plan.name
        ))
        .into());
    }
    let p = prepare(&plan, Some(&plan.data_sha256))?;
    let lease = Duration::from_secs_f64(args.lease);
    let worker_id = args
        .worker_id
        .clone()
        .unwrap_or_else(|| format!("worker-{}", std::process::id()));
    let store = RegistryStore {
        registry: &registry,
        study: plan.name.clone(),
        worker: worker_id.clone(),
        lease,
    };
    let mut config = p.config.clone();
    config.heartbeat_every = (lease / 3).max(Duration::from_millis(50));
    config.idle_poll = (lease / 4).clamp(Duration::from_millis(50), Duration::from_secs(2));
    let runner = Held {
        inner: &p.objective,
        hold: Duration::from_millis(args.hold_ms),
    };
    let mut on_trial = progress_line(args.quiet);
    let outcome = nt_tune::run_study(&store, &runner, &config, &mut on_trial).map_err(tune_err)?;
    if !args.quiet {
        eprintln!(
            "{worker_id}: ran trials {:?} in {:.1} s",
            outcome.ran, outcome.wall_seconds
        );
    }
    if let (Some(model), Some(best)) = (&outcome.best_model, &outcome.best) {
        // This worker trained the study's best so far: keep its model beside the plan.
        let out = dir.join("best");
        model.save(&out)?;
        std::fs::write(out.join("trial.json"), serde_json::to_string_pretty(best)?)?;
    }
    Ok(())
}

fn short(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.4e}"),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints the trials (table or JSON) and writes the plot.
fn report(
    args: &TuneArgs,
    space: &SearchSpace,
    trials: &[TrialRecord],
    wall: Option<f64>,
    extra: &Value,
) -> Result<()> {
    let best = nt_tune::best_trial(trials);
    if let Some(path) = &args.plot {
        plot_trials(path, trials)?;
    }
    if args.format == Format::Json {
        let mut out = extra.clone();
        out["tool"] = json!("nt");
        out["command"] = json!("tune");
        out["trials"] = serde_json::to_value(trials)?;
        out["best"] = serde_json::to_value(best)?;
        out["wall_seconds"] = json!(wall);
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let names: Vec<&String> = space.params.keys().collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["trial".to_string()];
    header.extend(names.iter().map(|n| n.to_string()));
    header.extend(["val_loss", "state", "steps", "seconds"].map(String::from));
    rows.push(header);
    for r in trials {
        let mut row = vec![r.number.to_string()];
        for n in &names {
            row.push(r.params.get(n.as_str()).map_or("-".into(), short));
        }
        row.push(r.value.map_or("-".into(), |v| format!("{v:.5}")));
        row.push(r.state.as_str().to_string());
        row.push(r.detail.get("steps").map_or("-".into(), short));
        row.push(r.seconds.map_or("-".into(), |s| format!("{s:.2}")));
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    let count = |s: TrialState| trials.iter().filter(|r| r.state == s).count();
    println!(
        "{} trials: {} complete, {} pruned, {} failed, {} running{}",
        trials.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        count(TrialState::Running),
        wall.map_or(String::new(), |w| format!("; wall time {w:.1} s"))
    );
    match best {
        Some(b) => println!(
            "best: trial {} validation loss {:.5} with {}",
            b.number,
            b.value.unwrap_or(f64::NAN),
            b.params
        ),
        None => println!("best: none (no trial completed)"),
    }
    if let Some(dir) = extra.get("saved").and_then(Value::as_str) {
        println!("saved the best model to {dir}");
    }
    if let Some(r) = extra.get("registered").and_then(Value::as_str) {
        println!("registered {r} with the search history");
    }
    Ok(())
}

/// Validation loss by trial number (complete: filled, pruned: hollow) with the best-so-far line.
fn plot_trials(path: &Path, trials: &[TrialRecord]) -> Result<()> {
    use plotters::prelude::{BitMapBackend, IntoDrawingArea, SVGBackend};
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if ext != "svg" && ext != "png" {
        return Err(UsageError(format!(
            "--plot {}: unknown extension `{ext}`; expected .svg or .png",
            path.display()
        ))
        .into());
    }
    let points: Vec<(f64, f64, TrialState)> = trials
        .iter()
        .filter_map(|r| Some((f64::from(r.number), r.value?, r.state)))
        .filter(|(_, v, _)| v.is_finite())
        .collect();
    let mut best_line = Vec::new();
    let mut best = f64::INFINITY;
    for r in trials {
        if let (TrialState::Complete, Some(v)) = (r.state, r.value) {
            best = best.min(v);
        }
        if best.is_finite() {
            best_line.push((f64::from(r.number), best));
        }
    }
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let (lo, hi) = if lo.is_finite() {
        let pad = ((hi - lo) * 0.05).max(1e-9);
        (lo - pad, hi + pad)
    } else {
        (0.0, 1.0)
    };
    let chart = TrialsChart {
        path,
        points,
        best_line,
        x: trials.len().max(1) as f64,
        y: (lo, hi),
        text: crate::plot::fonts_available(),
    };
    if ext == "svg" {
        chart.draw(SVGBackend::new(path, (960, 540)).into_drawing_area())
    } else {
        chart.draw(BitMapBackend::new(path, (960, 540)).into_drawing_area())
    }
}

/// What the trials plot shows.
struct TrialsChart<'a> {
    path: &'a Path,
    points: Vec<(f64, f64, TrialState)>,
    best_line: Vec<(f64, f64)>,
    x: f64,
    y: (f64, f64),
    text: bool,
}

impl TrialsChart<'_> {
    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<()> {
        use plotters::prelude::*;
        let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("drawing the trials plot: {e}");
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut builder = ChartBuilder::on(&root);
        builder.margin(20);
        if self.text {
            builder
                .caption("nt tune: validation loss by trial", ("sans-serif", 22))
                .x_label_area_size(40)
                .y_label_area_size(70);
        }
        let mut chart = builder
            .build_cartesian_2d(-0.5..self.x - 0.5, self.y.0..self.y.1)
            .map_err(|e| err(&e))?;
        if self.text {
            chart
                .configure_mesh()
                .x_desc("trial")
                .y_desc("validation loss")
                .draw()
                .map_err(|e| err(&e))?;
        }
        let blue = RGBColor(31, 119, 180);
        let orange = RGBColor(255, 127, 14);
        chart
            .draw_series(self.points.iter().map(|(x, y, s)| {
                let style = if *s == TrialState::Complete {
                    blue.filled()
                } else {
                    orange.stroke_width(2)
                };
                Circle::new((*x, *y), 4, style)
            }))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(
                self.best_line.iter().copied(),
                blue.stroke_width(2),
            ))
            .map_err(|e| err(&e))?;
        root.present()
            .map_err(|e| err(&e))
            .with_context(|| format!("writing plot {}", self.path.display()))?;
        Ok(())
    }
}
