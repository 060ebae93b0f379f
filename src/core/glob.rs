//! Case-insensitive globs over model ids: `*` matches any run (including `/` and `:`), `?` one character.

/// A compiled glob. Patterns are lower-cased at compile time; subjects must be canonical (lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    pattern: Vec<char>,
}

impl Glob {
    /// Compiles `pattern` (trimmed, lower-cased). Returns `None` for an empty pattern.
    pub(crate) fn new(pattern: &str) -> Option<Self> {
        let p = pattern.trim().to_lowercase();
        if p.is_empty() {
            return None;
        }
        Some(Self { pattern: p.chars().collect() })
    }

    /// Whether `subject` matches. Linear-time two-pointer match with a single backtrack point,
    /// so hostile subjects cannot blow up. Walks the subject in place (byte offsets of its
    /// characters): no copy of it per call (model rules and price globs run on every request).
    pub(crate) fn matches(&self, subject: &str) -> bool {
        let p = &self.pattern;
        let char_at = |i: usize| subject.get(i..).and_then(|r| r.chars().next());
        let (mut si, mut pi) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while let Some(sc) = char_at(si) {
            match p.get(pi) {
                Some('*') => {
                    star = Some((pi, si));
                    pi += 1;
                }
                Some(pc) if *pc == '?' || *pc == sc => {
                    pi += 1;
                    si += sc.len_utf8();
                }
                _ => match star {
                    Some((sp, ss)) => {
                        let next = ss + char_at(ss).map_or(1, char::len_utf8);
                        pi = sp + 1;
                        si = next;
                        star = Some((sp, next));
                    }
                    None => return false,
                },
            }
        }
        p.get(pi..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().matches(s)
    }

    #[test]
    fn star_matches_any_run_including_slash_and_colon() {
        assert!(m("anthropic/*", "anthropic/claude-3.5-sonnet"));
        assert!(m("anthropic/*", "anthropic/claude-3.5-sonnet:free"));
        assert!(m("*:free", "meta-llama/llama-3-8b-instruct:free"));
        assert!(!m("*:free", "meta-llama/llama-3-8b-instruct:freely"));
        assert!(m("*", "x"));
        assert!(m("openai/gpt-4o*", "openai/gpt-4o-mini"));
        assert!(!m("openai/gpt-4o*", "openai/gpt-4"));
    }

    #[test]
    fn question_mark_matches_one_char_and_exact_needs_full_match() {
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(!m("anthropic/claude", "anthropic/claude-3"));
        assert!(!m("anthropic/*", "xanthropic/claude"));
    }

    #[test]
    fn pattern_is_case_insensitive_and_trimmed() {
        assert!(m("  Anthropic/* ", "anthropic/claude"));
        assert!(Glob::new("   ").is_none());
    }

    /// The char-based matcher `matches` replaced (665dcb2): the subject copied into a `Vec<char>`.
    fn char_oracle(p: &[char], subject: &str) -> bool {
        let s: Vec<char> = subject.chars().collect();
        let (mut si, mut pi) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while si < s.len() {
            match (p.get(pi), s.get(si)) {
                (Some('*'), _) => {
                    star = Some((pi, si));
                    pi += 1;
                }
                (Some(pc), Some(sc)) if *pc == '?' || pc == sc => {
                    pi += 1;
                    si += 1;
                }
                _ => match star {
                    Some((sp, ss)) => {
                        pi = sp + 1;
                        si = ss + 1;
                        star = Some((sp, ss + 1));
                    }
                    None => return false,
                },
            }
        }
        p.get(pi..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
    }

    #[test]
    fn question_mark_takes_one_multibyte_char_whole() {
        assert!(m("caf?", "café"));
        assert!(m("caf?/x", "café/x"));
        assert!(!m("caf??", "café"));
        assert!(m("a?b", "a\u{1f600}b"));
        assert!(!m("a??b", "a\u{1f600}b"));
        assert!(m("??", "é\u{1f600}"));
        assert!(!m("?", "é\u{1f600}"));
    }

    #[test]
    fn star_backtracks_across_multibyte_chars() {
        assert!(m("*é", "\u{1f600}aé\u{1f600}é"));
        assert!(!m("*é", "\u{1f600}aé\u{1f600}"));
        assert!(m("a*\u{1f600}?", "aéé\u{1f600}é\u{1f600}b"));
        assert!(m("*\u{1f600}*é*", "x\u{1f600}\u{1f600}yé"));
        assert!(!m("*é*\u{1f600}", "\u{1f600}é"));
    }

    #[test]
    fn multibyte_literals_match_exactly() {
        assert!(m("vendor/modèle-ü", "vendor/modèle-ü"));
        assert!(!m("vendor/modèle-ü", "vendor/modele-u"));
        assert!(!m("vendor/modele-u", "vendor/modèle-ü"));
        assert!(m("vendor/mod?le-*", "vendor/modèle-\u{4e2d}\u{6587}"));
        // Same first byte, different character: é (C3 A9) against ë (C3 AB).
        assert!(!m("é", "ë"));
    }

    #[test]
    fn matches_what_the_char_based_matcher_matched_over_random_multibyte_strings() {
        const SUBJECT: [char; 6] = ['a', 'b', 'é', 'ë', '\u{1f600}', '\u{4e2d}'];
        const PATTERN: [char; 8] = ['a', 'b', 'é', 'ë', '\u{1f600}', '\u{4e2d}', '*', '?'];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            usize::try_from(x % n as u64).unwrap()
        };
        let (mut hits, mut misses) = (0, 0);
        for _ in 0..20_000 {
            let sl = next(9);
            let subject: String = (0..sl).map(|_| SUBJECT[next(SUBJECT.len())]).collect();
            let pl = 1 + next(6);
            let pattern: String = (0..pl).map(|_| PATTERN[next(PATTERN.len())]).collect();
            let want = char_oracle(&pattern.chars().collect::<Vec<_>>(), &subject);
            assert_eq!(m(&pattern, &subject), want, "{pattern:?} against {subject:?}");
            if want {
                hits += 1;
            } else {
                misses += 1;
            }
        }
        // Both outcomes are exercised, not only mismatches.
        assert!(hits > 500 && misses > 500, "{hits} matches, {misses} mismatches");
    }

    #[test]
    fn pathological_patterns_finish() {
        let subject = "a".repeat(5000);
        assert!(!m("*a*a*a*a*a*a*a*b", &subject));
    }
}
