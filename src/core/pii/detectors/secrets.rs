//! Credentials, by exact shape. Called by the engine at the end of every token of at least ten
//! `[A-Za-z0-9_+/-]` bytes, and after the word `Bearer`.
//!
//! | entity | shape |
//! |---|---|
//! | OPENROUTER_KEY | `sk-or-v1-` + 64 hex |
//! | ANTHROPIC_KEY | `sk-ant-` + ≥ 32 of `[A-Za-z0-9_-]` |
//! | OPENAI_KEY | `sk-` (incl. `sk-proj-`, `sk-svcacct-`) + ≥ 32 of `[A-Za-z0-9_-]` with letters and digits |
//! | STRIPE_KEY | `sk_live_`, `rk_live_`, `sk_test_`, `rk_test_` + ≥ 16 alphanumerics |
//! | GITHUB_TOKEN | `ghp_ gho_ ghu_ ghs_ ghr_` + ≥ 30 alphanumerics; `github_pat_` + ≥ 22 of `[A-Za-z0-9_]` |
//! | SLACK_TOKEN | `xoxa- xoxb- xoxp- xoxr-` (bot/user tokens) or `xapp-` (app-level tokens) + ≥ 10 of `[A-Za-z0-9-]` |
//! | GOOGLE_API_KEY | `AIza` + 35 of `[A-Za-z0-9_-]` |
//! | AWS_ACCESS_KEY | `AKIA ASIA AGPA AIDA AROA AIPA ANPA ANVA ABIA ACCA` + 16 of `[A-Z0-9]` |
//! | AWS_SECRET_KEY | 40 of `[A-Za-z0-9/+]` with upper, lower and digit-or-symbol, ≤ 96 bytes after "secret" |
//! | JWT | `eyJ…` `.` payload `.` signature, header base64url-decoding to a JSON object with `"alg"` |
//! | PRIVATE_KEY | `-----BEGIN … PRIVATE KEY-----` through `-----END …-----` (or to the end of the text); in a patch the header may follow the line's `+`/`-` |
//! | BEARER_TOKEN | after `Bearer `: ≥ 16 of `[A-Za-z0-9._~+/=-]` |

use super::Sink;
use crate::core::pii::entity::Entity;
use crate::core::pii::text::{at, before, context_before, find_from, starts_with_ci};

fn all(t: &[u8], f: impl Fn(u8) -> bool) -> bool {
    t.iter().all(|&c| f(c))
}

#[inline(always)]
fn b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

const AWS_PREFIXES: [&[u8]; 10] =
    [b"AKIA", b"ASIA", b"AGPA", b"AIDA", b"AROA", b"AIPA", b"ANPA", b"ANVA", b"ABIA", b"ACCA"];

fn classify(t: &[u8]) -> Option<Entity> {
    // Every prefix below starts with one of these bytes; most tokens stop here.
    if !matches!(t.first(), Some(b's' | b'r' | b'g' | b'x' | b'A')) {
        return None;
    }
    let rest = |n: usize| t.get(n..).unwrap_or(&[]);
    let has_digit_and_letter = |r: &[u8]| r.iter().any(u8::is_ascii_digit) && r.iter().any(u8::is_ascii_alphabetic);
    if t.starts_with(b"sk-or-v1-") {
        let r = rest(9);
        return (r.len() == 64 && all(r, |c| c.is_ascii_hexdigit())).then_some(Entity::OpenrouterKey);
    }
    if t.starts_with(b"sk-ant-") {
        let r = rest(7);
        return (r.len() >= 32 && all(r, b64url)).then_some(Entity::AnthropicKey);
    }
    if t.starts_with(b"sk-") {
        let r = rest(3);
        return (r.len() >= 32 && all(r, b64url) && has_digit_and_letter(r)).then_some(Entity::OpenaiKey);
    }
    if [&b"sk_live_"[..], b"rk_live_", b"sk_test_", b"rk_test_"].iter().any(|p| t.starts_with(p)) {
        let r = rest(8);
        return (r.len() >= 16 && all(r, |c| c.is_ascii_alphanumeric())).then_some(Entity::StripeKey);
    }
    if t.starts_with(b"github_pat_") {
        let r = rest(11);
        return (r.len() >= 22 && all(r, |c| c.is_ascii_alphanumeric() || c == b'_')).then_some(Entity::GithubToken);
    }
    if t.len() > 4 && t.starts_with(b"gh") && at(t, 3) == b'_' && matches!(at(t, 2), b'p' | b'o' | b'u' | b's' | b'r') {
        let r = rest(4);
        return (r.len() >= 30 && all(r, |c| c.is_ascii_alphanumeric())).then_some(Entity::GithubToken);
    }
    let slack = t.starts_with(b"xox") && matches!(at(t, 3), b'a' | b'b' | b'p' | b'r') && at(t, 4) == b'-';
    if slack || t.starts_with(b"xapp-") {
        let r = rest(5);
        return (r.len() >= 10 && all(r, |c| c.is_ascii_alphanumeric() || c == b'-')).then_some(Entity::SlackToken);
    }
    if t.starts_with(b"AIza") {
        return (t.len() == 39 && all(t, b64url)).then_some(Entity::GoogleApiKey);
    }
    if t.len() == 20 && AWS_PREFIXES.iter().any(|p| t.starts_with(p)) {
        return all(t, |c| c.is_ascii_uppercase() || c.is_ascii_digit()).then_some(Entity::AwsAccessKey);
    }
    None
}

/// Words that mark a documentation placeholder (`xoxb-your-token-here`, `sk-REPLACE_ME…`).
const PLACEHOLDER_WORDS: [&[u8]; 9] =
    [b"your", b"here", b"placeholder", b"changeme", b"change_me", b"replace", b"insert", b"dummy", b"redacted"];

/// Whether a secret-shaped token is a placeholder, not a secret: a secret is random, a placeholder
/// is words (`your-token-here`), one letter repeated (`xxxxxxxx`), or a
/// reference to where the secret lives (`process.env.OPENAI_API_KEY`, `os.environ…`,
/// `OPENAI_API_KEY`, `${…}`, `%VAR%`, `{{…}}`, `<…>`). A run of eight equal letters occurs in
/// a random 64-hex-digit key with probability ~2e-7; a word must stand between separators.
pub(crate) fn placeholder(t: &[u8]) -> bool {
    if matches!(t.first(), Some(b'$' | b'%' | b'{' | b'<')) || repeated_letters(t) {
        return true;
    }
    // Words are looked for in the first 256 bytes, in place, only where one can start: a
    // placeholder word stands alone between separators (`your-token-here`, `YOUR_KEY`), while
    // inside a random key the same letters run on (`…ayoURk5…`), and a random key has few
    // separators. This runs for every secret-shaped token.
    let head = t.get(..t.len().min(256)).unwrap_or(t);
    let alnum = |j: usize| head.get(j).is_some_and(u8::is_ascii_alphanumeric);
    let has = |j: usize, w: &[u8]| head.get(j..j + w.len()).is_some_and(|x| x.eq_ignore_ascii_case(w));
    let mut dot = false;
    let mut j = 0;
    while let Some(&x) = head.get(j) {
        if matches!(x | 0x20, b'y' | b'h' | b'p' | b'c' | b'r' | b'i' | b'd')
            && PLACEHOLDER_WORDS.iter().any(|w| has(j, w) && !alnum(j + w.len()))
        {
            return true;
        }
        // The next word start: one past the next separator.
        match head.get(j..).and_then(|r| r.iter().position(|c| !c.is_ascii_alphanumeric())) {
            Some(p) => {
                dot |= at(head, j + p) == b'.';
                j += p + 1;
            }
            None => break,
        }
    }
    // A reference to where the secret lives (`process.env.OPENAI_API_KEY`, `os.environ[…]`, a
    // Terraform variable `var.stripe_secret_key`).
    if dot && (has(0, b"var.") || (0..head.len()).any(|j| has(j, b"env.") || has(j, b"os.environ"))) {
        return true;
    }
    // An environment-variable name: upper case, digits and `_` with at least one `_`.
    t.iter().all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_') && t.contains(&b'_')
}

/// Eight equal letters or `*` in a row, ignoring case (`xxxxxxxx`, `XXXXXXXX`, `********`);
/// digits are not counted: a low-entropy id such as `AKIA0000000000000011` is still reported
/// (fail closed). Such a run holds two bytes four apart at a multiple of four, so only those
/// pairs are compared before a run is measured.
fn repeated_letters(t: &[u8]) -> bool {
    let lc = |j: usize| at(t, j).to_ascii_lowercase();
    let mut k = 0;
    while k + 4 < t.len() {
        let c = lc(k);
        if c == lc(k + 4) && (c.is_ascii_alphabetic() || c == b'*') {
            let left = (0..k).rev().take_while(|&i| lc(i) == c).count();
            let right = (k + 1..t.len()).take_while(|&i| lc(i) == c).count();
            if left + 1 + right >= 8 {
                return true;
            }
        }
        k += 4;
    }
    false
}

fn aws_secret_shape(t: &[u8]) -> bool {
    t.len() == 40
        && all(t, |c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
        && t.iter().any(u8::is_ascii_uppercase)
        && t.iter().any(u8::is_ascii_lowercase)
        && t.iter().any(|&c| c.is_ascii_digit() || c == b'/' || c == b'+')
}

/// Whether a token of [`aws_secret_shape`] reads as random on its own, with no "secret" word or
/// key id near it: the character class (upper, lower, digit, `/+`) changes at ≥ 17 of its 39
/// steps and it holds a digit. Random base64 changes class at ~25 steps (σ ≈ 3; ≥ 17 keeps 99.6%
/// of random keys, measured on 200,000); words and identifiers run in one class for a while
/// (`ThisIsAVeryLongCamelCaseIdentifierName12` changes 16 times), paths in lower case.
fn random_b64(t: &[u8]) -> bool {
    let class = |c: &u8| match c {
        b'A'..=b'Z' => 0u8,
        b'a'..=b'z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    };
    let changes = t.windows(2).filter(|w| w.first().map(class) != w.get(1).map(class)).count();
    changes >= 17 && t.iter().any(u8::is_ascii_digit)
}

fn b64_value(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' | b'+' => 62,
        b'_' | b'/' => 63,
        _ => return None,
    }))
}

/// Whether a base64url JWT header decodes to a JSON object naming an `alg`.
fn jwt_header_ok(seg: &[u8]) -> bool {
    if seg.len() > 2048 {
        return false;
    }
    let mut out = Vec::with_capacity(seg.len());
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in seg {
        let Some(v) = b64_value(c) else { return false };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let trimmed: &[u8] = out.trim_ascii();
    trimmed.first() == Some(&b'{') && trimmed.last() == Some(&b'}') && trimmed.windows(5).any(|w| w == b"\"alg\"")
}

fn jwt(b: &[u8], s: usize) -> Option<usize> {
    let seg_end = |mut i: usize| {
        while b64url(at(b, i)) {
            i += 1;
        }
        i
    };
    let e1 = seg_end(s);
    if at(b, e1) != b'.' {
        return None;
    }
    let e2 = seg_end(e1 + 1);
    if e2 < e1 + 3 || at(b, e2) != b'.' {
        return None;
    }
    let e3 = seg_end(e2 + 1);
    jwt_header_ok(b.get(s..e1)?).then_some(e3)
}

fn pem(b: &[u8], s: usize) -> Option<usize> {
    let head_end = (s + 80).min(b.len());
    let marker = find_from(b.get(..head_end)?, b"PRIVATE KEY", s)?;
    let body = find_from(b.get(..head_end)?, b"-----", marker)?;
    let end = match find_from(b, b"-----END", body + 5) {
        Some(j) => find_from(b, b"-----", j + 8).map_or(b.len(), |k| k + 5),
        None => b.len(), // a truncated key is still a key
    };
    Some(end)
}

/// Examines the token `s..e`; returns the offset the engine may skip to (past a PEM block).
pub(crate) fn token(b: &[u8], s0: usize, e: usize, sink: &mut Sink) -> usize {
    // A key block added or removed in a patch: a `+` or `-` starts every line, the header's too.
    let diff_line = e - s0 == 11 && matches!(at(b, s0), b'+' | b'-') && matches!(before(b, s0), b'\n' | 0);
    let s0 = s0 + usize::from(diff_line);
    if e - s0 == 10 && b.get(s0..e) == Some(b"-----BEGIN") {
        if sink.on.has(Entity::PrivateKey) {
            if let Some(end) = pem(b, s0) {
                sink.push(s0, end, Entity::PrivateKey);
                return end;
            }
            // The header's closing dashes may lie past the 80-byte window only because of a value a
            // placeholder will shorten (fuzz finding F9): a near miss.
            sink.near_miss = true;
        }
        return e;
    }
    let mut s = s0;
    while matches!(at(b, s), b'/' | b'+') && s < e {
        s += 1;
    }
    let Some(t) = b.get(s..e) else { return e };
    if t.starts_with(b"eyJ") {
        if let Some(end) = jwt(b, s) {
            sink.push(s, end, Entity::Jwt);
            return end;
        }
    }
    if let Some(ent) = classify(t) {
        if !placeholder(t) {
            sink.push(s, e, ent);
        }
    } else if let Some((ent, end)) = wrapped(b, t, e) {
        sink.push(s, end, ent);
        return end;
    } else if sink.on.has(Entity::AwsSecretKey) {
        let t0 = b.get(s0..e).unwrap_or(&[]);
        if aws_secret_shape(t0) && !placeholder(t0) {
            // Padding (`=`) after it makes it a longer base64 value, not a key.
            let cue = context_before(b, s0, 96, &[b"secret"]) || access_key_id_before(b, s0);
            if cue || (at(b, e) != b'=' && random_b64(t0) && !in_bearer_value(b, s0)) {
                sink.push(s0, e, Entity::AwsSecretKey);
            } else {
                sink.near_miss = true;
            }
        }
    }
    e
}

/// Prefixes of keys that are often wrapped at a fixed column or broken by a space when pasted.
pub(crate) const WRAPPABLE: [&[u8]; 10] =
    [b"sk-or-v1-", b"sk-ant-", b"sk-proj-", b"AIza", b"ghp_", b"gho_", b"ghs_", b"github_pat_", b"xoxb-", b"xoxp-"];

/// A key of a [`WRAPPABLE`] prefix whose token `t` (ending at `e`) is too short for its shape but
/// continues after one space or line break (`\r\n` too) with more key characters: up to three
/// such pieces are joined, and the key is reported over all of them when the joined text has the
/// exact shape (a 64-hex OpenRouter key cut at 40 columns).
fn wrapped(b: &[u8], t: &[u8], e: usize) -> Option<(Entity, usize)> {
    if !WRAPPABLE.iter().any(|p| t.starts_with(p)) || t.len() > 200 {
        return None;
    }
    let mut joined: Vec<u8> = t.to_vec();
    let mut end = e;
    for _ in 0..3 {
        let mut j = end;
        j += match (at(b, j), at(b, j + 1)) {
            (b'\r', b'\n') => 2,
            (b' ' | b'\n', _) => 1,
            _ => return None,
        };
        let piece_start = j;
        while (at(b, j).is_ascii_alphanumeric() || matches!(at(b, j), b'-' | b'_')) && j - piece_start < 200 {
            j += 1;
        }
        if j == piece_start {
            return None;
        }
        joined.extend_from_slice(b.get(piece_start..j)?);
        end = j;
        if let Some(ent) = classify(&joined) {
            return (!placeholder(&joined)).then_some((ent, end));
        }
    }
    None
}

/// Whether an AWS access key id (`AKIA…`, 20 characters) ends within 128 bytes before `s`: a
/// 40-character secret next to its key id is the pair, with or without the word "secret".
fn access_key_id_before(b: &[u8], s: usize) -> bool {
    let lo = s.saturating_sub(128);
    let w = b.get(lo..s).unwrap_or(&[]);
    (0..w.len()).any(|j| {
        let id = w.get(j..j + 20);
        id.is_some_and(|id| {
            AWS_PREFIXES.iter().any(|p| id.starts_with(p))
                && id.iter().all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && !w.get(j + 20).is_some_and(u8::is_ascii_alphanumeric)
                && !(j > 0 && w.get(j - 1).is_some_and(u8::is_ascii_alphanumeric))
        })
    })
}

/// Whether `s` lies inside the value after a `Bearer` word (`Bearer cwAc5f8d~.eMHih…`): that value
/// is a BEARER_TOKEN, and a random stretch of it no AWS secret. Looks back at most 256 bytes.
fn in_bearer_value(b: &[u8], s: usize) -> bool {
    let mut i = s;
    while i > 0 && s - i < 256 && (before(b, i).is_ascii_alphanumeric() || b"._~+/=-".contains(&before(b, i))) {
        i -= 1;
    }
    let mut j = i;
    while j > 0 && i - j < 4 && before(b, j) == b' ' {
        j -= 1;
    }
    j < i && j >= 6 && starts_with_ci(b, j - 6, b"bearer")
}

/// Called when the word `bearer` (any case) ends at `word_end`: records the value after it.
pub(crate) fn bearer(b: &[u8], word_end: usize, sink: &mut Sink) {
    let mut v = word_end;
    while at(b, v) == b' ' && v - word_end < 4 {
        v += 1;
    }
    if v == word_end {
        return;
    }
    let mut e = v;
    while matches!(at(b, e), c if c.is_ascii_alphanumeric() || b"._~+/=-".contains(&c)) && e - v < 8192 {
        e += 1;
    }
    if e - v >= 16 && !b.get(v..e).is_some_and(placeholder) {
        sink.push(v, e, Entity::BearerToken);
    }
}

/// Whether the six bytes ending at `e` are the word `bearer`.
pub(crate) fn is_bearer_word(b: &[u8], s: usize, e: usize) -> bool {
    e - s == 6 && starts_with_ci(b, s, b"bearer")
}

#[cfg(test)]
mod tests {

    use super::*;

    fn scan(t: &str) -> Vec<(Entity, &str)> {
        let b = t.as_bytes();
        let mut sink = Sink::all_on();
        let tok = |c: u8| c.is_ascii_alphanumeric() || b"_-/+".contains(&c);
        let mut i = 0;
        while i < b.len() {
            if !tok(b[i]) {
                i += 1;
                continue;
            }
            let s = i;
            while i < b.len() && tok(b[i]) {
                i += 1;
            }
            if is_bearer_word(b, s, i) {
                bearer(b, i, &mut sink);
            }
            if i - s >= 10 {
                i = token(b, s, i, &mut sink).max(i);
            }
        }
        sink.out
            .iter()
            .map(|f| match f.kind {
                super::super::Kind::Builtin(e) => (e, &t[f.start..f.end]),
                _ => panic!("only built-in findings here"),
            })
            .collect()
    }

    #[test]
    fn it_recognises_each_provider_key_shape() {
        let or = format!("sk-or-v1-{}", "a1".repeat(32));
        let cases = [
            (or.as_str(), Entity::OpenrouterKey),
            ("sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f", Entity::OpenaiKey),
            ("sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f-xyzAA", Entity::AnthropicKey),
            ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", Entity::StripeKey),
            ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", Entity::GithubToken),
            ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", Entity::GithubToken),
            ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", Entity::SlackToken),
            ("xapp-1-B02QW8RT7LM-4417093826151-8c1f0e2d9a7b6c5d4e3f2a1b0c9d8e7f", Entity::SlackToken),
            ("AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", Entity::GoogleApiKey),
            ("AKIAIOSFODNN7EXAMPLE", Entity::AwsAccessKey),
        ];
        for (t, want) in cases {
            let text = format!("key: {t} ok");
            assert_eq!(scan(&text), vec![(want, t)], "{t}");
        }
    }

    #[test]
    fn near_miss_shapes_are_not_keys() {
        for t in
            ["sk-or-v1-abc", "sk-learn-is-a-library-name-ok", "ghp_short", "AKIAIOSFODNN7EXAMPL", "AIzaTooShort1234567"]
        {
            assert!(scan(&format!("x {t} y")).is_empty(), "{t}");
        }
    }

    #[test]
    fn aws_secret_keys_need_a_secret_context_word_or_randomness() {
        let k = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert_eq!(scan(&format!("aws_secret_access_key = {k}")), vec![(Entity::AwsSecretKey, k)]);
        // The documentation's example runs in long upper-case stretches: not random enough alone.
        assert!(scan(&format!("token {k}")).is_empty());
        // A random 40-character base64 token is a key wherever it stands.
        let r = "bINn286eJNyLaRp8PGmS9OEDxljxCGCrRZVAg3eX";
        assert_eq!(scan(&format!("You can reach me at {r}.")), vec![(Entity::AwsSecretKey, r)]);
        assert_eq!(scan(&format!("| x | {r} |")), vec![(Entity::AwsSecretKey, r)]);
        // Identifiers, paths and padded base64 are not.
        assert!(scan("ThisIsAVeryLongCamelCaseIdentifierName12 x").is_empty());
        assert!(scan("src/components/layout/HeaderNavigation2x y").is_empty());
        assert!(scan(&format!("{r}= z")).is_empty());
        // Inside a Bearer value it is the bearer token.
        let v = format!("cwAc5f8d~.{r}");
        assert_eq!(scan(&format!("Authorization: Bearer {v}'")), vec![(Entity::BearerToken, v.as_str())]);
        assert_eq!(scan(&format!("Authorization: Bearer {r}")), vec![(Entity::BearerToken, r)]);
        assert!(scan("secret 3f786850e387550fdab836ed7e6dc881de23001b").is_empty());
        // git sha
    }

    #[test]
    fn jwts_need_a_header_with_alg() {
        let j = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(scan(&format!("t={j};")), vec![(Entity::Jwt, j)]);
        // {"foo":"bar"} has no alg.
        assert!(scan("eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxIn0.sig").is_empty());
    }

    #[test]
    fn pem_blocks_are_taken_whole_and_truncated_ones_to_the_end() {
        let k = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy\n-----END RSA PRIVATE KEY-----";
        assert_eq!(scan(&format!("here:\n{k}\nthanks")), vec![(Entity::PrivateKey, k)]);
        let t = "x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk";
        assert_eq!(scan(t), vec![(Entity::PrivateKey, &t[2..])]);
        assert!(scan("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").is_empty());
    }

    #[test]
    fn a_pem_block_added_or_removed_in_a_patch_is_a_key() {
        for mark in ['+', '-'] {
            let k = format!(
                "-----BEGIN EC PRIVATE KEY-----\n{mark}MHcCAQEEIBq7w2Lk9Zp\n{mark}-----END EC PRIVATE KEY-----"
            );
            let t = format!("+++ b/id\n{mark}{k}\n");
            assert_eq!(scan(&t), vec![(Entity::PrivateKey, k.as_str())], "{mark}");
        }
        // A `+` inside a line is no diff marker.
        assert!(scan("a+-----BEGIN RSA PRIVATE KEY----- b").is_empty());
    }

    #[test]
    fn an_aws_secret_next_to_its_key_id_is_found_without_a_secret_word() {
        let k = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        assert!(scan(&format!("AKIAIOSFODNN7EXAMPLE:{k}")).contains(&(Entity::AwsSecretKey, k)));
        assert!(scan(&format!("id AKIAIOSFODNN7EXAMPLE password {k}")).contains(&(Entity::AwsSecretKey, k)));
    }

    #[test]
    fn keys_wrapped_by_a_line_break_or_a_space_are_joined() {
        let hex = "0f9e".repeat(16);
        let t = format!("key sk-or-v1-{}\n{} end", &hex[..31], &hex[31..]);
        let got = scan(&t);
        assert_eq!(got, vec![(Entity::OpenrouterKey, &t[4..t.len() - 4])]);
        let g = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI";
        let t = format!("x {} {} y", &g[..20], &g[20..]);
        assert_eq!(scan(&t), vec![(Entity::GoogleApiKey, &t[2..t.len() - 2])]);
        assert!(scan("x sk-or-v1-0f9e0f9e0f9e next words").is_empty());
    }

    #[test]
    fn placeholders_are_not_secrets() {
        for t in [
            "xoxb-your-token-here",
            "sk-or-v1-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "Bearer process.env.OPENAI_API_KEY",
            "Bearer OPENROUTER_API_KEY_VALUE",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "sk-proj-REPLACE_WITH_YOUR_KEY_1234567890abcdef",
            "AKIAXXXXXXXXXXXXXXXX",
            "aws_secret_access_key = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ] {
            assert!(scan(&format!("x {t} y")).is_empty(), "{t}");
        }
        // Random keys of each shape are unaffected (see it_recognises_each_provider_key_shape).
        assert!(!placeholder(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        assert!(!placeholder(b"AKIA0000000000000011"));
    }

    #[test]
    fn eight_equal_letters_are_seen_at_every_offset_and_seven_are_not() {
        for off in 0..9 {
            for (run, want) in [("xXxXxXxX", true), ("********", true), ("xxxxxxx", false), ("00000000", false)] {
                let t = format!("{}{run}{}", &"k3Jq9ZpL2v"[..off], &"7Qw2"[..off % 4]);
                assert_eq!(repeated_letters(t.as_bytes()), want, "{t}");
            }
        }
    }

    #[test]
    fn bearer_values_are_taken_after_the_word() {
        let t = "Authorization: Bearer abcdefghijklmnop.qrstuvwx~yz";
        assert_eq!(scan(t), vec![(Entity::BearerToken, "abcdefghijklmnop.qrstuvwx~yz")]);
        assert!(scan("the bearer short").is_empty());
    }
}
