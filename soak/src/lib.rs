//! Shared by the soak upstream and load generator: a tiny RNG, the planted PII values and the
//! scanner that finds them, and minimal HTTP/1.1 message reading. Standard library only.

use std::io::{self, BufRead, Read};

/// xorshift64*: deterministic, fast, good enough for picking request shapes.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in lo..hi (hi exclusive, hi > lo).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
    /// True with probability p.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

// ------------------------------------------------------------------------------------ planted PII

/// Every planted e-mail address is `soakpii.<name><n>@soakmail.com`: both markers appear nowhere else.
pub const EMAIL_LOCAL_MARK: &str = "soakpii";
pub const EMAIL_DOMAIN: &str = "soakmail.com";
/// Planted OpenRouter keys: `sk-or-v1-` + 64 hex; any `sk-or-v1` upstream is a leak.
pub const KEY_PREFIX: &str = "sk-or-v1-";

fn luhn_check_digit(digits: &[u8]) -> u8 {
    // digits without the check digit; returns the check digit (0..9)
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    ((10 - sum % 10) % 10) as u8
}

/// The planted card numbers (16 digits, Luhn-valid, Visa and Mastercard prefixes), fixed across runs.
pub fn cards() -> Vec<String> {
    let mut rng = Rng::new(0x50A4_CA4D);
    let prefixes: [&[u8]; 4] = [&[4, 5, 3, 9], &[4, 9, 1, 6], &[5, 1, 0, 5], &[5, 4, 2, 5]];
    let mut out = Vec::new();
    for i in 0..12 {
        let mut d: Vec<u8> = prefixes[i % prefixes.len()].to_vec();
        while d.len() < 15 {
            d.push((rng.next_u64() % 10) as u8);
        }
        let c = luhn_check_digit(&d);
        d.push(c);
        out.push(d.iter().map(|x| (b'0' + x) as char).collect());
    }
    out
}

/// A card written plain, grouped by spaces or by dashes.
pub fn card_form(card: &str, form: u64) -> String {
    let g: Vec<&str> = (0..4).map(|k| &card[k * 4..k * 4 + 4]).collect();
    match form % 3 {
        0 => card.to_string(),
        1 => g.join(" "),
        _ => g.join("-"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Email,
    Card,
    Key,
}

/// Finds any trace of a planted value in a body: whole values in every written form and tails of
/// cards (a partial redaction is a leak too).
pub struct Scanner {
    needles: Vec<(Vec<u8>, Kind)>,
    by_first: Vec<Vec<usize>>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    pub fn new() -> Self {
        let mut needles: Vec<(Vec<u8>, Kind)> = vec![
            (KEY_PREFIX.trim_end_matches('-').as_bytes().to_vec(), Kind::Key),
            (EMAIL_LOCAL_MARK.as_bytes().to_vec(), Kind::Email),
            (EMAIL_DOMAIN.as_bytes().to_vec(), Kind::Email),
        ];
        for c in cards() {
            for f in 0..3 {
                needles.push((card_form(&c, f).into_bytes(), Kind::Card));
            }
            let tail = &c[8..];
            needles.push((tail.as_bytes().to_vec(), Kind::Card));
            needles.push((format!("{} {}", &tail[..4], &tail[4..]).into_bytes(), Kind::Card));
            needles.push((format!("{}-{}", &tail[..4], &tail[4..]).into_bytes(), Kind::Card));
        }
        let mut by_first = vec![Vec::new(); 256];
        for (i, (n, _)) in needles.iter().enumerate() {
            by_first[n[0] as usize].push(i);
        }
        Scanner { needles, by_first }
    }

    /// Counts of leaked traces per kind: (email, card, key). A value found in several forms counts
    /// once per form found at a position.
    pub fn scan(&self, body: &[u8]) -> (u64, u64, u64) {
        let mut out = (0, 0, 0);
        self.scan_into(body, &mut out);
        if contains(body, b"\\u") {
            // The filter re-encodes JSON; a value escaped as \u0040 etc. still counts.
            let plain = unescape_u(body);
            let mut again = (0, 0, 0);
            self.scan_into(&plain, &mut again);
            out.0 = out.0.max(again.0);
            out.1 = out.1.max(again.1);
            out.2 = out.2.max(again.2);
        }
        out
    }

    fn scan_into(&self, body: &[u8], out: &mut (u64, u64, u64)) {
        for i in 0..body.len() {
            let cands = &self.by_first[body[i] as usize];
            if cands.is_empty() {
                continue;
            }
            for &k in cands {
                let (n, kind) = &self.needles[k];
                if body[i..].starts_with(n) {
                    match kind {
                        Kind::Email => out.0 += 1,
                        Kind::Card => out.1 += 1,
                        Kind::Key => out.2 += 1,
                    }
                }
            }
        }
    }
}

/// Decodes `\uXXXX` escapes of ASCII characters (enough to reveal an escaped planted value).
fn unescape_u(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 5 < b.len() && b[i + 1] == b'u' {
            if let Ok(s) = std::str::from_utf8(&b[i + 2..i + 6]) {
                if let Ok(v) = u32::from_str_radix(s, 16) {
                    if v < 0x80 {
                        out.push(v as u8);
                        i += 6;
                        continue;
                    }
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    count(hay, needle) > 0
}

/// Non-overlapping occurrences of `needle` in `hay`.
pub fn count(hay: &[u8], needle: &[u8]) -> u64 {
    if needle.is_empty() || hay.len() < needle.len() {
        return 0;
    }
    let first = needle[0];
    let mut n = 0;
    let mut i = 0;
    let last = hay.len() - needle.len();
    while i <= last {
        match hay[i..=last].iter().position(|&c| c == first) {
            None => break,
            Some(p) => {
                i += p;
                if hay[i..].starts_with(needle) {
                    n += 1;
                    i += needle.len();
                } else {
                    i += 1;
                }
            }
        }
    }
    n
}

// ------------------------------------------------------------------------------------ HTTP/1.1

/// A request or response head: the first line and the headers (names lower-cased).
#[derive(Debug, Default, Clone)]
pub struct Head {
    pub first: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn chunked(&self) -> bool {
        self.get("transfer-encoding").map(|v| v.to_ascii_lowercase().contains("chunked")).unwrap_or(false)
    }
    pub fn content_length(&self) -> Option<usize> {
        self.get("content-length").and_then(|v| v.trim().parse().ok())
    }
    /// Status code of a response head.
    pub fn status(&self) -> u16 {
        self.first.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }
    pub fn wants_close(&self) -> bool {
        self.get("connection").map(|v| v.eq_ignore_ascii_case("close")).unwrap_or(false)
    }
}

fn read_line<R: BufRead>(r: &mut R, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.clear();
    let n = r.take(65536).read_until(b'\n', buf)?;
    Ok(n)
}

/// Reads a head. Ok(None) on EOF before the first byte (a closed keep-alive connection).
pub fn read_head<R: BufRead>(r: &mut R) -> io::Result<Option<Head>> {
    let mut line = Vec::new();
    if read_line(r, &mut line)? == 0 {
        return Ok(None);
    }
    let first = String::from_utf8_lossy(&line).trim_end().to_string();
    let mut head = Head { first, headers: Vec::new() };
    loop {
        if read_line(r, &mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof in headers"));
        }
        let l = String::from_utf8_lossy(&line);
        let l = l.trim_end();
        if l.is_empty() {
            return Ok(Some(head));
        }
        if let Some((k, v)) = l.split_once(':') {
            head.headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
}

/// Reads a body framed by content-length or chunked encoding; `until_eof` reads to EOF otherwise
/// (a response with neither). `limit` caps how much is read (for the reset-mid-upload fault):
/// Ok((bytes, complete)).
pub fn read_body<R: BufRead>(r: &mut R, head: &Head, until_eof: bool, limit: usize) -> io::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    if head.chunked() {
        let mut line = Vec::new();
        loop {
            if read_line(r, &mut line)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof in chunk size"));
            }
            let s = String::from_utf8_lossy(&line);
            let size = usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                loop {
                    if read_line(r, &mut line)? == 0 || line == b"\r\n" || line == b"\n" {
                        return Ok((out, true));
                    }
                }
            }
            let start = out.len();
            out.resize(start + size, 0);
            r.read_exact(&mut out[start..])?;
            read_line(r, &mut line)?; // CRLF
            if out.len() >= limit {
                return Ok((out, false));
            }
        }
    }
    if let Some(n) = head.content_length() {
        let want = n.min(limit);
        out.resize(want, 0);
        r.read_exact(&mut out)?;
        return Ok((out, want == n));
    }
    if until_eof {
        r.take(limit as u64).read_to_end(&mut out)?;
    }
    Ok((out, true))
}

/// Sets SO_LINGER {on, 0} so that close() sends a RST instead of a FIN.
#[cfg(unix)]
pub fn set_linger_zero(s: &std::net::TcpStream) {
    use std::os::unix::io::AsRawFd;
    #[repr(C)]
    struct Linger {
        l_onoff: i32,
        l_linger: i32,
    }
    extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, val: *const core::ffi::c_void, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let l = Linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: valid fd, pointer to a properly sized struct for the duration of the call.
    unsafe {
        setsockopt(
            s.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &l as *const Linger as *const _,
            std::mem::size_of::<Linger>() as u32,
        );
    }
}

/// Minimal JSON string escaping for values we build ourselves.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_are_luhn_valid_and_found() {
        let s = Scanner::new();
        for c in cards() {
            let d: Vec<u8> = c.bytes().map(|b| b - b'0').collect();
            assert_eq!(luhn_check_digit(&d[..15]), d[15]);
            for f in 0..3 {
                let body = format!("{{\"x\":\"a {} b\"}}", card_form(&c, f));
                assert!(s.scan(body.as_bytes()).1 >= 1, "{body}");
            }
        }
        assert_eq!(s.scan(b"hello [CREDIT_CARD] [EMAIL] [OPENROUTER_KEY] 2024-05-01 42"), (0, 0, 0));
        assert_eq!(s.scan(b"x soakpii.jo1@soakmail.com y").0, 2);
        assert_eq!(s.scan(b"x \\u0073k-or-v1-ab y").2, 1);
        assert_eq!(count(b"[EMAIL] a [EMAIL]", b"[EMAIL]"), 2);
    }
}
