//! Applying the core's effects to the host: one place for every stream context (the guard, the
//! refusal of a VM without a policy, the hold watch's tick). Nothing here decides.

use proxy_wasm::types::{Action, BufferType, LogLevel};

use crate::core::reason::Reason;
use crate::core::stream::{Edit, Effect, Flow, Level};
use crate::wasm::hold::HoldWatch;
use crate::wasm::host;
use crate::wasm::metrics::Metrics;

/// Applies one effect for stream `id` (the effective context); `Err(reason)` when a checked edit
/// failed.
pub(crate) fn apply(id: u32, hold: &HoldWatch, metrics: &Metrics, effect: Effect) -> Result<(), Reason> {
    match effect {
        Effect::Edit { edit, on_fail } => {
            let done = match edit {
                Edit::SetRequestHeader(name, value) => host::set_request_header(name, &value),
                Edit::ReplaceRequestHeader(name, value) => host::set_request_header(&name, &value),
                Edit::RemoveRequestHeader(name) => host::remove_request_header(&name),
                Edit::RemoveRequestTrailer(name) => host::remove_request_trailer(&name),
                Edit::ReplaceRequestBody { old_len, bytes } => {
                    host::replace_buffer(BufferType::HttpRequestBody, old_len, &bytes)
                }
                Edit::SetLogPath(path) => host::set_log_path(&path),
                Edit::SetResponseHeader(name, value) => host::set_response_header(name, &value),
                Edit::RemoveResponseHeader(name) => host::remove_response_header(name),
                Edit::ReplaceResponseBody { old_len, bytes } => {
                    host::replace_buffer(BufferType::HttpResponseBody, old_len, &bytes)
                }
            };
            if let (Err(_), Some(reason)) = (done, on_fail) {
                return Err(reason);
            }
        }
        Effect::Reply(r) => {
            if let Err(e) = host::send_reply(&r) {
                host::log(LogLevel::Error, &format!("#{id} openrouter-guard: local reply failed: {e:?}"));
            }
        }
        Effect::ReplaceResponse(r) => {
            if host::send_reply(&r).is_err() {
                let _ = host::reset_response();
            }
        }
        Effect::Watch => hold.watch(id),
        Effect::Unwatch => hold.release(id),
        Effect::ForgetWatch => hold.forget(id),
        Effect::Log(Level::Error, msg) => host::log(LogLevel::Error, &format!("#{id} {msg}")),
        Effect::Metric(op) => metrics.apply(&op),
        Effect::PublishAudit(line) => {
            if let Err(e) = host::set_audit(&line) {
                host::log(LogLevel::Error, &format!("#{id} openrouter-guard: cannot publish audit record: {e:?}"));
            }
        }
        // The guard (wasm/http.rs) makes these calls: it owns the gRPC callout and the commit
        // queue. No other context's outcome carries them.
        Effect::StoreCall(_) | Effect::StoreCommit(_) => {}
        #[cfg(feature = "test-hooks")]
        Effect::Trap => core::arch::wasm32::unreachable(),
    }
    Ok(())
}

/// The host's answer to a callback.
pub(crate) fn action(flow: Flow) -> Action {
    match flow {
        Flow::Continue => Action::Continue,
        Flow::Pause => Action::Pause,
    }
}
