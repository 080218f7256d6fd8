//! The interval table of `nt backtest --intervals model,conformal`: per model and level, the
//! coverage and mean width of the model's own intervals beside the split-conformal ones.

use std::fmt::Write as _;

use nt_eval::{IntervalScore, ModelScore};

/// The interval at `level` among `intervals`.
fn at(intervals: &[IntervalScore], level: f64) -> Option<&IntervalScore> {
    intervals.iter().find(|i| (i.level - level).abs() < 1e-9)
}

/// One aligned table: `model, level, own coverage, own width, conformal coverage, conformal
/// width, conformal windows` (a dash where a model has no such interval), with the note of a
/// model whose validation-segment calibration is missing. Widths are on the report's scale.
pub(crate) fn intervals_table(models: &[ModelScore], levels: &[f64], show_own: bool) -> String {
    let mut header = vec!["model", "level"];
    if show_own {
        header.extend(["own cov", "own width"]);
    }
    header.extend(["conformal cov", "conformal width", "windows (skipped)"]);
    let dash = || "-".to_string();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut notes = Vec::new();
    for m in models.iter().filter(|m| m.error.is_none()) {
        let own = m
            .scores
            .as_ref()
            .map(|s| s.intervals.as_slice())
            .unwrap_or(&[]);
        let conformal = m.conformal.as_ref();
        if let Some(note) = conformal.and_then(|c| c.note.as_deref()) {
            notes.push(format!("{}: {note}", m.name));
        }
        for &level in levels {
            let mut row = vec![m.name.clone(), format!("{:.0}%", level * 100.0)];
            if show_own {
                match at(own, level) {
                    Some(i) => {
                        row.extend([format!("{:.3}", i.coverage), format!("{:.4}", i.width)])
                    }
                    None => row.extend([dash(), dash()]),
                }
            }
            match conformal.and_then(|c| at(&c.intervals, level).map(|i| (c, i))) {
                Some((c, i)) => row.extend([
                    format!("{:.3}", i.coverage),
                    format!("{:.4}", i.width),
                    format!("{} ({})", c.windows, c.skipped),
                ]),
                None => row.extend([dash(), dash(), dash()]),
            }
            rows.push(row);
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|j| {
            rows.iter()
                .map(|r| r[j].chars().count())
                .chain([header[j].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::from(
        "prediction intervals (coverage: share of actuals inside; width: mean, report scale; conformal: from residuals known at each origin):\n",
    );
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(
        out,
        "{}",
        line(header.iter().map(|s| s.to_string()).collect())
    );
    for r in rows {
        let _ = writeln!(out, "{}", line(r));
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_puts_own_and_conformal_intervals_side_by_side() {
        let iv = |coverage, width| IntervalScore {
            level: 0.8,
            coverage,
            pinball_lower: 0.0,
            pinball_upper: 0.0,
            width,
        };
        let m = ModelScore {
            name: "ets".into(),
            windows: 10,
            scores: None,
            fit_seconds: 0.0,
            predict_seconds: 0.0,
            error: None,
            conformal: Some(nt_eval::conformal::ConformalScore {
                windows: 9,
                skipped: 1,
                calibration_residuals: 5,
                intervals: vec![iv(0.81, 1.5)],
                note: None,
            }),
        };
        let t = intervals_table(&[m], &[0.8], true);
        let row = t.lines().nth(2).unwrap();
        // No own intervals (no scores): dashes; conformal 0.810 wide 1.5000 over 9 windows.
        assert!(row.starts_with("ets") && row.contains("80%"), "{t}");
        assert!(
            row.contains("0.810") && row.contains("1.5000") && row.contains("9 (1)"),
            "{t}"
        );
        assert!(row.contains(" - "), "{t}");
    }
}
