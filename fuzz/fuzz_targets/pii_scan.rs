//! `pii::Redactor::scan` on arbitrary text with planted values; see `guard_fuzz::pii`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, Option<(u8, u16)>, &str)| {
    let (config, plant, text) = input;
    guard_fuzz::pii::check(&guard_fuzz::pii::Case { config, text, plant });
});
