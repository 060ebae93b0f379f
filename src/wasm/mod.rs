//! The proxy-wasm adapter (in progress).
