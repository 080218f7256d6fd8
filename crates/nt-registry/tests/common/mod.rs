//! Fixtures shared by the registry's integration tests: tiny trained NHITS model directories.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};

use nt_core::TimeSeries;
use nt_neural::{train, NeuralSpec, NhitsConfig, TrainConfig, TrainOptions};
use nt_registry::{DataProfile, RegisterRequest};

/// A tiny NHITS (L=24, H=6, one hidden layer of 8 units, 2 steps): a few kB of weights.
pub(crate) fn tiny_spec(seed: u64) -> NeuralSpec {
    NeuralSpec::Nhits(NhitsConfig {
        input_size: 24,
        horizon: 6,
        mlp_units: vec![[8, 8]],
        train: TrainConfig {
            max_steps: 2,
            windows_batch_size: 8,
            val_check_steps: 1,
            seed,
            ..TrainConfig::default()
        },
        ..NhitsConfig::default()
    })
}

/// 300 hourly points of a period-12 sine (amplitude 2, noise 0.1) around 10.
pub(crate) fn seasonal_series() -> TimeSeries {
    nt_testing::synthetic::seasonal(300, 12, 2.0, 0.1, 3)
}

/// Trains the tiny model with `seed` on the seasonal series into `dir/model-<seed>`.
pub(crate) fn tiny_model_dir(dir: &Path, seed: u64) -> PathBuf {
    let out = dir.join(format!("model-{seed}"));
    let opts = TrainOptions {
        out_dir: Some(out.clone()),
        ..TrainOptions::default()
    };
    train(
        &seasonal_series(),
        &["y"],
        &tiny_spec(seed),
        &opts,
        &mut |_| {},
    )
    .unwrap();
    out
}

/// A request carrying the seasonal series' profile.
pub(crate) fn seasonal_request() -> RegisterRequest {
    RegisterRequest {
        profile: Some(DataProfile::from_series(&seasonal_series(), "y").unwrap()),
        ..RegisterRequest::default()
    }
}
