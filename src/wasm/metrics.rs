//! Envoy stats for the filter: the core names them (core/stream/metrics.rs, labels included);
//! this defines each once per VM and applies the updates. Envoy stores them under the
//! `wasmcustom.` namespace.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::core::stream::{MetricKind, MetricOp};
use crate::wasm::abi;
use proxy_wasm::types::MetricType;

/// Lazily defined metrics, cached by full name (one VM is single-threaded).
#[derive(Default)]
pub(crate) struct Metrics {
    ids: RefCell<HashMap<String, u32>>,
}

impl Metrics {
    fn id(&self, kind: MetricType, name: &str) -> Option<u32> {
        if let Some(id) = self.ids.borrow().get(name) {
            return Some(*id);
        }
        let id = abi::define_metric(kind, name).ok()?;
        self.ids.borrow_mut().insert(name.to_string(), id);
        Some(id)
    }

    /// Applies one update (a counter increment of 0 defines nothing).
    pub(crate) fn apply(&self, op: &MetricOp) {
        let kind = match op.kind {
            MetricKind::Counter if op.value == 0 => return,
            MetricKind::Counter => MetricType::Counter,
            MetricKind::Gauge => MetricType::Gauge,
            MetricKind::Histogram => MetricType::Histogram,
        };
        let Some(id) = self.id(kind, &op.name) else { return };
        let _ = match op.kind {
            MetricKind::Counter => abi::increment_metric(id, i64::try_from(op.value).unwrap_or(i64::MAX)),
            MetricKind::Gauge | MetricKind::Histogram => abi::record_metric(id, op.value),
        };
    }
}
