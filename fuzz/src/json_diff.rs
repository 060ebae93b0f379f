//! `core::json::parse` against `serde_json` on the same bytes.
//!
//! Properties:
//! 1. serde_json builds a value, no object repeats a key and nesting is within the limit → ours
//!    accepts.
//! 2. ours accepts → serde_json's grammar accepts (numbers out of f64 range are grammatical; the
//!    only other allowed difference is serde_json's own recursion limit of 128).
//! 3. both accept → same tree: same kinds, same keys in order, decoded strings equal, numbers equal.
//! 4. ours rejects duplicate keys and too-deep nesting whenever they occur.
//! 5. every node's span re-parses to the same node; unescaped strings have no backslash.
//! 6. `write_json_string` round-trips through both parsers for every decoded string and for
//!    arbitrary text.

use openrouter_guard::api::json::{self, JsonError, Kind, Node};

use crate::tree::{is_json_syntax, Tree};

/// Runs every property on `src` with nesting limit `max_depth` (1..=100 keeps serde_json's limit
/// out of the way).
pub fn check(src: &[u8], max_depth: u32) {
    let ours = json::parse(src, max_depth);
    let theirs = Tree::parse(src);

    match (&ours, &theirs) {
        (Err(e), Ok(t)) => {
            let dup = t.has_duplicate_keys();
            let deep = t.depth() > max_depth;
            match e {
                JsonError::DuplicateKey(_) => assert!(dup, "ours reports a duplicate key serde_json does not see"),
                JsonError::TooDeep(m) => {
                    assert_eq!(*m, max_depth);
                    assert!(deep, "ours says too deep, depth is {} <= {max_depth}", t.depth());
                }
                _ => panic!("serde_json accepts (dup {dup}, depth {}), ours says {e:?}", t.depth()),
            }
        }
        (Ok(_), Err(e)) => {
            let msg = e.to_string();
            assert!(is_json_syntax(src), "ours accepts what serde_json's grammar refuses: {msg}");
            assert!(
                msg.contains("number out of range") || msg.contains("recursion limit"),
                "ours accepts, serde_json refuses for another reason: {msg}"
            );
        }
        (Ok(n), Ok(t)) => {
            assert!(!t.has_duplicate_keys(), "ours accepted duplicate keys");
            assert!(t.depth() <= max_depth, "ours accepted depth {} > {max_depth}", t.depth());
            let text = std::str::from_utf8(src).expect("ours accepted invalid UTF-8");
            same(n, t, text);
            spans(n, text, max_depth);
        }
        (Err(_), Err(_)) => {}
    }

    if let Ok(n) = &ours {
        round_trip_strings(n);
    }
    write_round_trip(&String::from_utf8_lossy(src));
}

fn same(n: &Node<'_>, t: &Tree, src: &str) {
    match (&n.kind, t) {
        (Kind::Null, Tree::Null) => {}
        (Kind::Bool(a), Tree::Bool(b)) => assert_eq!(a, b),
        (Kind::Number(raw), Tree::Num(b)) => {
            let a: serde_json::Number = serde_json::from_str(raw).expect("number that serde_json refuses alone");
            assert_eq!(&a, b, "number {raw}");
            assert_eq!(src.get(n.start..n.end), Some(*raw), "number span");
        }
        (Kind::Str(s), Tree::Str(b)) => {
            assert_eq!(s.decode().as_ref(), b.as_str(), "decoded string differs from serde_json");
            assert_eq!(s.escaped, s.raw.contains('\\'), "escaped flag");
        }
        (Kind::Array(a), Tree::Arr(b)) => {
            assert_eq!(a.len(), b.len(), "array length");
            a.iter().zip(b).for_each(|(x, y)| same(x, y, src));
        }
        (Kind::Object(a), Tree::Obj(b)) => {
            assert_eq!(a.len(), b.len(), "member count");
            for (m, (k, v)) in a.iter().zip(b) {
                assert_eq!(m.key.as_ref(), k.as_str(), "key differs from serde_json");
                same(&m.value, v, src);
            }
        }
        (a, b) => panic!("kinds differ: ours {a:?}, serde_json {b:?}"),
    }
}

/// Every node's span is exactly its token: re-parsing it alone yields an equal node (shifted).
fn spans(n: &Node<'_>, src: &str, max_depth: u32) {
    let piece = src.get(n.start..n.end).expect("span not on char boundaries or out of range");
    let again = json::parse(piece.as_bytes(), max_depth).expect("a node's span does not re-parse");
    assert_eq!(again.end - again.start, n.end - n.start, "span length");
    if let Kind::Str(s) = &n.kind {
        assert_eq!(&piece[1..piece.len() - 1], s.raw, "string raw text is not the span between quotes");
    }
    match &n.kind {
        Kind::Array(items) => items.iter().for_each(|i| spans(i, src, max_depth)),
        Kind::Object(members) => members.iter().for_each(|m| spans(&m.value, src, max_depth)),
        _ => {}
    }
}

fn round_trip_strings(n: &Node<'_>) {
    match &n.kind {
        Kind::Str(s) => write_round_trip(&s.decode()),
        Kind::Array(items) => items.iter().for_each(round_trip_strings),
        Kind::Object(members) => members.iter().for_each(|m| {
            write_round_trip(&m.key);
            round_trip_strings(&m.value);
        }),
        _ => {}
    }
}

/// `write_json_string(s)` is one JSON string both parsers decode back to `s`.
pub fn write_round_trip(s: &str) {
    let enc = json::json_string(s);
    let n = json::parse(enc.as_bytes(), 1).expect("write_json_string output does not parse with ours");
    assert_eq!(n.as_str().as_deref(), Some(s), "ours decodes write_json_string output differently");
    assert_eq!((n.start, n.end), (0, enc.len()));
    let t: String = serde_json::from_str(&enc).expect("write_json_string output does not parse with serde_json");
    assert_eq!(t, s, "serde_json decodes write_json_string output differently");
    let mut v = b"x".to_vec();
    json::write_json_string(s, &mut v);
    assert_eq!(&v[1..], enc.as_bytes(), "write_json_string does not append");
}
