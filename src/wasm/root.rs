//! `GuardRoot`: loads and compiles the configuration once per config change.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};

use crate::core::chain::{random_chain_id, AuditChain, ChainError, AUDIT_KEY_ENV};
use crate::core::policy::Policy;
use crate::core::spend::StoreCall;
use crate::wasm::abi;
use crate::wasm::effects;
use crate::wasm::hold::{HoldWatch, TICK_MS};
use crate::wasm::host;
use crate::wasm::http::Guard;
use crate::wasm::metrics::Metrics;
use crate::wasm::prices::PriceFeed;
use crate::wasm::store_call;
use crate::wasm::unconfigured::Unconfigured;

/// The root context: holds the compiled policy, shared by pointer with every stream.
pub(crate) struct GuardRoot {
    policy: Option<Rc<Policy>>,
    metrics: Rc<Metrics>,
    /// This VM's audit chain (one per worker): records are sealed in the order they are logged.
    chain: Rc<RefCell<AuditChain>>,
    /// Streams held in their headers callback (wasm/hold.rs).
    hold: Rc<HoldWatch>,
    /// Calls to the rate-limit service that outlive their stream (commits, releases), made from
    /// the tick: the root context lives as long as the VM.
    commits: Rc<RefCell<Vec<StoreCall>>>,
    /// Prices fetched from OpenRouter's model list (`spend.prices_refresh`), shared with streams.
    prices: Rc<PriceFeed>,
    /// This root context's id (to restore after acting on a stream from the tick).
    context_id: u32,
    /// Set when the audit key is present but unusable: the VM refuses to start.
    key_error: Option<ChainError>,
}

impl GuardRoot {
    /// The root context `context_id`.
    pub(crate) fn new(context_id: u32) -> Self {
        // getrandom uses WASI random_get; if the host cannot provide randomness, fall back to the
        // clock so chains still differ per VM (the id is an identifier, not a secret).
        let id = random_chain_id().unwrap_or_else(|_| format!("{:016x}", host::now_ns()));
        // The audit key comes from Envoy's environment (vm_config.environment_variables.host_env_keys);
        // it is never logged, never in the plugin configuration.
        let key = std::env::var(AUDIT_KEY_ENV).ok().map(|k| k.trim().as_bytes().to_vec()).filter(|k| !k.is_empty());
        let (chain, key_error) = match key.map(|k| AuditChain::with_key(id.clone(), &k)) {
            None => (AuditChain::new(id), None),
            Some(Ok(chain)) => (chain, None),
            Some(Err(e)) => (AuditChain::new(id), Some(e)),
        };
        Self {
            policy: None,
            metrics: Rc::new(Metrics::default()),
            chain: Rc::new(RefCell::new(chain)),
            hold: Rc::new(HoldWatch::default()),
            commits: Rc::new(RefCell::new(Vec::new())),
            prices: Rc::new(PriceFeed::default()),
            context_id,
            key_error,
        }
    }
}

impl Context for GuardRoot {
    fn on_http_call_response(&mut self, token_id: u32, _num_headers: usize, body_size: usize, _num_trailers: usize) {
        if let Some(cfg) = self.policy.as_ref().and_then(|p| p.spend.refresh()) {
            self.prices.on_response(cfg, &self.metrics, token_id, body_size);
        }
    }

    fn on_grpc_call_response(&mut self, _token_id: u32, status_code: u32, _response_size: usize) {
        if status_code != 0 {
            // The reservation stays held in the service until its ttl (spend.store.reservation_ttl_s).
            host::log(
                LogLevel::Warn,
                &format!("openrouter-guard: rate-limit service commit failed (grpc status {status_code})"),
            );
        }
    }
}

impl GuardRoot {
    /// Makes the queued commits (from the tick, in the root context).
    fn send_commits(&mut self) {
        let calls = match self.commits.try_borrow_mut() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => return,
        };
        for call in calls {
            if let Err(e) = store_call::send(self, &call) {
                host::log(LogLevel::Warn, &format!("openrouter-guard: rate-limit service commit not sent: {e:?}"));
            }
        }
    }
}

impl GuardRoot {
    /// Fetches OpenRouter's model list when due (wasm/prices.rs), from the tick.
    fn refresh_prices(&self) {
        let Some(cfg) = self.policy.as_ref().and_then(|p| p.spend.refresh()) else { return };
        let timeout = Duration::from_millis(cfg.timeout_ms);
        self.prices.on_tick(cfg, &self.metrics, |headers| {
            self.dispatch_http_call(&cfg.cluster, headers.to_vec(), None, Vec::new(), timeout)
                .map_err(|s| format!("{s:?}"))
        });
    }
}

impl RootContext for GuardRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        host::log(LogLevel::Info, concat!("openrouter-guard ", env!("CARGO_PKG_VERSION"), " starting"));
        if let Some(e) = &self.key_error {
            host::log(LogLevel::Critical, &format!("openrouter-guard: {AUDIT_KEY_ENV}: {e}"));
            return false;
        }
        let keyed = self.chain.try_borrow().map(|c| c.is_keyed()).unwrap_or(false);
        if !keyed {
            host::log(
                LogLevel::Warn,
                &format!(
                    "openrouter-guard: {AUDIT_KEY_ENV} not set: audit lines carry no mac, forged records cannot be told apart"
                ),
            );
        }
        true
    }

    /// Parses and compiles the whole configuration. On any error the filter refuses to start
    /// (returns false) and logs the JSON path; a previous policy is never half-replaced.
    fn on_configure(&mut self, plugin_configuration_size: usize) -> bool {
        let bytes = match host::buffer(BufferType::PluginConfiguration, plugin_configuration_size) {
            Ok(b) => b,
            Err(e) => {
                host::log(LogLevel::Critical, &format!("openrouter-guard: cannot read plugin configuration: {e:?}"));
                return false;
            }
        };
        match Policy::from_json(&bytes) {
            Ok(p) => {
                host::log(
                    LogLevel::Info,
                    &format!("openrouter-guard: configuration loaded ({} profiles)", p.profiles.len()),
                );
                self.policy = Some(Rc::new(p));
                if abi::set_tick_period_ms(TICK_MS).is_err() {
                    host::log(LogLevel::Warn, "openrouter-guard: no tick: the hold watch (wasm/hold.rs) is off");
                }
                true
            }
            Err(e) => {
                host::log(LogLevel::Critical, &format!("openrouter-guard: {e}"));
                false
            }
        }
    }

    fn on_tick(&mut self) {
        self.send_commits();
        self.refresh_prices();
        for (id, outcome) in self.hold.on_tick() {
            if abi::set_effective_context(id).is_err() {
                continue;
            }
            for effect in outcome.effects {
                let _ = effects::apply(id, &self.hold, &self.metrics, effect);
            }
        }
        let _ = abi::set_effective_context(self.context_id);
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Never None: the SDK's dispatcher panics on None ("create_http_context returned None").
        // Without a policy (Envoy does not create streams after a failed on_configure, so this
        // is defensive) every request is answered with 500: fail closed.
        let Some(policy) = self.policy.clone() else {
            return Some(Box::new(Unconfigured::new(context_id, Rc::clone(&self.metrics), Rc::clone(&self.hold))));
        };
        Some(Box::new(Guard::new(
            context_id,
            policy,
            Rc::clone(&self.metrics),
            Rc::clone(&self.chain),
            Rc::clone(&self.hold),
            Rc::clone(&self.commits),
            Rc::clone(&self.prices),
        )))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
