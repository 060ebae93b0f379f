//! Envoy stats for the filter. Names carry their labels as `.<label>.<value>` pairs, e.g.
//! `openrouter_guard_requests_total.decision.allow.profile.confidential`; the shipped Envoy
//! configs turn those pairs into Prometheus labels with `stats_tags` (see docs/metrics.md).
//! Envoy stores them under the `wasmcustom.` namespace.

use std::cell::RefCell;
use std::collections::HashMap;

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

/// Lazily defined metrics, cached by full name (one VM is single-threaded).
#[derive(Default)]
pub struct Metrics {
    ids: RefCell<HashMap<String, u32>>,
}

/// Replaces characters that would break the `.`-separated label encoding.
fn label(v: &str) -> String {
    v.chars().take(64).map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

impl Metrics {
    fn id(&self, kind: MetricType, name: &str) -> Option<u32> {
        if let Some(id) = self.ids.borrow().get(name) {
            return Some(*id);
        }
        let id = hostcalls::define_metric(kind, name).ok()?;
        self.ids.borrow_mut().insert(name.to_string(), id);
        Some(id)
    }

    /// Adds `n` to counter `base` with `labels`.
    pub fn count(&self, base: &str, labels: &[(&str, &str)], n: u64) {
        if n == 0 {
            return;
        }
        let mut name = base.to_string();
        for (k, v) in labels {
            name.push('.');
            name.push_str(k);
            name.push('.');
            name.push_str(&label(v));
        }
        if let Some(id) = self.id(MetricType::Counter, &name) {
            let _ = hostcalls::increment_metric(id, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Records `value` in histogram `name`.
    pub fn record(&self, name: &str, value: u64) {
        if let Some(id) = self.id(MetricType::Histogram, name) {
            let _ = hostcalls::record_metric(id, value);
        }
    }
}
