//! `pii::Redactor::scan` on arbitrary text, with and without a planted value.
//!
//! Properties:
//! 1. never panics; `detect` spans are in range, on char boundaries, sorted and disjoint;
//! 2. when every action is `redact` or `hash`: idempotent (scanning the output again changes
//!    nothing) and every finding is replaced (nothing `detect` reports survives verbatim);
//! 3. a planted valid value (e-mail, card, key, …), set apart by ` ; ` inside arbitrary text, is
//!    gone from the output when its entity's action is `redact` or `hash`;
//! 4. the tally counts at least one finding whenever the text changed; `block` returns `None`.

use std::sync::OnceLock;

use openrouter_guard::api::{Action, PiiConfig, PiiTally, Redactor};

use crate::secrets::{catalogue, Planted};

/// The engine configurations exercised, by selector.
pub const CONFIGS: &[&str] = &[
    // 0: built-in defaults.
    r#"{}"#,
    // 1: everything on, redact; a dictionary and custom patterns (prefixed and not).
    r#"{"entities": {"PERSON": "redact", "ADDRESS": "redact"},
        "dictionaries": [{"name": "CODENAME", "terms": ["Blue Heron", "Nightjar", "ACME-9"]}],
        "custom": [{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}"},
                   {"name": "TICKET", "pattern": "(?i)tkt_[a-z0-9]{8}"},
                   {"name": "ZIPPY", "pattern": "[0-9]{5}-[0-9]{4}"}]}"#,
    // 2: hash everything that can be hashed.
    r#"{"entities": {"EMAIL": "hash", "PHONE": "hash", "US_SSN": "hash", "CREDIT_CARD": "hash", "IBAN": "hash",
        "IP_ADDRESS": "hash", "SECRETS": "hash", "PERSON": "hash", "ADDRESS": "hash"}}"#,
    // 3: mixed actions with an allow-list.
    r#"{"entities": {"EMAIL": "flag", "US_SSN": "block", "SECRETS": "block", "PHONE": "redact"},
        "allow": ["support@example.com", "203.0.113.77"]}"#,
    // 4: secrets only.
    r#"{"builtin_defaults": false, "entities": {"SECRETS": "redact"}}"#,
];

const KEY: &[u8] = b"fuzz-pseudonym-key-0123456789";

/// Compiled engines for [`CONFIGS`] (compiled once per process).
pub fn engines() -> &'static [(Redactor, PiiConfig)] {
    static E: OnceLock<Vec<(Redactor, PiiConfig)>> = OnceLock::new();
    E.get_or_init(|| {
        CONFIGS
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let cfg = PiiConfig::from_json(c).expect("harness PII config");
                let r =
                    Redactor::compile(&cfg, Some(KEY), &format!("fuzz.pii[{i}]")).expect("harness PII config compiles");
                (r, cfg)
            })
            .collect()
    })
}

/// Whether every configured action of engine `sel` rewrites text (no flag/block).
fn all_rewrite(cfg: &PiiConfig) -> bool {
    cfg.entities.values().all(|a| matches!(a, Action::Redact | Action::Hash | Action::Off))
        && cfg.custom.iter().all(|c| matches!(c.action, Action::Redact | Action::Hash))
        && cfg.dictionaries.iter().all(|d| matches!(d.action, Action::Redact | Action::Hash))
}

/// The action engine `sel` takes on a planted value of `entity`.
fn action_for(r: &Redactor, entity: &str) -> Action {
    use openrouter_guard::api::Entity;
    Entity::from_name(entity).map_or(Action::Off, |e| r.action(e))
}

/// Input to [`check`].
#[derive(Debug, Clone)]
pub struct Case<'a> {
    /// Engine selector (index into [`CONFIGS`], taken modulo).
    pub config: u8,
    /// Arbitrary text.
    pub text: &'a str,
    /// Optional planted value: (catalogue index, char position in `text`).
    pub plant: Option<(u8, u16)>,
}

/// Builds the scanned text: `text` with the planted value inserted at a char boundary, set apart
/// by ` ; `.
pub fn compose(text: &str, plant: Option<(u8, u16)>) -> (String, Option<Planted>) {
    let Some((which, pos)) = plant else { return (text.to_owned(), None) };
    let cat = catalogue();
    let p = cat[usize::from(which) % cat.len()].clone();
    let n = text.chars().count();
    let at = if n == 0 { 0 } else { usize::from(pos) % (n + 1) };
    let byte = text.char_indices().nth(at).map_or(text.len(), |(i, _)| i);
    // ` ; ` keeps the value out of neighbouring digit clusters, e-mail local parts and key
    // tokens, so a miss is the detector's and not the neighbourhood's. (Plain spaces found F3.)
    let s = format!("{} ; {} ; {}", &text[..byte], p.value, &text[byte..]);
    (s, Some(p))
}

/// Runs every property on one case.
pub fn check(case: &Case<'_>) {
    let engines = engines();
    let (r, cfg) = &engines[usize::from(case.config) % engines.len()];
    let (text, planted) = compose(case.text, case.plant);

    // 1. detect spans are sane.
    let found = r.detect(&text);
    let mut last = 0usize;
    for d in &found {
        assert!(d.start < d.end && d.end <= text.len(), "span {}..{} out of range {}", d.start, d.end, text.len());
        assert!(text.is_char_boundary(d.start) && text.is_char_boundary(d.end), "span not on char boundaries");
        assert!(d.start >= last, "findings overlap or are unsorted");
        last = d.end;
    }

    let mut tally = PiiTally::default();
    let out = r.scan(&text, &mut tally);
    if let Some(o) = &out {
        assert_ne!(o, &text, "scan returned Some(unchanged text)");
        assert!(tally.total() >= 1, "text changed without a counted finding");
    }
    if tally.blocked.is_some() {
        assert!(out.is_none(), "a blocked text must not be rewritten");
        return;
    }
    let result = out.clone().unwrap_or_else(|| text.clone());

    if all_rewrite(cfg) {
        // 2a. nothing detected survives: each finding's text is gone from its place. (The same
        // characters may legitimately occur elsewhere, so check the count went down.)
        for d in &found {
            let v = &text[d.start..d.end];
            if v.chars().count() >= 6 {
                assert!(
                    result.matches(v).count() < text.matches(v).count(),
                    "a {} finding survived scanning (action {:?})",
                    d.entity,
                    d.action
                );
            }
        }
        // 2b. idempotent (F6: a placeholder next to a value's glue used to leave a rest that a
        // second scan found; `Redactor::scan` now rescans its output in that case).
        let mut t2 = PiiTally::default();
        let again = r.scan(&result, &mut t2);
        assert!(
            again.is_none() || again.as_deref() == Some(result.as_str()),
            "scan is not idempotent: second pass changed {:?}",
            t2.counts
        );
    }

    // 3. the planted value is gone.
    if let Some(p) = planted {
        let action = action_for(r, p.entity);
        let allow_listed = cfg.allow.iter().any(|a| a.eq_ignore_ascii_case(&p.value));
        let before = text.split(&format!(" ; {} ; ", p.value)).next().unwrap_or("");
        let as_version = crate::known::ip_after_version_word(p.entity, before);
        if matches!(action, Action::Redact | Action::Hash) && !allow_listed && !as_version {
            // The same characters may also occur in the random text in a non-detectable context
            // (`…5555555555554444arcd`): the planted occurrence must be gone, so the count drops.
            let before = text.matches(p.value.as_str()).count();
            let after = result.matches(p.value.as_str()).count();
            assert!(after < before, "planted {} survived (action {action:?})", p.entity);
        }
    }
}
