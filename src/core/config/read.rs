//! Generic readers from the strict JSON tree ([`crate::core::json`]) to configuration values.
//!
//! Each reader takes the node and its [`Path`] and either returns the value or a [`ConfigError`]
//! naming that path. Messages follow serde's wording (`invalid type: string, expected a boolean`,
//! `unknown field `x`, expected one of ...`, `missing field `x``) so that errors read the same as
//! before the configuration stopped going through serde. The type-specific readers built on these
//! live in [`super::build`] and [`super::build_pii`].

use std::collections::BTreeMap;

use super::ConfigError;
use crate::core::json::{JsonError, Kind, Member, Node};

/// The JSON path of the value being read, kept as a chain of borrowed segments and rendered only
/// when an error needs it (`profiles.confidential.models[2].allow`; `.` for the root).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'p> {
    /// The document itself.
    Root,
    /// Member `key` of the object at the parent path.
    Key(&'p Path<'p>, &'p str),
    /// Item `index` of the array at the parent path.
    Index(&'p Path<'p>, usize),
}

impl<'p> Path<'p> {
    /// The path of member `key` of the object at this path.
    pub(crate) fn key(&'p self, key: &'p str) -> Path<'p> {
        Path::Key(self, key)
    }

    /// The path of item `index` of the array at this path.
    pub(crate) fn index(&'p self, index: usize) -> Path<'p> {
        Path::Index(self, index)
    }

    /// An error about the value at this path.
    pub(crate) fn error(&self, message: impl Into<String>) -> ConfigError {
        let mut path = String::new();
        self.render(&mut path);
        if path.is_empty() {
            path.push('.');
        }
        ConfigError::new(path, message)
    }

    fn render(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.render(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Index(parent, index) => {
                parent.render(out);
                out.push_str(&format!("[{index}]"));
            }
        }
    }
}

/// A reader of one value: the signature shared by every reader here, so they can be passed to
/// [`optional`], [`list`] and [`map`].
pub(crate) type Reader<T> = fn(&Node<'_>, Path<'_>) -> Result<T, ConfigError>;

/// The error for JSON that does not parse at all (path `.`), with the byte offset of the problem
/// and, for people reading a multi-line file, its line and column.
pub(crate) fn syntax_error(src: &[u8], e: &JsonError) -> ConfigError {
    let message = match e {
        JsonError::InvalidUtf8 => "not valid UTF-8".to_string(),
        JsonError::Syntax(at) => format!("not valid JSON at {}", position(src, *at)),
        JsonError::DuplicateKey(at) => format!("duplicate object key at {}", position(src, *at)),
        JsonError::TooDeep(max) => format!("nests deeper than {max} levels"),
    };
    Path::Root.error(message)
}

/// `byte N (line L, column C)`, lines and columns counted from 1, columns in bytes.
fn position(src: &[u8], at: usize) -> String {
    let before = src.get(..at).unwrap_or(src);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + before.iter().rev().take_while(|&&b| b != b'\n').count();
    format!("byte {at} (line {line}, column {column})")
}

/// How serde names a JSON value in `invalid type` errors. String contents are not quoted (a
/// configuration may hold a key).
fn unexpected(node: &Node<'_>) -> String {
    match &node.kind {
        Kind::Null => "null".into(),
        Kind::Bool(b) => format!("boolean `{b}`"),
        Kind::Number(n) if is_integer(n) => format!("integer `{n}`"),
        Kind::Number(n) => format!("floating point `{n}`"),
        Kind::Str(_) => "string".into(),
        Kind::Array(_) => "sequence".into(),
        Kind::Object(_) => "map".into(),
    }
}

/// `invalid type: <what the node is>, expected <expected>` at `at`.
pub(crate) fn invalid_type(node: &Node<'_>, at: Path<'_>, expected: &str) -> ConfigError {
    at.error(format!("invalid type: {}, expected {expected}", unexpected(node)))
}

/// serde's list of alternatives: `` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".into(),
        [one] => format!("`{one}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => format!("one of {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    }
}

/// `unknown field `key`, expected one of ...` at the unknown member's path.
pub(crate) fn unknown_field(at: Path<'_>, key: &str, fields: &[&str]) -> ConfigError {
    at.error(format!("unknown field `{key}`, expected {}", one_of(fields)))
}

/// `unknown variant `name`, expected ...` at `at`.
pub(crate) fn unknown_variant(at: Path<'_>, name: &str, variants: &[&str]) -> ConfigError {
    at.error(format!("unknown variant `{name}`, expected {}", one_of(variants)))
}

/// The value of a required field, or `missing field `name`` at the path of its object.
pub(crate) fn required<T>(value: Option<T>, at: Path<'_>, name: &str) -> Result<T, ConfigError> {
    value.ok_or_else(|| at.error(format!("missing field `{name}`")))
}

/// The members of an object, in source order (keys are unique: the parser refuses duplicates).
pub(crate) fn object<'n, 'a>(node: &'n Node<'a>, at: Path<'_>) -> Result<&'n [Member<'a>], ConfigError> {
    match &node.kind {
        Kind::Object(members) => Ok(members),
        _ => Err(invalid_type(node, at, "a map")),
    }
}

/// A string (escapes decoded).
pub(crate) fn string(node: &Node<'_>, at: Path<'_>) -> Result<String, ConfigError> {
    match &node.kind {
        Kind::Str(s) => Ok(s.decode().into_owned()),
        _ => Err(invalid_type(node, at, "a string")),
    }
}

/// `true` or `false`.
pub(crate) fn boolean(node: &Node<'_>, at: Path<'_>) -> Result<bool, ConfigError> {
    match node.kind {
        Kind::Bool(b) => Ok(b),
        _ => Err(invalid_type(node, at, "a boolean")),
    }
}

/// Whether a JSON number is written as an integer (no fraction, no exponent).
fn is_integer(n: &str) -> bool {
    !n.contains(['.', 'e', 'E'])
}

/// A non-negative integer that fits in a `u64`. Like serde, `1.0` and `1e3` are refused (they are
/// floating point) and `-0` is 0.
pub(crate) fn uint(node: &Node<'_>, at: Path<'_>) -> Result<u64, ConfigError> {
    unsigned(node, at, u64::MAX, "u64")
}

/// A non-negative integer that fits in a `u32`.
pub(crate) fn uint32(node: &Node<'_>, at: Path<'_>) -> Result<u32, ConfigError> {
    let n = unsigned(node, at, u32::MAX.into(), "u32")?;
    u32::try_from(n).map_err(|_| at.error(format!("invalid value: integer `{n}`, expected u32")))
}

/// An integer in `0..=max`; `ty` names the type in errors, as serde does.
fn unsigned(node: &Node<'_>, at: Path<'_>, max: u64, ty: &str) -> Result<u64, ConfigError> {
    let Kind::Number(n) = node.kind else { return Err(invalid_type(node, at, ty)) };
    if !is_integer(n) {
        return Err(invalid_type(node, at, ty));
    }
    let digits = if n == "-0" { "0" } else { n };
    match digits.parse::<u64>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(at.error(format!("invalid value: integer `{n}`, expected {ty}"))),
    }
}

/// Any finite JSON number, integer or not.
pub(crate) fn number(node: &Node<'_>, at: Path<'_>) -> Result<f64, ConfigError> {
    match node.kind {
        Kind::Number(n) => match n.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(at.error(format!("number out of range: `{n}`"))),
        },
        _ => Err(invalid_type(node, at, "f64")),
    }
}

/// One of `variants` (a unit enum written as its snake_case name).
pub(crate) fn variant<T: Copy>(node: &Node<'_>, at: Path<'_>, variants: &[(&str, T)]) -> Result<T, ConfigError> {
    let Kind::Str(s) = &node.kind else {
        let names: Vec<&str> = variants.iter().map(|(n, _)| *n).collect();
        return Err(invalid_type(node, at, &one_of(&names)));
    };
    let name = s.decode();
    match variants.iter().find(|(n, _)| *n == name) {
        Some((_, v)) => Ok(*v),
        None => Err(unknown_variant(at, &name, &variants.iter().map(|(n, _)| *n).collect::<Vec<_>>())),
    }
}

/// `null` (as `None`) or a value read by `read`.
pub(crate) fn optional<T>(node: &Node<'_>, at: Path<'_>, read: Reader<T>) -> Result<Option<T>, ConfigError> {
    match node.kind {
        Kind::Null => Ok(None),
        _ => read(node, at).map(Some),
    }
}

/// An array whose items are read by `read` (paths `at[i]`).
pub(crate) fn list<T>(node: &Node<'_>, at: Path<'_>, read: Reader<T>) -> Result<Vec<T>, ConfigError> {
    let Kind::Array(items) = &node.kind else { return Err(invalid_type(node, at, "a sequence")) };
    items.iter().enumerate().map(|(i, item)| read(item, at.index(i))).collect()
}

/// An array of strings.
pub(crate) fn strings(node: &Node<'_>, at: Path<'_>) -> Result<Vec<String>, ConfigError> {
    list(node, at, string)
}

/// An object with arbitrary keys whose values are read by `read` (paths `at.key`).
pub(crate) fn map<T>(node: &Node<'_>, at: Path<'_>, read: Reader<T>) -> Result<BTreeMap<String, T>, ConfigError> {
    // Inserting one by one (keys are unique) instead of `collect`, which sorts a `Vec` first and
    // would bring a sort routine per value type into the wasm.
    let mut out = BTreeMap::new();
    for m in object(node, at)? {
        out.insert(m.key.to_string(), read(&m.value, at.key(&m.key))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json;

    fn node(src: &str) -> Node<'_> {
        json::parse(src.as_bytes(), 8).unwrap()
    }

    #[test]
    fn paths_render_like_json_paths() {
        let root = Path::Root;
        let p = root.key("profiles");
        let c = p.key("c");
        let m = c.key("models");
        let i = m.index(2);
        assert_eq!(i.key("allow").error("x").path, "profiles.c.models[2].allow");
        assert_eq!(root.error("x").path, ".");
        assert_eq!(root.index(0).error("x").path, "[0]");
    }

    #[test]
    fn integers_are_unsigned_in_range_and_never_floating_point() {
        let at = Path::Root;
        assert_eq!(uint(&node("18446744073709551615"), at).unwrap(), u64::MAX);
        assert_eq!(uint(&node("-0"), at).unwrap(), 0);
        assert_eq!(uint(&node("1.0"), at).unwrap_err().message, "invalid type: floating point `1.0`, expected u64");
        assert_eq!(uint(&node("-1"), at).unwrap_err().message, "invalid value: integer `-1`, expected u64");
        assert!(uint(&node("18446744073709551616"), at).is_err());
        assert!(uint(&node("1e3"), at).is_err());
        assert_eq!(uint32(&node("4294967295"), at).unwrap(), u32::MAX);
        assert_eq!(
            uint32(&node("4294967296"), at).unwrap_err().message,
            "invalid value: integer `4294967296`, expected u32"
        );
        assert_eq!(uint32(&node("\"7\""), at).unwrap_err().message, "invalid type: string, expected u32");
    }

    #[test]
    fn floats_accept_any_finite_number() {
        let at = Path::Root;
        assert_eq!(number(&node("5"), at).unwrap(), 5.0);
        assert_eq!(number(&node("-1.5e2"), at).unwrap(), -150.0);
        assert!(number(&node("1e400"), at).is_err());
        assert!(number(&node("true"), at).is_err());
    }

    #[test]
    fn type_errors_name_what_was_found() {
        let at = Path::Root;
        assert_eq!(boolean(&node("\"yes\""), at).unwrap_err().message, "invalid type: string, expected a boolean");
        assert_eq!(string(&node("1"), at).unwrap_err().message, "invalid type: integer `1`, expected a string");
        assert_eq!(strings(&node("{}"), at).unwrap_err().message, "invalid type: map, expected a sequence");
        assert_eq!(strings(&node("[\"a\", null]"), at).unwrap_err().path, "[1]");
        assert_eq!(optional(&node("null"), at, boolean).unwrap(), None);
    }

    #[test]
    fn alternatives_are_listed_like_serde() {
        let at = Path::Root;
        assert_eq!(unknown_field(at, "x", &["a"]).message, "unknown field `x`, expected `a`");
        assert_eq!(unknown_field(at, "x", &["a", "b"]).message, "unknown field `x`, expected `a` or `b`");
        assert_eq!(
            unknown_field(at, "x", &["a", "b", "c"]).message,
            "unknown field `x`, expected one of `a`, `b`, `c`"
        );
        let v = [("scan", 1), ("reject", 2)];
        assert_eq!(variant(&node("\"reject\""), at, &v).unwrap(), 2);
        assert_eq!(
            variant(&node("\"x\""), at, &v).unwrap_err().message,
            "unknown variant `x`, expected `scan` or `reject`"
        );
    }

    #[test]
    fn syntax_errors_give_the_byte_line_and_column() {
        let src = b"{\n  \"a\": 1,\n  \"a\": 2\n}";
        let e = syntax_error(src, &json::parse(src, 8).unwrap_err());
        assert_eq!((e.path.as_str(), e.message.as_str()), (".", "duplicate object key at byte 14 (line 3, column 3)"));
        let e = syntax_error(b"{,", &json::parse(b"{,", 8).unwrap_err());
        assert_eq!(e.message, "not valid JSON at byte 1 (line 1, column 2)");
    }
}
