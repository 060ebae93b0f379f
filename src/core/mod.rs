//! Host-agnostic core: bytes and header values in, decisions and edits out.
//!
//! Nothing in here may depend on the proxy-wasm SDK; `make lint` checks it.

pub(crate) mod audit;
pub(crate) mod audit_json;
pub(crate) mod audit_safe;
pub(crate) mod base64;
pub(crate) mod chain;
pub(crate) mod config;
pub(crate) mod dataurl;
pub(crate) mod decode;
pub(crate) mod edit;
pub(crate) mod endpoint;
pub(crate) mod glob;
pub(crate) mod head_pii;
pub(crate) mod headers;
pub(crate) mod hex;
pub(crate) mod hostmatch;
pub(crate) mod json;
pub(crate) mod json_value;
pub(crate) mod keynames;
pub(crate) mod model;
pub(crate) mod pii;
pub(crate) mod plugins;
pub(crate) mod policy;
pub(crate) mod provider;
pub(crate) mod provider_routing;
pub(crate) mod reason;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod served;
pub(crate) mod spend;
pub(crate) mod stream;
pub(crate) mod structural;
pub(crate) mod summary;
pub(crate) mod swar;
pub(crate) mod timefmt;
pub(crate) mod token_input;
pub(crate) mod urlpath;
pub(crate) mod walk;
pub(crate) mod worst;
