//! The proxy-wasm host calls the filter makes, declared here instead of going through the SDK's
//! `hostcalls` module: every SDK wrapper `panic!`s on a status it does not expect (`log` on
//! anything but Ok, `get_map` on a non-UTF-8 name or value, `get_map_bytes` on a non-UTF-8 name,
//! `set_buffer` on BadArgument, ...). A panic traps the VM, and the worker then refuses (or, with
//! FAIL_RELOAD, reloads) every stream. Here every status is a value: callers get `Err(status)`.
//!
//! Statuses come back as plain `u32` so an unknown code from the host is just another error (the
//! SDK's `Status` enum return type would be undefined behaviour for a code it does not list).
//! Buffers the host returns were allocated through the SDK's exported `proxy_on_memory_allocate`
//! and are taken over exactly as the SDK does (`Vec::from_raw_parts` with length = capacity).

use std::ptr::{null, null_mut};

use proxy_wasm::types::{BufferType, LogLevel, MapType, MetricType};

use crate::core::headers::{decode_pairs, RawHeader};

/// A host status other than Ok (the raw code; 1 NotFound, 2 BadArgument, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostError(pub(crate) u32);

const OK: u32 = 0;
const NOT_FOUND: u32 = 1;
/// Not a host code: the host's header map did not decode.
pub(crate) const MALFORMED_MAP: HostError = HostError(0xFFFF_0001);

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_get_header_map_pairs(map_type: u32, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_set_property(path_data: *const u8, path_size: usize, value_data: *const u8, value_size: usize) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_set_buffer_bytes(
        buffer_type: u32,
        start: usize,
        size: usize,
        buffer_data: *const u8,
        buffer_size: usize,
    ) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        details_data: *const u8,
        details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_close_stream(stream_type: u32) -> u32;
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_define_metric(metric_type: u32, name_data: *const u8, name_size: usize, return_id: *mut u32) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
}

/// Host status: the CAS value did not match (proxy-wasm `WasmResult::CasMismatch`).
pub(crate) const CAS_MISMATCH: u32 = 8;

/// A shared-data value and its CAS value (`None` when the key does not exist).
pub(crate) fn get_shared_data(key: &str) -> Result<Option<(Vec<u8>, u32)>, HostError> {
    let (mut data, mut size, mut cas) = (null_mut(), 0usize, 0u32);
    // SAFETY: the key is a live &str; the host writes a pointer, a size and a CAS to live locals.
    let status = unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) };
    match status {
        // SAFETY: Ok status (see `take`).
        OK => Ok(Some((unsafe { take(data, size) }.unwrap_or_default(), cas))),
        NOT_FOUND => Ok(None),
        s => Err(HostError(s)),
    }
}

/// Writes a shared-data value if its CAS value is still `cas` (0: unconditionally).
pub(crate) fn set_shared_data(key: &str, value: &[u8], cas: u32) -> Result<(), HostError> {
    // SAFETY: live slices.
    check(unsafe { proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) })
}

fn check(status: u32) -> Result<(), HostError> {
    if status == OK {
        Ok(())
    } else {
        Err(HostError(status))
    }
}

/// Takes over a buffer the host allocated in this VM's memory (None when it returned none).
///
/// SAFETY (of the caller): `data`/`size` come from a host call that returned Ok, so `data` is null
/// or a fresh allocation of exactly `size` bytes made through `proxy_on_memory_allocate`.
unsafe fn take(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        None
    } else {
        Some(Vec::from_raw_parts(data, size, size))
    }
}

/// Writes a log line; failures are ignored (there is nowhere to report them).
pub(crate) fn log(level: LogLevel, message: &str) {
    // SAFETY: pointer and length of a live &str.
    let _ = unsafe { proxy_log(level as u32, message.as_ptr(), message.len()) };
}

/// Wall time in nanoseconds since the epoch.
pub(crate) fn now_ns() -> Result<u64, HostError> {
    let mut t: u64 = 0;
    // SAFETY: the host writes one u64 to a live local.
    check(unsafe { proxy_get_current_time_nanoseconds(&mut t) })?;
    Ok(t)
}

/// Sets the root context's tick period (0 stops ticks).
pub(crate) fn set_tick_period_ms(ms: u32) -> Result<(), HostError> {
    // SAFETY: plain value call.
    check(unsafe { proxy_set_tick_period_milliseconds(ms) })
}

/// Makes `context_id` the context later host calls act on (from a root callback such as a tick).
pub(crate) fn set_effective_context(context_id: u32) -> Result<(), HostError> {
    // SAFETY: plain value call.
    check(unsafe { proxy_set_effective_context(context_id) })
}

/// Every header of a map, as bytes.
pub(crate) fn header_pairs(map: MapType) -> Result<Vec<RawHeader>, HostError> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: the host writes a pointer and a size to live locals.
    check(unsafe { proxy_get_header_map_pairs(map as u32, &mut data, &mut size) })?;
    // SAFETY: Ok status (see `take`).
    match unsafe { take(data, size) } {
        None => Ok(Vec::new()),
        Some(bytes) => decode_pairs(&bytes).ok_or(MALFORMED_MAP),
    }
}

/// One header's value as bytes (`None` when absent).
pub(crate) fn header_value(map: MapType, name: &str) -> Result<Option<Vec<u8>>, HostError> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: the key is a live &str; the host writes a pointer and a size to live locals.
    let status = unsafe { proxy_get_header_map_value(map as u32, name.as_ptr(), name.len(), &mut data, &mut size) };
    match status {
        OK => Ok(Some(unsafe { take(data, size) }.unwrap_or_default())),
        NOT_FOUND => Ok(None),
        s => Err(HostError(s)),
    }
}

/// Sets (replaces) a header.
pub(crate) fn set_header(map: MapType, name: &str, value: &[u8]) -> Result<(), HostError> {
    // SAFETY: live slices.
    check(unsafe { proxy_replace_header_map_value(map as u32, name.as_ptr(), name.len(), value.as_ptr(), value.len()) })
}

/// Removes a header (every value). `name` is bytes: trailers may carry names that are not UTF-8.
pub(crate) fn remove_header(map: MapType, name: &[u8]) -> Result<(), HostError> {
    // SAFETY: live slice.
    check(unsafe { proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) })
}

fn property_path(path: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in path.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// A property's raw value (`None` when absent).
pub(crate) fn property(path: &[&str]) -> Result<Option<Vec<u8>>, HostError> {
    let p = property_path(path);
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: live path; the host writes a pointer and a size to live locals.
    match unsafe { proxy_get_property(p.as_ptr(), p.len(), &mut data, &mut size) } {
        OK => Ok(unsafe { take(data, size) }),
        NOT_FOUND => Ok(None),
        s => Err(HostError(s)),
    }
}

/// Sets a property (filter state).
pub(crate) fn set_property(path: &[&str], value: &[u8]) -> Result<(), HostError> {
    let p = property_path(path);
    // SAFETY: live slices.
    check(unsafe { proxy_set_property(p.as_ptr(), p.len(), value.as_ptr(), value.len()) })
}

/// Up to `max` bytes of a buffer from its start (empty when the host has none).
pub(crate) fn buffer(kind: BufferType, max: usize) -> Result<Vec<u8>, HostError> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: the host writes a pointer and a size to live locals.
    match unsafe { proxy_get_buffer_bytes(kind as u32, 0, max, &mut data, &mut size) } {
        OK => Ok(unsafe { take(data, size) }.unwrap_or_default()),
        NOT_FOUND => Ok(Vec::new()),
        s => Err(HostError(s)),
    }
}

/// Replaces the first `old_size` bytes of a buffer with `bytes`.
pub(crate) fn replace_buffer(kind: BufferType, old_size: usize, bytes: &[u8]) -> Result<(), HostError> {
    // SAFETY: live slice.
    check(unsafe { proxy_set_buffer_bytes(kind as u32, 0, old_size, bytes.as_ptr(), bytes.len()) })
}

fn encode_pairs(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&u32::try_from(pairs.len()).unwrap_or(0).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&u32::try_from(k.len()).unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&u32::try_from(v.len()).unwrap_or(0).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Sends a local reply. `details` becomes the stream's response code details
/// (`%RESPONSE_CODE_DETAILS%`); Envoy sends it after the current callback returns.
pub(crate) fn send_local_response(
    status: u32,
    details: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(), HostError> {
    let h = encode_pairs(headers);
    // SAFETY: live slices; -1 = no gRPC status.
    check(unsafe {
        proxy_send_local_response(
            status,
            details.as_ptr(),
            details.len(),
            if body.is_empty() { null() } else { body.as_ptr() },
            body.len(),
            h.as_ptr(),
            h.len(),
            -1,
        )
    })
}

/// Resets the response stream (stream type 1 = HTTP response).
pub(crate) fn reset_response() -> Result<(), HostError> {
    // SAFETY: plain value call.
    check(unsafe { proxy_close_stream(1) })
}

/// Lets a paused request go on (stream type 0 = HTTP request).
pub(crate) fn resume_request() -> Result<(), HostError> {
    // SAFETY: plain value call.
    check(unsafe { proxy_continue_stream(0) })
}

/// Defines a metric; returns its id.
pub(crate) fn define_metric(kind: MetricType, name: &str) -> Result<u32, HostError> {
    let mut id = 0u32;
    // SAFETY: live name; the host writes one u32 to a live local.
    check(unsafe { proxy_define_metric(kind as u32, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Adds to a counter.
pub(crate) fn increment_metric(id: u32, by: i64) -> Result<(), HostError> {
    // SAFETY: plain value call.
    check(unsafe { proxy_increment_metric(id, by) })
}

/// Records a histogram value.
pub(crate) fn record_metric(id: u32, value: u64) -> Result<(), HostError> {
    // SAFETY: plain value call.
    check(unsafe { proxy_record_metric(id, value) })
}
