//! Error replies in OpenRouter/OpenAI shape: `{"error":{"code":403,"message":"…","type":"…"}}`.
//!
//! Messages name the rule that fired and never echo request content.

use crate::core::json_value::str_lit;
use crate::core::reason::Reason;

/// A request the filter answers itself instead of forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// HTTP status sent to the client.
    pub status: u16,
    /// Error type in the JSON body (`policy_violation`, `invalid_request_error`, …).
    pub error_type: &'static str,
    /// Stable reason code for the audit record and metrics (`model_denied`, `body_too_large`, …).
    pub reason: Reason,
    /// Human-readable message; must not contain request content.
    pub message: String,
    /// Seconds for a `Retry-After` header (429 over a limit).
    pub(crate) retry_after: Option<u64>,
}

impl Rejection {
    /// Builds a rejection.
    #[inline(never)]
    pub fn new(status: u16, error_type: &'static str, reason: Reason, message: impl Into<String>) -> Self {
        Self { status, error_type, reason, message: message.into(), retry_after: None }
    }

    /// 400 for a request the filter cannot check.
    #[inline(never)]
    pub fn bad_request(reason: Reason, message: impl Into<String>) -> Self {
        Self::invalid(400, reason, message)
    }

    /// `status` (404, 413, 415, 400) for a request the filter cannot check (`invalid_request_error`).
    #[inline(never)]
    pub(crate) fn invalid(status: u16, reason: Reason, message: impl Into<String>) -> Self {
        Self::new(status, "invalid_request_error", reason, message)
    }

    /// 403 for a request the policy forbids.
    #[inline(never)]
    pub fn forbidden(reason: Reason, message: impl Into<String>) -> Self {
        Self::new(403, "policy_violation", reason, message)
    }

    /// 500 for an internal fault (fail closed).
    #[inline(never)]
    pub fn internal(reason: Reason) -> Self {
        Self::new(500, "internal_error", reason, "openrouter-guard could not process the request; it was not forwarded")
    }

    /// The JSON body sent to the client.
    pub fn body(&self) -> Vec<u8> {
        // serde_json's `json!` object: keys sorted.
        let mut out = format!("{{\"error\":{{\"code\":{},\"message\":", self.status);
        str_lit(&mut out, &self.message);
        out.push_str(",\"reason\":");
        str_lit(&mut out, self.reason.as_str());
        out.push_str(",\"type\":");
        str_lit(&mut out, self.error_type);
        out.push_str("}}");
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_openai_shaped() {
        let r = Rejection::forbidden(Reason::ModelDenied, "model denied by rule #2");
        let v: serde_json::Value = serde_json::from_slice(&r.body()).unwrap();
        assert_eq!(v["error"]["code"], 403);
        assert_eq!(v["error"]["type"], "policy_violation");
        assert_eq!(v["error"]["message"], "model denied by rule #2");
    }

    #[test]
    fn body_is_the_bytes_serde_json_wrote() {
        for r in [
            Rejection::forbidden(Reason::ModelDenied, "model \"x\" denied\n\u{1}é"),
            Rejection::internal(Reason::ProviderSpan),
            Rejection::new(429, "rate_limit_exceeded", Reason::LimitExceeded, ""),
        ] {
            let v = serde_json::json!({"error": {"code": r.status, "message": r.message, "type": r.error_type, "reason": r.reason.as_str()}});
            assert_eq!(String::from_utf8(r.body()).unwrap(), v.to_string());
        }
    }
}
