//! The data profile tells one random walk from another: a daily stock is nearer to another daily
//! stock than to FX-like daily data, through the scale-free features of the log returns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use nt_registry::embedding::{cosine, profile_block};
use nt_registry::DataProfile;

const DAY_SECONDS: f64 = 86_400.0;

/// GOOG's daily closes (../shared/data/GOOG.csv), split into two halves: two "stocks" from
/// different years.
fn goog_halves() -> (Vec<f64>, Vec<f64>) {
    let series = nt_data::load(
        &nt_testing::shared_data("GOOG.csv"),
        &nt_data::LoadOptions::default(),
    )
    .unwrap();
    let close = series.column("Close").unwrap();
    let half = close.len() / 2;
    (close[..half].to_vec(), close[half..].to_vec())
}

/// A daily FX-like rate: around 1.1, Gaussian log returns of sd 0.005, no volatility clustering.
fn fx_like(n: usize) -> Vec<f64> {
    let walk = nt_testing::synthetic::random_walk(n, 1.0, 7);
    walk.column("y")
        .unwrap()
        .iter()
        .map(|v| 1.1 * (0.005 * (v - 100.0)).exp())
        .collect()
}

#[test]
fn a_daily_stock_is_nearer_another_daily_stock_than_daily_fx() {
    let (a, b) = goog_halves();
    let fx = fx_like(a.len());
    let profile = |x: &[f64]| DataProfile::from_values(x, Some(DAY_SECONDS)).unwrap();
    let (pa, pb, pf) = (profile(&a), profile(&b), profile(&fx));
    // The returns say what the levels cannot: stock returns are 3-4x as volatile, fat-tailed
    // and clustered; the FX-like ones are Gaussian.
    let (ra, rf) = (pa.returns.unwrap(), pf.returns.unwrap());
    assert!(ra.volatility > 2.0 * rf.volatility, "{ra:?} vs {rf:?}");
    assert!(
        ra.kurtosis > 2.0 && rf.kurtosis.abs() < 1.0,
        "{ra:?} vs {rf:?}"
    );
    let (ba, bb, bf) = (
        profile_block(Some(&pa)),
        profile_block(Some(&pb)),
        profile_block(Some(&pf)),
    );
    let stock_stock = cosine(&ba, &bb);
    let stock_fx = cosine(&ba, &bf);
    assert!(
        stock_stock > stock_fx,
        "stock~stock {stock_stock:.4} should exceed stock~fx {stock_fx:.4}"
    );
    // Without the return features (profiles recorded before they existed) the two cannot be
    // told apart this way: the margin comes from the returns.
    let strip = |p: &DataProfile| {
        let mut p = p.clone();
        p.returns = None;
        profile_block(Some(&p))
    };
    let old_margin = cosine(&strip(&pa), &strip(&pb)) - cosine(&strip(&pa), &strip(&pf));
    eprintln!(
        "stock~stock {stock_stock:.4}, stock~fx {stock_fx:.4}; without returns: {:.4} vs {:.4}",
        cosine(&strip(&pa), &strip(&pb)),
        cosine(&strip(&pa), &strip(&pf))
    );
    assert!(
        stock_stock - stock_fx > old_margin,
        "margin {} with returns vs {old_margin} without",
        stock_stock - stock_fx
    );
}

#[test]
fn return_features_need_positive_values() {
    let x: Vec<f64> = (0..50).map(|i| (i as f64 / 3.0).sin()).collect();
    assert!(DataProfile::from_values(&x, None)
        .unwrap()
        .returns
        .is_none());
    let y: Vec<f64> = (0..50).map(|i| 10.0 + (i as f64 / 3.0).sin()).collect();
    let r = DataProfile::from_values(&y, None).unwrap().returns.unwrap();
    assert!(r.volatility > 0.0 && r.volatility.is_finite());
}
