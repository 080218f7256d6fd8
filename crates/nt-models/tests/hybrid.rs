//! The MSTL + neural hybrid: trains, saves and loads with the same forecast bits (one payload
//! file beside `model.json`), batches with the bits of single forecasts, forecasts exactly the
//! neural forecast of the adjusted window plus the seasonal forecast, and reads only the last
//! `window` rows of a history (nothing before them, nothing it is not given).
#![allow(clippy::unwrap_used)]

use nt_core::{Column, TimeSeries};
use nt_models::hybrid::{decompose, HybridSpec};
use nt_models::{
    from_parts, load_dir, read_manifest, train, Forecaster, HybridModel, ModelSpec, TrainOptions,
    WindowInputs,
};

/// Rows of the synthetic series: 6 weeks of hours.
const ROWS: usize = 6 * 168;
/// Steps forecast.
const HORIZON: usize = 12;

/// `10 + 0.002 t + 2 sin(2πt/24) + cos(2πt/168) + 0.2 e_t`, `e_t` uniform in [−1, 1) from a
/// fixed xorshift stream: trend + daily + weekly seasonality + noise, hourly timestamps.
fn series(n: usize) -> TimeSeries {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let tau = std::f64::consts::TAU;
    let values = (0..n)
        .map(|t| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let e = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            let t = t as f64;
            10.0 + 0.002 * t + 2.0 * (tau * t / 24.0).sin() + (tau * t / 168.0).cos() + 0.2 * e
        })
        .collect();
    TimeSeries::new(
        (0..n as i64).map(|t| t * 3_600_000).collect(),
        vec![Column {
            name: "y".into(),
            values,
        }],
    )
    .unwrap()
}

/// A hybrid of an NHITS with a 48-row input, trained 10 steps (seed 1), quantile loss so the
/// bands are exercised.
fn spec() -> ModelSpec {
    serde_json::from_value(serde_json::json!({
        "model": "hybrid",
        "decompose": {"mstl": {"seasons": [24, 168]}},
        "neural": {"model": "nhits", "input_size": 48, "horizon": HORIZON,
            "train": {"max_steps": 10, "seed": 1, "loss": {"quantile": [0.1, 0.5, 0.9]}}}
    }))
    .unwrap()
}

fn trained(out_dir: Option<std::path::PathBuf>) -> Box<dyn Forecaster> {
    let s = series(ROWS);
    let opts = TrainOptions {
        out_dir,
        ..TrainOptions::default()
    };
    train(&s, &["y"], &spec(), &opts, &mut |_| {})
        .unwrap()
        .model
}

#[test]
fn the_hybrid_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<HybridModel>();
    check::<HybridSpec>();
}

#[test]
fn saved_and_loaded_it_forecasts_the_same_bits_from_one_payload_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(Some(dir.path().to_path_buf()));
    let s = series(ROWS);
    let y = s.column("y").unwrap();
    let input = WindowInputs::target(y);
    let before = model.forecast(&input, HORIZON).unwrap();
    // Three quantile bands: the neural model's, shifted.
    assert_eq!(before.quantiles().len(), 3);
    let manifest = read_manifest(dir.path()).unwrap();
    assert!(
        matches!(manifest.spec, ModelSpec::Hybrid(_)),
        "{:?}",
        manifest.spec
    );
    assert_eq!(manifest.weights_file, "weights.safetensors");
    let loaded = load_dir(dir.path()).unwrap();
    assert_eq!(loaded.name(), "hybrid");
    assert_eq!(loaded.forecast(&input, HORIZON).unwrap(), before);
    // What a registry calls with the manifest and the one blob it stores.
    let payload = std::fs::read(dir.path().join(&manifest.weights_file)).unwrap();
    let rebuilt = from_parts(&manifest, &payload).unwrap();
    assert_eq!(rebuilt.forecast(&input, HORIZON).unwrap(), before);
    // Saved again by the loaded model: the same spec and weights.
    let again = tempfile::tempdir().unwrap();
    loaded.save(again.path()).unwrap();
    assert_eq!(
        load_dir(again.path())
            .unwrap()
            .forecast(&input, HORIZON)
            .unwrap(),
        before
    );
    assert_eq!(read_manifest(again.path()).unwrap().spec, manifest.spec);
}

#[test]
fn a_forecast_is_the_neural_forecast_of_the_adjusted_window_plus_the_seasonal_forecast() {
    let model = trained(None);
    let s = series(ROWS);
    let y = s.column("y").unwrap();
    let ModelSpec::Hybrid(h) = model.spec() else {
        panic!("not a hybrid")
    };
    // Window: max(48, 4 cycles × 168) = 672 rows.
    assert_eq!(model.window(), Some(672));
    assert_eq!(model.min_history(), 672);
    let d = decompose(&y[y.len() - 672..], &[24, 168]).unwrap();
    let seasonal = d.seasonal_forecast(&[24, 168], HORIZON);
    // The neural part alone, loaded from the same weights through a directory.
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let mut manifest = read_manifest(dir.path()).unwrap();
    manifest.spec = ModelSpec::Neural(h.neural.clone());
    let payload = std::fs::read(dir.path().join(&manifest.weights_file)).unwrap();
    let neural = from_parts(&manifest, &payload).unwrap();
    let n = neural
        .forecast(&WindowInputs::target(&d.adjusted), HORIZON)
        .unwrap();
    let f = model.forecast(&WindowInputs::target(y), HORIZON).unwrap();
    #[allow(clippy::needless_range_loop)] // `i` indexes the point, the bands and the seasonal part
    for i in 0..HORIZON {
        assert_eq!(
            f.point_values()[i],
            n.point_values()[i] + seasonal[i],
            "step {i}"
        );
        for (b, nb) in f.quantiles().iter().zip(n.quantiles()) {
            assert_eq!(
                b.values[i],
                nb.values[i] + seasonal[i],
                "band {} step {i}",
                b.q
            );
        }
    }
}

#[test]
fn only_the_last_window_rows_matter_and_batches_have_single_bits() {
    let model = trained(None);
    let y = series(ROWS + 100).column("y").unwrap().to_vec();
    let base = model
        .forecast(&WindowInputs::target(&y[..ROWS]), HORIZON)
        .unwrap();
    // Rows before the window changed by +1000: the same forecast.
    let mut earlier = y[..ROWS].to_vec();
    for v in &mut earlier[..ROWS - 672] {
        *v += 1000.0;
    }
    let f = model
        .forecast(&WindowInputs::target(&earlier), HORIZON)
        .unwrap();
    assert_eq!(f, base);
    // A row inside the window changed: another forecast (the comparison above can fail).
    let mut inside = y[..ROWS].to_vec();
    inside[ROWS - 1] += 5.0;
    let g = model
        .forecast(&WindowInputs::target(&inside), HORIZON)
        .unwrap();
    assert_ne!(g.point_values(), base.point_values());
    // A batch of windows ending at successive rows: each has the bits it gets alone.
    let ends: Vec<usize> = (ROWS..ROWS + 100).step_by(9).collect();
    let inputs: Vec<WindowInputs<'_>> = ends
        .iter()
        .map(|&e| WindowInputs::target(&y[..e]))
        .collect();
    let batch = model.forecast_batch(&inputs, HORIZON).unwrap();
    for (input, b) in inputs.iter().zip(&batch) {
        assert_eq!(&model.forecast(input, HORIZON).unwrap(), b);
    }
    // Fewer rows than the window, or a longer horizon than the neural model's: refused.
    let e = model
        .forecast(&WindowInputs::target(&y[..671]), HORIZON)
        .unwrap_err()
        .to_string();
    assert!(e.contains("672"), "{e}");
    assert!(model
        .forecast(&WindowInputs::target(&y), HORIZON + 1)
        .is_err());
}

#[test]
fn a_too_short_training_series_is_refused_before_training() {
    // 300 rows hold fewer than two weekly cycles (336).
    let e = train(
        &series(300),
        &["y"],
        &spec(),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("336"), "{e}");
}
