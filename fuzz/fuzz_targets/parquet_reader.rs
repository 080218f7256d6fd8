//! The Parquet reader (`nt_data::load_parquet`): the first byte chooses the load options
//! ([`nt_fuzz::options`]), the rest is the file; the seeds are small valid Parquet files
//! written by `examples/make_seeds.rs`. Every result must keep the loader's contract
//! ([`nt_fuzz::check_load`]).
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;

/// `load_parquet` catches the parquet crate's panics on corrupt files and returns
/// `Error::Parquet`, but libfuzzer-sys's panic hook aborts before any `catch_unwind` runs, so a
/// caught panic would still count as a crash. This hook only prints; a panic that escapes the
/// loader still aborts the run (unwinding cannot cross the target's `extern "C"` entry point).
fn print_panics_only() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| eprintln!("panic (caught or not): {info}")));
    });
}

fuzz_target!(|data: &[u8]| {
    print_panics_only();
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let path = nt_fuzz::scratch_file("input.parquet", file);
    let result = nt_data::load_parquet(&path, &nt_fuzz::options(selector));
    nt_fuzz::check_load(&result, &path, None);
});
