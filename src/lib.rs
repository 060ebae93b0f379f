//! openrouter-guard: a proxy-wasm HTTP filter that governs LLM calls to openrouter.ai.
//!
//! The crate has two halves, and one public facade, [`api`], re-exporting what the adapter,
//! the fuzz targets, the examples and the benchmarks use (everything else is crate-private):
//! - [`core`]: host-agnostic logic (configuration, model policy, JSON walking, redaction,
//!   provider injection, response parsing, audit records). It never names `proxy_wasm` and is
//!   tested natively with `cargo test`.
//! - `wasm` (only on `wasm32`): the thin proxy-wasm adapter that moves bytes and headers between
//!   Envoy and the core.

// `pub` only for what [`api`] makes reachable; everything else is `pub(crate)` or narrower
// (`make lint` runs clippy with -D warnings, so a new unreachable `pub` fails it).
#![warn(unreachable_pub)]

pub mod api;
pub(crate) mod core;

#[cfg(target_arch = "wasm32")]
mod wasm;
