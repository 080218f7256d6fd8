//! Registry benchmarks: cosine search latency (exact and HNSW) and HNSW recall@10 for 10k
//! vectors of dimension 64 and 768; `NT_BENCH_LARGE=1` adds 100k (exact search only, unless
//! `NT_BENCH_LARGE_HNSW=1` too: building those graphs takes many minutes); and the latency of
//! registering and loading an NHITS with neuralforecast's default size (10.8 MB of weights).
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

use nt_testing::synthetic::uniform_vectors as vectors;

fn search_benches(c: &mut Criterion) {
    let mut sizes = vec![10_000usize];
    if std::env::var_os("NT_BENCH_LARGE").is_some() {
        sizes.push(100_000);
    }
    // Building a 100k graph takes minutes (314 s for 100k x 64 on a loaded 2-core machine).
    let large_hnsw = std::env::var_os("NT_BENCH_LARGE_HNSW").is_some();
    for &n in &sizes {
        for dim in [64usize, 768] {
            let data = vectors(n, dim, 7);
            let queries = vectors(100, dim, 1234);
            let mut g = c.benchmark_group(format!("search_n{n}_d{dim}"));
            g.sample_size(20);
            let exact_index = VectorIndex::build(dim, &data, Vec::new(), usize::MAX);
            let mut i = 0;
            g.bench_function("exact_top10", |b| {
                b.iter(|| {
                    i = (i + 1) % queries.len();
                    black_box(exact_index.search_exact(&queries[i], 10, None, None))
                })
            });
            drop(exact_index);
            if n > 10_000 && !large_hnsw {
                g.finish();
                continue;
            }
            let t = Instant::now();
            let mut index = VectorIndex::build(dim, &data, Vec::new(), 0);
            let build = t.elapsed();
            let exact: Vec<Vec<usize>> = queries
                .iter()
                .map(|q| {
                    index
                        .search_exact(q, 10, None, None)
                        .iter()
                        .map(|h| h.row)
                        .collect()
                })
                .collect();
            eprintln!("n={n} dim={dim}: HNSW build {:.2} s", build.as_secs_f64());
            for ef in [64, 128, 256, 512] {
                index.set_ef_search(ef);
                let t = Instant::now();
                let mut found = 0;
                for (q, ex) in queries.iter().zip(&exact) {
                    let approx = index.search(q, 10, None, None);
                    found += approx.iter().filter(|h| ex.contains(&h.row)).count();
                }
                eprintln!(
                    "  ef_search {ef}: recall@10 {:.3}, {:.0} us/query",
                    found as f64 / (10 * queries.len()) as f64,
                    t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64
                );
            }
            index.set_ef_search(if dim <= 128 {
                nt_registry::index::HNSW_EF_SEARCH
            } else {
                nt_registry::index::HNSW_EF_SEARCH_HIGH_DIM
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
