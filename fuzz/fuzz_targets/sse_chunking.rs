//! `response::ResponseObserver` under different chunkings, with memory accounting; see
//! `guard_fuzz::sse`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: guard_fuzz::alloc::Counting = guard_fuzz::alloc::Counting;

fuzz_target!(|c: guard_fuzz::sse::Case| {
    guard_fuzz::alloc::activate();
    guard_fuzz::sse::check(&c);
});
