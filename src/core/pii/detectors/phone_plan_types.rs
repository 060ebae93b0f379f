//! National numbering plans (libphonenumber metadata, generated into `phone_plan.rs` by
//! `tools/gen_phone_plan.py`) and a matcher for the metadata's pattern dialect.
//!
//! The patterns use digits, `\d`, `[…]` classes with ranges, `(?:…)` groups, `|`, `?` and
//! `{n}` / `{n,m}`; nothing else occurs in the metadata (the generator's output is checked by
//! `plan_patterns_use_only_the_supported_dialect`). Matching is a set simulation: the set of
//! input positions reachable after each piece of the pattern is a bit mask (inputs are at most
//! [`MAX_DIGITS`] digits), so the work is linear in the pattern length times the repetition
//! counts — no backtracking, no allocation.

/// Most digits a candidate may have (an international number is at most 15, plus a prefix).
pub(crate) const MAX_DIGITS: usize = 20;

/// One number format: the lengths of its digit groups and the leading-digits pattern that
/// selects it (`""`: any).
#[derive(Debug)]
pub(crate) struct Format {
    /// (min, max) digits of each group, in order.
    pub(crate) groups: &'static [(u8, u8)],
    /// Pattern the start of the national significant number must match.
    pub(crate) leading: &'static str,
}

/// One country's plan.
#[derive(Debug)]
pub(crate) struct Country {
    /// ISO 3166 region code.
    #[cfg_attr(not(test), allow(dead_code, reason = "names the row; read by tests"))]
    pub(crate) region: &'static str,
    /// Calling code.
    pub cc: u16,
    /// National (trunk) prefix dialled before the NSN within the country (`"0"`, `"8"`, `"06"`),
    /// `""` when there is none.
    pub prefix: &'static str,
    /// Possible NSN lengths: bit `n` set when `n` digits is a possible length.
    pub(crate) lengths: u32,
    /// Pattern every valid NSN matches.
    pub(crate) general: &'static str,
    /// Pattern of mobile NSNs (`""` when the metadata has none).
    pub(crate) mobile: &'static str,
    /// Number formats.
    pub(crate) formats: &'static [Format],
}

impl Country {
    /// Whether `nsn` has a possible length and matches the general pattern.
    pub(crate) fn valid(&self, nsn: &[u8]) -> bool {
        nsn.len() < 32 && self.lengths & (1u32 << nsn.len()) != 0 && full_match(self.general, nsn)
    }

    /// Whether `nsn` is a valid mobile number.
    pub(crate) fn mobile(&self, nsn: &[u8]) -> bool {
        !self.mobile.is_empty() && self.valid(nsn) && full_match(self.mobile, nsn)
    }

    /// Whether groups of `lens` digits are one of this country's formats for `nsn`.
    pub(crate) fn formatted_as(&self, nsn: &[u8], lens: &[usize]) -> bool {
        self.formats.iter().any(|f| {
            f.groups.len() == lens.len()
                && f.groups.iter().zip(lens).all(|(&(lo, hi), &n)| (usize::from(lo)..=usize::from(hi)).contains(&n))
                && (f.leading.is_empty() || prefix_match(f.leading, nsn))
        })
    }
}

/// Whether the whole of `d` (ASCII digits) matches `pattern`.
pub(crate) fn full_match(pattern: &str, d: &[u8]) -> bool {
    if d.len() > MAX_DIGITS || d.is_empty() {
        return false;
    }
    let m = Matcher { p: pattern.as_bytes(), d };
    let mut pos = 0;
    let ends = m.alt(&mut pos, 1, 0);
    pos == m.p.len() && ends & (1u32 << d.len()) != 0
}

/// Whether some prefix of `d` matches `pattern` (libphonenumber's `lookingAt`).
pub(crate) fn prefix_match(pattern: &str, d: &[u8]) -> bool {
    if d.len() > MAX_DIGITS {
        return false;
    }
    let m = Matcher { p: pattern.as_bytes(), d };
    let mut pos = 0;
    m.alt(&mut pos, 1, 0) != 0 && pos == m.p.len()
}

/// Deepest group nesting evaluated (the metadata nests about five deep).
const MAX_DEPTH: u8 = 24;

struct Matcher<'a> {
    p: &'a [u8],
    d: &'a [u8],
}

impl Matcher<'_> {
    fn at(&self, i: usize) -> u8 {
        self.p.get(i).copied().unwrap_or(0)
    }

    /// `alt = seq ("|" seq)*`; returns the positions reachable from `s`.
    fn alt(&self, pos: &mut usize, s: u32, depth: u8) -> u32 {
        let mut out = 0;
        loop {
            out |= self.seq(pos, s, depth);
            if self.at(*pos) == b'|' {
                *pos += 1;
            } else {
                return out;
            }
        }
    }

    fn seq(&self, pos: &mut usize, s: u32, depth: u8) -> u32 {
        let mut cur = s;
        loop {
            match self.at(*pos) {
                0 | b'|' | b')' => return cur,
                _ => {
                    let before = *pos;
                    cur = self.quantified(pos, cur, depth);
                    if *pos == before {
                        // Malformed pattern: stop here (matches nothing further).
                        *pos = self.p.len();
                        return 0;
                    }
                }
            }
        }
    }

    fn number(&self, pos: &mut usize) -> usize {
        let mut n = 0usize;
        while self.at(*pos).is_ascii_digit() {
            n = n.saturating_mul(10).saturating_add(usize::from(self.at(*pos) - b'0'));
            *pos += 1;
        }
        n
    }

    fn quantified(&self, pos: &mut usize, s: u32, depth: u8) -> u32 {
        let start = *pos;
        let once = self.atom(pos, s, depth);
        match self.at(*pos) {
            b'?' => {
                *pos += 1;
                once | s
            }
            b'{' => {
                *pos += 1;
                let lo = self.number(pos);
                let hi = if self.at(*pos) == b',' {
                    *pos += 1;
                    self.number(pos)
                } else {
                    lo
                };
                *pos += 1; // '}'
                let hi = hi.min(MAX_DIGITS);
                let mut out = if lo == 0 { s } else { 0 };
                let mut cur = s;
                for k in 1..=hi {
                    if k > 1 {
                        let mut q = start;
                        cur = self.atom(&mut q, cur, depth);
                    } else {
                        cur = once;
                    }
                    if k >= lo {
                        out |= cur;
                    }
                    if cur == 0 {
                        break;
                    }
                }
                out
            }
            _ => once,
        }
    }

    fn atom(&self, pos: &mut usize, s: u32, depth: u8) -> u32 {
        match self.at(*pos) {
            b'(' => {
                *pos += 1;
                if self.at(*pos) == b'?' && self.at(*pos + 1) == b':' {
                    *pos += 2;
                }
                let r = if depth < MAX_DEPTH { self.alt(pos, s, depth + 1) } else { 0 };
                if self.at(*pos) == b')' {
                    *pos += 1;
                }
                r
            }
            b'\\' => {
                *pos += 2; // `\d`
                self.step(s, 0x3ff)
            }
            b'[' => {
                *pos += 1;
                let mut mask = 0u16;
                while !matches!(self.at(*pos), b']' | 0) {
                    let a = self.at(*pos);
                    if self.at(*pos + 1) == b'-' && self.at(*pos + 2).is_ascii_digit() {
                        let b = self.at(*pos + 2);
                        for x in a..=b {
                            mask |= digit_bit(x);
                        }
                        *pos += 3;
                    } else {
                        mask |= digit_bit(a);
                        *pos += 1;
                    }
                }
                *pos += 1;
                self.step(s, mask)
            }
            x if x.is_ascii_digit() => {
                *pos += 1;
                self.step(s, digit_bit(x))
            }
            _ => 0,
        }
    }

    /// Positions reachable from `s` by one digit in `mask`.
    fn step(&self, s: u32, mask: u16) -> u32 {
        let mut out = 0u32;
        for (i, &x) in self.d.iter().enumerate() {
            if s & (1u32 << i) != 0 && mask & digit_bit(x) != 0 {
                out |= 1u32 << (i + 1);
            }
        }
        out
    }
}

fn digit_bit(x: u8) -> u16 {
    if x.is_ascii_digit() {
        1u16 << (x - b'0')
    } else {
        0
    }
}

/// How many bytes of `pattern` the matcher's parser reads (all of them for a pattern in its dialect).
#[cfg(test)]
pub(super) fn parsed_len(pattern: &str) -> usize {
    let m = Matcher { p: pattern.as_bytes(), d: b"1" };
    let mut pos = 0;
    m.alt(&mut pos, 1, 0);
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matcher_handles_the_metadata_dialect() {
        assert!(full_match("[1-9]\\d{8}", b"612345678"));
        assert!(!full_match("[1-9]\\d{8}", b"012345678"));
        assert!(!full_match("[1-9]\\d{8}", b"61234567"));
        assert!(full_match("(?:1|[368]\\d|4[0-8])\\d{3,13}", b"30901820"));
        assert!(full_match("8\\d{13}|[347-9]\\d{9}", b"9123456789"));
        assert!(full_match("1(?:6[023]|7\\d)\\d{7,8}", b"17112345678"));
        assert!(full_match("(?:00)?7\\d?", b"7"));
        assert!(full_match("(?:00)?7\\d?", b"0071"));
        assert!(!full_match("(?:00)?7\\d?", b"071"));
        assert!(prefix_match("1[3-9]", b"13800138000"));
        assert!(!prefix_match("1[3-9]", b"12800138000"));
    }

    #[test]
    fn hostile_patterns_and_inputs_finish() {
        assert!(!full_match("((((((((((((((((((((((((((((((1", b"1"));
        assert!(!full_match("[", b"1"));
        assert!(!full_match("\\d{99999}", b"1"));
        assert!(!full_match("x", b"1"));
        assert!(!full_match("\\d", &[b'1'; 40]));
    }
}
