//! `core::json::parse` differential against serde_json; see `guard_fuzz::json_diff`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&d, src)) = data.split_first() else { return };
    guard_fuzz::json_diff::check(src, 1 + u32::from(d % 100));
});
