//! Reading the target column of a training set or a prediction history, with the checks every
//! model shares.

use nt_core::TimeSeries;

use crate::{Error, Result};

/// The finite values of column `target`, with at least `needed` rows.
///
/// Errors: the column is missing ([`nt_core::Error::MissingColumn`]), a value is NaN or infinite
/// ([`nt_core::Error::NonFinite`], naming column and row), or fewer than `needed` rows
/// ([`Error::InsufficientHistory`]).
pub(crate) fn target_values<'a>(
    model: &'static str,
    series: &'a TimeSeries,
    target: &str,
    needed: usize,
) -> Result<&'a [f64]> {
    let values = series.finite_column(target)?;
    if values.len() < needed {
        return Err(Error::InsufficientHistory {
            model,
            needed,
            got: values.len(),
        });
    }
    Ok(values)
}

/// Errors with [`Error::NonPositive`] at the first value that is not strictly positive;
/// `values[0]` is row `first_row` of its column.
pub(crate) fn require_positive(
    model: &'static str,
    column: &str,
    values: &[f64],
    first_row: usize,
    why: &'static str,
) -> Result<()> {
    match values.iter().position(|v| *v <= 0.0) {
        Some(index) => Err(Error::NonPositive {
            model,
            column: column.to_string(),
            index: first_row + index,
            value: values[index],
            why,
        }),
        None => Ok(()),
    }
}
