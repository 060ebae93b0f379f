//! After the response: did it come from a provider and model the profile allows?

use crate::core::model::canonical_model;
use crate::core::policy::Profile;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::response::{verify_served, verify_served_model, ResponseSummary, ServedVerdict, Verdict};

/// Checks the served provider (against the profile's provider routing) and the served model
/// (against its model rules); returns the more serious verdict.
pub(crate) fn check_served(profile: &Profile, s: &ResponseSummary) -> ServedVerdict {
    let provider = match &profile.provider {
        Some(pp) => verify_served(s.provider.as_deref(), pp.order(), pp.only(), pp.ignore(), pp.allow_fallbacks()),
        None => verify_served(s.provider.as_deref(), None, None, None, None),
    };
    let model = verify_served_model(s.model_used.as_deref(), |m| {
        canonical_model(m).is_some_and(|c| profile.models.check(&c).allowed)
    });
    provider.worst(model)
}

/// Stable name of a verdict for the audit record and metrics.
pub(crate) fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Approved => "approved",
        Verdict::Unapproved => "unapproved",
        Verdict::Unknown => "unknown",
    }
}

/// The error a client gets instead of a response from an unapproved provider or model.
pub(crate) fn unapproved_reply() -> Rejection {
    Rejection::new(
        502,
        "upstream_policy_violation",
        Reason::ServedUnapproved,
        "the response came from a provider or model outside the policy and was withheld",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::policy::Policy;

    fn profile() -> Profile {
        let p = Policy::from_json(
            br#"{"default_profile":"c","profiles":{"c":{"models":[{"allow":"anthropic/*"}],
                "provider":{"order":["anthropic","amazon-bedrock"],"allow_fallbacks":false}}}}"#,
        )
        .unwrap();
        p.profiles.into_iter().next().unwrap()
    }

    fn summary(provider: &str, model: &str) -> ResponseSummary {
        ResponseSummary { provider: Some(provider.into()), model_used: Some(model.into()), ..Default::default() }
    }

    #[test]
    fn approved_provider_and_model_pass() {
        let v = check_served(&profile(), &summary("Amazon Bedrock", "anthropic/claude-3.5-sonnet"));
        assert_eq!(v.verdict, Verdict::Approved);
    }

    #[test]
    fn provider_outside_order_without_fallbacks_is_unapproved() {
        let v = check_served(&profile(), &summary("DeepInfra", "anthropic/claude-3.5-sonnet"));
        assert_eq!((v.verdict, v.reason), (Verdict::Unapproved, "not_in_order"));
    }

    #[test]
    fn served_model_outside_rules_is_unapproved() {
        let v = check_served(&profile(), &summary("Anthropic", "openai/gpt-4o"));
        assert_eq!((v.verdict, v.reason), (Verdict::Unapproved, "model_denied"));
    }

    #[test]
    fn missing_provider_is_unknown() {
        let v = check_served(&profile(), &ResponseSummary::default());
        assert_eq!(v.verdict, Verdict::Unknown);
    }
}
