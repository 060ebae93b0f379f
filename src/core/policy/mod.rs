//! The compiled policy (in progress).
