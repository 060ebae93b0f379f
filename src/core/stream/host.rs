//! What the stream state machine pulls from its host: header maps, buffered bodies, properties,
//! the clock. Everything it pushes (edits, replies, log lines, metrics) goes out as an
//! [`Outcome`](super::Outcome) instead, so a mock host in the unit tests is a few fields.

use crate::core::headers::RawHeader;
use crate::core::reply::Rejection;
use crate::core::spend::feed::FetchedPrices;
use crate::core::spend::CounterStore;
use std::rc::Rc;

/// A host call that failed (the adapter's error detail is not needed to decide).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFailure;

/// Properties (Envoy attributes) the state machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    /// `xds.cluster_name`: the upstream cluster of the route (text).
    ClusterName,
    /// `upstream.address`: present once the request reached an upstream host.
    UpstreamAddress,
    /// `request.size`: request body bytes received (little-endian integer).
    RequestSize,
    /// `response.code_details`: `via_upstream` for a response relayed from the upstream (text).
    ResponseCodeDetails,
}

impl Property {
    /// The attribute path Envoy knows it by.
    pub fn path(self) -> &'static [&'static str] {
        match self {
            Self::ClusterName => &["xds", "cluster_name"],
            Self::UpstreamAddress => &["upstream", "address"],
            Self::RequestSize => &["request", "size"],
            Self::ResponseCodeDetails => &["response", "code_details"],
        }
    }
}

/// The host of one stream, as the state machine sees it. Every method is a read; none may panic.
pub trait StreamHost {
    /// Wall time in nanoseconds since the epoch (0 when unknown).
    fn now_ns(&mut self) -> u64;
    /// One request header value, as bytes (`None` when absent or unreadable).
    fn request_header(&mut self, name: &str) -> Option<Vec<u8>>;
    /// Every request header, as bytes.
    fn request_headers(&mut self) -> Result<Vec<RawHeader>, HostFailure>;
    /// Every request trailer, as bytes.
    fn request_trailers(&mut self) -> Result<Vec<RawHeader>, HostFailure>;
    /// Every response header, as bytes.
    fn response_headers(&mut self) -> Result<Vec<RawHeader>, HostFailure>;
    /// Up to `max` bytes of the buffered request body, from its start.
    fn request_body(&mut self, max: usize) -> Result<Vec<u8>, HostFailure>;
    /// Up to `max` bytes of the current response body chunk.
    fn response_body(&mut self, max: usize) -> Result<Vec<u8>, HostFailure>;
    /// A property's raw bytes (`None` when absent or unreadable).
    fn property(&mut self, p: Property) -> Option<Vec<u8>>;
    /// The reply the hold watch sent for this stream, if it answered it (adapter-side watch of
    /// headers Envoy could not hold; docs/design.md).
    fn hold_refusal(&mut self) -> Option<Rejection>;
    /// The counters of budgets and rate limits (shared by every worker of one Envoy).
    fn counters(&mut self) -> &mut dyn CounterStore;
    /// The prices last fetched from OpenRouter's model list (`spend.prices_refresh`), if any.
    fn fetched_prices(&mut self) -> Option<Rc<FetchedPrices>> {
        None
    }
}

/// A property as UTF-8 text.
pub(crate) fn property_text(host: &mut impl StreamHost, p: Property) -> Option<String> {
    host.property(p).and_then(|b| String::from_utf8(b).ok())
}

/// A property holding a little-endian integer (Envoy's encoding of int/uint attributes).
pub(crate) fn property_u64(host: &mut impl StreamHost, p: Property) -> Option<u64> {
    let b = host.property(p)?;
    let arr: [u8; 8] = b.as_slice().try_into().ok()?;
    Some(u64::from_le_bytes(arr))
}

/// Whether a property is present and non-empty.
pub(crate) fn has_property(host: &mut impl StreamHost, p: Property) -> bool {
    host.property(p).is_some_and(|b| !b.is_empty())
}
