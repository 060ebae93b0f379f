//! Configuration: serde input types ([`types`]), errors ([`error`]) and loading.

pub mod error;
mod locate;
pub mod types;

pub use error::ConfigError;
pub use types::*;

/// Parses the plugin configuration JSON. Errors carry the JSON path of the culprit (found from
/// serde's line and column with the span-keeping parser, see [`locate`]) and serde's reason.
pub fn parse(bytes: &[u8]) -> Result<GuardConfig, ConfigError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let path = locate::path_at(bytes, e.line(), e.column());
        ConfigError::new(path, e.to_string())
    })
}
