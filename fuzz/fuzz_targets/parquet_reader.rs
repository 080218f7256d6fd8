//! The Parquet reader (`nt_data::load_parquet`): the first byte chooses the load options
//! ([`nt_fuzz::options`]), the rest is the file; the seeds are small valid Parquet files
//! written by `examples/make_seeds.rs`. Every result must keep the loader's contract
//! ([`nt_fuzz::check_load`]).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let path = nt_fuzz::scratch_file("input.parquet", file);
    let result = nt_data::load_parquet(&path, &nt_fuzz::options(selector));
    nt_fuzz::check_load(&result, &path, None);
});
