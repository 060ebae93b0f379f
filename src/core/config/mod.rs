//! Configuration: input types ([`types`], [`pii_types`], [`spend_types`]), errors ([`error`]) and
//! loading.
//!
//! Loading does not go through serde: the document is parsed by the filter's strict JSON parser
//! ([`crate::core::json`], which also refuses duplicate keys) and read by the types' own readers,
//! written with their fields from one table per type ([`schema`]) on top of the generic readers in
//! [`read`]. serde_json plus derived `Deserialize` impls would cost about 60 KB of wasm for code that
//! runs once per configuration load.

#[macro_use]
mod schema;

pub(crate) mod error;
pub(crate) mod pii_types;
mod read;
pub(crate) mod spend_types;
pub(crate) mod types;

pub(crate) use error::ConfigError;
pub use pii_types::*;
pub(crate) use spend_types::*;
pub(crate) use types::*;

/// Deepest nesting accepted in a configuration document (real ones nest about 6 levels).
const MAX_DEPTH: u32 = 64;

/// Parses the plugin configuration JSON. Errors carry the JSON path of the culprit and a reason
/// worded like serde's.
pub(crate) fn parse(bytes: &[u8]) -> Result<GuardConfig, ConfigError> {
    let root = crate::core::json::parse(bytes, MAX_DEPTH).map_err(|e| read::syntax_error(bytes, &e))?;
    GuardConfig::read(&root, read::Path::Root)
}

/// Reads `json` as one configuration section with its reader (tests build sections alone).
#[cfg(test)]
pub(crate) fn read_as<T>(json: &str, reader: read::Reader<T>) -> Result<T, ConfigError> {
    let root =
        crate::core::json::parse(json.as_bytes(), MAX_DEPTH).map_err(|e| read::syntax_error(json.as_bytes(), &e))?;
    reader(&root, read::Path::Root)
}

#[cfg(test)]
mod tests;
