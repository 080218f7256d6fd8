//! `nt bench`: latency, throughput, training speed and size of the default NHITS (and of AutoETS),
//! one JSON line per case, medians and p99 over repeated runs. Nothing here asserts on time.

use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};
use nt_classical::EtsConfig;
use nt_core::{Fit, Horizon, Predict, TimeSeries};
use nt_data::synthetic::{sample_market, MarketConfig};
use nt_neural::{NeuralSpec, NhitsConfig, Precision, TrainOptions, TrainProgress};
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

/// Runs `nt bench`.
pub(crate) fn run(args: &BenchArgs) -> Result<()> {
    if args.steps == 0 || args.reps == 0 || args.input_size == 0 || args.horizon == 0 {
        return Err(crate::exit::UsageError(
            "--steps, --reps, --input-size and --horizon must be at least 1".into(),
        )
        .into());
    }
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    let market = sample_market(&MarketConfig {
        rows: 24 * 7 * 52,
        ..MarketConfig::default()
    })?;
    let close = market.select(&["close"])?;
    let (l, h) = (args.input_size, args.horizon);

    // A default-size NHITS (neuralforecast's defaults at L, H), trained for the timed steps.
    let cfg = NhitsConfig {
        input_size: l,
        horizon: h,
        ..NhitsConfig::default()
    };
    let mut train_cfg = cfg.clone();
    train_cfg.train.max_steps = args.steps + 1;
    train_cfg.train.val_check_steps = args.steps + 1;
    let spec = NeuralSpec::Nhits(train_cfg);
    let mut step_times: Vec<f64> = Vec::new();
    let mut last = None;
    let trained = nt_neural::train(
        &close,
        &["close"],
        &spec,
        &TrainOptions::default(),
        &mut |p: &TrainProgress| {
            if let Some(prev) = last {
                step_times.push((p.elapsed.as_secs_f64() - prev) * 1e3);
            }
            last = Some(p.elapsed.as_secs_f64());
        },
    )
    .context("training the benchmark model")?;
    let (step_ms, step_p99) = median_p99(step_times.clone());
    emit(json!({
        "case": "nhits_train_step", "input_size": l, "horizon": h,
        "batch_size": cfg.train.batch_size, "windows_batch_size": cfg.train.windows_batch_size,
        "steps": step_times.len(), "median_ms": step_ms, "p99_ms": step_p99,
        "steps_per_s": 1e3 / step_ms, "threads": threads,
    }));
    let model = trained.model;
    let parameters: usize = spec
        .weight_shapes()
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum();
    emit(json!({
        "case": "nhits_size", "input_size": l, "horizon": h, "parameters": parameters,
        "weights_bytes_f32": parameters * 4,
    }));

    // Single-window predict through the public Predict API: scaling, window copy, forecast.
    let history: TimeSeries = close.tail(l);
    let horizon = Horizon::new(h)?;
    let (med, p99) = time_us(args.reps, || {
        model.predict(&history, horizon)?;
        Ok(())
    })?;
    emit(json!({
        "case": "nhits_predict_single", "input_size": l, "horizon": h, "reps": args.reps,
        "median_us": med, "p99_us": p99, "threads": threads, "precision": "f32",
    }));
    // The same with bfloat16 weights in the single-window path (half the bytes streamed).
    let mut model = model;
    model.set_precision(Precision::Bf16);
    let (med, p99) = time_us(args.reps, || {
        model.predict(&history, horizon)?;
        Ok(())
    })?;
    model.set_precision(Precision::F32);
    emit(json!({
        "case": "nhits_predict_single", "input_size": l, "horizon": h, "reps": args.reps,
        "median_us": med, "p99_us": p99, "threads": threads, "precision": "bf16",
    }));

    // Raw forward of the candle network (no scaling, no fast path), batch 1.
    {
        let net = model.network();
        let x = Tensor::randn(0f32, 1.0, (1, l), &Device::Cpu)?;
        let (med, p99) = time_us(args.reps, || {
            net.forward(&x)?;
            Ok(())
        })?;
        emit(json!({
            "case": "nhits_forward_candle", "batch": 1, "reps": args.reps,
            "median_us": med, "p99_us": p99, "threads": threads,
        }));
    }

    // Batch throughput through forecast_windows.
    let values = close.column("close")?;
    for batch in [1usize, 32, 1024] {
        let windows: Vec<&[f64]> = (0..batch)
            .map(|i| {
                let end = values.len() - (i % (values.len() - l));
                &values[end - l..end]
            })
            .collect();
        let reps = (args.reps / batch.max(1)).clamp(3, args.reps);
        let (med, p99) = time_us(reps, || {
            model.forecast_windows(&windows, h)?;
            Ok(())
        })?;
        emit(json!({
            "case": "nhits_batch", "batch": batch, "reps": reps, "median_ms": med / 1e3,
            "p99_ms": p99 / 1e3, "windows_per_s": batch as f64 / (med / 1e6), "threads": threads,
        }));
    }

    // AutoETS with a daily season on 1,344 hourly points (augurs' measured case in STACK.md).
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
