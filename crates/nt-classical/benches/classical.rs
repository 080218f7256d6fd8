//! Fit and predict costs of the classical models on 1,344 hourly points (ETTh1 `OT` rows
//! 0..1344 when ../shared/data/ETTh1.csv exists, a seeded synthetic hourly series otherwise).
//!
//! Run: `cargo bench -p nt-classical --bench classical`.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use nt_classical::{ElasticNetConfig, EtsConfig, MstlConfig, SeasonalNaiveConfig};
use nt_core::{Column, Fit, Horizon, Predict, TimeSeries};

const N: usize = 1344;

fn data() -> TimeSeries {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ETTh1.csv");
    let values: Vec<f64> = match std::fs::read_to_string(&path) {
        Ok(text) => text
            .lines()
            .skip(1)
            .take(N)
            .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
            .collect(),
        Err(_) => {
            eprintln!("{} not found: using a synthetic series", path.display());
            let s = nt_testing::synthetic::seasonal(N, 24, 3.0, 0.5, 7);
            s.column("y").unwrap().iter().map(|v| v + 10.0).collect()
        }
    };
    let timestamps = (0..N as i64).map(|i| i * 3_600_000).collect();
    TimeSeries::new(
        timestamps,
        vec![Column {
            name: "OT".into(),
            values,
        }],
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let series = data();
    let h = Horizon::new(24).unwrap();
    let mut group = c.benchmark_group("classical_1344");
    group.sample_size(10);
    let ets24 = EtsConfig {
        season_length: 24,
        ..EtsConfig::default()
    };
    group.bench_function("ets_zzz_season24_fit_predict", |b| {
        b.iter(|| {
            ets24
                .fit(black_box(&series), "OT")
                .unwrap()
                .predict(&series, h)
                .unwrap()
        })
    });
    let ets1 = EtsConfig::default();
    group.bench_function("ets_zzz_nonseasonal_fit_predict", |b| {
        b.iter(|| {
            ets1.fit(black_box(&series), "OT")
                .unwrap()
                .predict(&series, h)
                .unwrap()
        })
    });
    let mstl = MstlConfig::default();
    group.bench_function("mstl24_ets_zzn_fit_predict", |b| {
        b.iter(|| {
            mstl.fit(black_box(&series), "OT")
                .unwrap()
                .predict(&series, h)
                .unwrap()
        })
    });
    let enet = ElasticNetConfig::default();
    group.bench_function("elasticnet_48x24_fit", |b| {
        b.iter(|| enet.fit(black_box(&series), "OT").unwrap())
    });
    let fitted_ets = ets24.fit(&series, "OT").unwrap();
    group.bench_function("ets_season24_predict_only", |b| {
        b.iter(|| fitted_ets.predict(black_box(&series), h).unwrap())
    });
    let fitted_mstl = mstl.fit(&series, "OT").unwrap();
    group.bench_function("mstl24_predict_only", |b| {
        b.iter(|| fitted_mstl.predict(black_box(&series), h).unwrap())
    });
    let snaive = SeasonalNaiveConfig::default().fit(&series, "OT").unwrap();
    group.bench_function("seasonal_naive_predict", |b| {
        b.iter(|| snaive.predict(black_box(&series), h).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
