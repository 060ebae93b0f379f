//! `profiles.<name>.pii`: the PII configuration as users write it (read by [`super::build_pii`],
//! compiled by [`crate::core::pii::Redactor::compile`]).
//!
//! ```json
//! {
//!   "entities": {"EMAIL": "redact", "PHONE": "hash", "US_SSN": "block", "SECRETS": "block", "PERSON": "flag"},
//!   "custom": [{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}", "action": "redact"}],
//!   "dictionaries": [{"name": "CODENAME", "terms": ["Blue Heron", "Nightjar"], "action": "redact"}],
//!   "allow": ["support@example.com"]
//! }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

/// What to do with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Not detected at all.
    Off,
    /// Replace with a typed placeholder, `[EMAIL]`.
    Redact,
    /// Replace with a stable keyed pseudonym, `[EMAIL:1a2b3c4d5e6f]` (HMAC-SHA-256).
    Hash,
    /// Replace with a numbered placeholder, `[EMAIL_1]`, the same for the same value within one
    /// request; the answer gets the values back ([`crate::core::pii::mask`]).
    Mask,
    /// Reject the whole request (403 naming the entity type).
    Block,
    /// Leave the text unchanged; count the finding in the audit record.
    Flag,
}

impl Action {
    /// The action's name as written in configuration and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Off => "off",
            Action::Redact => "redact",
            Action::Hash => "hash",
            Action::Mask => "mask",
            Action::Block => "block",
            Action::Flag => "flag",
        }
    }
}

fn yes() -> bool {
    true
}

fn redact() -> Action {
    Action::Redact
}

/// Per-profile PII settings (`profiles.<name>.pii`). The default (also used when `pii` is absent)
/// redacts every high-confidence entity and every secret, and leaves PERSON and ADDRESS off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiConfig {
    /// Master switch; `false` turns every detector of the profile off.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Start from the built-in defaults (`true`) or from everything off (`false`) before applying
    /// `entities`.
    #[serde(default = "yes")]
    pub builtin_defaults: bool,
    /// Action per built-in entity name (`EMAIL`, `PHONE`, …), or `SECRETS` for every credential
    /// type at once (entity keys override the group).
    #[serde(default)]
    pub entities: BTreeMap<String, Action>,
    /// Named regular expressions (regex-lite syntax).
    #[serde(default)]
    pub custom: Vec<CustomPatternConfig>,
    /// Exact-term lists, matched case-insensitively on whole words.
    #[serde(default)]
    pub dictionaries: Vec<DictionaryConfig>,
    /// Values that are never acted on (compared case-insensitively with the matched text).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Leave the loopback and unspecified addresses `127.0.0.1` and `0.0.0.0` alone: they identify
    /// nobody. `false` redacts them like any IP address.
    #[serde(default = "yes")]
    pub keep_local_addresses: bool,
}

impl Default for PiiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            builtin_defaults: true,
            entities: BTreeMap::new(),
            custom: Vec::new(),
            dictionaries: Vec::new(),
            allow: Vec::new(),
            keep_local_addresses: true,
        }
    }
}

/// One custom pattern: `{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}", "action": "redact"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPatternConfig {
    /// Entity name used in placeholders and audit counts: `[A-Z][A-Z0-9_]*`, at most 64 chars.
    pub name: String,
    /// A regex-lite pattern that cannot match the empty string. A literal prefix (`EMP-…`) makes it
    /// nearly free on text that does not contain the prefix.
    pub pattern: String,
    /// Action for matches; `redact` when absent.
    #[serde(default = "redact")]
    pub action: Action,
}

/// One dictionary: `{"name": "CODENAME", "terms": ["Nightjar"], "action": "redact"}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DictionaryConfig {
    /// Entity name used in placeholders and audit counts: `[A-Z][A-Z0-9_]*`, at most 64 chars.
    pub name: String,
    /// Terms, matched case-insensitively (ASCII) on whole words; may contain spaces.
    pub terms: Vec<String>,
    /// Action for matches; `redact` when absent.
    #[serde(default = "redact")]
    pub action: Action,
}
