//! A strict JSON parser that borrows from its input and remembers byte spans. It reads request
//! bodies, the configuration, responses and audit records; each caller words its own errors.
//!
//! Why not plain `serde_json`: the filter must (1) refuse duplicate keys anywhere (a parser and
//! OpenRouter may pick different ones), (2) bound nesting depth, and (3) know the byte span of every
//! value so edits are spliced into the original bytes instead of re-serialising the whole body.
//!
//! Grammar: RFC 8259. Strings are validated (escapes, no raw control characters, no lone
//! surrogates) but decoded only on demand.

use std::borrow::Cow;

use crate::core::hex;

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
    pub(crate) key_start: usize,
    /// Byte offset just past the key's closing quote.
    pub(crate) key_end: usize,
    /// The value.
    pub value: Node<'a>,
}

/// Why the input is not acceptable JSON (byte offsets only: never the input itself).
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
    #[inline(always)]
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
            // Fast path: skip plain bytes, sixteen at a time (see `swar`).
            let rest = self.b.get(self.i..).ok_or_else(|| self.err())?;
            let Some(run) = swar::find_special(rest) else {
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
            let key_end = self.i;
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
            members.push(Member { key, key_start: key_at, key_end, value });
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

/// Decodes the escapes of an already validated raw JSON string. Runs without a backslash are
/// copied whole.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = swar::find_byte(rest.as_bytes(), b'\\') {
        // `at` is the offset of an ASCII byte, hence a char boundary.
        let Some((plain, escape)) = rest.split_at_checked(at) else { break };
        out.push_str(plain);
        let mut chars = escape.chars();
        chars.next(); // the backslash
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
        rest = chars.as_str();
    }
    out.push_str(rest);
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
///
/// Runs of bytes that need no escape are found a word at a time and copied whole; only `"`, `\`
/// and control characters are escaped.
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut rest = s.as_bytes();
    while let Some(at) = swar::find_special(rest) {
        let Some((plain, tail)) = rest.split_at_checked(at) else { break };
        let Some((&c, after)) = tail.split_first() else { break };
        out.extend_from_slice(plain);
        write_escape(c, out);
        rest = after;
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Appends the JSON escape of `c`, one of `"`, `\` or a control character (below 0x20).
fn write_escape(c: u8, out: &mut Vec<u8>) {
    match c {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        _ => {
            // `\u00XX`, lower-case hex.
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex::digit(c >> 4), hex::digit(c)]);
        }
    }
}

/// Offset of the first CR or LF in `bytes`, eight bytes at a time: the line scan of both event-stream
/// readers (`response::sse`, `response::sse_frame`), which every streamed response byte passes.
pub(crate) use swar::find_line_end;

/// Scanning eight bytes at a time in a `u64` ("SWAR": SIMD within a register). Every byte of every
/// string in a body passes through these loops (parsing, decoding, re-encoding), so they are the
/// parser's hottest code. Portable: plain integer arithmetic, no `unsafe`, no target features.
mod swar {
    use crate::core::swar::{first_flag, HIGHS, ONES};

    /// Sets the high bit of each byte of `x` that is below `n` (`1 <= n <= 0x80`).
    ///
    /// `x - n` (per byte) sets a byte's high bit when that byte was below `n`; `& !x` discards
    /// bytes whose high bit was already set (0x80 and up, never below `n`). The subtraction borrows
    /// across bytes, but a borrow only starts at a byte that really is below `n`, so it can only
    /// flag bytes *above* a true match: the lowest flagged byte is always exact, which is all
    /// [`first_flag`] uses.
    #[inline(always)]
    const fn below(x: u64, n: u8) -> u64 {
        x.wrapping_sub(ONES * n as u64) & !x & HIGHS
    }

    /// Sets the high bit of each byte of `x` equal to `b` (same exactness as [`below`]): XOR turns
    /// those bytes into zero, and zero is the only byte below 1.
    #[inline(always)]
    const fn equal(x: u64, b: u8) -> u64 {
        below(x ^ (ONES * b as u64), 1)
    }

    /// What [`find`] looks for, as a word test and a byte test. A trait rather than closures: a
    /// size-optimised build (opt-level "z") would otherwise leave a call per word.
    trait Needle {
        /// Flags (high bits) for the matching bytes of eight bytes read little-endian.
        fn word(&self, x: u64) -> u64;
        /// Whether one byte matches.
        fn byte(&self, c: u8) -> bool;
    }

    /// `"`, `\`, or a control character: the bytes that end a plain run of a JSON string.
    struct Special;

    impl Needle for Special {
        #[inline(always)]
        fn word(&self, x: u64) -> u64 {
            equal(x, b'"') | equal(x, b'\\') | below(x, 0x20)
        }

        #[inline(always)]
        fn byte(&self, c: u8) -> bool {
            c == b'"' || c == b'\\' || c < 0x20
        }
    }

    /// One given byte.
    struct Byte(u8);

    impl Needle for Byte {
        #[inline(always)]
        fn word(&self, x: u64) -> u64 {
            equal(x, self.0)
        }

        #[inline(always)]
        fn byte(&self, c: u8) -> bool {
            c == self.0
        }
    }

    /// CR or LF: the bytes that end an event-stream line.
    struct LineEnd;

    impl Needle for LineEnd {
        #[inline(always)]
        fn word(&self, x: u64) -> u64 {
            // The lowest flag of each test is exact (see `below`), so the lowest of both is too.
            equal(x, b'\n') | equal(x, b'\r')
        }

        #[inline(always)]
        fn byte(&self, c: u8) -> bool {
            c == b'\n' || c == b'\r'
        }
    }

    /// Offset of the first CR or LF in `bytes`.
    pub(crate) fn find_line_end(bytes: &[u8]) -> Option<usize> {
        find(bytes, LineEnd)
    }

    /// Offset of the first `"`, `\` or control character in `bytes`.
    pub(super) fn find_special(bytes: &[u8]) -> Option<usize> {
        find(bytes, Special)
    }

    /// Offset of the first byte `b` in `bytes`.
    pub(super) fn find_byte(bytes: &[u8], b: u8) -> Option<usize> {
        find(bytes, Byte(b))
    }

    /// Offset of the first byte of `bytes` matching `needle`.
    ///
    /// Sixteen bytes (two words) per step: the test is cheap, so the loop's own overhead matters.
    #[inline(always)]
    fn find(bytes: &[u8], needle: impl Needle) -> Option<usize> {
        let mut done = 0;
        for chunk in bytes.chunks_exact(16) {
            let Ok(sixteen) = <[u8; 16]>::try_from(chunk) else { break };
            // Little-endian: the first byte in memory is the least significant one, so the low
            // half holds the first eight bytes.
            let both = u128::from_le_bytes(sixteen);
            let (first, second) = (needle.word(both as u64), needle.word((both >> 64) as u64));
            if first | second != 0 {
                let at = if first != 0 { first_flag(first) } else { 8 + first_flag(second) };
                return Some(done + at);
            }
            done += 16;
        }
        // The tail (fewer than sixteen bytes), one at a time.
        bytes.get(done..)?.iter().position(|&c| needle.byte(c)).map(|at| done + at)
    }
}

/// A JSON number's text as an integer of at least 1 (`None` for 0, a sign, a fraction or an
/// exponent); digits beyond `u64` saturate.
pub(crate) fn positive_integer(t: &str) -> Option<u64> {
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = t.parse::<u64>().unwrap_or(u64::MAX);
    (v >= 1).then_some(v)
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
    fn find_line_end_finds_the_first_cr_or_lf_at_every_offset() {
        for len in 0..40 {
            for at in 0..=len {
                for end in [b'\n', b'\r'] {
                    let mut bytes = vec![b'a'; len];
                    // Bytes around the needle that a word test could confuse with it.
                    bytes.iter_mut().enumerate().for_each(|(i, b)| *b = [b'a', 0x0b, 0x0c, 0x8d, 0x8a][i % 5]);
                    if at < len {
                        bytes[at] = end;
                        if at + 1 < len {
                            bytes[at + 1] = b'\n';
                        }
                    }
                    let want = bytes.iter().position(|&b| b == b'\n' || b == b'\r');
                    assert_eq!(find_line_end(&bytes), want, "len {len} at {at}");
                }
            }
        }
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

    /// Bytes around the SWAR thresholds and masks: specials, their neighbours, and the same with the
    /// high bit set (UTF-8 continuation/lead bytes).
    const EDGE_BYTES: &[u8] = &[
        0x00, 0x01, 0x08, 0x0a, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x2f, 0x5b, 0x5c, 0x5d, 0x7e, 0x7f, 0x80, 0x81, 0x9f,
        0xa0, 0xa2, 0xdc, 0xe0, 0xfe, 0xff, b'a',
    ];

    fn special_ref(bytes: &[u8]) -> Option<usize> {
        bytes.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)
    }

    #[test]
    fn swar_find_matches_a_byte_loop_for_every_pair_at_every_offset() {
        // Two arbitrary bytes side by side (borrows between lanes), at offsets around the 8-byte
        // words and 16-byte steps, in buffers long enough for whole steps and a tail.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for at in [0, 6, 7, 8, 15, 16, 23, 31] {
                    for len in [at + 2, 19.max(at + 2), 37] {
                        let mut buf = vec![b'x'; len];
                        buf[at] = a;
                        buf[at + 1] = b;
                        assert_eq!(swar::find_special(&buf), special_ref(&buf), "{a:#x} {b:#x} at {at} len {len}");
                        assert_eq!(
                            swar::find_byte(&buf, b'\\'),
                            buf.iter().position(|&c| c == b'\\'),
                            "{a:#x} {b:#x} at {at} len {len}"
                        );
                    }
                }
            }
        }
        for len in 0..40 {
            assert_eq!(swar::find_special(&vec![b'z'; len]), None);
            assert_eq!(swar::find_byte(&vec![0xff; len], b'\\'), None);
        }
    }

    #[test]
    fn swar_find_reports_the_first_of_several_matches() {
        for len in 1..26 {
            for first in 0..len {
                for &c in EDGE_BYTES.iter().filter(|&&c| c == b'"' || c == b'\\' || c < 0x20) {
                    // First match at `first`, then a different special everywhere after it.
                    let mut buf = vec![b'q'; len];
                    buf[first] = c;
                    for (k, slot) in buf.iter_mut().enumerate().skip(first + 1) {
                        *slot = [0u8, b'"', b'\\', 0x1f, 0xff][k % 5];
                    }
                    assert_eq!(swar::find_special(&buf), Some(first), "{buf:?}");
                }
            }
        }
    }

    /// The byte-at-a-time encoder this module used before the SWAR one: the reference.
    fn write_json_string_ref(s: &str) -> Vec<u8> {
        let mut out = vec![b'"'];
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\0'..='\u{1f}' => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
                _ => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        out.push(b'"');
        out
    }

    /// Every interesting character at every offset around the 8-byte words, alone and in pairs.
    fn strings_with_specials() -> Vec<String> {
        let specials: Vec<char> = (0u8..0x20)
            .map(char::from)
            .chain(['"', '\\', '/', ' ', '!', '#', '[', ']', '\u{7f}', '\u{80}', 'é', '€', '😀', '\u{FFFD}'])
            .collect();
        let mut out = Vec::new();
        for len in 0..34 {
            for at in 0..=len {
                for &c in &specials {
                    let mut s: String = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ".chars().take(len).collect();
                    s.insert(at, c);
                    out.push(s.clone());
                    s.push(c);
                    out.push(s);
                }
            }
        }
        out
    }

    #[test]
    fn write_json_string_escapes_every_character_at_every_offset() {
        for s in strings_with_specials() {
            let enc = json_string(&s);
            assert_eq!(enc.as_bytes(), write_json_string_ref(&s), "{s:?}");
            assert_eq!(serde_json::from_str::<String>(&enc).unwrap(), s, "{s:?}");
            let parsed = p(&enc).unwrap();
            assert_eq!(parsed.as_str().unwrap(), s, "{s:?}");
            assert_eq!((parsed.start, parsed.end), (0, enc.len()));
        }
    }

    #[test]
    fn strings_parse_and_decode_like_serde_at_every_offset() {
        // Raw (unescaped) forms too: control characters must be rejected wherever they sit.
        for s in strings_with_specials() {
            for text in [json_string(&s), format!("\"{s}\""), format!("[\"{s}\",1]")] {
                let ours = p(&text);
                let theirs = serde_json::from_str::<serde_json::Value>(&text);
                assert_eq!(ours.is_ok(), theirs.is_ok(), "{text:?}");
                if let (Ok(n), Ok(v)) = (ours, theirs) {
                    let n = match &n.kind {
                        Kind::Array(items) => items[0].clone(),
                        _ => n,
                    };
                    let v = v.as_array().map(|a| a[0].clone()).unwrap_or(v);
                    assert_eq!(n.as_str().unwrap(), v.as_str().unwrap(), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn escapes_decode_at_every_offset() {
        let escapes = [
            (r"\n", "\n"),
            (r"\t", "\t"),
            (r"\r", "\r"),
            (r"\b", "\u{8}"),
            (r"\f", "\u{c}"),
            (r"\/", "/"),
            (r#"\""#, "\""),
            (r"\\", "\\"),
            (r"\u0000", "\0"),
            (r"\u00e9", "é"),
            (r"\u20AC", "€"),
            (r"\ud83d\ude00", "😀"),
        ];
        for len in 0..34 {
            for at in 0..=len {
                for (raw, decoded) in escapes {
                    let plain: String = "0123456789abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
                    let (a, b) = plain.split_at(at);
                    let text = format!("\"{a}{raw}{b}{raw}\"");
                    assert_eq!(p(&text).unwrap().as_str().unwrap(), format!("{a}{decoded}{b}{decoded}"), "{text}");
                }
            }
        }
        for bad in [r#""\x""#, r#""\u12""#, r#""\ud800x""#, r#""abcdefgh\"#, r#""abcdefghijklmnop"#] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }
}
