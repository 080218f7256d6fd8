//! `nt bench`: for every neural architecture, the training step (f32 and bf16) at its reference
//! batch, its size, single-window predict latency, raw candle forward and batch throughput at
//! 1/32/1024 windows; and AutoETS fit time: one JSON line per case, medians and p99 over repeated
//! runs, after a first line describing the CPU. Nothing here asserts on time.

use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use nt_classical::EtsConfig;
use nt_core::{Fit, Horizon, Predict, TimeSeries};
use nt_data::synthetic::{sample_market, MarketConfig};
use nt_neural::{NeuralModel, NeuralSpec, Precision, TrainOptions, TrainProgress};
use serde_json::json;

use crate::cli::BenchArgs;

/// Median and 99th percentile (nearest rank) of `samples`, in the samples' unit.
fn median_p99(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let p99 = samples[((n as f64 * 0.99).ceil() as usize).clamp(1, n) - 1];
    (samples[n / 2], p99)
}

/// Times `f` `reps` times after one warm-up call; microseconds.
fn time_us(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    f()?;
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok(median_p99(samples))
}

fn emit(value: serde_json::Value) {
    println!("{value}");
}

/// The threads the compute pools use: `RAYON_NUM_THREADS` when set to a positive number (rayon,
/// candle and gemm read it), else the logical CPUs available to this process.
fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(logical_cpus)
}

fn logical_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The CPU's model name (Linux `/proc/cpuinfo`), when readable.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Resets the process's peak resident set size to its current size (Linux: writing `5` to
/// `/proc/self/clear_refs`); false where that is not available.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `/proc/self/status` field in bytes (`VmHWM`: the peak resident set size, `VmRSS`: the
/// current one), when known.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The architectures `--arch` selects, in catalog order (`all`: every one).
fn selected_archs(arch: &[String]) -> Vec<&'static str> {
    let all = arch.iter().any(|a| a == "all");
    NeuralSpec::NAMES
        .iter()
        .copied()
        .filter(|n| all || arch.iter().any(|a| a == n))
        .collect()
}

/// Per-step times in ms from the progress reports of one run, leaving out the first step (the
/// warm-up: allocations, first-touch of the weights). A report covering several steps (a trainer
/// that reports every N steps) counts as that many steps of its mean time.
#[derive(Debug, Default)]
struct StepTimer {
    last: Option<(usize, f64)>,
    samples_ms: Vec<f64>,
}

impl StepTimer {
    fn record(&mut self, p: &TrainProgress) {
        let t = p.elapsed.as_secs_f64();
        if let Some((step, prev)) = self.last {
            let n = p.step.saturating_sub(step);
            if n > 0 {
                let per = (t - prev) * 1e3 / n as f64;
                self.samples_ms.extend(std::iter::repeat_n(per, n));
            }
        }
        self.last = Some((p.step, t));
    }
}

/// The architecture's defaults at `--input-size`, `--horizon`, with its own reference batch
/// (neuralforecast's `windows_batch_size` for it) unless `--windows-batch-size` is given, and no
/// validation.
fn bench_spec(arch: &str, args: &BenchArgs) -> Result<NeuralSpec> {
    let mut spec = NeuralSpec::from_name(arch, args.input_size, args.horizon)
        .with_context(|| format!("{arch} is not an architecture of the catalog"))?;
    let t = spec.train_config_mut();
    t.val_fraction = 0.0;
    t.early_stop_patience = None;
    if let Some(w) = args.windows_batch_size {
        t.windows_batch_size = w;
    }
    Ok(spec)
}

/// One `{arch}_train_step` case: the architecture's defaults at L, H and the reference batch,
/// `steps + 1` optimizer steps in `precision` (the first untimed), with its peak RSS (and the RSS
/// when the case started: what the process held already, which the peak includes).
fn train_step_case(
    series: &TimeSeries,
    arch: &str,
    precision: Precision,
    args: &BenchArgs,
) -> Result<serde_json::Value> {
    let (l, h) = (args.input_size, args.horizon);
    let mut spec = bench_spec(arch, args)?;
    {
        let t = spec.train_config_mut();
        t.max_steps = args.steps + 1;
        t.val_check_steps = args.steps + 2;
        t.precision = precision;
    }
    let tc = spec.train_config().clone();
    let reset = reset_peak_rss();
    let rss_before = status_bytes("VmRSS");
    let mut timer = StepTimer::default();
    let trained = nt_neural::train(
        series,
        &["close"],
        &spec,
        &TrainOptions::default(),
        &mut |p: &TrainProgress| timer.record(p),
    )
    .with_context(|| {
        format!(
            "training the {arch} benchmark model ({})",
            precision.as_str()
        )
    })?;
    let peak = if reset { status_bytes("VmHWM") } else { None };
    let steps = timer.samples_ms.len();
    let (median, p99) = median_p99(timer.samples_ms);
    let case = json!({
        "case": format!("{arch}_train_step"), "arch": arch, "precision": precision.as_str(),
        "engine": trained.report.engine,
        "input_size": l, "horizon": h,
        "batch_size": tc.batch_size, "windows_batch_size": tc.windows_batch_size,
        "parameters": spec.param_count(),
        "steps": steps, "median_ms": median, "p99_ms": p99, "steps_per_s": 1e3 / median,
        "peak_rss_bytes": peak, "rss_before_bytes": rss_before, "threads": threads(),
    });
    Ok(case)
}

/// Runs `nt bench`.
pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    if args.steps == 0
        || args.reps == 0
        || args.input_size == 0
        || args.horizon == 0
        || args.windows_batch_size == Some(0)
    {
        return Err(crate::exit::UsageError(
            "--steps, --reps, --input-size, --horizon and --windows-batch-size must be at least 1"
                .into(),
        )
        .into());
    }
    if let Some(w) = args
        .windows_batch_size
        .filter(|&w| w > nt_neural::MAX_WINDOWS_BATCH)
    {
        return Err(crate::exit::UsageError(format!(
            "--windows-batch-size {w}: at most {}",
            nt_neural::MAX_WINDOWS_BATCH
        ))
        .into());
    }
    let threads = threads();
    let cpu = nt_neural::cpu::features();
    emit(json!({
        "case": "cpu", "features": cpu.summary(), "f32_path": cpu.f32_path(),
        "model": cpu_model(), "threads": threads, "logical_cpus": logical_cpus(),
        "rayon_num_threads": std::env::var("RAYON_NUM_THREADS").ok(),
        "peak_rss_per_case": reset_peak_rss(),
    }));
    let market = sample_market(&MarketConfig {
        rows: 24 * 7 * 52,
        ..MarketConfig::default()
    })?;
    let close = market.select(&["close"])?;
    let archs = selected_archs(&args.arch);

    // A train step of each architecture's defaults at L, H, in f32 then bf16; each model is
    // dropped before the next case starts, so that its peak RSS is its own.
    for arch in &archs {
        for precision in [Precision::F32, Precision::Bf16] {
            emit(train_step_case(&close, arch, precision, args)?);
        }
    }
    // Then each architecture's inference cases. They do not depend on the weights' values: one
    // training step will do.
    for arch in &archs {
        let mut spec = bench_spec(arch, args)?;
        spec.train_config_mut().max_steps = 1;
        let model = nt_neural::train(
            &close,
            &["close"],
            &spec,
            &TrainOptions::default(),
            &mut |_| {},
        )
        .with_context(|| format!("training the {arch} of the latency cases"))?
        .model;
        latency_cases(arch, &close, model, &spec, args, threads)?;
    }
    if args.arch.iter().any(|a| a == "all") {
        autoets(&close, args)?;
    }
    Ok(())
}

/// An architecture's size (`{arch}_size`), single-window predict through the public API in f32
/// and bf16 (`{arch}_predict_single`), raw candle forward at batch 1 (`{arch}_forward_candle`)
/// and batch throughput through `forecast_windows` at 1, 32 and 1,024 windows (`{arch}_batch`).
fn latency_cases(
    arch: &str,
    close: &TimeSeries,
    model: NeuralModel,
    spec: &NeuralSpec,
    args: &BenchArgs,
    threads: usize,
) -> Result<()> {
    let (l, h) = (args.input_size, args.horizon);
    let parameters: usize = spec
        .weight_shapes()
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum();
    emit(json!({
        "case": format!("{arch}_size"), "arch": arch, "input_size": l, "horizon": h,
        "parameters": parameters, "weights_bytes_f32": parameters * 4,
        "fast_path": model.has_fast_path(),
    }));

    // The rows one forecast reads: L, or L + 1 for recurrent models (neuralforecast's shift).
    let read = model.input_size();
    // Single-window predict through the public Predict API: scaling, window copy, forecast.
    let history: TimeSeries = close.tail(read);
    let horizon = Horizon::new(h)?;
    let (med, p99) = time_us(args.reps, || {
        model.predict(&history, horizon)?;
        Ok(())
    })?;
    emit(json!({
        "case": format!("{arch}_predict_single"), "arch": arch, "input_size": l, "horizon": h,
        "reps": args.reps, "median_us": med, "p99_us": p99, "threads": threads, "precision": "f32",
    }));
    // The same with bfloat16 weights in the single-window path (half the bytes streamed).
    let mut model = model;
    // set_precision applies the run-time rule (bf16 only where it beats f32 on this CPU at this
    // size); the line says what ran and why.
    model.set_precision(Precision::Bf16);
    let ran = model.precision();
    let note = model.precision_note().map(str::to_owned);
    let (med, p99) = time_us(args.reps, || {
        model.predict(&history, horizon)?;
        Ok(())
    })?;
    model.set_precision(Precision::F32);
    emit(json!({
        "case": format!("{arch}_predict_single"), "arch": arch, "input_size": l, "horizon": h,
        "reps": args.reps, "median_us": med, "p99_us": p99, "threads": threads, "precision": "bf16",
        "precision_ran": ran.as_str(), "precision_note": note,
    }));

    // Raw forward of the candle network (no scaling, no fast path), batch 1.
    {
        let net = model.network();
        let x = Tensor::randn(0f32, 1.0, (1, net.packed_input_size()), &Device::Cpu)?;
        let (med, p99) = time_us(args.reps, || {
            net.forward(&x)?;
            Ok(())
        })?;
        emit(json!({
            "case": format!("{arch}_forward_candle"), "arch": arch, "batch": 1, "reps": args.reps,
            "median_us": med, "p99_us": p99, "threads": threads,
        }));
    }

    // Batch throughput through forecast_windows.
    let values = close.column("close")?;
    for batch in [1usize, 32, 1024] {
        let windows: Vec<&[f64]> = (0..batch)
            .map(|i| {
                let end = values.len() - (i % (values.len() - read));
                &values[end - read..end]
            })
            .collect();
        let reps = (args.reps / batch.max(1)).clamp(3, args.reps);
        let (med, p99) = time_us(reps, || {
            model.forecast_windows(&windows, h)?;
            Ok(())
        })?;
        emit(json!({
            "case": format!("{arch}_batch"), "arch": arch, "batch": batch, "reps": reps,
            "median_ms": med / 1e3,
            "p99_ms": p99 / 1e3, "windows_per_s": batch as f64 / (med / 1e6), "threads": threads,
        }));
    }

    Ok(())
}

/// AutoETS with a daily season on 1,344 hourly points (augurs' measured case in STACK.md).
fn autoets(close: &TimeSeries, args: &BenchArgs) -> Result<()> {
    let ets_data = close.tail(1344);
    let ets = EtsConfig {
        season_length: 24,
        ..EtsConfig::default()
    };
    let ets_reps = (args.reps / 50).max(3);
    let (med, p99) = time_us(ets_reps, || {
        let fitted = ets.fit(&ets_data, "close")?;
        fitted.predict(&ets_data, Horizon::new(24)?)?;
        Ok(())
    })?;
    emit(json!({
        "case": "autoets_fit_predict", "rows": 1344, "season": 24, "reps": ets_reps,
        "median_ms": med / 1e3, "p99_ms": p99 / 1e3,
    }));

    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median_p99(v), (51.0, 99.0));
        assert_eq!(median_p99(vec![5.0]), (5.0, 5.0));
        assert!(median_p99(Vec::new()).0.is_nan());
    }
}
