//! Warm starts: the optimizer file written with a trained model, continuing from a parent's
//! weights and moments on new data, determinism, and refusing another architecture. On both
//! engines (native, the default models' CPU engine, and candle's autograd).
#![allow(clippy::unwrap_used)]

use nt_core::TimeSeries;
use nt_neural::{
    train, NeuralModel, NeuralSpec, NhitsConfig, OptimizerState, TrainConfig, TrainOptions,
    TrainedModel, WarmStart,
};

/// A tiny NHITS (L=24, H=6, one hidden layer of 16).
fn tiny(max_steps: usize, seed: u64) -> NeuralSpec {
    NeuralSpec::Nhits(NhitsConfig {
        input_size: 24,
        horizon: 6,
        mlp_units: vec![[16, 16]],
        train: TrainConfig {
            max_steps,
            windows_batch_size: 32,
            lr: 3e-3,
            val_check_steps: 10,
            seed,
            ..TrainConfig::default()
        },
        ..NhitsConfig::default()
    })
}

/// The parent's data: a period-12 sine around 10; the new data: the same cycle, later, with
/// other noise.
fn old_data() -> TimeSeries {
    nt_testing::synthetic::seasonal(300, 12, 2.0, 0.1, 3)
}

fn new_data() -> TimeSeries {
    nt_testing::synthetic::seasonal(300, 12, 2.0, 0.1, 11)
}

/// Trains and returns the model with every step's loss.
fn run(spec: &NeuralSpec, series: &TimeSeries, opts: &TrainOptions) -> (TrainedModel, Vec<f64>) {
    let mut losses = Vec::new();
    let t = train(series, &["y"], spec, opts, &mut |p| {
        losses.push(p.train_loss)
    })
    .unwrap();
    (t, losses)
}

fn weights_of(m: &NeuralModel) -> Vec<(String, Vec<f32>)> {
    m.weights()
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            )
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn opts(force_candle: bool, warm: Option<WarmStart>) -> TrainOptions {
    TrainOptions {
        force_candle,
        warm_start: warm,
        ..TrainOptions::default()
    }
}

/// The checks on one engine.
fn warm_start_continues(force_candle: bool) {
    let (parent, parent_losses) = run(&tiny(300, 1), &old_data(), &opts(force_candle, None));
    let engine = &parent.report.engine.backend;
    assert_eq!(engine, if force_candle { "candle" } else { "native" });
    assert_eq!(parent.optimizer.step, 300);
    let parent_final = mean(&parent_losses[parent_losses.len() - 20..]);

    let warm = WarmStart::from_model(&parent.model, Some(parent.optimizer.clone()));
    let (child, child_losses) = run(
        &tiny(30, 1),
        &new_data(),
        &opts(force_candle, Some(warm.clone())),
    );
    let (fresh, fresh_losses) = run(&tiny(30, 1), &new_data(), &opts(force_candle, None));
    let child_first = mean(&child_losses[..3]);
    let fresh_first = mean(&fresh_losses[..3]);
    println!(
        "{engine}: parent final {parent_final:.4}, warm first {child_first:.4}, fresh first {fresh_first:.4}"
    );
    assert!(
        child_first < 2.0 * parent_final,
        "{engine}: warm start's first loss {child_first} vs the parent's final {parent_final}"
    );
    assert!(
        child_first < 0.25 * fresh_first,
        "{engine}: warm start's first loss {child_first} vs a fresh init's {fresh_first}"
    );
    let info = child.report.warm_start.as_ref().unwrap();
    assert!(info.restored_moments && info.parent_optimizer_steps == Some(300));
    // Adam's step count continues from the parent's; the loop (and the schedule) restarted.
    assert_eq!(child.report.steps, 30);
    assert_eq!(child.optimizer.step, 330);
    assert!(fresh.report.warm_start.is_none());

    // Without the parent's moments: another run, said so in the report.
    let no_moments = WarmStart::from_model(&parent.model, None);
    let (cold, _) = run(
        &tiny(30, 1),
        &new_data(),
        &opts(force_candle, Some(no_moments)),
    );
    let info = cold.report.warm_start.as_ref().unwrap();
    assert!(!info.restored_moments);
    assert!(info.note.contains("fresh moments"), "{}", info.note);
    assert_ne!(weights_of(&cold.model), weights_of(&child.model));
    assert_eq!(cold.optimizer.step, 30);

    // Deterministic: the same warm start twice gives the same bits.
    let (again, _) = run(&tiny(30, 1), &new_data(), &opts(force_candle, Some(warm)));
    assert_eq!(weights_of(&again.model), weights_of(&child.model));
}

#[test]
fn warm_start_on_the_native_engine() {
    warm_start_continues(false);
}

#[test]
fn warm_start_on_the_candle_engine() {
    warm_start_continues(true);
}

#[test]
fn optimizer_file_is_saved_checked_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let o = TrainOptions {
        out_dir: Some(out.clone()),
        ..TrainOptions::default()
    };
    let (t, _) = run(&tiny(20, 2), &old_data(), &o);
    let manifest = nt_neural::read_manifest(&out).unwrap();
    assert_eq!(
        manifest.optimizer_file.as_deref(),
        Some("optimizer.safetensors")
    );
    let bytes = std::fs::read(out.join("optimizer.safetensors")).unwrap();
    assert_eq!(
        manifest.optimizer_sha256.as_deref(),
        Some(nt_neural::checkpoint::sha256_hex(&bytes).as_str())
    );
    let read = OptimizerState::read_dir(&out, &candle_core::Device::Cpu)
        .unwrap()
        .unwrap();
    assert_eq!(read, t.optimizer);
    assert_eq!(read.step, 20);
    // Two moments per weight.
    assert_eq!(read.tensors.len(), 2 * t.model.weights().len());
    // Inference loading ignores it; a warm start from the directory reads both.
    nt_neural::load(&out).unwrap();
    let ws = WarmStart::from_dir(&out).unwrap();
    assert!(ws.optimizer.is_some());

    // A damaged optimizer file is refused, naming it.
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    std::fs::write(out.join("optimizer.safetensors"), &bad).unwrap();
    let err = OptimizerState::read_dir(&out, &candle_core::Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("optimizer.safetensors") && err.contains("sha256"),
        "{err}"
    );

    // An older directory without the fields loads, with no optimizer state.
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    let obj = json.as_object_mut().unwrap();
    obj.remove("optimizer_file");
    obj.remove("optimizer_sha256");
    std::fs::write(out.join("model.json"), serde_json::to_vec(&json).unwrap()).unwrap();
    nt_neural::load(&out).unwrap();
    assert!(WarmStart::from_dir(&out).unwrap().optimizer.is_none());
}

#[test]
fn another_architecture_is_refused_naming_the_field() {
    let (parent, _) = run(&tiny(5, 1), &old_data(), &TrainOptions::default());
    let warm = WarmStart::from_model(&parent.model, Some(parent.optimizer.clone()));
    let NeuralSpec::Nhits(mut cfg) = tiny(5, 1) else {
        unreachable!()
    };
    cfg.input_size = 36;
    let err = train(
        &new_data(),
        &["y"],
        &NeuralSpec::Nhits(cfg),
        &opts(false, Some(warm.clone())),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("input_size") && err.contains("24") && err.contains("36"),
        "{err}"
    );
    let other = NeuralSpec::NLinear(nt_neural::NLinearConfig {
        input_size: 24,
        horizon: 6,
        ..Default::default()
    });
    let err = train(
        &new_data(),
        &["y"],
        &other,
        &opts(false, Some(warm)),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("nhits") && err.contains("nlinear"), "{err}");
}
