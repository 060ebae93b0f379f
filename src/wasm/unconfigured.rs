//! The stream context of a VM without a policy: answers every request with 500.
//!
//! Envoy does not create streams after `on_configure` failed, so this is defensive: it exists
//! because the SDK's dispatcher panics when `create_http_context` returns None, and a panic
//! would take the whole VM down instead of failing this one request closed.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};

use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::wasm::host;

/// Stream context that refuses everything.
pub(crate) struct Unconfigured;

impl Context for Unconfigured {}

impl HttpContext for Unconfigured {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        host::log(LogLevel::Error, "openrouter-guard: no policy loaded; request refused");
        let r = Rejection::internal(Reason::NoPolicy);
        let _ = host::send_json(r.status, &r.body());
        Action::Pause
    }
}
