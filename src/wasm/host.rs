//! Host calls wrapped so that every failure is a value, never a panic (the SDK's trait helpers
//! unwrap inside).

use std::time::{SystemTime, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType, Status};

/// Logs at `level`; logging failures are ignored (there is nowhere to report them).
pub fn log(level: LogLevel, msg: &str) {
    let _ = hostcalls::log(level, msg);
}

/// Current wall time in nanoseconds since the epoch (0 if the host cannot tell).
pub fn now_ns() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t: SystemTime| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A request or response header value.
pub fn header(map: MapType, name: &str) -> Option<String> {
    hostcalls::get_map_value(map, name).ok().flatten()
}

/// All request headers.
pub fn request_headers() -> Result<Vec<(String, String)>, Status> {
    hostcalls::get_map(MapType::HttpRequestHeaders)
}

/// All response headers.
pub fn response_headers() -> Result<Vec<(String, String)>, Status> {
    hostcalls::get_map(MapType::HttpResponseHeaders)
}

/// A property as UTF-8 text.
pub fn property_string(path: Vec<&str>) -> Option<String> {
    hostcalls::get_property(path).ok().flatten().and_then(|b| String::from_utf8(b).ok())
}

/// Reads `size` bytes of a buffer from its start.
pub fn buffer(kind: BufferType, size: usize) -> Result<Vec<u8>, Status> {
    Ok(hostcalls::get_buffer(kind, 0, size)?.unwrap_or_default())
}

/// Replaces the first `old_size` bytes of a buffer with `bytes`.
pub fn replace_buffer(kind: BufferType, old_size: usize, bytes: &[u8]) -> Result<(), Status> {
    hostcalls::set_buffer(kind, 0, old_size, bytes)
}

/// Sets (or replaces) a request header.
pub fn set_request_header(name: &str, value: &str) -> Result<(), Status> {
    hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
}

/// Removes a request header (every value).
pub fn remove_request_header(name: &str) -> Result<(), Status> {
    hostcalls::remove_map_value(MapType::HttpRequestHeaders, name)
}

/// Publishes the audit record as filter state `wasm.audit`.
pub fn set_audit(json: &str) -> Result<(), Status> {
    hostcalls::set_property(vec!["audit"], Some(json.as_bytes()))
}

/// Sends a local reply with a JSON body.
pub fn send_json(status: u16, body: &[u8]) -> Result<(), Status> {
    hostcalls::send_http_response(
        u32::from(status),
        vec![("content-type", "application/json"), ("x-openrouter-guard", "rejected")],
        Some(body),
    )
}

/// Resets the response stream (the last resort when a replacement reply cannot be sent).
pub fn reset_response() -> Result<(), Status> {
    hostcalls::reset_http_response()
}
