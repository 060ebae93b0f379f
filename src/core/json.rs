//! A strict JSON parser that borrows from the request body and remembers byte spans.
//!
//! Why not plain `serde_json`: the filter must (1) refuse duplicate keys anywhere (a parser and
//! OpenRouter may pick different ones), (2) bound nesting depth, and (3) know the byte span of every
//! value so edits are spliced into the original bytes instead of re-serialising the whole body.
//!
//! Grammar: RFC 8259. Strings are validated (escapes, no raw control characters, no lone
//! surrogates) but decoded only on demand.

use std::borrow::Cow;
use std::fmt;

/// A parsed JSON value with the byte span `[start, end)` of its token(s) in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    /// Start offset (inclusive) in the source.
    pub start: usize,
    /// End offset (exclusive) in the source.
    pub end: usize,
    /// The value.
    pub kind: Kind<'a>,
}

/// The kinds of JSON values.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'a> {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as written.
    Number(&'a str),
    /// A string.
    Str(JStr<'a>),
    /// An array.
    Array(Vec<Node<'a>>),
    /// An object, members in source order (keys are unique).
    Object(Vec<Member<'a>>),
}

/// A JSON string as written between its quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JStr<'a> {
    /// The raw text between the quotes (escapes not decoded).
    pub raw: &'a str,
    /// Whether `raw` contains a backslash escape.
    pub escaped: bool,
}

/// One object member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member<'a> {
    /// The decoded key.
    pub key: Cow<'a, str>,
    /// Byte offset of the key's opening quote.
    pub key_start: usize,
    /// The value.
    pub value: Node<'a>,
}

/// Why a body is not acceptable JSON. Messages never quote the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// The body is not valid UTF-8.
    InvalidUtf8,
    /// Malformed JSON at this byte offset.
    Syntax(usize),
    /// An object has the same key twice (offset of the second one).
    DuplicateKey(usize),
    /// Nesting deeper than the limit.
    TooDeep(u32),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::InvalidUtf8 => write!(f, "request body is not valid UTF-8"),
            JsonError::Syntax(at) => write!(f, "request body is not valid JSON (byte {at})"),
            JsonError::DuplicateKey(at) => write!(f, "request body has a duplicate object key (byte {at})"),
            JsonError::TooDeep(max) => write!(f, "request body nests deeper than {max} levels"),
        }
    }
}

impl<'a> JStr<'a> {
    /// The decoded string. Borrowed when there are no escapes.
    pub fn decode(&self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        Cow::Owned(unescape(self.raw))
    }
}

impl<'a> Node<'a> {
    /// The member `key` of an object node.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match &self.kind {
            Kind::Object(members) => members.iter().find(|m| m.key == key).map(|m| &m.value),
            _ => None,
        }
    }

    /// The decoded string value, if this is a string.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        match &self.kind {
            Kind::Str(s) => Some(s.decode()),
            _ => None,
        }
    }
}

/// Parses `src` as one JSON value (surrounding whitespace allowed), nesting at most `max_depth`.
pub fn parse(src: &[u8], max_depth: u32) -> Result<Node<'_>, JsonError> {
    let text = std::str::from_utf8(src).map_err(|_| JsonError::InvalidUtf8)?;
    let mut p = Parser { s: text, b: text.as_bytes(), i: 0, max_depth };
    p.ws();
    let node = p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(JsonError::Syntax(p.i));
    }
    Ok(node)
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    max_depth: u32,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn err(&self) -> JsonError {
        JsonError::Syntax(self.i)
    }

    fn value(&mut self, depth: u32) -> Result<Node<'a>, JsonError> {
        let start = self.i;
        let kind = match self.peek().ok_or_else(|| self.err())? {
            b'{' => self.object(depth + 1)?,
            b'[' => self.array(depth + 1)?,
            b'"' => Kind::Str(self.string()?),
            b't' => self.literal("true", Kind::Bool(true))?,
            b'f' => self.literal("false", Kind::Bool(false))?,
            b'n' => self.literal("null", Kind::Null)?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return Err(self.err()),
        };
        Ok(Node { start, end: self.i, kind })
    }

    fn literal(&mut self, word: &str, kind: Kind<'a>) -> Result<Kind<'a>, JsonError> {
        if self.b.get(self.i..self.i + word.len()) == Some(word.as_bytes()) {
            self.i += word.len();
            Ok(kind)
        } else {
            Err(self.err())
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - from
    }

    fn number(&mut self) -> Result<Kind<'a>, JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err()),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        Ok(Kind::Number(self.s.get(start..self.i).ok_or(JsonError::Syntax(start))?))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let c = self.peek().ok_or_else(|| self.err())?;
            let d = (c as char).to_digit(16).ok_or_else(|| self.err())?;
            v = v * 16 + d;
            self.i += 1;
        }
        Ok(v)
    }

    /// Validates a string starting at the opening quote; returns its raw contents.
    fn string(&mut self) -> Result<JStr<'a>, JsonError> {
        self.i += 1; // opening quote
        let start = self.i;
        let mut escaped = false;
        loop {
            // Fast path: skip plain bytes.
            let rest = self.b.get(self.i..).ok_or_else(|| self.err())?;
            let run = rest.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            let Some(run) = run else {
                self.i = self.b.len();
                return Err(self.err());
            };
            self.i += run;
            match self.peek() {
                Some(b'"') => {
                    let raw = self.s.get(start..self.i).ok_or(JsonError::Syntax(start))?;
                    self.i += 1;
                    return Ok(JStr { raw, escaped });
                }
                Some(b'\\') => {
                    escaped = true;
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            let u = self.hex4()?;
                            if (0xD800..0xDC00).contains(&u) {
                                // must be followed by a low surrogate escape
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(self.err());
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err());
                                }
                            } else if (0xDC00..0xE000).contains(&u) {
                                return Err(self.err());
                            }
                        }
                        _ => return Err(self.err()),
                    }
                }
                _ => return Err(self.err()), // raw control character
            }
        }
    }

    fn array(&mut self, depth: u32) -> Result<Kind<'a>, JsonError> {
        if depth > self.max_depth {
            return Err(JsonError::TooDeep(self.max_depth));
        }
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Kind::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Kind::Array(items));
                }
                _ => return Err(self.err()),
            }
        }
    }

    fn object(&mut self, depth: u32) -> Result<Kind<'a>, JsonError> {
        if depth > self.max_depth {
            return Err(JsonError::TooDeep(self.max_depth));
        }
        self.i += 1;
        let mut members: Vec<Member<'a>> = Vec::new();
        // Small objects: linear duplicate check. Large ones: a set, so a hostile object with
        // thousands of keys stays linear.
        let mut seen: Option<std::collections::HashSet<Cow<'a, str>>> = None;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Kind::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err());
            }
            let key_at = self.i;
            let key = self.string()?.decode();
            let dup = match seen.as_mut() {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let d = members.iter().any(|m| m.key == key);
                    if members.len() >= 16 {
                        let mut set: std::collections::HashSet<Cow<'a, str>> =
                            members.iter().map(|m| m.key.clone()).collect();
                        set.insert(key.clone());
                        seen = Some(set);
                    }
                    d
                }
            };
            if dup {
                return Err(JsonError::DuplicateKey(key_at));
            }
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err());
            }
            self.i += 1;
            self.ws();
            let value = self.value(depth)?;
            members.push(Member { key, key_start: key_at, value });
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Kind::Object(members));
                }
                _ => return Err(self.err()),
            }
        }
    }
}

/// Decodes the escapes of an already validated raw JSON string.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hi = read_hex4(&mut chars);
                let code = if (0xD800..0xDC00).contains(&hi) {
                    chars.next(); // '\\'
                    chars.next(); // 'u'
                    let lo = read_hex4(&mut chars);
                    0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                } else {
                    hi
                };
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            Some(other) => out.push(other), // '"', '\\', '/'
            None => {}
        }
    }
    out
}

fn read_hex4(chars: &mut std::str::Chars<'_>) -> u32 {
    let mut v = 0;
    for _ in 0..4 {
        v = v * 16 + chars.next().and_then(|c| c.to_digit(16)).unwrap_or(0);
    }
    v
}

/// Appends `s` as a JSON string literal (with quotes) to `out`. Non-ASCII stays UTF-8.
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut last = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match c {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(bytes.get(last..i).unwrap_or_default());
        match esc {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
        }
        last = i + 1;
    }
    out.extend_from_slice(bytes.get(last..).unwrap_or_default());
    out.push(b'"');
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut v = Vec::with_capacity(s.len() + 2);
    write_json_string(s, &mut v);
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Node<'_>, JsonError> {
        parse(s.as_bytes(), 64)
    }

    #[test]
    fn parses_nested_values_with_spans() {
        let src = r#" {"a": [1, -2.5e3, true, null], "b": {"c": "x\"y"}} "#;
        let n = p(src).unwrap();
        assert_eq!(&src[n.start..n.end], src.trim());
        let a = n.get("a").unwrap();
        assert_eq!(&src[a.start..a.end], "[1, -2.5e3, true, null]");
        let c = n.get("b").unwrap().get("c").unwrap();
        assert_eq!(&src[c.start..c.end], r#""x\"y""#);
        assert_eq!(c.as_str().unwrap(), "x\"y");
    }

    #[test]
    fn rejects_duplicate_keys_even_when_spelled_with_escapes() {
        assert!(matches!(p(r#"{"model":"a","model":"b"}"#), Err(JsonError::DuplicateKey(_))));
        assert!(matches!(p(r#"{"model":"a","mod\u0065l":"b"}"#), Err(JsonError::DuplicateKey(_))));
        assert!(matches!(p(r#"{"x":{"k":1,"k":2}}"#), Err(JsonError::DuplicateKey(_))));
        assert!(p(r#"{"x":{"k":1},"y":{"k":2}}"#).is_ok());
        let many: Vec<String> = (0..100).map(|i| format!("\"k{i}\":1")).collect();
        assert!(p(&format!("{{{}}}", many.join(","))).is_ok());
        assert!(matches!(p(&format!("{{{},\"k7\":2}}", many.join(","))), Err(JsonError::DuplicateKey(_))));
    }

    #[test]
    fn rejects_too_deep_nesting() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(p(&deep), Err(JsonError::TooDeep(64)));
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(p(&ok).is_ok());
    }

    #[test]
    fn rejects_malformed_json() {
        for bad in [
            "",
            "{",
            "{\"a\":}",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "-",
            "tru",
            "\"\u{1}\"",
            "\"\\x\"",
            "{} {}",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "{'a':1}",
            "NaN",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse(b"\"\xff\"", 8), Err(JsonError::InvalidUtf8));
    }

    #[test]
    fn decodes_escapes_and_surrogate_pairs() {
        let n = p(r#""a\u0040b\n\ud83d\ude00\/""#).unwrap();
        assert_eq!(n.as_str().unwrap(), "a@b\n\u{1F600}/");
    }

    #[test]
    fn writes_strings_that_round_trip() {
        let s = "quote\" back\\ nl\n ctl\u{1} é 😀";
        let enc = json_string(s);
        assert_eq!(p(&enc).unwrap().as_str().unwrap(), s);
        assert_eq!(serde_json::from_str::<String>(&enc).unwrap(), s);
    }
}
