//! Configuration: serde input types ([`types`]), errors ([`error`]) and loading.

pub mod error;
pub mod types;

pub use error::ConfigError;
pub use types::*;

/// Parses the plugin configuration JSON, reporting the JSON path of the first problem.
pub fn parse(bytes: &[u8]) -> Result<GuardConfig, ConfigError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let cfg: GuardConfig = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        ConfigError::new(path, e.into_inner().to_string())
    })?;
    de.end().map_err(|e| ConfigError::new(".", e.to_string()))?;
    Ok(cfg)
}
