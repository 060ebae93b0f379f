//! Channel identity in a stream: the `index` of a choice, a tool call, a content part, a
//! `/responses` output or a `/messages` block, read the way clients read it, so an upstream
//! cannot split a secret across two "different" channels that a client joins into one.
//!
//! Clients key their accumulators by the index's *value*: JavaScript (`choices[0.0]`,
//! `choices[-0]`, `choices[1e0]`, `choices["1"]` are `choices[0]`, `choices[0]`, `choices[1]`,
//! `choices[1]`), Python (pydantic reads `0.0` and `"1"` as the integers 0 and 1). So a number is
//! its value, and a string of decimal digits is the number it spells. An index no client reads as
//! a small non-negative integer (a fraction, a negative or huge number, another string, a bool,
//! an object) cannot be placed: the stream cannot be read (fail closed). An absent or `null`
//! index falls back to the element's position, as before.

use crate::core::json::{Kind, Node};

/// Largest index accepted (far above any real choice, tool call or block count; below the
/// sentinel slots the pipeline uses).
pub(crate) const MAX_INDEX: u32 = (1 << 30) - 1;

/// The index of the element `node` names, or `fallback` (its position) when it has none. `None`:
/// an index no client reads as a small non-negative integer.
pub(crate) fn index_of(node: Option<&Node<'_>>, fallback: usize) -> Option<u32> {
    let value = match node.map(|n| &n.kind) {
        None | Some(Kind::Null) => return Some(u32::try_from(fallback).unwrap_or(MAX_INDEX).min(MAX_INDEX)),
        Some(Kind::Number(t)) => t.parse::<f64>().ok()?,
        Some(Kind::Str(s)) => {
            let s = s.decode();
            if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<f64>().ok()?
        }
        Some(_) => return None,
    };
    if !(0.0..=f64::from(MAX_INDEX)).contains(&value) || value.fract() != 0.0 {
        return None;
    }
    // In range and integral: the conversion is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked just above")]
    let n = value as u32;
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json;

    fn idx(src: &str) -> Option<u32> {
        let src = format!("{{\"index\":{src}}}");
        let v = json::parse(src.as_bytes(), 4).unwrap();
        index_of(v.get("index"), 7)
    }

    #[test]
    fn an_index_is_its_value_as_clients_read_it() {
        for (src, want) in [("0", 0), ("0.0", 0), ("-0", 0), ("-0.0", 0), ("0e5", 0), ("1e0", 1), ("1E+0", 1)] {
            assert_eq!(idx(src), Some(want), "{src}");
        }
        assert_eq!(idx("10.000"), Some(10));
        assert_eq!(idx("\"3\""), Some(3));
        assert_eq!(idx("null"), Some(7));
        assert_eq!(index_of(None, 2), Some(2));
    }

    #[test]
    fn an_index_no_client_reads_as_a_small_integer_is_refused() {
        for src in ["0.5", "-1", "1e300", "2e9", "\"0.0\"", "\"-1\"", "\" 1\"", "\"\"", "\"x\"", "true", "[0]", "{}"] {
            assert_eq!(idx(src), None, "{src}");
        }
    }
}
