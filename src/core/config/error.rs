//! The one error type of configuration loading: a JSON path and a reason.

use std::fmt;

/// A configuration that cannot be used, with the JSON path of the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON path of the offending value, e.g. `profiles.confidential.models[2].allow`; `.` for the root.
    pub path: String,
    /// Why it was refused.
    pub message: String,
}

impl ConfigError {
    /// Builds an error for `path`.
    #[inline(never)]
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration at {}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}
