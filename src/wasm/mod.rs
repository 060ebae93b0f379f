//! The proxy-wasm adapter: the only place that names `proxy_wasm`. It moves bytes and headers
//! between Envoy and [`crate::core`] and never decides anything itself.

mod abi;
mod effects;
mod hold;
mod host;
mod http;
mod metrics;
mod prices;
mod root;
mod store;
mod store_call;
mod unconfigured;

use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    // Our own panic hook: the SDK's (installed by `set_log_level`) unwraps inside, and so does
    // its `hostcalls::log`. A panic is a bug (clippy denies the usual sources), but if one
    // happens it must at least be logged; `abi::log` never panics.
    std::panic::set_hook(Box::new(|info| {
        abi::log(LogLevel::Critical, &format!("openrouter-guard panicked: {info}"));
    }));
    proxy_wasm::set_root_context(|id| Box::new(root::GuardRoot::new(id)));
}}
