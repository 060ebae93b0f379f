//! The few protobuf messages the filter exchanges with the rate-limit service (Envoy's RLS v3,
//! `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`), encoded and decoded by hand: a
//! protobuf crate would cost tens of KB of `.wasm` for five messages. Field numbers are those of
//! `envoy/service/ratelimit/v3/rls.proto` and `envoy/extensions/common/ratelimit/v3/ratelimit.proto`.
//! The service side (`rls/`) uses the generated types of `envoy-types`; the e2e tests
//! (`tests/e2e/test_spend_rls.py`) run both through Envoy.

/// The gRPC service and method.
pub(crate) const SERVICE: &str = "envoy.service.ratelimit.v3.RateLimitService";
/// See [`SERVICE`].
pub(crate) const METHOD: &str = "ShouldRateLimit";

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `envoy.config.core.v3.GrpcService` with `envoy_grpc.cluster_name` (and `envoy_grpc.authority`):
/// what `proxy_dispatch_grpc_call` takes as its upstream (a bare cluster name may parse as a
/// message). The SDK takes it as `&str`, so it must be UTF-8: the authority goes in a second
/// `envoy_grpc` (a parser merges repeated occurrences of a message field), which keeps every
/// length below 128, one byte, and the whole message ASCII for ASCII names of up to 100 bytes.
pub(crate) fn grpc_service(cluster: &str, authority: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut envoy_grpc = Vec::new();
    bytes_field(&mut envoy_grpc, 1, cluster.as_bytes());
    bytes_field(&mut out, 1, &envoy_grpc);
    if let Some(a) = authority {
        envoy_grpc.clear();
        bytes_field(&mut envoy_grpc, 2, a.as_bytes());
        bytes_field(&mut out, 1, &envoy_grpc);
    }
    out
}

/// One `RateLimitDescriptor`: entries (key, value) and `hits_addend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub(crate) entries: Vec<(&'static str, String)>,
    pub(crate) hits_addend: u64,
}

/// A `RateLimitRequest` for `domain`.
pub(crate) fn request(domain: &str, descriptors: &[Descriptor]) -> Vec<u8> {
    let mut out = Vec::new();
    bytes_field(&mut out, 1, domain.as_bytes());
    for d in descriptors {
        let mut desc = Vec::new();
        for (k, v) in &d.entries {
            let mut entry = Vec::new();
            bytes_field(&mut entry, 1, k.as_bytes());
            bytes_field(&mut entry, 2, v.as_bytes());
            bytes_field(&mut desc, 1, &entry);
        }
        // google.protobuf.UInt64Value { value = 1 }; present even when 0 (0 is a real amount).
        let mut hits = Vec::new();
        if d.hits_addend > 0 {
            varint(&mut hits, 1 << 3);
            varint(&mut hits, d.hits_addend);
        }
        bytes_field(&mut desc, 3, &hits);
        bytes_field(&mut out, 2, &desc);
    }
    out
}

/// `RateLimitResponse.Code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// Unknown (0) or anything else.
    Unknown,
    /// Under the limit (1).
    Ok,
    /// Over the limit (2).
    OverLimit,
}

impl Code {
    fn of(v: u64) -> Self {
        match v {
            1 => Code::Ok,
            2 => Code::OverLimit,
            _ => Code::Unknown,
        }
    }
}

/// One `DescriptorStatus`: its code and `duration_until_reset` in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) code: Code,
    pub(crate) reset_s: Option<u64>,
}

/// What the filter reads of a `RateLimitResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Response {
    pub(crate) statuses: Vec<Status>,
    /// `response_headers_to_add` (key, value).
    pub(crate) headers: Vec<(String, String)>,
}

/// A protobuf reader over one message.
struct Reader<'a> {
    buf: &'a [u8],
}

/// One field: its number and its value (a varint, or the bytes of a length-delimited field).
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let (&b, rest) = self.buf.split_first()?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Some(a)
    }

    /// The next field, `None` at the end; `Some(Err(()))` when malformed.
    fn field(&mut self) -> Option<Result<(u64, Field<'a>), ()>> {
        if self.buf.is_empty() {
            return None;
        }
        let Some(tag) = self.varint() else { return Some(Err(())) };
        let value = match tag & 7 {
            0 => self.varint().map(Field::Varint),
            1 => self.take(8).map(|_| Field::Other),
            2 => self.varint().and_then(|n| usize::try_from(n).ok()).and_then(|n| self.take(n)).map(Field::Bytes),
            5 => self.take(4).map(|_| Field::Other),
            _ => None,
        };
        Some(value.map(|v| (tag >> 3, v)).ok_or(()))
    }
}

fn text(b: &[u8]) -> Result<String, ()> {
    String::from_utf8(b.to_vec()).map_err(|_| ())
}

fn status(buf: &[u8]) -> Result<Status, ()> {
    let mut s = Status { code: Code::Unknown, reset_s: None };
    let mut r = Reader { buf };
    while let Some(f) = r.field() {
        match f? {
            (1, Field::Varint(v)) => s.code = Code::of(v),
            (4, Field::Bytes(d)) => {
                let mut secs = 0;
                let mut dr = Reader { buf: d };
                while let Some(f) = dr.field() {
                    if let (1, Field::Varint(v)) = f? {
                        secs = v;
                    }
                }
                s.reset_s = Some(secs);
            }
            _ => {}
        }
    }
    Ok(s)
}

fn header(buf: &[u8]) -> Result<(String, String), ()> {
    let (mut k, mut v) = (String::new(), String::new());
    let mut r = Reader { buf };
    while let Some(f) = r.field() {
        match f? {
            (1, Field::Bytes(b)) => k = text(b)?,
            (2, Field::Bytes(b)) => v = text(b)?,
            _ => {}
        }
    }
    Ok((k, v))
}

/// Decodes a `RateLimitResponse`; `Err` when it is not one.
pub(crate) fn response(buf: &[u8]) -> Result<Response, ()> {
    let mut out = Response::default();
    let mut r = Reader { buf };
    while let Some(f) = r.field() {
        match f? {
            (2, Field::Bytes(b)) => out.statuses.push(status(b)?),
            (3, Field::Bytes(b)) => out.headers.push(header(b)?),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_encodes_as_protobuf() {
        let d = Descriptor { entries: vec![("op", "reserve".into()), ("key", "k".into())], hits_addend: 300 };
        let got = request("og", &[d]);
        let want: Vec<u8> = [
            &[0x0a, 2][..],
            b"og",
            &[0x12, 30],
            &[0x0a, 13, 0x0a, 2],
            b"op",
            &[0x12, 7],
            b"reserve",
            &[0x0a, 8, 0x0a, 3],
            b"key",
            &[0x12, 1],
            b"k",
            &[0x1a, 3, 0x08, 0xac, 0x02],
        ]
        .concat();
        assert_eq!(got, want);
        assert_eq!(grpc_service("rls", None), [&[0x0a, 5, 0x0a, 3][..], b"rls"].concat());
        assert_eq!(
            grpc_service("rls", Some("h:81")),
            [&[0x0a, 5, 0x0a, 3][..], b"rls", &[0x0a, 6, 0x12, 4], b"h:81"].concat()
        );
        // The longest names the configuration accepts stay one-byte lengths: ASCII, so UTF-8.
        let long = "x".repeat(100);
        let bytes = grpc_service(&long, Some(&long));
        assert!(bytes.is_ascii() && std::str::from_utf8(&bytes).is_ok());
    }

    #[test]
    fn a_response_decodes_and_garbage_is_refused() {
        // overall OVER_LIMIT, statuses [OK, OVER_LIMIT reset 42.5 s], header og-reservation-0: ab.
        let mut buf = vec![0x08, 2];
        buf.extend([0x12, 2, 0x08, 1]);
        buf.extend([0x12, 8, 0x08, 2, 0x22, 4, 0x08, 42, 0x10, 1]);
        let mut h = vec![0x0a, 16];
        h.extend(b"og-reservation-0");
        h.extend([0x12, 2]);
        h.extend(b"ab");
        buf.push(0x1a);
        buf.push(h.len() as u8);
        buf.extend(h);
        buf.extend([0x29, 0, 0, 0, 0, 0, 0, 0, 0]); // an unknown fixed64 field is skipped
        let r = response(&buf).unwrap();
        assert_eq!(
            r.statuses,
            vec![Status { code: Code::Ok, reset_s: None }, Status { code: Code::OverLimit, reset_s: Some(42) }]
        );
        assert_eq!(r.headers, vec![("og-reservation-0".to_string(), "ab".to_string())]);
        assert_eq!(response(&[]).unwrap(), Response::default());
        for bad in [&[0x12, 5, 0x08][..], &[0x08], &[0x0b], &[0x1a, 2, 0x0a, 1]] {
            assert!(response(bad).is_err(), "{bad:?}");
        }
    }
}
