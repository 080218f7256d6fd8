//! Reading the two shared data sets (`../shared/data`): ETTh1 (wide hourly table with a `date`
//! column) and GOOG (daily OHLCV whose time axis is pandas' unnamed index column).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use nt_data::{gaps, load, load_csv, LoadOptions};

/// A shared data set; panics naming the expected path when it is absent.
fn data(name: &str) -> PathBuf {
    nt_testing::shared_data(name)
}

/// 2016-07-01T00:00:00Z in unix ms (`date -u -d 2016-07-01 +%s` = 1467331200).
const ETT_START: i64 = 1_467_331_200_000;

#[test]
fn etth1_is_17420_hourly_rows_of_7_columns() {
    let path = data("ETTh1.csv");
    let s = load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(s.len(), 17_420);
    assert_eq!(
        s.column_names(),
        vec!["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    );
    assert_eq!(s.timestamps()[0], ETT_START);
    // 2018-06-26 19:00 UTC is the last row: 17419 hours after the first.
    assert_eq!(
        *s.timestamps().last().unwrap(),
        ETT_START + 17_419 * 3_600_000
    );
    assert_eq!(s.step_ms(), Some(3_600_000));
    assert!(gaps(&s).is_empty(), "ETTh1 is gap-free hourly data");
    // First row's OT as written in the file: 30.5310001373291.
    assert_eq!(s.column("OT").unwrap()[0], 30.5310001373291);
    // Selecting one column keeps only it.
    let opts = LoadOptions {
        columns: Some(vec!["OT".into()]),
        ..LoadOptions::default()
    };
    assert_eq!(load_csv(&path, &opts).unwrap().column_names(), vec!["OT"]);
}

#[test]
fn goog_time_axis_comes_from_the_unnamed_first_column() {
    let path = data("GOOG.csv");
    let s = load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(s.len(), 2_148);
    assert_eq!(
        s.column_names(),
        vec!["Open", "High", "Low", "Close", "Volume"]
    );
    // 2004-08-19 is day 12649 after the epoch; 2013-03-01 is day 15765.
    assert_eq!(s.timestamps()[0], 12_649 * 86_400_000);
    assert_eq!(*s.timestamps().last().unwrap(), 15_765 * 86_400_000);
    assert_eq!(s.column("Close").unwrap()[0], 100.34);
    assert_eq!(s.column("Volume").unwrap()[0], 22_351_900.0);
    // Daily trading data: modal step one day, and weekends show up as gaps (> 400 of them over
    // 8.5 years), each reported with the skipped days.
    assert_eq!(s.step_ms(), Some(86_400_000));
    let g = gaps(&s);
    assert!(g.len() > 400, "{} gaps", g.len());
    assert!(g
        .iter()
        .all(|g| g.missing_steps >= 1 && g.end_ms > g.start_ms));
}
