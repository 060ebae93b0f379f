//! A reference glob matcher and model rules, written independently of `src/core/glob.rs`:
//! plain recursive matching with memoisation (`*` any run, `?` one character).

/// Whether `pat` (already lower-cased) matches `s`.
pub fn glob_match(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let s: Vec<char> = s.chars().collect();
    // dp[i][j]: p[i..] matches s[j..]
    let mut dp = vec![vec![false; s.len() + 1]; p.len() + 1];
    dp[p.len()][s.len()] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=s.len()).rev() {
            dp[i][j] = match p[i] {
                '*' => dp[i + 1][j] || (j < s.len() && dp[i][j + 1]),
                '?' => j < s.len() && dp[i + 1][j + 1],
                c => j < s.len() && s[j] == c && dp[i + 1][j + 1],
            };
        }
    }
    dp[0][0]
}

/// One rule of a profile: `(allow?, pattern)`.
pub type Rule = (bool, &'static str);

/// First matching rule decides; no match denies. `model` must already be canonical.
pub fn allowed(rules: &[Rule], model: &str) -> bool {
    rules.iter().find(|(_, p)| glob_match(p, model)).is_some_and(|(allow, _)| *allow)
}

/// The harness's own canonicalisation: trim and lower-case.
pub fn canonical(raw: &str) -> String {
    raw.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_glob_behaves() {
        assert!(glob_match("*:free", "a/b:free"));
        assert!(!glob_match("*:free", "a/b:freely"));
        assert!(glob_match("anthropic/claude-3?5-*", "anthropic/claude-3.5-sonnet"));
        assert!(!glob_match("anthropic/*", "xanthropic/claude"));
        assert!(glob_match("*", ""));
    }
}
