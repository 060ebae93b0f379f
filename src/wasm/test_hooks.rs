//! Test-only hooks, compiled only with `--features test-hooks` (never in the shipped .wasm; the
//! e2e tests check its bytes). A governed request carrying the hook header can:
//! - `trap`: trap the VM (a genuine run-time failure, to prove FAIL_RELOAD brings a VM back);
//! - `skip-decision`: let the request go on without any decision (to prove that response
//!   headers for an undecided request are replaced and recorded as `filter_bypassed`).

use proxy_wasm::types::{Action, MapType};

use crate::wasm::host;

/// The hook header.
const HOOK_HEADER: &str = "x-openrouter-guard-test-hook";

/// Runs the hook named by the request, if any.
pub(crate) fn on_governed_headers() -> Option<Action> {
    match host::header_bytes(MapType::HttpRequestHeaders, HOOK_HEADER)?.as_slice() {
        b"trap" => core::arch::wasm32::unreachable(),
        b"skip-decision" => Some(Action::Continue),
        _ => None,
    }
}
