//! Turning serde_json's error position (line, column) into a JSON path such as
//! `profiles.confidential.provider.allow_fallback`, using the span-keeping parser in
//! [`crate::core::json`]. (This replaces the `serde_path_to_error` crate, which cost ~40 KB of
//! wasm for generic instantiations.)

use crate::core::json::{self, Kind, Node};

/// Deepest nesting considered when locating a path (configs are shallow).
const MAX_DEPTH: u32 = 128;

/// The JSON path at 1-based `line`/`column` of `src`; `.` for the root or when the document does
/// not parse (then serde's message carries the position).
pub fn path_at(src: &[u8], line: usize, column: usize) -> String {
    let Some(offset) = offset_of(src, line, column) else { return ".".into() };
    let Ok(root) = json::parse(src, MAX_DEPTH) else { return ".".into() };
    let mut path = String::new();
    descend(&root, offset, &mut path);
    if path.is_empty() {
        ".".into()
    } else {
        path
    }
}

/// Byte offset of a 1-based line and column (serde_json counts columns in bytes).
fn offset_of(src: &[u8], line: usize, column: usize) -> Option<usize> {
    let mut start = 0usize;
    for _ in 1..line {
        start += src.get(start..)?.iter().position(|&b| b == b'\n')? + 1;
    }
    Some(start + column)
}

/// serde reports errors at the end of the token it was reading, so a node "contains" the offset
/// when `start < offset <= end`.
fn contains(start: usize, end: usize, offset: usize) -> bool {
    start < offset && offset <= end
}

fn descend(node: &Node<'_>, offset: usize, path: &mut String) {
    match &node.kind {
        Kind::Object(members) => {
            for m in members {
                let in_key = contains(m.key_start, m.value.start, offset);
                if in_key || contains(m.value.start, m.value.end, offset) {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&m.key);
                    if !in_key {
                        descend(&m.value, offset, path);
                    }
                    return;
                }
            }
        }
        Kind::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if contains(item.start, item.end, offset) {
                    path.push_str(&format!("[{i}]"));
                    descend(item, offset, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(src: &str, needle: &str) -> String {
        // position serde would report: just after `needle`
        let off = src.find(needle).unwrap() + needle.len();
        let line = src[..off].matches('\n').count() + 1;
        let col = off - src[..off].rfind('\n').map_or(0, |i| i + 1);
        path_at(src.as_bytes(), line, col)
    }

    #[test]
    fn finds_keys_values_and_array_items_across_lines() {
        let src = "{\"a\": {\"b\": [1,\n {\"c\": true}]},\n \"d\": \"x\"}";
        assert_eq!(at(src, "\"b\""), "a.b");
        assert_eq!(at(src, "true"), "a.b[1].c");
        assert_eq!(at(src, "\"x\""), "d");
        assert_eq!(at(src, "[1"), "a.b[0]");
        assert_eq!(path_at(b"{", 1, 1), ".");
    }
}
