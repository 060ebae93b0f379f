//! Test-only hooks, compiled only with `--features test-hooks` (never in the shipped .wasm; the
//! e2e tests check its bytes). A governed request carrying the hook header can:
//! - `trap`: trap the VM (a genuine run-time failure, to prove FAIL_RELOAD brings a VM back);
//! - `skip-decision`: let the request go on without any decision (to prove that response
//!   headers for an undecided request are replaced and recorded as `filter_bypassed`);
//! - `corrupt-store`: write a value that is no counter record into the shared-data keys of the
//!   limits named `store-closed` and `store-open` (with no `per`), then go on as usual (to prove a
//!   failing budget store fails closed or open as configured).

use proxy_wasm::types::{Action, MapType};

use crate::wasm::{abi, host};

/// The hook header.
const HOOK_HEADER: &str = "x-openrouter-guard-test-hook";

/// Runs the hook named by the request, if any.
pub(crate) fn on_governed_headers() -> Option<Action> {
    match host::header_bytes(MapType::HttpRequestHeaders, HOOK_HEADER)?.as_slice() {
        b"trap" => core::arch::wasm32::unreachable(),
        b"skip-decision" => Some(Action::Continue),
        b"corrupt-store" => {
            for key in ["openrouter_guard/limit/store-closed", "openrouter_guard/limit/store-open"] {
                let _ = abi::set_shared_data(key, b"not a counter", 0);
            }
            None
        }
        _ => None,
    }
}
