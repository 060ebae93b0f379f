//! Builds a profile's [`PiiConfig`] (`profiles.<name>.pii`) and its custom patterns and
//! dictionaries from the JSON tree, with the same fields, defaults and refusals as their serde
//! attributes in [`super::pii_types`].

use super::pii_types::{Action, CustomPatternConfig, DictionaryConfig, PiiConfig};
use super::read::{self, Path};
use super::ConfigError;
use crate::core::json::Node;

/// Fields of [`PiiConfig`], in declaration order (as serde lists them).
pub(super) const PII_FIELDS: &[&str] =
    &["enabled", "builtin_defaults", "entities", "custom", "dictionaries", "allow", "keep_local_addresses"];

/// Fields of [`CustomPatternConfig`].
pub(super) const CUSTOM_FIELDS: &[&str] = &["name", "pattern", "action"];

/// Fields of [`DictionaryConfig`].
pub(super) const DICTIONARY_FIELDS: &[&str] = &["name", "terms", "action"];

/// The action of a custom pattern or dictionary that names none.
const DEFAULT_ACTION: Action = Action::Redact;

/// `profiles.<name>.pii`; absent fields keep [`PiiConfig::default`].
pub fn pii(node: &Node<'_>, at: Path<'_>) -> Result<PiiConfig, ConfigError> {
    let mut out = PiiConfig::default();
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        match m.key.as_ref() {
            "enabled" => out.enabled = read::boolean(v, here)?,
            "builtin_defaults" => out.builtin_defaults = read::boolean(v, here)?,
            "entities" => out.entities = read::map(v, here, action)?,
            "custom" => out.custom = read::list(v, here, custom_pattern)?,
            "dictionaries" => out.dictionaries = read::list(v, here, dictionary)?,
            "allow" => out.allow = read::strings(v, here)?,
            "keep_local_addresses" => out.keep_local_addresses = read::boolean(v, here)?,
            other => return Err(read::unknown_field(here, other, PII_FIELDS)),
        }
    }
    Ok(out)
}

/// One `custom` entry: `{"name": ..., "pattern": ..., "action": ...}`.
fn custom_pattern(node: &Node<'_>, at: Path<'_>) -> Result<CustomPatternConfig, ConfigError> {
    let (mut name, mut pattern, mut act) = (None, None, DEFAULT_ACTION);
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        match m.key.as_ref() {
            "name" => name = Some(read::string(v, here)?),
            "pattern" => pattern = Some(read::string(v, here)?),
            "action" => act = action(v, here)?,
            other => return Err(read::unknown_field(here, other, CUSTOM_FIELDS)),
        }
    }
    Ok(CustomPatternConfig {
        name: read::required(name, at, "name")?,
        pattern: read::required(pattern, at, "pattern")?,
        action: act,
    })
}

/// One `dictionaries` entry: `{"name": ..., "terms": [...], "action": ...}`.
fn dictionary(node: &Node<'_>, at: Path<'_>) -> Result<DictionaryConfig, ConfigError> {
    let (mut name, mut terms, mut act) = (None, None, DEFAULT_ACTION);
    for m in read::object(node, at)? {
        let (v, here) = (&m.value, at.key(&m.key));
        match m.key.as_ref() {
            "name" => name = Some(read::string(v, here)?),
            "terms" => terms = Some(read::strings(v, here)?),
            "action" => act = action(v, here)?,
            other => return Err(read::unknown_field(here, other, DICTIONARY_FIELDS)),
        }
    }
    Ok(DictionaryConfig {
        name: read::required(name, at, "name")?,
        terms: read::required(terms, at, "terms")?,
        action: act,
    })
}

/// An [`Action`] by its lower-case name.
fn action(node: &Node<'_>, at: Path<'_>) -> Result<Action, ConfigError> {
    read::variant(
        node,
        at,
        &[
            ("off", Action::Off),
            ("redact", Action::Redact),
            ("hash", Action::Hash),
            ("mask", Action::Mask),
            ("block", Action::Block),
            ("flag", Action::Flag),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<PiiConfig, ConfigError> {
        let node =
            crate::core::json::parse(json.as_bytes(), 16).map_err(|e| read::syntax_error(json.as_bytes(), &e))?;
        pii(&node, Path::Root)
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
