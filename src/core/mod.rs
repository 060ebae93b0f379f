//! Host-agnostic core: bytes and header values in, decisions and edits out.
//!
//! Nothing in here may depend on the proxy-wasm SDK; `make lint` checks it.

pub mod audit;
pub(crate) mod audit_json;
pub mod audit_safe;
pub(crate) mod base64;
pub mod chain;
pub mod config;
pub(crate) mod dataurl;
pub mod decode;
pub mod edit;
pub mod endpoint;
pub mod glob;
pub mod headers;
pub mod hex;
pub mod hostmatch;
pub mod json;
pub(crate) mod keynames;
pub mod model;
pub mod pii;
pub(crate) mod plugins;
pub mod policy;
pub mod provider;
pub(crate) mod provider_routing;
pub mod reason;
pub mod reply;
pub mod request;
pub mod response;
pub mod served;
pub mod spend;
pub mod stream;
pub(crate) mod structural;
pub(crate) mod summary;
pub mod swar;
pub mod timefmt;
pub mod urlpath;
pub mod walk;
pub mod worst;
