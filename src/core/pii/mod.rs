//! PII and secret detection and redaction (placeholder; the full engine lands with the redaction issue).

use serde::Deserialize;

use crate::core::config::ConfigError;

/// Per-profile PII settings (`profiles.<name>.pii`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiConfig {}

/// Counts of findings per entity type and action for one request; never values.
#[derive(Debug, Clone, Default)]
pub struct PiiTally {
    /// (entity, action, count), in first-seen order.
    pub counts: Vec<(String, &'static str, u64)>,
    /// The first entity whose action is `block`, if any.
    pub blocked: Option<String>,
}

/// A compiled, ready-to-run redaction engine for one profile.
#[derive(Debug, Clone, Default)]
pub struct Redactor {}

impl Redactor {
    /// Compiles `cfg`; `path` is the JSON path of `cfg` in the plugin configuration, for errors.
    pub fn compile(_cfg: &PiiConfig, _pseudonym_key: Option<&[u8]>, _path: &str) -> Result<Self, ConfigError> {
        Ok(Self {})
    }

    /// Whether any detector is enabled (when false, callers may skip walking text fields).
    pub fn is_active(&self) -> bool {
        false
    }

    /// Scans one decoded string. Returns the replacement text when something must change.
    pub fn scan(&self, _text: &str, _tally: &mut PiiTally) -> Option<String> {
        None
    }
}
