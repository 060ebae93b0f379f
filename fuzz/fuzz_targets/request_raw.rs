//! The request pipeline on raw body bytes under the fixed policy; see `guard_fuzz::request`.
//! Byte 0 picks the path, byte 1 the profile header, byte 2 other headers; the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (h, eos, body) = guard_fuzz::request::raw_headers(data);
    guard_fuzz::request::check(&h, eos, body);
});
