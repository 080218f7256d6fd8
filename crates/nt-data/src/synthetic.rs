//! A synthetic hourly market with the features real prices have, for demos and tests without
//! downloads: regime switching, volatility clustering, intraday and weekly seasonality, jumps.
//!
//! The model, per hour `t` (UTC):
//! - a regime (bull, bear, sideways) follows a Markov chain that stays put with probability
//!   [`MarketConfig::regime_persistence`] and otherwise moves to one of the other two at random;
//!   it sets the hourly log drift ([`MarketConfig::drift`]);
//! - the shock variance follows GARCH(1,1): `h_t = ω + α ε²_{t-1} + β h_{t-1}` with
//!   `ω = σ² (1 - α - β)`, so the long-run hourly volatility is [`MarketConfig::volatility`];
//! - the shock `ε_t = sqrt(h_t) z_t` (z standard normal) is multiplied by an intraday U-shape
//!   (busier around the hours of the day's open and close, 00:00 and 23:00 UTC, quieter at
//!   midday) and a weekend factor;
//! - jumps arrive as a Poisson process (Bernoulli per hour with probability
//!   [`MarketConfig::jump_rate`]) with normal sizes of scale [`MarketConfig::jump_size`];
//! - the close is `exp(walk_t + A sin(2π (hour + phase) / 24))`: a random walk plus a mild
//!   periodic intraday component of amplitude A ([`MarketConfig::intraday_amplitude`]);
//! - open = previous close; high and low extend beyond open and close by half-normal amounts
//!   scaled with the hour's volatility; volume is log-normal around a U-shaped intraday profile,
//!   lower at weekends and higher on large moves.

use nt_core::{Column, TimeSeries};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// A market regime: which drift applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regime {
    /// Positive drift.
    Bull,
    /// Negative drift.
    Bear,
    /// No drift.
    Sideways,
}

impl Regime {
    const ALL: [Regime; 3] = [Regime::Bull, Regime::Bear, Regime::Sideways];

    fn index(self) -> usize {
        match self {
            Regime::Bull => 0,
            Regime::Bear => 1,
            Regime::Sideways => 2,
        }
    }
}

/// Parameters of [`sample_market`]. Every field has a default (serde too); [`validate`]
/// (called by `sample_market`) gives the ranges.
///
/// [`validate`]: MarketConfig::validate
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MarketConfig {
    /// Seed of the random generator: same config ⇒ same series. Default 42.
    pub seed: u64,
    /// Number of hourly rows. Default 24·7·52 = 8736 (about one year); at most 10^8.
    pub rows: usize,
    /// Timestamp of the first row, unix ms UTC, a whole hour. Default 2024-01-01T00:00:00Z.
    pub start_ms: i64,
    /// Price of the first open (> 0). Default 100.
    pub start_price: f64,
    /// Long-run hourly volatility σ of log returns (> 0, < 0.2). Default 0.004 (≈ 37% a year).
    pub volatility: f64,
    /// GARCH α, reaction to the last shock (≥ 0). Default 0.06.
    pub garch_alpha: f64,
    /// GARCH β, persistence of variance (≥ 0, α + β < 1). Default 0.92.
    pub garch_beta: f64,
    /// Hourly log drift in the bull, bear and sideways regimes. Default [2e-4, -2e-4, 0].
    pub drift: [f64; 3],
    /// Probability of staying in the current regime each hour ([0, 1]). Default 0.997 (mean
    /// regime length ≈ 2 weeks).
    pub regime_persistence: f64,
    /// Probability of a jump in any hour ([0, 1]). Default 0.002 (≈ 17 a year).
    pub jump_rate: f64,
    /// Standard deviation of a jump's log size (≥ 0). Default 0.03.
    pub jump_size: f64,
    /// Amplitude of the periodic intraday component of the log price (≥ 0, < 0.5). Default
    /// 0.002, about half an hour's volatility: visible to a seasonal model, not dominant.
    pub intraday_amplitude: f64,
    /// Mean hourly volume at the quietest weekday hour (> 0). Default 10,000.
    pub base_volume: f64,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            seed: 42,
            rows: 24 * 7 * 52,
            start_ms: 1_704_067_200_000,
            start_price: 100.0,
            volatility: 0.004,
            garch_alpha: 0.06,
            garch_beta: 0.92,
            drift: [2e-4, -2e-4, 0.0],
            regime_persistence: 0.997,
            jump_rate: 0.002,
            jump_size: 0.03,
            intraday_amplitude: 0.002,
            base_volume: 10_000.0,
        }
    }
}

impl MarketConfig {
    /// Checks every field's range (see each field); an [`Error::InvalidParameter`] names the
    /// first one out of range.
    pub fn validate(&self) -> Result<()> {
        let check = |ok: bool, name: &str, value: f64, expected: &str| {
            if ok {
                Ok(())
            } else {
                Err(Error::invalid(name, value, expected))
            }
        };
        let finite = |v: f64| v.is_finite();
        check(
            self.rows <= 100_000_000,
            "rows",
            self.rows as f64,
            "at most 10^8",
        )?;
        let span = (self.rows as i64).checked_mul(HOUR_MS);
        let end_ok = span.and_then(|s| self.start_ms.checked_add(s)).is_some();
        check(
            end_ok,
            "start_ms",
            self.start_ms as f64,
            "a start whose last row fits in i64 ms",
        )?;
        check(
            self.start_ms.rem_euclid(HOUR_MS) == 0,
            "start_ms",
            self.start_ms as f64,
            "a whole hour (a multiple of 3,600,000 ms)",
        )?;
        check(
            finite(self.start_price) && self.start_price > 0.0,
            "start_price",
            self.start_price,
            "a finite price > 0",
        )?;
        check(
            finite(self.volatility) && self.volatility > 0.0 && self.volatility < 0.2,
            "volatility",
            self.volatility,
            "an hourly volatility in (0, 0.2)",
        )?;
        check(
            finite(self.garch_alpha) && self.garch_alpha >= 0.0,
            "garch_alpha",
            self.garch_alpha,
            "alpha >= 0",
        )?;
        check(
            finite(self.garch_beta) && self.garch_beta >= 0.0,
            "garch_beta",
            self.garch_beta,
            "beta >= 0",
        )?;
        check(
            self.garch_alpha + self.garch_beta < 1.0,
            "garch_alpha + garch_beta",
            self.garch_alpha + self.garch_beta,
            "a sum below 1 (stationary variance)",
        )?;
        for d in self.drift {
            check(
                finite(d) && d.abs() < 0.1,
                "drift",
                d,
                "hourly drifts with |d| < 0.1",
            )?;
        }
        let prob = |v: f64| finite(v) && (0.0..=1.0).contains(&v);
        check(
            prob(self.regime_persistence),
            "regime_persistence",
            self.regime_persistence,
            "a probability in [0, 1]",
        )?;
        check(
            prob(self.jump_rate),
            "jump_rate",
            self.jump_rate,
            "a probability in [0, 1]",
        )?;
        check(
            finite(self.jump_size) && self.jump_size >= 0.0 && self.jump_size < 1.0,
            "jump_size",
            self.jump_size,
            "a size in [0, 1)",
        )?;
        check(
            finite(self.intraday_amplitude) && (0.0..0.5).contains(&self.intraday_amplitude),
            "intraday_amplitude",
            self.intraday_amplitude,
            "an amplitude in [0, 0.5)",
        )?;
        check(
            finite(self.base_volume) && self.base_volume > 0.0,
            "base_volume",
            self.base_volume,
            "a volume > 0",
        )?;
        Ok(())
    }
}

/// Intraday U-shape in [0.7, 1.3] with minimum near 11:30 UTC: the volatility multiplier.
fn intraday_vol(hour: u32) -> f64 {
    let u = (f64::from(hour) - 11.5) / 11.5;
    0.7 + 0.6 * u * u
}

/// Intraday U-shape for volume, steeper than volatility's: 1 at midday, 3 at the edges.
fn intraday_volume(hour: u32) -> f64 {
    let u = (f64::from(hour) - 11.5) / 11.5;
    1.0 + 2.0 * u * u
}

/// UTC hour of day and whether the day is Saturday or Sunday.
fn clock(ms: i64) -> (u32, bool) {
    let hour = (ms.rem_euclid(DAY_MS) / HOUR_MS) as u32;
    // 1970-01-01 was a Thursday: day 0 → Thursday, so day + 3 mod 7 is Monday-based.
    let dow = (ms.div_euclid(DAY_MS) + 3).rem_euclid(7);
    (hour, dow >= 5)
}

/// A simulated market: the series and the regime of each row.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketPath {
    /// Columns `open, high, low, close, volume`, hourly timestamps from `start_ms`.
    pub series: TimeSeries,
    /// The regime in force at each row.
    pub regimes: Vec<Regime>,
}

/// Samples an hourly OHLCV series (columns `open`, `high`, `low`, `close`, `volume`) as the
/// module documentation describes. Guarantees: `rows` rows one hour apart from `start_ms`;
/// every value finite; `0 < low ≤ min(open, close)`, `high ≥ max(open, close)`, `volume > 0`;
/// the same config gives the same series. An error only for an invalid config.
pub fn sample_market(cfg: &MarketConfig) -> Result<TimeSeries> {
    Ok(simulate_market(cfg)?.series)
}

/// Like [`sample_market`], also returning the hidden regime path (for tests and plots).
pub fn simulate_market(cfg: &MarketConfig) -> Result<MarketPath> {
    cfg.validate()?;
    let n = cfg.rows;
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let normal = |rng: &mut StdRng| -> f64 { StandardNormal.sample(rng) };
    let sigma2 = cfg.volatility * cfg.volatility;
    let omega = sigma2 * (1.0 - cfg.garch_alpha - cfg.garch_beta);
    // Random phase so different seeds put the intraday peak at different hours.
    let phase: f64 = rng.random_range(0.0..24.0);
    let seasonal = |hour: u32| {
        cfg.intraday_amplitude
            * (2.0 * std::f64::consts::PI * (f64::from(hour) + phase) / 24.0).sin()
    };

    let mut timestamps = Vec::with_capacity(n);
    let (mut open, mut high, mut low, mut close, mut volume) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut regimes = Vec::with_capacity(n);
    let mut regime = Regime::ALL[rng.random_range(0..3)];
    let mut h = sigma2;
    let mut last_shock = 0.0f64;
    let (hour0, _) = clock(cfg.start_ms);
    let mut walk = cfg.start_price.ln() - seasonal((hour0 + 23) % 24);
    let mut prev_close = cfg.start_price;

    for i in 0..n {
        let ts = cfg.start_ms + i as i64 * HOUR_MS;
        let (hour, weekend) = clock(ts);
        if rng.random::<f64>() >= cfg.regime_persistence {
            let others: Vec<Regime> = Regime::ALL.into_iter().filter(|r| *r != regime).collect();
            regime = others[rng.random_range(0..others.len())];
        }
        h = omega + cfg.garch_alpha * last_shock * last_shock + cfg.garch_beta * h;
        let session = intraday_vol(hour) * if weekend { 0.6 } else { 1.0 };
        let shock = h.sqrt() * normal(&mut rng);
        last_shock = shock;
        let mut step = cfg.drift[regime.index()] + shock * session;
        if rng.random::<f64>() < cfg.jump_rate {
            step += cfg.jump_size * normal(&mut rng);
        }
        walk += step;
        let c = (walk + seasonal(hour)).exp();
        let o = prev_close;
        let hour_vol = h.sqrt() * session;
        let hi = o.max(c) * (0.5 * hour_vol * normal(&mut rng).abs()).exp();
        let lo = o.min(c) * (-0.5 * hour_vol * normal(&mut rng).abs()).exp();
        let size = (c / o).ln().abs() / cfg.volatility;
        let v = cfg.base_volume
            * intraday_volume(hour)
            * if weekend { 0.4 } else { 1.0 }
            * (1.0 + 0.3 * size)
            * (0.3 * normal(&mut rng)).exp();
        timestamps.push(ts);
        open.push(o);
        high.push(hi);
        low.push(lo);
        close.push(c);
        volume.push(v);
        regimes.push(regime);
        prev_close = c;
    }
    let column = |name: &str, values: Vec<f64>| Column {
        name: name.into(),
        values,
    };
    let series = TimeSeries::new(
        timestamps,
        vec![
            column("open", open),
            column("high", high),
            column("low", low),
            column("close", close),
            column("volume", volume),
        ],
    )?;
    Ok(MarketPath { series, regimes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year(seed: u64) -> MarketPath {
        simulate_market(&MarketConfig {
            seed,
            ..MarketConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn ohlcv_invariants_hold_for_many_seeds() {
        for seed in 0..5 {
            let p = year(seed);
            let s = &p.series;
            assert_eq!(s.len(), 8736);
            assert_eq!(
                s.column_names(),
                vec!["open", "high", "low", "close", "volume"]
            );
            assert_eq!(s.step_ms(), Some(HOUR_MS));
            assert_eq!(s.timestamps()[0], 1_704_067_200_000);
            let (o, h, l, c, v) = (
                s.column("open").unwrap(),
                s.column("high").unwrap(),
                s.column("low").unwrap(),
                s.column("close").unwrap(),
                s.column("volume").unwrap(),
            );
            assert_eq!(o[0], 100.0);
            for i in 0..s.len() {
                assert!(
                    h[i] >= o[i].max(c[i]),
                    "seed {seed} row {i}: high below open/close"
                );
                assert!(
                    l[i] <= o[i].min(c[i]),
                    "seed {seed} row {i}: low above open/close"
                );
                assert!(l[i] > 0.0 && v[i] > 0.0, "seed {seed} row {i}");
                assert!([o[i], h[i], l[i], c[i], v[i]].iter().all(|x| x.is_finite()));
                if i > 0 {
                    assert_eq!(o[i], c[i - 1]);
                }
            }
        }
    }

    #[test]
    fn same_seed_same_series_other_seed_other_series() {
        assert_eq!(year(7), year(7));
        assert_ne!(year(7).series, year(8).series);
    }

    #[test]
    fn every_regime_occurs_and_regimes_persist() {
        let p = year(3);
        for r in Regime::ALL {
            assert!(p.regimes.contains(&r), "{r:?} never occurs in a year");
        }
        // Persistence 0.997 means about 26 switches a year; far fewer than the 5,800 an
        // independent draw per hour would give.
        let switches = p.regimes.windows(2).filter(|w| w[0] != w[1]).count();
        assert!((5..80).contains(&switches), "{switches} switches");
    }

    fn log_returns(s: &TimeSeries) -> Vec<f64> {
        let c = s.column("close").unwrap();
        c.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
    }

    /// Lag-1 autocorrelation of |log return|.
    fn abs_return_acf(s: &TimeSeries) -> f64 {
        let a: Vec<f64> = log_returns(s).iter().map(|x| x.abs()).collect();
        let mean = a.iter().sum::<f64>() / a.len() as f64;
        let var = a.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
        a.windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / var
    }

    #[test]
    fn volatility_clusters() {
        // Lag-1 autocorrelation of |r|: GARCH (α 0.06, β 0.92) makes it clearly positive; with
        // α = β = 0 only the smooth intraday profile remains, which gives much less.
        let garch = abs_return_acf(&year(11).series);
        let flat = abs_return_acf(
            &sample_market(&MarketConfig {
                seed: 11,
                garch_alpha: 0.0,
                garch_beta: 0.0,
                ..MarketConfig::default()
            })
            .unwrap(),
        );
        assert!(garch > 0.1, "acf |r| with GARCH = {garch}");
        assert!(garch > flat + 0.05, "with GARCH {garch}, without {flat}");
    }

    #[test]
    fn intraday_u_shape_in_activity() {
        let p = year(5);
        let s = &p.series;
        let r = log_returns(s);
        let v = s.column("volume").unwrap();
        let (mut abs_ret, mut vol, mut count) = ([0.0; 24], [0.0; 24], [0.0; 24]);
        for (i, ts) in s.timestamps().iter().enumerate().skip(1) {
            let (hour, _) = clock(*ts);
            let h = hour as usize;
            abs_ret[h] += r[i - 1].abs();
            vol[h] += v[i];
            count[h] += 1.0;
        }
        let mean = |a: &[f64; 24], hs: &[usize]| {
            hs.iter().map(|&h| a[h] / count[h]).sum::<f64>() / hs.len() as f64
        };
        let edges = [0, 1, 22, 23];
        let midday = [10, 11, 12, 13];
        // Expected volatility ratio edges/midday ≈ 1.2/0.7; volume ratio ≈ 2.7/1.0.
        assert!(mean(&abs_ret, &edges) > 1.3 * mean(&abs_ret, &midday));
        assert!(mean(&vol, &edges) > 2.0 * mean(&vol, &midday));
    }

    /// Amplitude of the 24-hour harmonic of the mean log return by hour of day.
    fn daily_harmonic(s: &TimeSeries) -> f64 {
        let r = log_returns(s);
        let (mut sum, mut count) = ([0.0; 24], [0.0; 24]);
        for (i, ts) in s.timestamps().iter().enumerate().skip(1) {
            let h = clock(*ts).0 as usize;
            sum[h] += r[i - 1];
            count[h] += 1.0;
        }
        let (mut re, mut im) = (0.0, 0.0);
        for h in 0..24 {
            let angle = 2.0 * std::f64::consts::PI * h as f64 / 24.0;
            re += sum[h] / count[h] * angle.cos();
            im += sum[h] / count[h] * angle.sin();
        }
        2.0 / 24.0 * (re * re + im * im).sqrt()
    }

    #[test]
    fn intraday_price_component_is_there_to_find() {
        // The component A·sin(2π(h+φ)/24) adds A·2·sin(π/24) ≈ 5.2e-4 to the amplitude of the
        // daily harmonic of mean hourly returns; noise alone gives ≈ 1e-4 over a year.
        let with = year(21).series;
        let without = sample_market(&MarketConfig {
            seed: 21,
            intraday_amplitude: 0.0,
            ..MarketConfig::default()
        })
        .unwrap();
        assert!(daily_harmonic(&with) > 3e-4, "{}", daily_harmonic(&with));
        assert!(
            daily_harmonic(&without) < 3e-4,
            "{}",
            daily_harmonic(&without)
        );
    }

    #[test]
    fn weekends_are_quieter() {
        let s = year(9).series;
        let v = s.column("volume").unwrap();
        let (mut wk, mut we) = ((0.0, 0.0), (0.0, 0.0));
        for (i, ts) in s.timestamps().iter().enumerate() {
            let acc = if clock(*ts).1 { &mut we } else { &mut wk };
            acc.0 += v[i];
            acc.1 += 1.0;
        }
        // Weekend volume factor 0.4 (and smaller moves): well under 0.6 of weekday volume.
        assert!(we.0 / we.1 < 0.6 * (wk.0 / wk.1));
    }

    #[test]
    fn invalid_configs_are_rejected_by_name() {
        let bad = [
            MarketConfig {
                volatility: 0.0,
                ..MarketConfig::default()
            },
            MarketConfig {
                garch_alpha: 0.5,
                garch_beta: 0.6,
                ..MarketConfig::default()
            },
            MarketConfig {
                start_price: f64::NAN,
                ..MarketConfig::default()
            },
            MarketConfig {
                start_ms: 1,
                ..MarketConfig::default()
            },
            MarketConfig {
                jump_rate: 2.0,
                ..MarketConfig::default()
            },
        ];
        for cfg in bad {
            assert!(
                matches!(sample_market(&cfg), Err(Error::InvalidParameter { .. })),
                "{cfg:?}"
            );
        }
        let empty = sample_market(&MarketConfig {
            rows: 0,
            ..MarketConfig::default()
        })
        .unwrap();
        assert!(empty.is_empty());
    }
}
