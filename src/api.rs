//! The crate's public surface: exactly what the code outside `src/core` uses — the proxy-wasm
//! adapter (`src/wasm`), the fuzz targets (`fuzz/`), the examples, the benchmarks (`bench/`).
//! Everything in [`crate::core`] is `pub(crate)` unless re-exported here, so the compiler reports
//! what nothing uses.

/// The filter's JSON parser and writer.
pub mod json {
    pub use crate::core::json::{json_string, parse, write_json_string, JsonError, Kind, Node};
}

pub use crate::core::audit::{sha256_hex, AuditRecord};
pub use crate::core::chain::{random_chain_id, AuditChain, ChainError, AUDIT_KEY_ENV};
pub use crate::core::decode::{decode, Coding};
pub use crate::core::endpoint::{classify, Endpoint};
pub use crate::core::headers::{decode_pairs, RawHeader};
pub use crate::core::pii::{Action, Entity, PiiConfig, PiiTally, Redactor};
pub use crate::core::policy::{Policy, MAX_JSON_DEPTH_CEILING};
pub use crate::core::reason::Reason;
pub use crate::core::reply::Rejection;
pub use crate::core::request::{on_body, on_head, Plan, RequestHead};
pub use crate::core::response::outscan::{StreamScanner, MAX_HOLD};
pub use crate::core::response::{ObserverLimits, ResponseObserver, ResponseSummary};
pub use crate::core::spend::{CounterStore, SetError, StoreAnswer, StoreCall, StoreError};
pub use crate::core::stream::hold::{HoldTracker, Seen, TICK_MS};
pub use crate::core::stream::{
    no_policy, Edit, Effect, Flow, HostFailure, Level, MetricKind, MetricOp, Outcome, Property, Stream, StreamHost,
};
pub use crate::core::walk::Walker;
