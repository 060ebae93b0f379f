//! The proxy-wasm adapter: the only place that names `proxy_wasm`. It moves bytes and headers
//! between Envoy and [`crate::core`] and never decides anything itself.

mod host;
mod http;
mod metrics;
mod response;
mod root;

use proxy_wasm::hostcalls;
use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    // Our own panic hook: the SDK's (installed by `set_log_level`) unwraps inside. A panic is a
    // bug (clippy denies the usual sources), but if one happens it must at least be logged.
    std::panic::set_hook(Box::new(|info| {
        let _ = hostcalls::log(LogLevel::Critical, &format!("openrouter-guard panicked: {info}"));
    }));
    proxy_wasm::set_root_context(|_| Box::new(root::GuardRoot::default()));
}}
