//! The JSON values the filter writes whole (the merged `provider` object, the spend figures of the
//! audit record) and their compact text: the bytes `serde_json::to_string` gave for the same value
//! (object keys sorted, as serde_json's default map keeps them; integers as written; floats in their
//! shortest round-trip form by zmij, the formatter serde_json itself uses; non-finite floats `null`).
//! serde_json's parser, `Value` and map code no longer reach the .wasm (docs/design.md, "Size");
//! the unit tests keep serde_json as the oracle.

use std::fmt::Write as _;

use crate::core::json::{Kind, Node};

/// A JSON value to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum JsonValue {
    /// `null`
    #[default]
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A non-negative integer.
    UInt(u64),
    /// A negative integer.
    Int(i64),
    /// A float (`null` when not finite).
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<JsonValue>),
    /// An object, members sorted by key (bytewise), keys unique.
    Object(Vec<(String, JsonValue)>),
}

impl From<u64> for JsonValue {
    fn from(n: u64) -> Self {
        Self::UInt(n)
    }
}

impl From<f64> for JsonValue {
    fn from(f: f64) -> Self {
        Self::Float(f)
    }
}

impl From<bool> for JsonValue {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<&str> for JsonValue {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<Vec<String>> for JsonValue {
    fn from(v: Vec<String>) -> Self {
        Self::Array(v.into_iter().map(Self::Str).collect())
    }
}

impl JsonValue {
    /// An empty object.
    pub(crate) fn object() -> Self {
        Self::Object(Vec::new())
    }

    /// Sets `key` of an object (kept sorted; a present key is replaced). No effect on other kinds.
    pub(crate) fn insert(&mut self, key: &str, value: Self) {
        let Self::Object(members) = self else { return };
        match members.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(at) => {
                if let Some(m) = members.get_mut(at) {
                    m.1 = value;
                }
            }
            Err(at) => members.insert(at, (key.to_owned(), value)),
        }
    }

    /// Whether this is an object without members.
    pub(crate) fn is_empty_object(&self) -> bool {
        matches!(self, Self::Object(m) if m.is_empty())
    }

    /// A parsed node as serde_json read it: numbers without `.`/exponent that fit `u64` (or `i64`
    /// when negative) stay integers, `-0` and everything else is a float; strings decoded. `None` for a
    /// number that is not a finite `f64`.
    pub(crate) fn from_node(node: &Node<'_>) -> Option<Self> {
        Some(match &node.kind {
            Kind::Null => Self::Null,
            Kind::Bool(b) => Self::Bool(*b),
            Kind::Number(raw) => number(raw)?,
            Kind::Str(s) => Self::Str(s.decode().into_owned()),
            Kind::Array(items) => Self::Array(items.iter().map(Self::from_node).collect::<Option<_>>()?),
            Kind::Object(members) => {
                let mut out = Self::object();
                for m in members {
                    out.insert(&m.key, Self::from_node(&m.value)?);
                }
                out
            }
        })
    }

    /// The compact JSON text.
    pub(crate) fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// Appends the compact JSON text to `out`.
    pub(crate) fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::UInt(n) => {
                let _ = write!(out, "{n}");
            }
            Self::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Self::Float(f) => write_float(out, *f),
            Self::Str(s) => str_lit(out, s),
            Self::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Self::Object(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    str_lit(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A float as serde_json writes it: shortest round-trip form (`1.0`, `1.5e-7`, `1e16`), `null` when
/// not finite.
pub(crate) fn write_float(out: &mut String, f: f64) {
    if f.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(f));
    } else {
        out.push_str("null");
    }
}

/// A JSON string literal with serde_json's escapes: `\"`, `\\`, `\b \f \n \r \t`, other control characters
/// as `\u00xx`; everything else (DEL and non-ASCII included) as is.
#[inline(never)] // one call per member keeps the writer small (.wasm budget)
pub(crate) fn str_lit(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// A JSON number as serde_json types it; `None` when it is not a finite `f64`.
fn number(raw: &str) -> Option<JsonValue> {
    let integral = !raw.contains(['.', 'e', 'E']);
    if integral {
        if let Ok(n) = raw.parse::<u64>() {
            return Some(JsonValue::UInt(n));
        }
        if let Ok(n) = raw.parse::<i64>() {
            if n < 0 {
                return Some(JsonValue::Int(n));
            }
        }
    }
    raw.parse::<f64>().ok().filter(|f| f.is_finite()).map(JsonValue::Float)
}

/// For the audit record's derived `Serialize` (the unit tests' oracle).
impl serde::Serialize for JsonValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Self::Null => s.serialize_unit(),
            Self::Bool(b) => s.serialize_bool(*b),
            Self::UInt(n) => s.serialize_u64(*n),
            Self::Int(n) => s.serialize_i64(*n),
            Self::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Self::Float(_) => s.serialize_unit(),
            Self::Str(v) => s.serialize_str(v),
            Self::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Self::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_json's text for the same JSON source.
    fn serde(src: &str) -> String {
        serde_json::from_str::<serde_json::Value>(src).unwrap().to_string()
    }

    fn ours(src: &str) -> String {
        JsonValue::from_node(&crate::core::json::parse(src.as_bytes(), 128).unwrap()).unwrap().to_json()
    }

    #[test]
    fn reads_and_writes_like_serde_json() {
        for src in [
            "null",
            "true",
            "[false, 0, -0, 1, -1, 18446744073709551615, 18446744073709551616, -9223372036854775808]",
            "[-9223372036854775809, 1.0e1, 1e16, 1e15, 1.5e-7, 0.00001, 1e-5, 123456789.125, 1e21, 1e300, -2.5e-300]",
            "[0.1, 0.2, 0.30000000000000004, 5e-324, 1.7976931348623157e308, 100, 100.0, 3.0e0, -0.0]",
            r#"{"b": {"z": 1, "a": [1, {"y": null, "x": "\u00e9\n\"\\\/\u0001\t"}]}, "a": 2.5, "": "é"}"#,
            r#"{"p90": 1.0e1, "p50": 0.5, "p99": 12}"#,
        ] {
            assert_eq!(ours(src), serde(src), "{src}");
        }
    }

    #[test]
    fn floats_are_written_like_serde_json() {
        // A spread of magnitudes and digit counts, each checked against serde_json's own text.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = f64::from_bits(x);
            let mut out = String::new();
            write_float(&mut out, f);
            assert_eq!(out, serde_json::to_string(&serde_json::Value::from(f)).unwrap(), "{f:e}");
        }
        for f in [0.0, -0.0, 1.0, 1e-7, 1.5e-7, 1e16, 123.456, f64::NAN, f64::INFINITY, f64::MIN_POSITIVE] {
            let mut out = String::new();
            write_float(&mut out, f);
            assert_eq!(out, serde_json::to_string(&serde_json::Value::from(f)).unwrap(), "{f:e}");
        }
    }

    #[test]
    fn insert_keeps_keys_sorted_and_replaces() {
        let mut o = JsonValue::object();
        assert!(o.is_empty_object());
        o.insert("sort", "price".into());
        o.insert("order", vec!["a".to_string()].into());
        o.insert("sort", "latency".into());
        o.insert("zdr", true.into());
        assert_eq!(o.to_json(), r#"{"order":["a"],"sort":"latency","zdr":true}"#);
        let mut not_object = JsonValue::Null;
        not_object.insert("k", JsonValue::Null);
        assert_eq!(not_object, JsonValue::Null);
    }

    #[test]
    fn numbers_beyond_f64_are_refused() {
        let node = crate::core::json::parse(b"[1e400]", 8).unwrap();
        assert_eq!(JsonValue::from_node(&node), None);
    }

    #[test]
    fn serialize_matches_the_writer() {
        let v =
            JsonValue::from_node(&crate::core::json::parse(br#"{"b":[1,-2,0.5,null,true,"s"],"a":{}}"#, 8).unwrap());
        let v = v.unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), v.to_json());
        assert_eq!(serde_json::to_string(&JsonValue::Float(f64::NAN)).unwrap(), "null");
    }
}
