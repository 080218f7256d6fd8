//! Scalers: `(x - center) / scale` fitted on training values only, with exact inverses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Which statistics a [`Scaler`] is fitted with. Spelled `identity`, `standard`, `robust`,
/// `minmax` (CLI, serde, `Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalerKind {
    /// center 0, scale 1: values pass through unchanged.
    Identity,
    /// center = mean, scale = population standard deviation (ddof = 0), as the long-horizon
    /// protocol standardizes each series on its training rows.
    #[default]
    Standard,
    /// center = median, scale = interquartile range (75th − 25th percentile, numpy's default
    /// "linear" interpolation): insensitive to outliers.
    Robust,
    /// center = min, scale = max − min: training values map onto [0, 1].
    MinMax,
}

impl ScalerKind {
    /// Every kind.
    pub const ALL: [ScalerKind; 4] = [
        ScalerKind::Identity,
        ScalerKind::Standard,
        ScalerKind::Robust,
        ScalerKind::MinMax,
    ];

    /// The kind's name: `identity`, `standard`, `robust` or `minmax`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScalerKind::Identity => "identity",
            ScalerKind::Standard => "standard",
            ScalerKind::Robust => "robust",
            ScalerKind::MinMax => "minmax",
        }
    }
}

impl fmt::Display for ScalerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScalerKind {
    type Err = Error;

    /// Parses a kind's name, any case; `min-max`/`min_max` are accepted for `minmax` and `none`
    /// for `identity`.
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        let t = match t.as_str() {
            "none" => "identity",
            "min-max" | "min_max" => "minmax",
            other => other,
        };
        ScalerKind::ALL
            .into_iter()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| Error::invalid("scaler", s, "one of identity, standard, robust, minmax"))
    }
}

/// A fitted scaler: `transform(x) = (x - center) / scale`, `inverse(z) = z * scale + center`.
///
/// Guarantees: `center` is finite and `scale` is finite and strictly positive (checked by
/// [`fit`](Self::fit), [`from_parts`](Self::from_parts) and deserialization), so both directions
/// are defined for every finite input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawScaler")]
pub struct Scaler {
    kind: ScalerKind,
    center: f64,
    scale: f64,
}

#[derive(Deserialize)]
struct RawScaler {
    kind: ScalerKind,
    center: f64,
    scale: f64,
}

impl TryFrom<RawScaler> for Scaler {
    type Error = Error;
    fn try_from(raw: RawScaler) -> Result<Self> {
        Scaler::from_parts(raw.kind, raw.center, raw.scale)
    }
}

impl Default for Scaler {
    /// The identity scaler.
    fn default() -> Self {
        Scaler::identity()
    }
}

impl Scaler {
    /// The identity (center 0, scale 1).
    pub fn identity() -> Self {
        Scaler {
            kind: ScalerKind::Identity,
            center: 0.0,
            scale: 1.0,
        }
    }

    /// Fits `kind`'s statistics on `train` only (see [`ScalerKind`]). A zero spread (constant
    /// training values) gives scale 1, so the transform only shifts. Errors: empty `train`
    /// ([`Error::TooShort`]), a NaN or infinite value ([`Error::NonFinite`]), or statistics that
    /// overflow to infinity.
    pub fn fit(kind: ScalerKind, train: &[f64]) -> Result<Scaler> {
        if kind == ScalerKind::Identity {
            return Ok(Scaler::identity());
        }
        if train.is_empty() {
            return Err(Error::TooShort {
                needed: 1,
                got: 0,
                what: format!("fitting a {kind} scaler"),
            });
        }
        if let Some(index) = train.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: format!("fitting a {kind} scaler"),
                index,
                value: train[index],
            });
        }
        let (center, spread) = match kind {
            ScalerKind::Identity => (0.0, 1.0),
            ScalerKind::Standard => {
                let n = train.len() as f64;
                let mean = train.iter().sum::<f64>() / n;
                let var = train.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                (mean, var.sqrt())
            }
            ScalerKind::Robust => {
                let mut sorted = train.to_vec();
                sorted.sort_by(f64::total_cmp);
                let q = |p: f64| percentile_sorted(&sorted, p);
                (q(0.5), q(0.75) - q(0.25))
            }
            ScalerKind::MinMax => {
                let min = train.iter().copied().fold(f64::INFINITY, f64::min);
                let max = train.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (min, max - min)
            }
        };
        let scale = if spread == 0.0 { 1.0 } else { spread };
        Scaler::from_parts(kind, center, scale)
    }

    /// A scaler from stored statistics (e.g. a saved model); an error unless `center` is finite
    /// and `scale` finite and positive.
    pub fn from_parts(kind: ScalerKind, center: f64, scale: f64) -> Result<Scaler> {
        if !center.is_finite() {
            return Err(Error::invalid("scaler center", center, "a finite number"));
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::invalid("scaler scale", scale, "a finite number > 0"));
        }
        Ok(Scaler {
            kind,
            center,
            scale,
        })
    }

    /// The kind it was fitted as.
    pub fn kind(&self) -> ScalerKind {
        self.kind
    }

    /// The value subtracted (mean, median or min).
    pub fn center(&self) -> f64 {
        self.center
    }

    /// The divisor (std, IQR or range; 1 when the training spread was zero).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// `(x - center) / scale`.
    pub fn transform_value(&self, x: f64) -> f64 {
        (x - self.center) / self.scale
    }

    /// `z * scale + center`: undoes [`transform_value`](Self::transform_value).
    pub fn inverse_value(&self, z: f64) -> f64 {
        z * self.scale + self.center
    }

    /// [`transform_value`](Self::transform_value) on every element.
    pub fn transform(&self, values: &[f64]) -> Vec<f64> {
        values.iter().map(|x| self.transform_value(*x)).collect()
    }

    /// [`inverse_value`](Self::inverse_value) on every element.
    pub fn inverse(&self, values: &[f64]) -> Vec<f64> {
        values.iter().map(|z| self.inverse_value(*z)).collect()
    }
}

/// numpy's default ("linear") percentile of sorted values, `p` in [0, 1]: the value at position
/// `p * (n - 1)`, interpolated between its neighbours.
fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let pos = p * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn statistics_match_numpy() {
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        // np.mean(x) = 4.0; np.std(x) (ddof=0) = sqrt(10) = 3.1622776601683795.
        let s = Scaler::fit(ScalerKind::Standard, &x).unwrap();
        assert_eq!(s.center(), 4.0);
        assert!((s.scale() - 10f64.sqrt()).abs() < 1e-15);
        // np.median = 3; np.percentile(x, [25, 75]) = [2, 4] → IQR 2.
        let r = Scaler::fit(ScalerKind::Robust, &x).unwrap();
        assert_eq!((r.center(), r.scale()), (3.0, 2.0));
        // Interpolated percentiles: np.percentile([1,2,3,4], [25, 50, 75]) = [1.75, 2.5, 3.25].
        let r = Scaler::fit(ScalerKind::Robust, &[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((r.center(), r.scale()), (2.5, 1.5));
        let m = Scaler::fit(ScalerKind::MinMax, &x).unwrap();
        assert_eq!((m.center(), m.scale()), (1.0, 9.0));
        assert_eq!(
            m.transform(&x),
            vec![0.0, 1.0 / 9.0, 2.0 / 9.0, 3.0 / 9.0, 1.0]
        );
        assert_eq!(
            Scaler::fit(ScalerKind::Identity, &x).unwrap().transform(&x),
            x.to_vec()
        );
    }

    #[test]
    fn zero_spread_gives_scale_one_and_bad_input_is_rejected() {
        for kind in [ScalerKind::Standard, ScalerKind::Robust, ScalerKind::MinMax] {
            let s = Scaler::fit(kind, &[5.0, 5.0, 5.0]).unwrap();
            assert_eq!((s.center(), s.scale()), (5.0, 1.0), "{kind}");
            assert!(matches!(
                Scaler::fit(kind, &[]),
                Err(Error::TooShort { .. })
            ));
            let e = Scaler::fit(kind, &[1.0, f64::NAN]).unwrap_err();
            assert!(matches!(e, Error::NonFinite { index: 1, .. }), "{e}");
        }
        assert!(Scaler::from_parts(ScalerKind::Standard, 0.0, 0.0).is_err());
        assert!(Scaler::from_parts(ScalerKind::Standard, f64::NAN, 1.0).is_err());
    }

    #[test]
    fn kind_names_and_serde() {
        for k in ScalerKind::ALL {
            assert_eq!(k.to_string().parse::<ScalerKind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert_eq!("Min-Max".parse::<ScalerKind>().unwrap(), ScalerKind::MinMax);
        assert!("zscore".parse::<ScalerKind>().is_err());
        let s = Scaler::fit(ScalerKind::Robust, &[1.0, 2.0, 7.0]).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Scaler>(&json).unwrap(), s);
        let bad = r#"{"kind":"standard","center":0.0,"scale":0.0}"#;
        assert!(serde_json::from_str::<Scaler>(bad).is_err());
    }

    fn kinds() -> impl Strategy<Value = ScalerKind> {
        prop::sample::select(ScalerKind::ALL.to_vec())
    }

    proptest! {
        /// inverse(transform(x)) returns x to within 1e-9 of the data's magnitude.
        #[test]
        fn inverse_undoes_transform(
            kind in kinds(),
            train in prop::collection::vec(-1e6f64..1e6, 1..50),
            test in prop::collection::vec(-1e6f64..1e6, 0..50),
        ) {
            let s = Scaler::fit(kind, &train).unwrap();
            let magnitude = train.iter().chain(&test).fold(1.0f64, |m, v| m.max(v.abs()));
            let back = s.inverse(&s.transform(&test));
            for (x, y) in test.iter().zip(&back) {
                prop_assert!((x - y).abs() <= 1e-9 * magnitude, "{x} -> {y} ({kind})");
                prop_assert!((s.inverse_value(s.transform_value(*x)) - x).abs() <= 1e-9 * magnitude);
            }
        }

        /// The fit depends on the training values only: two different test sets are transformed
        /// with identical statistics, and each test value only through itself.
        #[test]
        fn fit_sees_only_train(
            kind in kinds(),
            train in prop::collection::vec(-1e3f64..1e3, 2..40),
            test_a in prop::collection::vec(-1e3f64..1e3, 1..20),
            test_b in prop::collection::vec(-1e3f64..1e3, 1..20),
        ) {
            let s = Scaler::fit(kind, &train).unwrap();
            prop_assert_eq!(s, Scaler::fit(kind, &train).unwrap());
            let joined: Vec<f64> = test_a.iter().chain(&test_b).copied().collect();
            let mut separate = s.transform(&test_a);
            separate.extend(s.transform(&test_b));
            prop_assert_eq!(s.transform(&joined), separate);
            for (x, z) in test_a.iter().zip(s.transform(&test_a)) {
                prop_assert_eq!(z, (x - s.center()) / s.scale());
            }
        }
    }
}
