//! Registry benchmarks: cosine search latency (exact and HNSW) and HNSW recall@10 for 10k
//! vectors of dimension 64 and 768 (100k with `NT_BENCH_LARGE=1`: building those graphs takes
//! minutes), and the latency of registering and loading a small NHITS.
//!
//! Vectors are uniform in [-0.5, 0.5]^d from a fixed-seed LCG, 100 fixed queries; recall@10 is
//! the share of the exact top-10 that the HNSW search returns, printed before each group.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use nt_neural::{train, NeuralSpec, NhitsConfig, TrainConfig, TrainOptions};
use nt_registry::index::VectorIndex;
use nt_registry::{RegisterRequest, Registry};

fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            (0..dim)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
                })
                .collect()
        })
        .collect()
}

fn search_benches(c: &mut Criterion) {
    let mut sizes = vec![10_000usize];
    if std::env::var_os("NT_BENCH_LARGE").is_some() {
        sizes.push(100_000);
    }
    for &n in &sizes {
        for dim in [64usize, 768] {
            let data = vectors(n, dim, 7);
            let queries = vectors(100, dim, 1234);
            let t = Instant::now();
            let index = VectorIndex::build(dim, &data, Vec::new(), 0);
            let build = t.elapsed();
            let mut found = 0;
            for q in &queries {
                let exact: Vec<usize> = index
                    .search_exact(q, 10, None, None)
                    .iter()
                    .map(|h| h.row)
                    .collect();
                let approx = index.search(q, 10, None, None);
                found += approx.iter().filter(|h| exact.contains(&h.row)).count();
            }
            eprintln!(
                "n={n} dim={dim}: HNSW build {:.2} s, recall@10 {:.3}",
                build.as_secs_f64(),
                found as f64 / (10 * queries.len()) as f64
            );
            let mut g = c.benchmark_group(format!("search_n{n}_d{dim}"));
            g.sample_size(20);
            let mut i = 0;
            g.bench_function("exact_top10", |b| {
                b.iter(|| {
                    i = (i + 1) % queries.len();
                    black_box(index.search_exact(&queries[i], 10, None, None))
                })
            });
            g.bench_function("hnsw_top10", |b| {
                b.iter(|| {
                    i = (i + 1) % queries.len();
                    black_box(index.search(&queries[i], 10, None, None))
                })
            });
            g.finish();
        }
    }
}

fn register_load_benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let model_dir = tmp.path().join("model");
    let spec = NeuralSpec::Nhits(NhitsConfig {
        input_size: 120,
        horizon: 24,
        train: TrainConfig {
            max_steps: 1,
            windows_batch_size: 8,
            ..TrainConfig::default()
        },
        ..NhitsConfig::default()
    });
    let series = nt_testing::synthetic::seasonal(600, 24, 2.0, 0.1, 3);
    let opts = TrainOptions {
        out_dir: Some(model_dir.clone()),
        ..TrainOptions::default()
    };
    train(&series, &["y"], &spec, &opts, &mut |_| {}).unwrap();
    let weights = std::fs::metadata(model_dir.join("weights.safetensors"))
        .unwrap()
        .len();
    eprintln!("register/load: NHITS L=120 H=24 (default 3x512 MLPs), weights {weights} bytes");
    let reg = Registry::open(tmp.path().join("reg")).unwrap();
    let mut g = c.benchmark_group("registry");
    g.sample_size(20);
    g.bench_function("register_nhits", |b| {
        b.iter(|| {
            black_box(
                reg.register("bench", &model_dir, RegisterRequest::default())
                    .unwrap(),
            )
        })
    });
    g.bench_function("load_nhits_verified", |b| {
        b.iter(|| black_box(reg.load("bench", 1).unwrap()))
    });
    g.bench_function("generation", |b| {
        b.iter(|| black_box(reg.generation().unwrap()))
    });
    g.finish();
}

criterion_group!(benches, search_benches, register_load_benches);
criterion_main!(benches);
