//! `Forecast`: a point path, optional quantile bands and optional sample paths.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One quantile band of a forecast: the `q`-quantile of each future step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileBand {
    /// The quantile level, strictly between 0 and 1 (0.1 is the 10th percentile).
    pub q: f64,
    /// One value per horizon step.
    pub values: Vec<f64>,
}

/// What a model predicts for the steps after a history: a point path and, when the model defines
/// them, quantile bands and sample paths (joint draws of the whole horizon, as a probabilistic
/// model such as DeepAR produces them).
///
/// Guarantees (checked by [`Forecast::new`], [`Forecast::with_quantile`] and
/// [`Forecast::with_paths`]): every band and every path has one value per point; levels are
/// strictly inside (0, 1), unique, and kept in ascending order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    point: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    quantiles: Vec<QuantileBand>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    paths: Vec<Vec<f64>>,
}

impl Forecast {
    /// A point forecast without bands.
    pub fn point(point: Vec<f64>) -> Self {
        Self {
            point,
            quantiles: Vec::new(),
            paths: Vec::new(),
        }
    }

    /// Adds sample paths: each a draw of the whole horizon, one value per point.
    pub fn with_paths(mut self, paths: Vec<Vec<f64>>) -> Result<Self> {
        if let Some(bad) = paths.iter().find(|p| p.len() != self.point.len()) {
            return Err(Error::LengthMismatch {
                what: "sample path against the point forecast".into(),
                expected: self.point.len(),
                got: bad.len(),
            });
        }
        self.paths = paths;
        Ok(self)
    }

    /// The sample paths (empty unless the model draws them).
    pub fn paths(&self) -> &[Vec<f64>] {
        &self.paths
    }

    /// A point forecast with quantile bands (in any order; they are sorted).
    pub fn new(point: Vec<f64>, quantiles: Vec<QuantileBand>) -> Result<Self> {
        let mut f = Self::point(point);
        for band in quantiles {
            f = f.with_quantile(band.q, band.values)?;
        }
        Ok(f)
    }

    /// Adds the band for quantile `q`.
    pub fn with_quantile(mut self, q: f64, values: Vec<f64>) -> Result<Self> {
        if !(q > 0.0 && q < 1.0) {
            return Err(Error::invalid(
                "quantile",
                format!("{q} is not strictly between 0 and 1"),
            ));
        }
        if values.len() != self.point.len() {
            return Err(Error::LengthMismatch {
                what: format!("quantile {q} band against the point forecast"),
                expected: self.point.len(),
                got: values.len(),
            });
        }
        if self.quantiles.iter().any(|b| (b.q - q).abs() < 1e-12) {
            return Err(Error::invalid("quantile", format!("{q} given twice")));
        }
        let at = self.quantiles.partition_point(|b| b.q < q);
        self.quantiles.insert(at, QuantileBand { q, values });
        Ok(self)
    }

    /// Adds the central interval of coverage `level` (e.g. 0.8) as the quantiles `(1-level)/2`
    /// and `(1+level)/2`.
    pub fn with_interval(self, level: f64, lower: Vec<f64>, upper: Vec<f64>) -> Result<Self> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::invalid(
                "level",
                format!("{level} is not strictly between 0 and 1"),
            ));
        }
        self.with_quantile((1.0 - level) / 2.0, lower)?
            .with_quantile((1.0 + level) / 2.0, upper)
    }

    /// The point path, one value per horizon step.
    pub fn point_values(&self) -> &[f64] {
        &self.point
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.point.len()
    }

    /// True for an empty forecast.
    pub fn is_empty(&self) -> bool {
        self.point.is_empty()
    }

    /// All bands, ascending by level.
    pub fn quantiles(&self) -> &[QuantileBand] {
        &self.quantiles
    }

    /// The band for quantile `q`, if the forecast has it.
    pub fn quantile(&self, q: f64) -> Option<&[f64]> {
        self.quantiles
            .iter()
            .find(|b| (b.q - q).abs() < 1e-9)
            .map(|b| b.values.as_slice())
    }

    /// The central interval of coverage `level` as `(lower, upper)`, if both quantiles are present.
    pub fn interval(&self, level: f64) -> Option<(&[f64], &[f64])> {
        Some((
            self.quantile((1.0 - level) / 2.0)?,
            self.quantile((1.0 + level) / 2.0)?,
        ))
    }

    /// Coverage levels of the central intervals this forecast carries (pairs of symmetric
    /// quantiles), ascending.
    pub fn interval_levels(&self) -> Vec<f64> {
        let mut levels: Vec<f64> = self
            .quantiles
            .iter()
            .filter(|b| b.q < 0.5 && self.quantile(1.0 - b.q).is_some())
            .map(|b| 1.0 - 2.0 * b.q)
            .collect();
        levels.sort_by(f64::total_cmp);
        levels
    }

    /// Applies `f` to the point path and every band (used to undo a scaling).
    pub fn map_values(mut self, f: impl Fn(f64) -> f64) -> Self {
        self.point.iter_mut().for_each(|v| *v = f(*v));
        for band in &mut self.quantiles {
            band.values.iter_mut().for_each(|v| *v = f(*v));
        }
        for path in &mut self.paths {
            path.iter_mut().for_each(|v| *v = f(*v));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_paths_have_one_value_per_step_and_map_with_the_point() {
        let f = Forecast::point(vec![1.0, 2.0]);
        assert!(f.clone().with_paths(vec![vec![1.0]]).is_err());
        let f = f
            .with_paths(vec![vec![0.5, 1.5], vec![1.5, 2.5]])
            .unwrap()
            .map_values(|v| v * 2.0);
        assert_eq!(f.paths(), &[vec![1.0, 3.0], vec![3.0, 5.0]]);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Forecast>(&json).unwrap(), f);
        // Forecasts without paths serialize as before.
        let plain = serde_json::to_string(&Forecast::point(vec![1.0])).unwrap();
        assert!(!plain.contains("paths"), "{plain}");
    }

    #[test]
    fn bands_are_sorted_checked_and_paired() {
        let f = Forecast::point(vec![1.0, 2.0])
            .with_quantile(0.9, vec![2.0, 3.0])
            .unwrap()
            .with_quantile(0.1, vec![0.0, 1.0])
            .unwrap();
        assert_eq!(f.quantiles()[0].q, 0.1);
        assert_eq!(f.interval(0.8), Some((&[0.0, 1.0][..], &[2.0, 3.0][..])));
        assert_eq!(f.interval_levels().len(), 1);
        assert!((f.interval_levels()[0] - 0.8).abs() < 1e-12);
        assert!(f.clone().with_quantile(0.5, vec![1.0]).is_err());
        assert!(f.clone().with_quantile(1.0, vec![1.0, 2.0]).is_err());
        assert!(f.clone().with_quantile(0.1, vec![1.0, 2.0]).is_err());
        let g = f.map_values(|v| v * 10.0);
        assert_eq!(g.point_values(), &[10.0, 20.0]);
        assert_eq!(g.quantile(0.9), Some(&[20.0, 30.0][..]));
    }
}
