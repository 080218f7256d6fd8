//! Calibrated (split-conformal) intervals: a calibrated model saves, loads and forecasts the
//! same bits with bands `point ± radius`, refuses levels its calibration cannot bound, and its
//! 80% and 95% intervals cover within ±2 percentage points of nominal over 2,000 windows, for a
//! classical model (the random walk) and a neural one (DLinear).
//!
//! Why ±2 pp: over 2,000 independent windows the coverage's binomial standard error is
//! `sqrt(L(1 − L)/2000)`: 0.89 pp at 80%, 0.49 pp at 95%; the calibration set adds its own,
//! `sqrt(L(1 − L)/(n + 2))` for `n` residuals per step (0.4 pp at 80% with n = 10,000).
//! Together about 1 pp at 80% and 0.6 pp at 95%: ±2 pp is two to three standard errors, wide
//! enough for an exact method, narrow enough to catch a band off by a tenth of its width.
//! The test windows are 8 rows apart with an AR(1) of coefficient 0.6 (its correlation at lag
//! 8 is 0.6⁸ ≈ 0.02), so they are close to independent.
#![allow(clippy::unwrap_used)]

use nt_core::{Column, TimeSeries};
use nt_models::{
    load_dir, train, Forecaster, IntervalSpec, ModelSpec, NameOptions, TrainOptions, WindowInputs,
};

/// A deterministic xorshift generator (no dependency on a random crate's stream).
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Skewed, heavy-tailed noise of mean 0: a Laplace draw half the time, else a centred
    /// exponential (right-skewed).
    fn noise(&mut self) -> f64 {
        let u = self.uniform();
        if self.uniform() < 0.5 {
            if u < 0.5 {
                (2.0 * u).ln()
            } else {
                -(2.0 * (1.0 - u)).ln()
            }
        } else {
            -u.ln() - 1.0
        }
    }
}

/// `n` rows of `10 + 2 sin(2πt/24) + a_t`, `a_t = 0.6 a_{t−1} + e_t` with the skewed noise.
fn series(n: usize, seed: u64) -> TimeSeries {
    let mut rng = Rng(seed);
    let mut a = 0.0;
    let values: Vec<f64> = (0..n)
        .map(|t| {
            a = 0.6 * a + rng.noise();
            10.0 + 2.0 * (2.0 * std::f64::consts::PI * t as f64 / 24.0).sin() + a
        })
        .collect();
    TimeSeries::new(
        (0..n as i64).map(|t| t * 3600).collect(),
        vec![Column {
            name: "y".into(),
            values,
        }],
    )
    .unwrap()
}

fn opts() -> NameOptions {
    NameOptions {
        classical: nt_classical::ClassicalOptions::default(),
        neural_input_size: 48,
    }
}

/// The calibrated version of model `name` at horizon `h` (conformal, 80% and 95%).
fn calibrated(name: &str, h: usize, rows: Option<usize>) -> ModelSpec {
    let mut intervals = IntervalSpec::conformal(vec![0.8, 0.95]);
    intervals.horizon = Some(h);
    intervals.calibration_rows = rows;
    ModelSpec::from_name(name, h, &opts())
        .unwrap()
        .with_intervals(intervals)
        .unwrap()
}

/// Share of the actuals inside the model's interval at `level`, over `windows` origins 8 rows
/// apart starting at row `first`, and the mean width.
fn coverage(
    model: &dyn Forecaster,
    x: &[f64],
    first: usize,
    windows: usize,
    h: usize,
    level: f64,
) -> (f64, f64) {
    let (mut inside, mut points, mut width) = (0usize, 0usize, 0.0);
    for w in 0..windows {
        let o = first + 8 * w;
        let start = model.window().map_or(0, |l| o - l);
        let f = model
            .forecast(
                &WindowInputs {
                    target: &x[start..o],
                    hist: Vec::new(),
                    futr: Vec::new(),
                },
                h,
            )
            .unwrap();
        let (lo, hi) = f.interval(level).unwrap();
        for j in 0..h {
            inside += usize::from(lo[j] <= x[o + j] && x[o + j] <= hi[j]);
            width += hi[j] - lo[j];
            points += 1;
        }
    }
    (inside as f64 / points as f64, width / points as f64)
}

#[test]
fn a_calibrated_model_saves_loads_and_forecasts_point_plus_minus_the_stored_radius() {
    let s = series(400, 7);
    let dir = tempfile::tempdir().unwrap();
    let spec = calibrated("naive", 6, None);
    let t = train(
        &s,
        &["y"],
        &spec,
        &TrainOptions {
            out_dir: Some(dir.path().to_path_buf()),
            ..TrainOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(t.model.spec(), spec);
    assert_eq!(t.model.name(), "naive");
    // Advertised bands: the 80% and 95% intervals' quantiles.
    assert_eq!(t.model.quantile_levels(), vec![0.025, 0.1, 0.9, 0.975]);
    let manifest = nt_models::read_manifest(dir.path()).unwrap();
    let cal = manifest
        .calibration
        .clone()
        .expect("calibration in model.json");
    // Default tail: max(⌈20% of 400⌉, 2·6) = 80 rows; step h has 80 − h + 1 residuals.
    assert_eq!(cal.counts, vec![80, 79, 78, 77, 76, 75]);
    assert_eq!(manifest.spec, spec);
    let loaded = load_dir(dir.path()).unwrap();
    let x = s.column("y").unwrap();
    let input = WindowInputs {
        target: x,
        hist: Vec::new(),
        futr: Vec::new(),
    };
    let (a, b) = (
        t.model.forecast(&input, 6).unwrap(),
        loaded.forecast(&input, 6).unwrap(),
    );
    assert_eq!(a, b, "the loaded model forecasts the same bits");
    // The random walk's point is the last value; each band is it ∓ the stored radius.
    let last = x[x.len() - 1];
    assert_eq!(a.point_values(), &[last; 6]);
    for (i, level) in cal.levels.iter().enumerate() {
        let (lo, hi) = a.interval(*level).unwrap();
        for h in 0..6 {
            assert_eq!(
                (lo[h], hi[h]),
                (last - cal.radius[i][h], last + cal.radius[i][h])
            );
        }
    }
    // A longer horizon than calibrated is refused, naming the horizon.
    let e = loaded.forecast(&input, 7).unwrap_err().to_string();
    assert!(e.contains("horizon") && e.contains('6'), "{e}");
}

#[test]
fn a_level_the_calibration_cannot_bound_is_refused_with_the_windows_it_needs() {
    let s = series(300, 3);
    // 20 calibration rows with H = 6: step h has 21 − h residuals, so step 3 is the first with
    // fewer (18) than the 19 that 95% needs.
    let e = train(
        &s,
        &["y"],
        &calibrated("naive", 6, Some(20)),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("0.95") && e.contains("19") && e.contains("step 3 has 18"),
        "{e}"
    );
}

#[test]
fn random_walk_conformal_intervals_cover_within_two_points_over_2000_windows() {
    // 10,000 calibration rows after 2,000 fitting rows; then 2,000 test windows 8 rows apart,
    // on rows the calibration never saw (the model is given them only as history).
    let (fit, cal, h, windows) = (2_000, 10_000, 4, 2_000);
    let s = series(fit + cal + 8 * windows + h, 11);
    let x = s.column("y").unwrap().to_vec();
    let train_part = s.slice(0..fit + cal);
    let t = train(
        &train_part,
        &["y"],
        &calibrated("naive", h, Some(cal)),
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    for (level, tol) in [(0.8, 0.02), (0.95, 0.02)] {
        let (cov, width) = coverage(&*t.model, &x, fit + cal, windows, h, level);
        eprintln!("naive conformal {level}: coverage {cov:.4}, mean width {width:.3}");
        assert!((cov - level).abs() <= tol, "{level}: coverage {cov}");
    }
}

#[test]
fn dlinear_conformal_intervals_cover_within_two_points_over_2000_windows() {
    // DLinear (input 48, horizon 4) trained 200 steps on 4,000 rows, calibrated on its
    // 10,000-row validation tail; then 2,000 test windows 8 rows apart after it.
    let (train_rows, val, h, windows) = (4_000, 10_000, 4, 2_000);
    let s = series(train_rows + val + 8 * windows + h, 5);
    let x = s.column("y").unwrap().to_vec();
    let mut base = ModelSpec::from_name("dlinear", h, &opts()).unwrap();
    let ModelSpec::Neural(n) = &mut base else {
        panic!("dlinear is neural")
    };
    let tc = n.train_config_mut();
    tc.max_steps = 200;
    tc.val_size = Some(val);
    tc.val_check_steps = 50;
    let spec = base
        .with_intervals(IntervalSpec::conformal(vec![0.8, 0.95]))
        .unwrap();
    let t = train(
        &s.slice(0..train_rows + val),
        &["y"],
        &spec,
        &TrainOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    for (level, tol) in [(0.8, 0.02), (0.95, 0.02)] {
        let (cov, width) = coverage(&*t.model, &x, train_rows + val, windows, h, level);
        eprintln!("dlinear conformal {level}: coverage {cov:.4}, mean width {width:.3}");
        assert!((cov - level).abs() <= tol, "{level}: coverage {cov}");
    }
}

#[test]
fn garch_widths_grow_after_a_volatile_stretch_and_shrink_after_a_calm_one() {
    // A random walk whose steps have scale 1 for 1,500 rows; the random walk calibrated with
    // garch widths on its last 1,000 rows, H = 4.
    let mut rng = Rng(21);
    let mut level = 100.0;
    let mut walk = |n: usize, sd: f64, rng: &mut Rng| -> Vec<f64> {
        (0..n)
            .map(|_| {
                level += sd * rng.noise();
                level
            })
            .collect()
    };
    let calm = walk(1_500, 1.0, &mut rng);
    let s = |v: &[f64]| {
        TimeSeries::new(
            (0..v.len() as i64).map(|t| t * 3600).collect(),
            vec![Column {
                name: "y".into(),
                values: v.to_vec(),
            }],
        )
        .unwrap()
    };
    let mut intervals = IntervalSpec::conformal(vec![0.8, 0.95]);
    intervals.method = nt_models::IntervalMethod::Garch;
    intervals.horizon = Some(4);
    intervals.calibration_rows = Some(1_000);
    let spec = ModelSpec::from_name("naive", 4, &opts())
        .unwrap()
        .with_intervals(intervals)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = train(
        &s(&calm),
        &["y"],
        &spec,
        &TrainOptions {
            out_dir: Some(dir.path().to_path_buf()),
            ..TrainOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    // Then 100 more rows, steps of scale 4 (volatile) or 0.25 (calm).
    let width_after = |sd: f64| {
        let mut rng = Rng(99);
        let mut lvl = *calm.last().unwrap();
        let mut v = calm.clone();
        v.extend((0..100).map(|_| {
            lvl += sd * rng.noise();
            lvl
        }));
        let f = t.model.predict_series(&s(&v), "y", None, 4).unwrap();
        let (lo, hi) = f.interval(0.8).unwrap();
        (hi[0] - lo[0], f)
    };
    let ((base, _), (volatile, fv), (quiet, _)) =
        (width_after(1.0), width_after(4.0), width_after(0.25));
    eprintln!("garch 80% one-step widths: calm-as-calibrated {base:.3}, after volatile {volatile:.3}, after calm {quiet:.3}");
    // A GARCH of the recent 250 residuals: 100 of them 4 times larger at least doubles the width;
    // 100 of them 4 times smaller shrinks it (by a third at least).
    assert!(volatile > 2.0 * base, "{volatile} vs {base}");
    assert!(quiet < 0.67 * base, "{quiet} vs {base}");
    // Widths grow with the step (cumulated variance), and the loaded model gives the same bits.
    let (lo, hi) = fv.interval(0.95).unwrap();
    assert!((1..4).all(|h| hi[h] - lo[h] > hi[h - 1] - lo[h - 1]));
    let loaded = load_dir(dir.path()).unwrap();
    let mut v = calm.clone();
    v.push(101.0);
    assert_eq!(
        loaded.predict_series(&s(&v), "y", None, 4).unwrap(),
        t.model.predict_series(&s(&v), "y", None, 4).unwrap()
    );
}

#[test]
fn a_calibrated_neural_model_warm_starts_and_is_calibrated_again() {
    // DLinear (input 48, horizon 4), 20 steps, calibrated on a 200-row validation tail.
    let s = series(1_000, 13);
    let mut base = ModelSpec::from_name("dlinear", 4, &opts()).unwrap();
    let ModelSpec::Neural(n) = &mut base else {
        panic!("dlinear is neural")
    };
    n.train_config_mut().max_steps = 20;
    n.train_config_mut().val_size = Some(200);
    let spec = base
        .with_intervals(IntervalSpec::conformal(vec![0.8]))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts_in = |d: &std::path::Path| TrainOptions {
        out_dir: Some(d.to_path_buf()),
        ..TrainOptions::default()
    };
    train(&s, &["y"], &spec, &opts_in(dir.path()), &mut |_| {}).unwrap();
    let child = tempfile::tempdir().unwrap();
    let (t, how, child_spec) = nt_models::train_from(
        dir.path(),
        &s,
        &["y"],
        None,
        &opts_in(child.path()),
        &mut |_| {},
    )
    .unwrap();
    assert!(
        matches!(how, nt_models::Retraining::WarmStart { .. }),
        "{how:?}"
    );
    // The parent's spec as stored (its intervals' horizon filled in with the model's).
    assert_eq!(child_spec.base(), spec.base());
    assert!(matches!(child_spec, ModelSpec::Calibrated(_)));
    // The child directory loads as a calibrated model with its own calibration (the last
    // 200 rows: step h has 201 − h residuals).
    let m = nt_models::read_manifest(child.path()).unwrap();
    assert_eq!(m.calibration.unwrap().counts, vec![200, 199, 198, 197]);
    assert_eq!(t.model.quantile_levels(), vec![0.1, 0.9]);
    load_dir(child.path()).unwrap();
}
