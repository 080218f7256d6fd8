//! `nt registry …`: the model registry from the command line, and the registration step shared
//! by `nt train --register` and `nt demo`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nt_core::TimeSeries;
use nt_registry::{
    parse_exact_ref, parse_model_ref, DataProfile, ModelVersion, RegisterRequest, Registry, Stage,
};
use serde_json::json;

use crate::cli::{RegFormat, RegistryArgs, RegistryCommand};
use crate::settings;

/// Opens the registry named by `--registry`, `$NT_REGISTRY` or `./nt-registry`.
pub(crate) fn open(flag: Option<&Path>) -> Result<Registry> {
    let dir = Registry::resolve_dir(flag);
    Registry::open(&dir).with_context(|| format!("opening the registry {}", dir.display()))
}

/// Opens an existing registry named by `--registry`, `$NT_REGISTRY` or `./nt-registry`: a
/// mistyped path is an error and creates nothing.
pub(crate) fn open_existing(flag: Option<&Path>) -> Result<Registry> {
    let dir = Registry::resolve_dir(flag);
    Registry::open_existing(&dir).with_context(|| format!("opening the registry {}", dir.display()))
}

/// The version a reference names (NAME = production, NAME@V, NAME@latest); a bare name without
/// a production version says how to name the others.
pub(crate) fn resolve_ref(reg: &Registry, model: &str) -> Result<ModelVersion> {
    let (name, sel) = parse_model_ref(model)?;
    match reg.get(&name, sel) {
        Err(e) if e.is_not_found() && !model.contains('@') && !reg.versions(&name)?.is_empty() => {
            Err(crate::exit::UsageError(format!(
                "`{name}` has no production version (a bare name means production): name one, e.g. {name}@latest or {name}@VERSION, or promote one with `nt registry promote {name}@VERSION`"
            ))
            .into())
        }
        other => Ok(other?),
    }
}

/// Runs `nt registry …`.
pub(crate) fn run(args: &RegistryArgs) -> Result<()> {
    let reg = open_existing(args.registry.as_deref())?;
    let json = args.format == RegFormat::Json;
    match &args.command {
        RegistryCommand::List => {
            let list = reg.list()?;
            if json {
                return print_json(
                    &json!({"registry": reg.dir().display().to_string(), "models": list}),
                );
            }
            if list.is_empty() {
                println!("no models registered in {}", reg.dir().display());
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|m| {
                    let latest = reg.get(&m.name, nt_registry::VersionSelector::Latest).ok();
                    vec![
                        m.name.clone(),
                        m.versions.to_string(),
                        m.latest.to_string(),
                        m.production
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "-".into()),
                        latest.as_ref().map(|v| v.kind.clone()).unwrap_or_default(),
                        latest
                            .as_ref()
                            .and_then(skill_text)
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            print_table(
                &["name", "versions", "latest", "production", "kind", "skill"],
                &rows,
            );
        }
        RegistryCommand::Show { model } => {
            let v = resolve_ref(&reg, model)?;
            if json {
                let mut value = serde_json::to_value(&v)?;
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("drift".into(), super::monitor::show_json(&reg, &v)?);
                    obj.insert("traffic".into(), super::traffic::show_json(&reg, &v)?);
                }
                return print_json(&value);
            }
            print_version(&v);
            for line in super::monitor::show_lines(&reg, &v)? {
                println!("  {line}");
            }
            for line in super::traffic::show_lines(&reg, &v)? {
                println!("  {line}");
            }
        }
        RegistryCommand::Promote { model } => {
            let (name, version) = parse_exact_ref(model)?;
            let v = reg.set_stage(&name, version, Stage::Production)?;
            report_stage(&v, json)?;
        }
        RegistryCommand::Archive { model } => {
            let (name, version) = parse_exact_ref(model)?;
            let v = reg.set_stage(&name, version, Stage::Archived)?;
            report_stage(&v, json)?;
        }
        RegistryCommand::Delete { model, force } => {
            let (name, version) = parse_exact_ref(model)?;
            let v = reg.get(&name, nt_registry::VersionSelector::Number(version))?;
            if v.stage == Stage::Production && !force {
                return Err(crate::exit::UsageError(format!(
                    "{} is the production version (servers may be serving it): promote another version or archive it first, or pass --force",
                    v.reference()
                ))
                .into());
            }
            reg.delete(&name, version, *force)?;
            if json {
                return print_json(&json!({"deleted": format!("{name}@{version}")}));
            }
            println!("deleted {name}@{version} (its weights are freed by `nt registry gc`)");
        }
        RegistryCommand::Events { name, limit } => {
            if let Some(n) = name {
                nt_registry::validate_name(n)?;
            }
            let events = reg.events(name.as_deref(), *limit)?;
            if json {
                return print_json(&json!({"events": events}));
            }
            let rows: Vec<Vec<String>> = events
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.at.clone(),
                        match e.version {
                            Some(v) => format!("{}@{v}", e.name),
                            None => e.name.clone(),
                        },
                        e.kind.to_string(),
                        truncate(&e.details.to_string(), 100),
                    ]
                })
                .collect();
            print_table(&["id", "at", "model", "event", "details"], &rows);
        }
        RegistryCommand::Similar { model, k } => {
            let me = resolve_ref(&reg, model)?;
            let near = reg.similar(&me.name, me.version, *k)?;
            if json {
                let rows: Vec<_> = near
                    .iter()
                    .map(|s| {
                        json!({"model": s.model.reference(), "score": s.score,
                                    "kind": s.model.kind, "stage": s.model.stage,
                                    "metrics": s.model.metrics})
                    })
                    .collect();
                return print_json(&json!({"query": me.reference(), "similar": rows}));
            }
            println!(
                "models most similar to {} (cosine of the embeddings):",
                me.reference()
            );
            let rows: Vec<Vec<String>> = near
                .iter()
                .map(|s| {
                    vec![
                        s.model.reference(),
                        format!("{:.4}", s.score),
                        s.model.kind.clone(),
                        format!("L={} H={}", s.model.input_size, s.model.horizon),
                        s.model.stage.to_string(),
                        skill_text(&s.model).unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            print_table(
                &["model", "score", "kind", "window", "stage", "skill"],
                &rows,
            );
        }
        RegistryCommand::Recommend {
            data,
            target,
            time_col,
            fill,
            k,
        } => {
            let series = settings::load_file(data, time_col.clone(), fill, &[])?;
            let targets = settings::resolve_targets(&series, target.as_deref())?;
            let profile = DataProfile::from_series(&series, &targets[0]).with_context(|| {
                format!("profiling column {} of {}", targets[0], data.display())
            })?;
            let recs = reg.recommend(&profile, *k)?;
            if json {
                let rows: Vec<_> = recs
                    .iter()
                    .map(|r| {
                        json!({"model": r.model.reference(), "score": r.score,
                                    "data_similarity": r.data_similarity, "skill": r.skill,
                                    "spec": r.model.spec})
                    })
                    .collect();
                return print_json(&json!({"data": data.display().to_string(),
                                          "target": targets[0], "profile": profile,
                                          "recommendations": rows}));
            }
            if recs.is_empty() {
                println!(
                    "no registered model has a data profile to compare with; register models with `nt train --register NAME`"
                );
                return Ok(());
            }
            println!(
                "configurations of the models trained on the data most similar to {} ({}):",
                data.display(),
                targets[0]
            );
            let rows: Vec<Vec<String>> = recs
                .iter()
                .map(|r| {
                    vec![
                        r.model.reference(),
                        format!("{:.4}", r.score),
                        format!("{:.4}", r.data_similarity),
                        r.skill
                            .map(|s| format!("{:+.3}", s))
                            .unwrap_or_else(|| "-".into()),
                        r.model.kind.clone(),
                        format!("L={} H={}", r.model.input_size, r.model.horizon),
                    ]
                })
                .collect();
            print_table(
                &["model", "score", "data sim", "skill", "kind", "window"],
                &rows,
            );
            if let Some(top) = recs.first() {
                println!("\n{}", recommendation_heading(top));
                println!("{}", serde_json::to_string_pretty(&top.model.spec)?);
            }
        }
        RegistryCommand::Gc => {
            let r = reg.gc()?;
            if json {
                return print_json(&r);
            }
            println!(
                "removed {} unreferenced blobs ({} bytes) and {} stale temporary files; kept {} blobs",
                r.removed_blobs, r.freed_bytes, r.removed_temp_files, r.kept_blobs
            );
        }
        RegistryCommand::Backup { dest } => {
            reg.backup(dest)?;
            if json {
                return print_json(&json!({"backup": dest.display().to_string()}));
            }
            println!(
                "backed up {} to {} (open it with --registry {})",
                reg.dir().display(),
                dest.display(),
                dest.display()
            );
        }
        RegistryCommand::Route {
            name,
            canary,
            shadow,
            no_canary,
            no_shadow,
            clear,
            seed,
        } => {
            let change = super::traffic::RouteChange {
                canary: canary.as_deref(),
                shadow: shadow.as_deref(),
                no_canary: *no_canary,
                no_shadow: *no_shadow,
                clear: *clear,
                seed: *seed,
            };
            super::traffic::route(&reg, name, &change, json)?;
        }
        RegistryCommand::Compare { a, b, loss } => {
            super::traffic::compare(&reg, a, b, *loss, json)?
        }
        RegistryCommand::Rollback { name } => super::traffic::rollback(&reg, name, json)?,
    }
    Ok(())
}

/// What the top recommendation is called: "best" only when its skill against the random walk
/// is known and positive; otherwise what is known, and no more.
fn recommendation_heading(top: &nt_registry::Recommendation) -> String {
    let r = top.model.reference();
    match top.skill {
        Some(s) if s > 0.0 => format!(
            "best configuration ({r}: trained on the most similar data, skill vs random walk {s:+.3}):"
        ),
        Some(s) => format!(
            "closest configuration ({r}: trained on the most similar data, but it did not beat the random walk there, skill {s:+.3}):"
        ),
        None => format!(
            "closest configuration ({r}: trained on the most similar data; its skill against the random walk is unknown, so backtest it before trusting it):"
        ),
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// `s` cut to `max` characters, with `…` when cut (the JSON format keeps everything).
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn skill_text(v: &ModelVersion) -> Option<String> {
    nt_registry::embedding::skill_of(&v.metrics).map(|s| format!("{s:+.3}"))
}

fn report_stage(v: &ModelVersion, json: bool) -> Result<()> {
    if json {
        return print_json(&json!({"model": v.reference(), "stage": v.stage}));
    }
    println!("{} is now {}", v.reference(), v.stage);
    Ok(())
}

fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

fn print_version(v: &ModelVersion) {
    println!("{}", v.reference());
    println!("  stage        {}", v.stage);
    println!("  created      {}", v.created_at);
    println!(
        "  kind         {} (L={}, H={})",
        v.kind, v.input_size, v.horizon
    );
    println!("  targets      {}", v.targets.join(", "));
    if let Some(p) = v.parent {
        println!("  parent       {}@{p}", v.name);
    }
    println!("  weights      sha256 {}", v.weights_sha256);
    if let Some(f) = &v.data_fingerprint {
        println!("  data         sha256 {f}");
    }
    for (k, m) in &v.metrics {
        println!("  metric       {k} = {m}");
    }
    for (k, t) in &v.tags {
        println!("  tag          {k} = {t}");
    }
    if let Some(p) = &v.profile {
        println!(
            "  data profile {} rows, volatility {:.3}, acf1 {:.3}, season {}, seasonal strength {:.3}, trend strength {:.3}",
            p.length,
            p.volatility,
            p.acf[0],
            p.season_period.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            p.seasonal_strength,
            p.trend_strength
        );
    }
}

/// The forecasts of a held-out tail: every step of every window, in time order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Validation {
    /// MAE of the model.
    pub(crate) mae: f64,
    /// MAE of the random walk (the last value before each origin) on the same targets.
    pub(crate) rw_mae: f64,
    /// Point forecasts.
    pub(crate) predictions: Vec<f64>,
    /// Forecast − actual, paired with `predictions`.
    pub(crate) residuals: Vec<f64>,
}

/// The steps each validation forecast covers for a model that forecasts any horizon
/// (classical models), as `nt train --from` scores them.
const ANY_HORIZON_EVAL: usize = 24;

/// The forecasts of `model` over the last `val_rows` rows of `target`: origins every `H` rows
/// inside that tail (`H` = 24 for a model that forecasts any horizon), each forecasting `H`
/// steps from the `L` rows before it, without refitting.
/// `None` when the tail holds no full horizon or the model needs exogenous inputs.
pub(crate) fn validation(
    model: &dyn nt_models::Forecaster,
    series: &TimeSeries,
    target: &str,
    val_rows: usize,
) -> Option<Validation> {
    let x = series.column(target).ok()?;
    let h = model.max_horizon().unwrap_or(ANY_HORIZON_EVAL);
    let (l, n) = (model.min_history(), x.len());
    if h == 0 || val_rows < h || n < val_rows || n - val_rows < l {
        return None;
    }
    if !model.hist_exog().is_empty() || !model.futr_exog().is_empty() {
        return None;
    }
    let origins: Vec<usize> = (n - val_rows..=n - h).step_by(h).collect();
    let windows: Vec<nt_models::WindowInputs<'_>> = origins
        .iter()
        .map(|&o| nt_models::WindowInputs {
            target: &x[o.saturating_sub(model.window().unwrap_or(o))..o],
            hist: Vec::new(),
            futr: Vec::new(),
        })
        .collect();
    let forecasts = model.forecast_batch(&windows, h).ok()?;
    let (mut model_err, mut rw_err) = (0.0, 0.0);
    let (mut predictions, mut residuals) = (Vec::new(), Vec::new());
    for (o, f) in origins.iter().zip(&forecasts) {
        let last = x[o - 1];
        for (j, p) in f.point_values().iter().enumerate().take(h) {
            let actual = x[o + j];
            model_err += (p - actual).abs();
            rw_err += (last - actual).abs();
            predictions.push(*p);
            residuals.push(p - actual);
        }
    }
    let count = residuals.len();
    (count > 0).then(|| Validation {
        mae: model_err / count as f64,
        rw_mae: rw_err / count as f64,
        predictions,
        residuals,
    })
}

/// Share of the rows an in-sample reference takes its residuals from (models whose spec holds
/// no validation tail out: classical fits saw every row).
const IN_SAMPLE_TAIL: f64 = 0.2;

/// The drift reference of a model trained on `series`: the levels and returns of `target`
/// over every row, and the residuals and forecasts of `validation` when given. Without it
/// (classical fits, which saw every row) the residuals come from the last 20% of rows (at
/// least one horizon) and are marked in-sample.
pub(crate) fn reference_profile(
    model: &dyn nt_models::Forecaster,
    series: &TimeSeries,
    target: &str,
    validation: Option<&Validation>,
) -> Result<nt_eval::drift::ReferenceProfile> {
    let levels = series.column(target)?;
    let profile = nt_eval::drift::ReferenceProfile::from_training(target, levels)
        .with_context(|| format!("building the drift reference of column {target}"))?;
    if let Some(v) = validation {
        return Ok(profile.with_validation(&v.predictions, &v.residuals, false)?);
    }
    let h = model.max_horizon().unwrap_or(ANY_HORIZON_EVAL).max(1);
    let tail = ((series.len() as f64 * IN_SAMPLE_TAIL) as usize)
        .max(h)
        .min(series.len().saturating_sub(model.min_history()));
    Ok(match self::validation(model, series, target, tail) {
        Some(v) => profile.with_validation(&v.predictions, &v.residuals, true)?,
        None => profile,
    })
}

/// Registers the model directory `model_dir` as the next version of `name` with `req` (its
/// metrics, tags and drift reference), adding the profile of `target` in `series` and, when
/// `req.reference` is `None`, a drift reference built from the saved model; returns the version.
pub(crate) fn register_dir(
    registry: Option<&Path>,
    name: &str,
    model_dir: &Path,
    series: &TimeSeries,
    target: &str,
    mut req: RegisterRequest,
) -> Result<(PathBuf, ModelVersion)> {
    nt_registry::validate_name(name)?;
    let reg = open(registry)?;
    let profile = DataProfile::from_series(series, target)
        .with_context(|| format!("profiling column {target} for the registry"))?;
    // The drift reference: the caller's, else built from the saved model (its spec's held-out
    // tail, or in-sample residuals for a model that holds none out).
    let reference = match req.reference.take() {
        Some(r) => r,
        None => {
            let model = nt_models::load_dir(model_dir).with_context(|| {
                format!("loading {} for its drift reference", model_dir.display())
            })?;
            super::monitor::reference_for(&*model, series, target)?
        }
    };
    req.profile = Some(profile);
    req.reference = Some(reference);
    // The training run itself, logged before the version it produced becomes visible.
    let manifest = nt_models::read_manifest(model_dir)
        .with_context(|| format!("reading the model directory {}", model_dir.display()))?;
    reg.record_event(
        name,
        None,
        nt_registry::EventKind::Trained,
        json!({"model_dir": model_dir.display().to_string(), "kind": manifest.spec.name(),
               "data_fingerprint": manifest.meta.data_fingerprint,
               "train_rows": manifest.meta.train_rows, "metrics": manifest.meta.metrics}),
    )?;
    let v = reg
        .register(name, model_dir, req)
        .with_context(|| format!("registering {} as {name}", model_dir.display()))?;
    Ok((reg.dir().to_path_buf(), v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_known_positive_skill_is_called_best() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path().join("reg")).unwrap();
        let series = nt_testing::synthetic::random_walk(200, 1.0, 3);
        let out = dir.path().join("m");
        let spec = nt_models::ModelSpec::from_name(
            "naive",
            4,
            &nt_models::NameOptions {
                classical: nt_classical::ClassicalOptions::default(),
                neural_input_size: 8,
            },
        )
        .unwrap();
        let opts = nt_neural::TrainOptions {
            out_dir: Some(out.clone()),
            ..nt_neural::TrainOptions::default()
        };
        nt_models::train(&series, &["y"], &spec, &opts, &mut |_| {}).unwrap();
        let model = reg.register("m", &out, RegisterRequest::default()).unwrap();
        let rec = |skill| nt_registry::Recommendation {
            data_similarity: 0.9,
            skill,
            score: 0.9,
            model: model.clone(),
        };
        assert!(recommendation_heading(&rec(Some(0.1))).starts_with("best configuration"));
        for unknown_or_losing in [None, Some(-0.05), Some(0.0)] {
            let h = recommendation_heading(&rec(unknown_or_losing));
            assert!(h.starts_with("closest configuration"), "{h}");
        }
        assert!(recommendation_heading(&rec(None)).contains("unknown"));
    }
}
