//! The request pipeline on structure-aware requests; see `guard_fuzz::structured`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|r: guard_fuzz::structured::Req| {
    guard_fuzz::structured::check(&r);
});
