//! `profiles.<name>.pii`: the PII configuration as users write it (one table per type, [`super::schema`];
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

config_enum! {
    /// What to do with a finding.
    pub enum Action {
        /// Not detected at all.
        Off = "off",
        /// Replace with a typed placeholder, `[EMAIL]`.
        Redact = "redact",
        /// Replace with a stable keyed pseudonym, `[EMAIL:1a2b3c4d5e6f]` (HMAC-SHA-256).
        Hash = "hash",
        /// Replace with a numbered placeholder, `[EMAIL_1]`, the same for the same value within one
        /// request; the answer gets the values back ([`crate::core::pii::mask`]).
        Mask = "mask",
        /// Reject the whole request (403 naming the entity type).
        Block = "block",
        /// Leave the text unchanged; count the finding in the audit record.
        Flag = "flag",
    }
}

config_struct! {
    default
    /// Per-profile PII settings (`profiles.<name>.pii`). The default (also used when `pii` is absent)
    /// redacts every high-confidence entity and every secret, and leaves PERSON and ADDRESS off.
    pub struct PiiConfig {
        /// Master switch; `false` turns every detector of the profile off.
        enabled: bool = default(read::boolean, true),
        /// Start from the built-in defaults (`true`) or from everything off (`false`) before applying
        /// `entities`.
        builtin_defaults: bool = default(read::boolean, true),
        /// Action per built-in entity name (`EMAIL`, `PHONE`, …), or `SECRETS` for every credential
        /// type at once (entity keys override the group).
        entities: BTreeMap<String, Action> = default(|v, at| read::map(v, at, Action::read), BTreeMap::new()),
        /// Named regular expressions (regex-lite syntax).
        custom: Vec<CustomPatternConfig> = default(|v, at| read::list(v, at, CustomPatternConfig::read), Vec::new()),
        /// Exact-term lists, matched case-insensitively on whole words.
        dictionaries: Vec<DictionaryConfig> = default(|v, at| read::list(v, at, DictionaryConfig::read), Vec::new()),
        /// Values that are never acted on (compared case-insensitively with the matched text).
        allow: Vec<String> = default(read::strings, Vec::new()),
        /// Leave loopback addresses (`127.0.0.0/8`) and the unspecified `0.0.0.0` alone: they identify
        /// nobody. `false` redacts them like any IP address.
        keep_local_addresses: bool = default(read::boolean, true),
    }
}

config_struct! {
    /// One custom pattern: `{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}", "action": "redact"}`.
    pub struct CustomPatternConfig {
        /// Entity name used in placeholders and audit counts: `[A-Z][A-Z0-9_]*`, at most 64 chars.
        name: String = required(read::string),
        /// A regex-lite pattern that cannot match the empty string. A literal prefix (`EMP-…`) makes it
        /// nearly free on text that does not contain the prefix.
        pattern: String = required(read::string),
        /// Action for matches; `redact` when absent.
        action: Action = default(Action::read, Action::Redact),
    }
}

config_struct! {
    /// One dictionary: `{"name": "CODENAME", "terms": ["Nightjar"], "action": "redact"}`.
    pub struct DictionaryConfig {
        /// Entity name used in placeholders and audit counts: `[A-Z][A-Z0-9_]*`, at most 64 chars.
        name: String = required(read::string),
        /// Terms, matched case-insensitively (ASCII) on whole words; may contain spaces.
        terms: Vec<String> = required(read::strings),
        /// Action for matches; `redact` when absent.
        action: Action = default(Action::read, Action::Redact),
    }
}

impl PiiConfig {
    /// Reads a `pii` object on its own (the PII tools: examples, bench, fuzz); the filter reads it
    /// as part of the whole configuration ([`super::parse`]).
    pub fn from_json(json: &str) -> Result<Self, super::ConfigError> {
        let root = crate::core::json::parse(json.as_bytes(), super::MAX_DEPTH)
            .map_err(|e| super::read::syntax_error(json.as_bytes(), &e))?;
        Self::read(&root, super::read::Path::Root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::read::{syntax_error, Path};
    use crate::core::config::ConfigError;

    fn read(json: &str) -> Result<PiiConfig, ConfigError> {
        let node = crate::core::json::parse(json.as_bytes(), 16).map_err(|e| syntax_error(json.as_bytes(), &e))?;
        PiiConfig::read(&node, Path::Root)
    }

    #[test]
    fn an_empty_pii_object_means_builtin_defaults() {
        let c = read("{}").unwrap();
        assert!(c.enabled && c.builtin_defaults && c.entities.is_empty() && c.keep_local_addresses);
    }

    #[test]
    fn unknown_fields_are_refused_with_their_path() {
        let e = read(r#"{"entites": {}}"#).unwrap_err();
        assert_eq!(e.path, "entites");
        let e = read(r#"{"custom": [{"name": "A", "pattern": "x", "actoin": "flag"}]}"#).unwrap_err();
        assert_eq!(e.path, "custom[0].actoin");
        let e = read(r#"{"dictionaries": [{"name": "A"}]}"#).unwrap_err();
        assert_eq!(e.path, "dictionaries[0]");
    }

    #[test]
    fn actions_parse_from_lower_case_names() {
        let c = read(r#"{"entities": {"EMAIL": "hash", "PHONE": "off", "US_SSN": "block", "IBAN": "flag"}}"#).unwrap();
        assert_eq!(c.entities.get("EMAIL"), Some(&Action::Hash));
        assert_eq!(c.entities.get("PHONE"), Some(&Action::Off));
        assert!(read(r#"{"entities": {"EMAIL": "masked"}}"#).is_err());
        let c = read(r#"{"entities": {"EMAIL": "mask"}, "custom": [{"name": "A", "pattern": "x"}]}"#).unwrap();
        assert_eq!(c.entities.get("EMAIL"), Some(&Action::Mask));
        assert_eq!(c.custom.first().map(|p| p.action), Some(Action::Redact));
    }
}
