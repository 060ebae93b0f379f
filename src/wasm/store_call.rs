//! Sending a call to the rate-limit service (`spend.store` kind `rls`): one function for the
//! stream context (reservations) and the root context (commits from the tick).

use std::time::Duration;

use proxy_wasm::traits::Context;
use proxy_wasm::types::Status;

use crate::core::spend::StoreCall;

/// Dispatches `call` from `ctx`: the SDK registers the callout so that its answer reaches that
/// context's `on_grpc_call_response`. The SDK's wrapper panics only on statuses Envoy does not
/// return for this call (Ok, ParseFailure: no such cluster, InternalFailure). `Ok`: the token.
pub(crate) fn send(ctx: &dyn Context, call: &StoreCall) -> Result<u32, Status> {
    let upstream = std::str::from_utf8(&call.upstream).unwrap_or_default();
    ctx.dispatch_grpc_call(
        upstream,
        StoreCall::SERVICE,
        StoreCall::METHOD,
        Vec::new(),
        Some(&call.message),
        Duration::from_millis(u64::from(call.timeout_ms)),
    )
}
