//! Observing OpenRouter responses without slowing them: non-streaming JSON bodies (buffered up to
//! a limit) and SSE streams (parsed incrementally, never buffered), summarised for the audit record,
//! plus checks of the served provider and model against the policy.
//!
//! Use: one [`ResponseObserver`] per response; `on_headers`, `on_chunk` per new body bytes,
//! `finish`; then [`verify_served`] / [`verify_served_model`] on the summary.

mod channel_index;
mod delta_fields;
mod json_body;
mod json_canon;
mod json_walk;
mod markup;
mod observer;
pub(crate) mod outscan;
/// The stages of a rewritten response: driven by the wasm adapter through `core::stream`; a native
/// build reaches them through tests only (one allowance for these modules).
macro_rules! adapter_driven {
    ($($name:ident),*) => {
        $(
            #[cfg_attr(
                not(target_arch = "wasm32"),
                allow(dead_code, reason = "driven by the wasm adapter; native builds reach it through tests")
            )]
            pub(crate) mod $name;
        )*
    };
}
adapter_driven!(logprobs, outscan_stage, restore, rewrite, session, stage, stream_end, stream_start);
pub(crate) mod sniff;
pub(crate) mod sse;
mod sse_frame;
mod verify;

#[cfg(test)]
mod tests;

pub use crate::core::summary::ResponseSummary;
pub use observer::{ObserverLimits, ResponseObserver};
pub(crate) use verify::{verify_served, verify_served_model, ServedVerdict, Verdict};

/// Values of [`ResponseSummary::not_inspected`].
pub(crate) mod reason {
    /// A JSON body larger than `max_json_bytes` (compressed or decoded); it passed through unread.
    pub(crate) const TOO_LARGE: &str = "too_large";
    /// A content type that is neither JSON nor an event stream.
    pub(crate) const NOT_JSON: &str = "not_json";
    /// Declared (or presumed) JSON that did not parse.
    pub(crate) const BAD_JSON: &str = "bad_json";
    /// A `content-encoding` the filter does not decode (unknown, stacked, `br`), or any coding on
    /// an event stream.
    pub(crate) const ENCODED: &str = "encoded";
    /// A compressed JSON body that did not decode (corrupt, truncated, trailing bytes).
    pub(crate) const BAD_ENCODING: &str = "bad_encoding";
    /// The stream was cut (client abort, upstream reset) before its end.
    pub(crate) const INCOMPLETE: &str = "incomplete";
    /// No body.
    pub(crate) const EMPTY: &str = "empty";
    /// `finish` came without `on_headers`.
    pub(crate) const NO_HEADERS: &str = "no_headers";
}

/// Bounds on usage figures reported by the upstream. A figure outside them is not recorded as a
/// number nor counted in a metric: it is kept as text in `usage_suspect` and counted as suspect.
pub(crate) mod usage_bounds {
    /// Largest token count accepted for one request (the largest context windows are ~2 M tokens).
    pub(crate) const MAX_TOKENS: u64 = 100_000_000;
    /// Largest cost accepted for one request, in USD credits.
    pub(crate) const MAX_COST: f64 = 1_000.0;
    /// Longest raw number kept in `usage_suspect`, in bytes.
    pub(crate) const MAX_RAW: usize = 40;
}
