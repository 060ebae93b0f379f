//! A VM without a policy: every request is refused with 500 `no_policy` (fail closed). Envoy does
//! not create streams after `on_configure` failed, so this is defensive; the adapter's stream
//! context for it (src/wasm/unconfigured.rs) only applies this outcome.

use super::outcome::{Effect, Flow, Level, Outcome};
use crate::core::reason::Reason;
use crate::core::reply::Rejection;

/// The request headers of a stream in a VM without a policy.
pub fn refused() -> Outcome {
    Outcome {
        flow: Flow::Pause,
        effects: vec![
            Effect::Log(Level::Error, "openrouter-guard: no policy loaded; request refused".to_owned()),
            Effect::Reply(Rejection::internal(Reason::NoPolicy)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_is_refused_with_500_and_logged() {
        let out = refused();
        assert_eq!(out.flow, Flow::Pause);
        assert!(matches!(&out.effects[0], Effect::Log(Level::Error, l) if l.contains("no policy")));
        assert!(matches!(&out.effects[1], Effect::Reply(r) if r.status == 500 && r.reason == Reason::NoPolicy));
    }
}
