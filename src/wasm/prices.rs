//! The price refresh on the host (`spend.prices_refresh`; parsing and use in core/spend/feed.rs).
//!
//! One writer per Envoy: every worker's root context ticks, but only the one holding the lease (a
//! shared-data key taken by compare-and-swap) makes the `GET /api/v1/models` call. A good answer is
//! stored in shared data (the body, then its fetch time) and every worker parses it once when the
//! fetch time changes; a bad one (status, size, not a model list) keeps the last good table, is
//! counted (`openrouter_guard_price_refresh_total{outcome}`) and logged without its content, and
//! holds the lease for the retry delay so the workers do not call in a loop.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use proxy_wasm::types::{BufferType, LogLevel, MapType};

use crate::core::spend::feed::{FetchedPrices, PricesRefresh};
use crate::core::stream::metrics;
use crate::wasm::abi;
use crate::wasm::host;
use crate::wasm::metrics::Metrics;

/// The fetch time (ns, decimal) of the stored model list; written after the body.
const STAMP_KEY: &str = "openrouter_guard/prices/fetched_at";
/// The last good model list, as OpenRouter sent it.
const BODY_KEY: &str = "openrouter_guard/prices/body";
/// Until when (ns, decimal) one worker's call (or a failed call's retry delay) holds off the others.
const LEASE_KEY: &str = "openrouter_guard/prices/lease";

const COUNTER: &str = "openrouter_guard_price_refresh_total";

/// This VM's view of the fetched prices.
#[derive(Default)]
pub(crate) struct PriceFeed {
    current: RefCell<Option<Rc<FetchedPrices>>>,
    /// CAS value of the fetch-time key last read.
    seen: Cell<Option<u32>>,
    /// This VM's call in flight.
    in_flight: Cell<Option<u32>>,
}

fn number(bytes: &[u8]) -> u64 {
    std::str::from_utf8(bytes).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

impl PriceFeed {
    /// The table requests use.
    pub(crate) fn current(&self) -> Option<Rc<FetchedPrices>> {
        self.current.try_borrow().ok().and_then(|c| c.clone())
    }

    fn set_current(&self, table: FetchedPrices) {
        if let Ok(mut c) = self.current.try_borrow_mut() {
            *c = Some(Rc::new(table));
        }
    }

    /// Picks up the table a worker (this one included) stored: from the tick, and before a request
    /// reads the prices (one shared-data read), so a worker never refuses `prices_stale` while
    /// another worker's fresher fetch waits for its next tick.
    pub(crate) fn sync(&self) {
        let Ok(Some((stamp, cas))) = abi::get_shared_data(STAMP_KEY) else { return };
        if self.seen.get() == Some(cas) {
            return;
        }
        self.seen.set(Some(cas));
        let Ok(Some((body, _))) = abi::get_shared_data(BODY_KEY) else { return };
        match FetchedPrices::parse(&body, number(&stamp)) {
            Ok(table) => self.set_current(table),
            Err(e) => {
                host::log(LogLevel::Warn, &format!("openrouter-guard: stored model list unreadable: {}", e.describe()))
            }
        }
    }

    /// Takes the lease until `until_ns` if nobody holds it at `now_ns`.
    fn take_lease(now_ns: u64, until_ns: u64) -> bool {
        match abi::get_shared_data(LEASE_KEY) {
            Ok(Some((v, _))) if number(&v) > now_ns => false,
            Ok(Some((_, cas))) => abi::set_shared_data(LEASE_KEY, until_ns.to_string().as_bytes(), cas).is_ok(),
            Ok(None) => abi::set_shared_data(LEASE_KEY, until_ns.to_string().as_bytes(), 0).is_ok(),
            Err(_) => false,
        }
    }

    /// From the tick: syncs, and when a fetch is due and no worker holds the lease, calls
    /// `dispatch` (the root context's `dispatch_http_call` with these headers).
    pub(crate) fn on_tick(
        &self,
        cfg: &PricesRefresh,
        metrics: &Metrics,
        dispatch: impl FnOnce(&[(&str, &str)]) -> Result<u32, String>,
    ) {
        self.sync();
        if self.in_flight.get().is_some() {
            return;
        }
        let now = host::now_ns();
        let last = self.current().map_or(0, |t| t.fetched_at_ns);
        if !cfg.due(last, now) || !Self::take_lease(now, now + cfg.timeout_ms * 1_000_000 + 1_000_000_000) {
            return;
        }
        let headers = [
            (":method", "GET"),
            (":path", cfg.path.as_str()),
            (":authority", cfg.authority.as_str()),
            ("accept", "application/json"),
        ];
        match dispatch(&headers) {
            Ok(token) => self.in_flight.set(Some(token)),
            Err(e) => self.failed(cfg, metrics, now, "not_sent", &e),
        }
    }

    /// A failed fetch: counted, logged (no content), and the lease held for the retry delay.
    fn failed(&self, cfg: &PricesRefresh, metrics: &Metrics, now: u64, outcome: &str, detail: &str) {
        metrics.apply(&metrics::count(COUNTER, &[("outcome", outcome)], 1));
        host::log(
            LogLevel::Warn,
            &format!("openrouter-guard: price refresh failed ({outcome}: {detail}); the last good prices stay"),
        );
        let _ = abi::set_shared_data(LEASE_KEY, (now + cfg.retry_ns()).to_string().as_bytes(), 0);
    }

    /// The answer to this VM's call (`false`: not ours).
    pub(crate) fn on_response(&self, cfg: &PricesRefresh, metrics: &Metrics, token: u32, body_size: usize) -> bool {
        if self.in_flight.get() != Some(token) {
            return false;
        }
        self.in_flight.set(None);
        let now = host::now_ns();
        let status = abi::header_value(MapType::HttpCallResponseHeaders, ":status").ok().flatten();
        let status = status.as_deref().map_or(0, number);
        if status != 200 {
            let detail = if status == 0 { "no answer".to_string() } else { format!("status {status}") };
            self.failed(cfg, metrics, now, "http_error", &detail);
            return true;
        }
        if body_size > cfg.max_bytes {
            self.failed(cfg, metrics, now, "too_large", &format!("{body_size} bytes"));
            return true;
        }
        let body = match abi::buffer(BufferType::HttpCallResponseBody, body_size) {
            Ok(b) => b,
            Err(e) => {
                self.failed(cfg, metrics, now, "not_read", &format!("host status {}", e.0));
                return true;
            }
        };
        match FetchedPrices::parse(&body, now) {
            Ok(table) => {
                let stored = abi::set_shared_data(BODY_KEY, &body, 0)
                    .and_then(|()| abi::set_shared_data(STAMP_KEY, now.to_string().as_bytes(), 0));
                // Free the lease: the next fetch is due after the interval, not after the call's hold.
                let _ = abi::set_shared_data(LEASE_KEY, b"0", 0);
                metrics.apply(&metrics::count(COUNTER, &[("outcome", "ok")], 1));
                metrics.apply(&metrics::gauge("openrouter_guard_prices_models", &[], table.len() as u64));
                host::log(
                    LogLevel::Info,
                    &format!(
                        "openrouter-guard: prices refreshed: {} models priced, {} unpriced{}",
                        table.len(),
                        table.unpriced,
                        if stored.is_ok() { "" } else { " (not shared with the other workers)" }
                    ),
                );
                self.set_current(table);
            }
            Err(e) => self.failed(cfg, metrics, now, "bad_answer", &e.describe()),
        }
        true
    }
}
