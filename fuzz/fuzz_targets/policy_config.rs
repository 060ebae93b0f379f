//! `Policy::from_json` on arbitrary bytes; see `guard_fuzz::policy`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| guard_fuzz::policy::check(data));
