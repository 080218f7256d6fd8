//! Sliding windows: (input, target) pairs cut from one or many series for training and backtests.

use nt_core::{Error, Result};

/// How to cut windows: `input_size` past values, `horizon` future values, `step` rows between the
/// origins of consecutive windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpec {
    /// Number of past values fed to a model (≥ 1).
    pub input_size: usize,
    /// Number of future values to predict (≥ 1).
    pub horizon: usize,
    /// Rows between consecutive window origins (≥ 1).
    pub step: usize,
}

impl WindowSpec {
    /// Checks every field is at least 1.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("input_size", self.input_size),
            ("horizon", self.horizon),
            ("step", self.step),
        ] {
            if v == 0 {
                return Err(Error::invalid(name, "must be at least 1"));
            }
        }
        Ok(())
    }

    /// Rows one window spans: `input_size + horizon`.
    pub fn span(&self) -> usize {
        self.input_size + self.horizon
    }
}

/// A batch of windows stored row-major: window `i`'s inputs are
/// `inputs[i * input_size .. (i + 1) * input_size]`, its targets likewise with `horizon`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Windows {
    /// The spec the windows were cut with.
    pub input_size: usize,
    /// Target length of each window.
    pub horizon: usize,
    /// `len() * input_size` values.
    pub inputs: Vec<f64>,
    /// `len() * horizon` values.
    pub targets: Vec<f64>,
    /// For each window, the row index (in its series) of its last input value: the forecast origin.
    pub origins: Vec<usize>,
    /// For each window, the index of the series it came from (0 for a single series).
    pub series: Vec<usize>,
}

impl Windows {
    /// Number of windows.
    pub fn len(&self) -> usize {
        self.origins.len()
    }

    /// True when there are no windows.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// Inputs of window `i`.
    pub fn input(&self, i: usize) -> &[f64] {
        &self.inputs[i * self.input_size..(i + 1) * self.input_size]
    }

    /// Targets of window `i`.
    pub fn target(&self, i: usize) -> &[f64] {
        &self.targets[i * self.horizon..(i + 1) * self.horizon]
    }
}

/// Cuts every window of `spec` from `values`: origins run from `input_size - 1` up to
/// `len - horizon - 1` in steps of `step`. An error when the series is shorter than one window.
pub fn sliding_windows(values: &[f64], spec: WindowSpec) -> Result<Windows> {
    sliding_windows_many(&[values], spec)
}

/// Like [`sliding_windows`] over several series (a global model's training set); series too short
/// for one window contribute none, and an error is returned only if no series yields a window.
pub fn sliding_windows_many(series: &[&[f64]], spec: WindowSpec) -> Result<Windows> {
    spec.validate()?;
    let mut out = Windows {
        input_size: spec.input_size,
        horizon: spec.horizon,
        ..Windows::default()
    };
    for (s, values) in series.iter().enumerate() {
        if values.len() < spec.span() {
            continue;
        }
        let mut origin = spec.input_size - 1;
        while origin + spec.horizon < values.len() {
            out.inputs
                .extend_from_slice(&values[origin + 1 - spec.input_size..=origin]);
            out.targets
                .extend_from_slice(&values[origin + 1..=origin + spec.horizon]);
            out.origins.push(origin);
            out.series.push(s);
            origin += spec.step;
        }
    }
    if out.is_empty() {
        let longest = series.iter().map(|s| s.len()).max().unwrap_or(0);
        return Err(Error::InsufficientHistory {
            needed: spec.span(),
            got: longest,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_series_in_order() {
        let v: Vec<f64> = (0..10).map(f64::from).collect();
        let w = sliding_windows(
            &v,
            WindowSpec {
                input_size: 3,
                horizon: 2,
                step: 2,
            },
        )
        .unwrap();
        assert_eq!(w.origins, vec![2, 4, 6]);
        assert_eq!(w.input(1), &[2.0, 3.0, 4.0]);
        assert_eq!(w.target(1), &[5.0, 6.0]);
        assert_eq!(w.target(2), &[7.0, 8.0]);
    }

    #[test]
    fn too_short_is_an_error_and_many_skips_short_series() {
        let spec = WindowSpec {
            input_size: 3,
            horizon: 2,
            step: 1,
        };
        assert!(matches!(
            sliding_windows(&[1.0; 4], spec),
            Err(Error::InsufficientHistory { needed: 5, got: 4 })
        ));
        let w = sliding_windows_many(&[&[1.0; 4], &[2.0; 6]], spec).unwrap();
        assert_eq!(w.series, vec![1, 1]);
        assert!(WindowSpec {
            input_size: 0,
            horizon: 1,
            step: 1
        }
        .validate()
        .is_err());
    }
}
