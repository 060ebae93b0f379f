//! Configuration: input types ([`types`]), errors ([`error`]) and loading.
//!
//! Loading does not go through serde: the document is parsed by the filter's strict JSON parser
//! ([`crate::core::json`], which also refuses duplicate keys) and read by hand ([`build`],
//! [`build_pii`] on top of the generic readers in [`read`]). serde_json plus the derived
//! `Deserialize` impls cost about 60 KB of wasm for code that runs once per configuration load. The
//! types keep their `Deserialize` derives; a test below checks that both readings agree.

mod build;
mod build_pii;
mod build_spend;
pub mod error;
pub mod pii_types;
mod read;
pub mod spend_types;
pub mod types;

pub use error::ConfigError;
pub use pii_types::*;
pub use spend_types::*;
pub use types::*;

/// Deepest nesting accepted in a configuration document (real ones nest about 6 levels).
const MAX_DEPTH: u32 = 64;

/// Parses the plugin configuration JSON. Errors carry the JSON path of the culprit and a reason
/// worded like serde's.
pub fn parse(bytes: &[u8]) -> Result<GuardConfig, ConfigError> {
    let root = crate::core::json::parse(bytes, MAX_DEPTH).map_err(|e| read::syntax_error(bytes, &e))?;
    build::guard(&root, read::Path::Root)
}

#[cfg(test)]
mod tests;
