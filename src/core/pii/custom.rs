//! Custom patterns from configuration (`profiles.<name>.pii.custom[i]`).
//!
//! A pattern that starts with a literal (`EMP-[0-9]{6}`, `(?i)proj-\w+`, `\bACME-\d+`) is found
//! through its literal in the shared one-pass matcher ([`super::dictionary`]) and confirmed by
//! running the regex anchored at that spot on a window of [`WINDOW`] bytes, so text without the
//! literal costs nothing extra. Other patterns run once over each string (regex-lite).

use regex_lite::{Regex, RegexBuilder};

use crate::core::config::ConfigError;
use crate::core::config::{Action, CustomPatternConfig};

/// Longest match of a prefixed custom pattern, in bytes.
pub(crate) const WINDOW: usize = 1024;
/// Longest pattern source accepted.
const MAX_PATTERN_LEN: usize = 2048;

/// The literal a pattern must start with, as found in its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prefix {
    /// The literal, ASCII lower case (what the matcher looks for).
    pub(crate) folded: Vec<u8>,
    /// The literal exactly, when the pattern is case-sensitive (checked after a match).
    pub exact: Option<Vec<u8>>,
    /// The pattern started with `\b`: the byte before the literal must not be a word byte.
    pub(crate) word_start: bool,
}

/// The set of bytes a match can start with, for patterns without a literal prefix
/// (`[A-Z]{2}[0-9]{7}`, `\b\d{3}-\d{4}`): only positions holding such a byte (at a word start
/// if the pattern starts with `\b`) are tried, each with the anchored regex on a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FirstByte {
    set: [bool; 256],
    /// The pattern started with `\b`.
    pub(crate) word_start: bool,
}

impl FirstByte {
    /// Whether a match may start with byte `b`.
    #[inline]
    pub(crate) fn may_start(&self, b: u8) -> bool {
        self.set.get(usize::from(b)).copied().unwrap_or(false)
    }
}

fn add_class(set: &mut [bool; 256], esc: u8) -> bool {
    let mut mark = |f: &dyn Fn(u8) -> bool| {
        for (i, slot) in set.iter_mut().enumerate() {
            if f(i as u8) {
                *slot = true;
            }
        }
    };
    match esc {
        b'd' => mark(&|c| c.is_ascii_digit()),
        b'w' => mark(&|c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80),
        b's' => mark(&|c| c.is_ascii_whitespace() || c >= 0x80),
        c if c.is_ascii_punctuation() => mark(&|x| x == c),
        _ => return false,
    }
    true
}

/// Splits a leading `(?i)` and `\b` off a pattern: `(rest, case_insensitive, word_start)`.
/// `None` when the pattern has an alternation anywhere, which may make any head optional; the
/// prefilters then stay off (conservative).
fn pattern_head(pattern: &str) -> Option<(&[u8], bool, bool)> {
    if pattern.contains('|') {
        return None;
    }
    let mut p = pattern.as_bytes();
    let ci = p.starts_with(b"(?i)");
    if ci {
        p = p.get(4..).unwrap_or_default();
    }
    let word_start = p.starts_with(b"\\b");
    if word_start {
        p = p.get(2..).unwrap_or_default();
    }
    Some((p, ci, word_start))
}

/// Derives [`FirstByte`] from the start of a pattern: `(?i)`, `\b`, then one of a bracket class
/// without negation, `\d`, `\w`, `\s` or a literal byte, not followed by `?`, `*` or `{0`.
/// Anything else (groups, alternation, `.`) gives `None` and the pattern runs over the whole text.
pub(crate) fn first_byte(pattern: &str) -> Option<FirstByte> {
    let (p, ci, word_start) = pattern_head(pattern)?;
    let mut set = [false; 256];
    let after = match p.first()? {
        b'[' => {
            let mut i = 1;
            if p.get(1) == Some(&b'^') {
                return None;
            }
            loop {
                let c = *p.get(i)?;
                match c {
                    b']' if i > 1 => break i + 1,
                    b'\\' => {
                        if !add_class(&mut set, *p.get(i + 1)?) {
                            return None;
                        }
                        i += 2;
                    }
                    _ => {
                        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
                            let hi = *p.get(i + 2)?;
                            for x in c..=hi {
                                if let Some(slot) = set.get_mut(usize::from(x)) {
                                    *slot = true;
                                }
                            }
                            i += 3;
                        } else {
                            if let Some(slot) = set.get_mut(usize::from(c)) {
                                *slot = true;
                            }
                            i += 1;
                        }
                    }
                }
            }
        }
        b'\\' => {
            if !add_class(&mut set, *p.get(1)?) {
                return None;
            }
            2
        }
        &c if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'#' || c == b'@' => {
            if let Some(slot) = set.get_mut(usize::from(c)) {
                *slot = true;
            }
            1
        }
        _ => return None,
    };
    if matches!(p.get(after), Some(b'?' | b'*')) || p.get(after..after + 2) == Some(b"{0") {
        return None;
    }
    if ci {
        for c in b'a'..=b'z' {
            let on = set.get(usize::from(c)).copied().unwrap_or(false)
                || set.get(usize::from(c.to_ascii_uppercase())).copied().unwrap_or(false);
            for x in [c, c.to_ascii_uppercase()] {
                if let Some(slot) = set.get_mut(usize::from(x)) {
                    *slot |= on;
                }
            }
        }
    }
    Some(FirstByte { set, word_start })
}

/// A compiled custom pattern.
#[derive(Debug, Clone)]
pub(crate) struct CustomPattern {
    /// Entity name.
    pub name: String,
    /// Action on matches.
    pub action: Action,
    /// Required literal prefix, if the pattern has one.
    pub prefix: Option<Prefix>,
    /// Possible first bytes, for patterns without a literal prefix.
    pub first: Option<FirstByte>,
    anchored: Regex,
    unanchored: Regex,
}

/// Validates an entity name for custom patterns and dictionaries: `[A-Z][A-Z0-9_]{0,63}`.
pub(crate) fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.first().is_some_and(u8::is_ascii_uppercase)
        && b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

/// Extracts the literal prefix of a regex source, if it has one of at least two bytes.
pub(crate) fn literal_prefix(pattern: &str) -> Option<Prefix> {
    let (p, ci, word_start) = pattern_head(pattern)?;
    let mut lit = Vec::new();
    let mut i = 0;
    while let Some(&c) = p.get(i) {
        if c.is_ascii_alphanumeric() || b" -_:#@/=,;'\"<>!%&~`".contains(&c) {
            lit.push(c);
            i += 1;
        } else if c == b'\\' {
            match p.get(i + 1) {
                Some(&e) if b".-+*?()[]{}|^$\\/#&~ ".contains(&e) => {
                    lit.push(e);
                    i += 2;
                }
                _ => break,
            }
        } else {
            break;
        }
    }
    // A quantifier after the literal makes its last byte optional or repeated-from-zero.
    if matches!(p.get(i), Some(b'?' | b'*' | b'{')) {
        lit.pop();
    }
    if lit.len() < 2 || (ci && !lit.is_ascii()) {
        return None;
    }
    let folded = lit.to_ascii_lowercase();
    let exact = if ci || folded == lit && !lit.iter().any(u8::is_ascii_alphabetic) { None } else { Some(lit) };
    Some(Prefix { folded, exact, word_start })
}

fn build(src: &str) -> Result<Regex, String> {
    RegexBuilder::new(src).size_limit(1 << 20).nest_limit(64).build().map_err(|e| e.to_string())
}

impl CustomPattern {
    /// Compiles one configured pattern; `path` is `….custom[i]`.
    pub(crate) fn compile(cfg: &CustomPatternConfig, path: &str) -> Result<Self, ConfigError> {
        let ppath = format!("{path}.pattern");
        if !valid_name(&cfg.name) {
            return Err(ConfigError::new(
                format!("{path}.name"),
                "must match [A-Z][A-Z0-9_]* and be at most 64 characters",
            ));
        }
        if cfg.pattern.is_empty() || cfg.pattern.len() > MAX_PATTERN_LEN {
            return Err(ConfigError::new(ppath, format!("must be 1 to {MAX_PATTERN_LEN} characters")));
        }
        let unanchored = build(&cfg.pattern).map_err(|e| ConfigError::new(&ppath, format!("invalid regex: {e}")))?;
        let anchored = build(&format!("^(?:{})", cfg.pattern))
            .map_err(|e| ConfigError::new(&ppath, format!("invalid regex: {e}")))?;
        // Probe for empty matches: at string edges, next to word and non-word bytes, at line ends.
        for probe in ["", "a", " ", "a b", "0", "-", "\n", "a\nb", "EMP"] {
            if unanchored.find_iter(probe).any(|m| m.is_empty()) {
                return Err(ConfigError::new(ppath, "pattern can match the empty string"));
            }
        }
        let prefix = literal_prefix(&cfg.pattern);
        let first = if prefix.is_none() { first_byte(&cfg.pattern) } else { None };
        Ok(Self { name: cfg.name.clone(), action: cfg.action, prefix, first, anchored, unanchored })
    }

    /// With a prefix: confirms a match starting exactly at `start` (where the matcher found the
    /// literal ending at `lit_end`); returns its end.
    pub(crate) fn confirm_at(&self, text: &str, start: usize, lit_end: usize) -> Option<usize> {
        let p = self.prefix.as_ref()?;
        let b = text.as_bytes();
        if let Some(exact) = &p.exact {
            if b.get(start..lit_end) != Some(exact.as_slice()) {
                return None;
            }
        }
        if p.word_start && start > 0 && b.get(start - 1).is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_') {
            return None;
        }
        self.anchored_at(text, start)
    }

    fn anchored_at(&self, text: &str, start: usize) -> Option<usize> {
        let mut end = (start + WINDOW).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let window = text.get(start..end)?;
        self.anchored.find(window).filter(|m| !m.is_empty()).map(|m| start + m.end())
    }

    /// Without a prefix: every match in `text`, as (start, end). With a [`FirstByte`] set, only
    /// candidate positions are tried; otherwise the regex runs over the whole text.
    pub(crate) fn find_all(&self, text: &str, mut f: impl FnMut(usize, usize)) {
        let Some(first) = &self.first else {
            for m in self.unanchored.find_iter(text) {
                if !m.is_empty() {
                    f(m.start(), m.end());
                }
            }
            return;
        };
        let b = text.as_bytes();
        let mut i = 0;
        let mut prev = 0u8;
        while let Some(&c) = b.get(i) {
            let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
            if first.may_start(c) && !(first.word_start && word(prev)) && text.is_char_boundary(i) {
                if let Some(e) = self.anchored_at(text, i) {
                    f(i, e);
                    prev = b.get(e.saturating_sub(1)).copied().unwrap_or(0);
                    i = e.max(i + 1);
                    continue;
                }
            }
            prev = c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(name: &str, pattern: &str) -> CustomPatternConfig {
        CustomPatternConfig { name: name.into(), pattern: pattern.into(), action: Action::Redact }
    }

    #[test]
    fn literal_prefixes_are_extracted_conservatively() {
        let p = literal_prefix("EMP-[0-9]{6}").unwrap();
        assert_eq!(p.folded, b"emp-");
        assert_eq!(p.exact.as_deref(), Some(&b"EMP-"[..]));
        let p = literal_prefix("(?i)\\bproj\\-\\w+").unwrap();
        assert_eq!((p.folded.as_slice(), p.exact.is_none(), p.word_start), (&b"proj-"[..], true, true));
        assert_eq!(literal_prefix("ABC?D").unwrap().folded, b"ab");
        assert_eq!(literal_prefix("[0-9]{6}"), None);
        assert_eq!(literal_prefix("A|B"), None);
        assert_eq!(literal_prefix("X{2}"), None);
    }

    #[test]
    fn first_byte_sets_are_derived_from_simple_pattern_starts() {
        let f = first_byte("\\b[A-Z]{2}[0-9]{7}\\b").unwrap();
        assert!(f.word_start && f.may_start(b'Q') && !f.may_start(b'q') && !f.may_start(b'1'));
        let f = first_byte("(?i)[a-c_]x").unwrap();
        assert!(f.may_start(b'B') && f.may_start(b'_') && !f.may_start(b'd'));
        assert!(first_byte("\\d{3}").unwrap().may_start(b'7'));
        for p in ["[^a]x", ".x", "(a)b", "a?b", "[a-z]*x", "\\d{0,3}x", "a|b"] {
            assert_eq!(first_byte(p), None, "{p}");
        }
    }

    #[test]
    fn prefiltered_patterns_find_the_same_matches_as_a_full_scan() {
        let t = "AB1234567 x CD7654321y QQ1111111 zz99 ab1234567 EF2222222";
        for p in ["\\b[A-Z]{2}[0-9]{7}\\b", "[A-Z]{2}[0-9]{7}", "(?i)\\b[a-z]{2}\\d{7}", "\\d{7}"] {
            let c = CustomPattern::compile(&cfg("X", p), "c").unwrap();
            assert!(c.first.is_some(), "{p}");
            let mut fast = Vec::new();
            c.find_all(t, |s, e| fast.push((s, e)));
            let slow: Vec<(usize, usize)> = c.unanchored.find_iter(t).map(|m| (m.start(), m.end())).collect();
            assert_eq!(fast, slow, "{p}");
        }
    }

    #[test]
    fn bad_regexes_name_the_pattern_path() {
        let e = CustomPattern::compile(&cfg("X", "EMP-[0-9"), "profiles.p.pii.custom[2]").unwrap_err();
        assert_eq!(e.path, "profiles.p.pii.custom[2].pattern");
        assert!(e.message.contains("invalid regex"));
    }

    #[test]
    fn patterns_that_can_match_empty_are_refused() {
        for p in ["a*", "(?:x)?", "\\b", "^", "$", "(?m)^", "x|"] {
            let e = CustomPattern::compile(&cfg("X", p), "c[0]").unwrap_err();
            assert!(e.message.contains("empty"), "{p}");
        }
    }

    #[test]
    fn bad_names_are_refused_with_the_name_path() {
        for n in ["", "lower", "A B", "[X]", &"A".repeat(65)] {
            let e = CustomPattern::compile(&cfg(n, "x+"), "c[0]").unwrap_err();
            assert_eq!(e.path, "c[0].name");
        }
    }

    #[test]
    fn a_prefixed_pattern_is_confirmed_at_its_literal_only() {
        let c = CustomPattern::compile(&cfg("EMPLOYEE_ID", "EMP-[0-9]{6}"), "c").unwrap();
        let t = "id EMP-123456 and emp-123456 and EMP-12";
        assert_eq!(c.confirm_at(t, 3, 7), Some(13));
        assert_eq!(c.confirm_at(t, 18, 22), None); // case differs
        assert_eq!(c.confirm_at(t, 33, 37), None);
    }
}
