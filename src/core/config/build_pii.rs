//! Builds a profile's [`PiiConfig`] (`profiles.<name>.pii`) and its custom patterns and
//! dictionaries from the JSON tree, with the same fields, defaults and refusals as their serde
//! attributes in [`crate::core::pii::config`].

use super::read::{self, Path};
use super::ConfigError;
use crate::core::json::Node;
use crate::core::pii::{Action, CustomPatternConfig, DictionaryConfig, PiiConfig};

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
