//! Did the response come from where the policy allowed? Pure functions over the summary's
//! served provider / model and the policy's provider routing.
//!
//! OpenRouter reports providers by display name ("Google AI Studio", "Amazon Bedrock") while
//! policies name them by slug ("google-ai-studio", "amazon-bedrock"), so both sides are
//! normalised (ASCII lowercase; space, `_` and `.` become `-`) before comparing. A policy slug may
//! name one endpoint variant (`deepinfra/turbo`); only the part before `/` is compared, since the
//! response reports the provider alone.

/// Approved, unapproved, or not decidable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The served provider / model is within policy.
    Approved,
    /// The served provider / model is outside policy.
    Unapproved,
    /// The response did not say (e.g. no `provider` field): nothing to check against.
    Unknown,
}

/// What a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    /// The served provider.
    Provider,
    /// The served model.
    Model,
}

/// A verdict with a stable, snake_case reason for the audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServedVerdict {
    /// Provider or model.
    pub(crate) subject: Subject,
    /// The verdict.
    pub(crate) verdict: Verdict,
    /// Short machine-readable reason, e.g. `not_in_only`, `ignored`, `model_denied`.
    pub reason: &'static str,
}

impl ServedVerdict {
    fn new(subject: Subject, verdict: Verdict, reason: &'static str) -> Self {
        Self { subject, verdict, reason }
    }

    /// The more serious of two verdicts (Unapproved > Unknown > Approved); `self` on a tie.
    pub(crate) fn worst(self, other: Self) -> Self {
        let rank = |v: &Self| match v.verdict {
            Verdict::Approved => 0,
            Verdict::Unknown => 1,
            Verdict::Unapproved => 2,
        };
        if rank(&other) > rank(&self) {
            other
        } else {
            self
        }
    }
}

/// Checks the served provider against the policy's provider routing.
///
/// - `ignore` always excludes.
/// - `only`, when given, is the allowed set (an empty list allows nothing).
/// - `allow_fallbacks: false` with an `order` restricts to `order` as well (OpenRouter then tries
///   only those); with `only` too, both must hold.
/// - Otherwise (fallbacks allowed, the OpenRouter default, and no `only`) anything not ignored is
///   approved.
pub(crate) fn verify_served(
    served_provider: Option<&str>,
    order: Option<&[String]>,
    only: Option<&[String]>,
    ignore: Option<&[String]>,
    allow_fallbacks: Option<bool>,
) -> ServedVerdict {
    let verdict = |v, r| ServedVerdict::new(Subject::Provider, v, r);
    let Some(served) = served_provider.map(str::trim).filter(|p| !p.is_empty()) else {
        return verdict(Verdict::Unknown, "no_provider_reported");
    };
    let listed = |list: &[String]| list.iter().any(|slug| same_provider(served, slug));
    if ignore.is_some_and(listed) {
        return verdict(Verdict::Unapproved, "ignored");
    }
    let fallbacks = allow_fallbacks.unwrap_or(true);
    if let Some(only) = only {
        if !listed(only) {
            return verdict(Verdict::Unapproved, "not_in_only");
        }
    }
    match order {
        Some(order) if !fallbacks && !listed(order) => verdict(Verdict::Unapproved, "not_in_order"),
        Some(_) if !fallbacks => verdict(Verdict::Approved, "in_order"),
        _ if only.is_some() => verdict(Verdict::Approved, "in_only"),
        _ => verdict(Verdict::Approved, "fallbacks_allowed"),
    }
}

/// Checks the served model with the policy's model rules (`is_allowed` is that check).
pub(crate) fn verify_served_model(served_model: Option<&str>, is_allowed: impl FnOnce(&str) -> bool) -> ServedVerdict {
    let verdict = |v, r| ServedVerdict::new(Subject::Model, v, r);
    match served_model.map(str::trim).filter(|m| !m.is_empty()) {
        None => verdict(Verdict::Unknown, "no_model_reported"),
        Some(m) if is_allowed(m) => verdict(Verdict::Approved, "model_allowed"),
        Some(_) => verdict(Verdict::Unapproved, "model_denied"),
    }
}

/// Compares a reported provider name with a policy slug, both normalised, without allocating.
pub(crate) fn same_provider(reported: &str, slug: &str) -> bool {
    let slug = slug.split('/').next().unwrap_or(slug);
    normalised(reported).eq(normalised(slug))
}

fn normalised(name: &str) -> impl Iterator<Item = char> + '_ {
    name.trim().chars().map(|c| match c {
        ' ' | '_' | '.' => '-',
        c => c.to_ascii_lowercase(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn it_matches_display_names_to_slugs() {
        assert!(same_provider("Google AI Studio", "google-ai-studio"));
        assert!(same_provider("Amazon Bedrock", "amazon_bedrock"));
        assert!(same_provider("OpenAI", "openai"));
        assert!(same_provider("DeepInfra", "deepinfra/turbo"));
        assert!(!same_provider("Anthropic", "anthropic-eu"));
    }

    #[test]
    fn it_approves_a_provider_in_only_and_rejects_one_outside() {
        let only = v(&["anthropic", "amazon-bedrock"]);
        let ok = verify_served(Some("Amazon Bedrock"), None, Some(&only), None, None);
        assert_eq!((ok.verdict, ok.reason), (Verdict::Approved, "in_only"));
        let bad = verify_served(Some("OpenAI"), None, Some(&only), None, None);
        assert_eq!((bad.verdict, bad.reason), (Verdict::Unapproved, "not_in_only"));
    }

    #[test]
    fn it_restricts_to_order_only_when_fallbacks_are_off() {
        let order = v(&["anthropic"]);
        let off = verify_served(Some("Google Vertex"), Some(&order), None, None, Some(false));
        assert_eq!(off.verdict, Verdict::Unapproved);
        let on = verify_served(Some("Google Vertex"), Some(&order), None, None, Some(true));
        assert_eq!((on.verdict, on.reason), (Verdict::Approved, "fallbacks_allowed"));
        let default = verify_served(Some("Google Vertex"), Some(&order), None, None, None);
        assert_eq!(default.verdict, Verdict::Approved);
        let in_order = verify_served(Some("Anthropic"), Some(&order), None, None, Some(false));
        assert_eq!(in_order.reason, "in_order");
    }

    #[test]
    fn it_requires_both_only_and_order_when_fallbacks_are_off() {
        let (only, order) = (v(&["anthropic", "openai"]), v(&["anthropic"]));
        let r = verify_served(Some("OpenAI"), Some(&order), Some(&only), None, Some(false));
        assert_eq!((r.verdict, r.reason), (Verdict::Unapproved, "not_in_order"));
    }

    #[test]
    fn it_always_rejects_an_ignored_provider() {
        let (only, ignore) = (v(&["together"]), v(&["together"]));
        let r = verify_served(Some("Together"), None, Some(&only), Some(&ignore), None);
        assert_eq!((r.verdict, r.reason), (Verdict::Unapproved, "ignored"));
        let r = verify_served(Some("Together"), None, None, Some(&ignore), Some(true));
        assert_eq!(r.verdict, Verdict::Unapproved);
    }

    #[test]
    fn it_allows_nothing_with_an_empty_only_list() {
        let r = verify_served(Some("Anthropic"), None, Some(&[]), None, None);
        assert_eq!(r.verdict, Verdict::Unapproved);
    }

    #[test]
    fn it_is_unknown_when_no_provider_is_reported() {
        let r = verify_served(None, None, Some(&v(&["x"])), None, None);
        assert_eq!((r.verdict, r.reason), (Verdict::Unknown, "no_provider_reported"));
        assert_eq!(verify_served(Some("  "), None, None, None, None).verdict, Verdict::Unknown);
    }

    #[test]
    fn it_carries_a_model_mismatch_and_combines_to_the_worst() {
        let model = verify_served_model(Some("openai/gpt-4o"), |m| m.starts_with("anthropic/"));
        assert_eq!((model.subject, model.verdict), (Subject::Model, Verdict::Unapproved));
        let provider = verify_served(Some("OpenAI"), None, None, None, None);
        assert_eq!(provider.worst(model), model);
        assert_eq!(verify_served_model(None, |_| true).verdict, Verdict::Unknown);
    }
}
