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

    #[test]
    fn pathological_patterns_finish() {
        let subject = "a".repeat(5000);
        assert!(!m("*a*a*a*a*a*a*a*b", &subject));
    }
}
