//! Gap detection: where consecutive timestamps are further apart than the series' usual step.

use nt_core::TimeSeries;
use serde::{Deserialize, Serialize};

/// A stretch with no rows: between row `index - 1` (at `start_ms`) and row `index` (at `end_ms`)
/// more time passes than the modal step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Row index of the first row after the gap (≥ 1).
    pub index: usize,
    /// Timestamp (unix ms) of the row before the gap.
    pub start_ms: i64,
    /// Timestamp (unix ms) of the row after the gap.
    pub end_ms: i64,
    /// The modal step (ms) the spacing was compared with.
    pub step_ms: i64,
    /// Whole steps that fit strictly inside the gap: `(end - start) / step - 1`, rounded down
    /// (0 when the spacing is more than one step but less than two).
    pub missing_steps: i64,
}

/// Every place where the spacing between consecutive timestamps exceeds the modal step
/// ([`TimeSeries::step_ms`]), in row order. Only reported, never filled: daily market data skips
/// weekends and holidays legitimately. Empty for series of fewer than two rows.
pub fn gaps(series: &TimeSeries) -> Vec<Gap> {
    let Some(step) = series.step_ms() else {
        return Vec::new();
    };
    series
        .timestamps()
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1] - w[0] > step)
        .map(|(i, w)| Gap {
            index: i + 1,
            start_ms: w[0],
            end_ms: w[1],
            step_ms: step,
            missing_steps: (w[1] - w[0]) / step - 1,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nt_core::Column;

    #[test]
    fn reports_spacings_beyond_the_modal_step() {
        // Modal step 10; 20 → 50 skips two steps (30, 40); 60 → 75 is 1.5 steps (0 whole missing).
        let ts = vec![0, 10, 20, 50, 60, 75, 85];
        let s = TimeSeries::new(
            ts.clone(),
            vec![Column {
                name: "x".into(),
                values: vec![0.0; ts.len()],
            }],
        )
        .unwrap();
        let g = gaps(&s);
        assert_eq!(g.len(), 2);
        assert_eq!(
            g[0],
            Gap {
                index: 3,
                start_ms: 20,
                end_ms: 50,
                step_ms: 10,
                missing_steps: 2
            }
        );
        assert_eq!((g[1].index, g[1].missing_steps), (5, 0));
        assert!(gaps(&TimeSeries::from_values("x", vec![1.0])).is_empty());
        assert!(gaps(&TimeSeries::from_values("x", vec![1.0; 5])).is_empty());
    }
}
