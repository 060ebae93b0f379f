//! Properties checked by the fuzz targets, shared with the stable replay tests.
//!
//! Each `check_*` function panics (the fuzzer's crash signal) when a property of the guard's core
//! does not hold, and returns normally otherwise. The targets in `fuzz_targets/` only decode the
//! fuzzer's bytes and call these; `tests/replay.rs` runs the same checks over `seeds/` and
//! `regressions/` on stable Rust, so a finding stays a test after it is fixed.
//!
//! Everything a check compares against is re-implemented here from the fixed policy (glob
//! matching, model canonicalisation, the profile choice), never taken from the guard itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod alloc;
pub mod glob;
pub mod json_diff;
pub mod known;
pub mod pii;
pub mod policy;
pub mod request;
pub mod secrets;
pub mod sse;
pub mod structured;
pub mod tree;
