//! The CSV reader through `nt_data::load` (content sniffing, then the CSV path): the first
//! byte chooses the load options ([`nt_fuzz::options`]), the rest is the file. Every result
//! must keep the loader's contract ([`nt_fuzz::check_load`]).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let path = nt_fuzz::scratch_file("input.csv", file);
    let result = nt_data::load(&path, &nt_fuzz::options(selector));
    // A file that starts with `PAR1` went to the Parquet reader, whose lines are data rows.
    let max_line = (!file.starts_with(b"PAR1")).then(|| nt_fuzz::last_line(file));
    nt_fuzz::check_load(&result, &path, max_line);
});
