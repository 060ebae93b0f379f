//! The host calls the adapter uses, in the shapes it needs. Every call goes through [`abi`]
//! (never the SDK's `hostcalls`, whose wrappers panic) and every failure is a value.

use proxy_wasm::types::{BufferType, LogLevel, MapType};

use crate::core::headers::RawHeader;
use crate::core::reply::Rejection;
use crate::wasm::abi::{self, HostError};

/// Logs at `level`; logging failures are ignored (there is nowhere to report them).
pub(crate) fn log(level: LogLevel, msg: &str) {
    abi::log(level, msg);
}

/// Current wall time in nanoseconds since the epoch (0 if the host cannot tell).
pub(crate) fn now_ns() -> u64 {
    abi::now_ns().unwrap_or(0)
}

/// A request or response header value, as bytes.
pub(crate) fn header_bytes(map: MapType, name: &str) -> Option<Vec<u8>> {
    abi::header_value(map, name).ok().flatten()
}

/// Every header of a map, as bytes.
pub(crate) fn headers(map: MapType) -> Result<Vec<RawHeader>, HostError> {
    abi::header_pairs(map)
}

/// A property's raw bytes (`None` when absent or unreadable).
pub(crate) fn property(path: &[&str]) -> Option<Vec<u8>> {
    abi::property(path).ok().flatten()
}

/// A property holding a little-endian integer (Envoy's encoding of int/uint attributes).
pub(crate) fn property_u64(path: &[&str]) -> Option<u64> {
    let b = abi::property(path).ok().flatten()?;
    let arr: [u8; 8] = b.as_slice().try_into().ok()?;
    Some(u64::from_le_bytes(arr))
}

/// Reads up to `max` bytes of a buffer from its start.
pub(crate) fn buffer(kind: BufferType, max: usize) -> Result<Vec<u8>, HostError> {
    abi::buffer(kind, max)
}

/// Replaces the first `old_size` bytes of a buffer with `bytes`.
pub(crate) fn replace_buffer(kind: BufferType, old_size: usize, bytes: &[u8]) -> Result<(), HostError> {
    abi::replace_buffer(kind, old_size, bytes)
}

/// Sets (or replaces) a request header.
pub(crate) fn set_request_header(name: &str, value: &str) -> Result<(), HostError> {
    abi::set_header(MapType::HttpRequestHeaders, name, value.as_bytes())
}

/// Removes a request header (every value).
pub(crate) fn remove_request_header(name: &str) -> Result<(), HostError> {
    abi::remove_header(MapType::HttpRequestHeaders, name.as_bytes())
}

/// Sets (or replaces) a response header.
pub(crate) fn set_response_header(name: &str, value: &str) -> Result<(), HostError> {
    abi::set_header(MapType::HttpResponseHeaders, name, value.as_bytes())
}

/// Removes a response header (every value).
pub(crate) fn remove_response_header(name: &str) -> Result<(), HostError> {
    abi::remove_header(MapType::HttpResponseHeaders, name.as_bytes())
}

/// Removes a request trailer (every value); the name as the host gave it.
pub(crate) fn remove_request_trailer(name: &[u8]) -> Result<(), HostError> {
    abi::remove_header(MapType::HttpRequestTrailers, name)
}

/// Publishes the audit record as filter state `wasm.audit`.
pub(crate) fn set_audit(json: &str) -> Result<(), HostError> {
    abi::set_property(&["audit"], json.as_bytes())
}

/// Publishes the recorded path as filter state `wasm.log_path` (for the operator access log).
pub(crate) fn set_log_path(path: &str) -> Result<(), HostError> {
    abi::set_property(&["log_path"], path.as_bytes())
}

/// Response code details of the filter's own replies (`%RESPONSE_CODE_DETAILS%`).
const REPLY_DETAILS: &str = "openrouter_guard_reply";

/// Sends a refusal: its JSON body, and `Retry-After` when it names one.
pub(crate) fn send_reply(r: &Rejection) -> Result<(), HostError> {
    let retry = r.retry_after.map(|s| s.to_string());
    let mut headers = vec![("content-type", "application/json"), ("x-openrouter-guard", "rejected")];
    if let Some(s) = retry.as_deref() {
        headers.push(("retry-after", s));
    }
    abi::send_local_response(u32::from(r.status), REPLY_DETAILS, &headers, &r.body())
}

/// Resets the response stream (the last resort when a replacement reply cannot be sent).
pub(crate) fn reset_response() -> Result<(), HostError> {
    abi::reset_response()
}
