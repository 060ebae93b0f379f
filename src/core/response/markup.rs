//! Markup a chat UI renders away inside a credential (attack round 3, finding 13).
//!
//! `sk-or-v1-<20>**<24>**<rest>`, `<b></b>`, `<!-- -->` or a code span inside a key: the engine
//! reads `*`, `<`, `` ` `` as ending the token, so the key passed, while rendered Markdown/HTML
//! shows (and copies) it contiguously. Output inspection therefore also scans a *folded* view of
//! what it scans, with the markup that sits between two token bytes removed:
//!
//! - a run of `*` or `~` (emphasis, strikethrough; CommonMark allows `*` inside a word),
//! - a run of `_` next to punctuation (`sk-_or_-v1-…`, `sk-or-v1-_…_`, a JWT's `._…_.`: CommonMark
//!   reads it as emphasis there; between two letters or digits, `snake_case`, it is literal text and
//!   stays; attack round 4, finding 3),
//! - a run of backticks (code span delimiters; the span's text shows),
//! - an HTML tag without whitespace (`<b>`, `</b>`, `<br/>`) or a comment (`<!-- … -->`, at most
//!   [`MAX_COMMENT`] bytes).
//!
//! Only credentials (the `SECRETS` group) found in the folded view across at least one removed
//! run are kept: they map back to the whole original span, markup included (`redact` replaces it,
//! `block` blocks). Other entities and everything found without folding come from the plain scan:
//! ordinary Markdown (`**bold**`, `a*b`, `snake_case`, `<br>` between words) never becomes a
//! finding of its own. The view is built in one pass, only when the text has such a run (cost:
//! one more scan of the window then, linear).

use crate::core::pii::{Action, Detection, Entity, Redactor};

/// Longest HTML comment folded away.
const MAX_COMMENT: usize = 64;
/// Longest HTML tag folded away.
const MAX_TAG: usize = 32;

/// Bytes a credential is made of (and that markup must sit between).
fn token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=' | b'.')
}

/// Longest character reference read (`&NegativeMediumSpace;` is 21 bytes; `&#x10ffff;` 10).
const MAX_REF: usize = 24;

/// A character reference at `i` (`&#45;`, `&#x200b;`, `&zwj;`): its length and the character
/// CommonMark and HTML render it as. Named references: the invisible ones and those of the
/// punctuation credentials are made of.
fn char_ref(b: &[u8], i: usize) -> Option<(usize, char)> {
    let rest = b.get(i..)?;
    let rest = rest.get(..rest.len().min(MAX_REF))?;
    let end = rest.iter().position(|&x| x == b';')?;
    let body = rest.get(1..end)?;
    let c = if let Some(num) = body.strip_prefix(b"#") {
        let (digits, radix) = match num.split_first() {
            Some((b'x' | b'X', d)) => (d, 16),
            _ => (num, 10),
        };
        if digits.is_empty() || digits.len() > 7 || !digits.iter().all(|d| char::from(*d).is_digit(radix)) {
            return None;
        }
        char::from_u32(u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?)?
    } else {
        match body {
            b"shy" => '\u{ad}',
            b"zwnj" => '\u{200c}',
            b"zwj" => '\u{200d}',
            b"ZeroWidthSpace" | b"NegativeThinSpace" | b"NegativeMediumSpace" => '\u{200b}',
            b"NoBreak" => '\u{2060}',
            b"hyphen" | b"dash" => '\u{2010}',
            b"minus" => '\u{2212}',
            b"period" => '.',
            b"sol" => '/',
            b"plus" => '+',
            b"equals" => '=',
            b"lowbar" | b"UnderBar" => '_',
            _ => return None,
        }
    };
    Some((end + 1, c))
}

/// The markup run at `i` in `b`: its length (0: none) and the character it renders as, if any
/// (a character reference).
fn run_at(b: &[u8], i: usize) -> (usize, Option<char>) {
    let Some(&c) = b.get(i) else { return (0, None) };
    let n = match c {
        b'&' => return char_ref(b, i).map_or((0, None), |(n, ch)| (n, Some(ch))),
        // A backslash escape of punctuation shows the punctuation alone (`sk\-or` is `sk-or`).
        b'\\' => usize::from(b.get(i + 1).is_some_and(u8::is_ascii_punctuation)),
        _ => plain_run_at(b, i),
    };
    (n, None)
}

/// Length of the run of `*`, `~`, `` ` ``, `_` or the HTML tag or comment at `i` (0: none).
fn plain_run_at(b: &[u8], i: usize) -> usize {
    let Some(&c) = b.get(i) else { return 0 };
    match c {
        b'*' | b'~' | b'`' => b.get(i..).map_or(0, |r| r.iter().take_while(|&&x| x == c).count()),
        b'_' => {
            let n = b.get(i..).map_or(0, |r| r.iter().take_while(|&&x| x == b'_').count());
            let alnum = |at: Option<usize>| at.and_then(|p| b.get(p)).is_some_and(u8::is_ascii_alphanumeric);
            // Inside a run (the byte before is `_` too) or between two alphanumerics: not a delimiter.
            let inside = i.checked_sub(1).and_then(|p| b.get(p)) == Some(&b'_');
            if inside || (alnum(i.checked_sub(1)) && alnum(Some(i + n))) {
                0
            } else {
                n
            }
        }
        b'<' => {
            let rest = b.get(i..).unwrap_or(&[]);
            if rest.starts_with(b"<!--") {
                let body = rest.get(4..).unwrap_or(&[]);
                let lim = body.len().min(MAX_COMMENT);
                return body
                    .get(..lim.saturating_add(3).min(body.len()))
                    .and_then(|w| w.windows(3).position(|x| x == b"-->").map(|p| p + 7))
                    .unwrap_or(0);
            }
            let name = rest.get(1..).unwrap_or(&[]);
            let name = name.strip_prefix(b"/").unwrap_or(name);
            if !name.first().is_some_and(u8::is_ascii_alphabetic) {
                return 0;
            }
            let lim = rest.len().min(MAX_TAG);
            rest.get(1..lim)
                .and_then(|w| w.iter().position(|&x| x == b'>' || x.is_ascii_whitespace() || x == b'<'))
                .filter(|&p| rest.get(p + 1) == Some(&b'>'))
                .map_or(0, |p| p + 2)
        }
        _ => 0,
    }
}

/// The folded view of `text` (markup runs between token bytes removed; runs next to each other
/// count as one) with, per byte of it, its offset in `text`; `None` when nothing folds.
pub(crate) fn fold(text: &str) -> Option<(String, Vec<usize>)> {
    let b = text.as_bytes();
    if !b.iter().any(|&x| matches!(x, b'*' | b'~' | b'`' | b'<' | b'_' | b'&' | b'\\')) {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut map = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut folded = false;
    let mut shown: Vec<(char, usize)> = Vec::new();
    while let Some(&x) = b.get(i) {
        // A chain of runs starting after a token byte and ending before one; the characters the
        // chain's references render as are kept (each mapped to its reference).
        let mut j = i;
        shown.clear();
        if i > 0 && b.get(i - 1).is_some_and(|&p| token(p)) {
            loop {
                let (n, ch) = run_at(b, j);
                if n == 0 {
                    break;
                }
                shown.extend(ch.map(|c| (c, j)));
                j += n;
            }
        }
        // A `_` run that ends a token closes emphasis (`sk-or-v1-_…_ `): it goes too.
        let closes =
            || b.get(i..j).is_some_and(|r| r.iter().all(|&x| x == b'_')) && !b.get(j).is_some_and(|&n| token(n));
        if j > i && (b.get(j).is_some_and(|&n| token(n)) || closes()) {
            folded = true;
            for (c, at) in &shown {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    out.push(byte);
                    map.push(*at);
                }
            }
            i = j;
            continue;
        }
        out.push(x);
        map.push(i);
        i += 1;
    }
    if !folded {
        return None;
    }
    // Only ASCII bytes were removed, whole, and whole characters added: the rest is still UTF-8.
    String::from_utf8(out).ok().map(|s| (s, map))
}

/// Credentials found in `text` only once markup is folded away (spans in `text`).
pub(crate) fn findings<'r>(r: &'r Redactor, text: &str) -> Vec<Detection<'r>> {
    let Some((view, map)) = fold(text) else { return Vec::new() };
    let secret = |name: &str| Entity::ALL.iter().any(|e| e.is_secret() && e.name() == name);
    r.detect(&view)
        .into_iter()
        .filter(|d| secret(d.entity) && d.end > d.start)
        .filter_map(|d| {
            let start = *map.get(d.start)?;
            let end = map.get(d.end - 1)?.saturating_add(1);
            // Folded across a removed run: the span is longer in the original than in the view.
            (end - start > d.end - d.start).then_some(Detection { start, end, ..d })
        })
        .collect()
}

/// Adds the `folded` findings to the plain scan's `dets` (sorted by start): a folded finding that
/// overlaps plain ones takes their place, stretched over their union, unless one of them blocks
/// (it blocks anyway); so a span is never rewritten twice.
pub(crate) fn merge<'r>(dets: &mut Vec<Detection<'r>>, folded: Vec<Detection<'r>>) {
    for mut f in folded {
        let (s, e) = (f.start, f.end);
        let over = |d: &Detection<'_>| d.start < e && s < d.end;
        if dets.iter().any(|d| over(d) && d.action == Action::Block) {
            continue;
        }
        for d in dets.iter().filter(|d| over(d)) {
            f.start = f.start.min(d.start);
            f.end = f.end.max(d.end);
        }
        let (start, end) = (f.start, f.end);
        dets.retain(|d| !(d.start < end && start < d.end));
        dets.push(f);
    }
    dets.sort_by_key(|d| d.start);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(s: &str) -> String {
        fold(s).map_or_else(|| s.to_owned(), |(v, _)| v)
    }

    #[test]
    fn markup_between_token_bytes_folds_away() {
        for (s, want) in [
            ("ab**cd**ef", "abcdef"),
            ("ab<b></b>cd", "abcd"),
            ("ab<!-- x -->cd", "abcd"),
            ("ab``cd", "abcd"),
            ("ab~~cd", "abcd"),
            ("ab</span>cd", "abcd"),
            ("sk-_or_-v1", "sk-or-v1"),
            ("v1-_ab_.c", "v1-ab.c"),
            ("sk\\-or\\-v1", "sk-or-v1"),
            ("sk&#45;or&#x2d;v1&period;x", "sk-or-v1.x"),
            ("ab&#8203;cd&zwj;ef", "ab\u{200b}cd\u{200d}ef"),
        ] {
            assert_eq!(folded(s), want, "{s}");
        }
    }

    #[test]
    fn ordinary_markdown_stays_as_it_is() {
        for s in [
            "**bold** text and *em*",
            "a * b = c",
            "use `cargo build` here",
            "x < y and y > z",
            "line<br> next",
            "snake_case_name",
            "x.y__z and __init",
            "AT&amp;T, a \\* b, 5 &lt; 6, C:\\Users and &#65;",
            "<span class=\"k\">value</span>",
            "a<!-- a comment far longer than sixty-four bytes, so it is not folded away at all, ok -->b",
        ] {
            assert!(fold(s).is_none(), "{s} -> {}", folded(s));
        }
    }

    fn engine(entities: &str) -> Redactor {
        let cfg = format!(
            r#"{{"default_profile":"p","profiles":{{"p":{{"models":[],"output_pii":{{"builtin_defaults":false,"entities":{entities}}}}}}}}}"#
        );
        let p = crate::core::policy::Policy::from_json(cfg.as_bytes()).unwrap();
        (*p.profiles.into_iter().next().unwrap().output.unwrap()).clone()
    }

    /// `text` through one output scanner in pieces of `size` bytes: what it released, or the entity it blocked.
    fn scan(r: &Redactor, text: &str, size: usize) -> Result<String, String> {
        use super::super::outscan::StreamScanner;
        let mut s = StreamScanner::new();
        let mut tally = crate::core::pii::PiiTally::default();
        let mut out = String::new();
        let mut at = 0;
        while at < text.len() {
            let mut end = (at + size).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            out.push_str(&s.push_text(r, &text[at..end], &mut tally)?);
            at = end;
        }
        out.push_str(&s.finish_text(r, &mut tally)?);
        Ok(out)
    }

    const KEY: &str = "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";

    #[test]
    fn a_key_with_markup_inside_is_blocked_or_redacted_markup_and_all() {
        let (a, b, c) = (&KEY[..20], &KEY[20..44], &KEY[44..]);
        let block = engine(r#"{"SECRETS":"block"}"#);
        let redact = engine(r#"{"SECRETS":"redact"}"#);
        for shown in [
            format!("{a}**{b}**{c}"),
            format!("{a}<b></b>{b}{c}"),
            format!("{a}<!-- -->{b}<!-- -->{c}"),
            format!("{a}``{b}{c}"),
            format!("{a}`{b}`{c}"),
            format!("{a}~~{b}~~{c}"),
            format!("sk-or-v1-_{}_", &KEY[9..]),
            KEY.replace('-', "\\-"),
            KEY.replace('-', "&#45;"),
            format!("{a}&#8203;{b}&zwj;{c}"),
        ] {
            let text = format!("Here it is: {shown} — keep it safe.");
            for size in [1, 7, text.len()] {
                assert_eq!(scan(&block, &text, size), Err("OPENROUTER_KEY".into()), "{shown} / {size}");
                let out = scan(&redact, &text, size).unwrap();
                // A closing `_` is left after the placeholder.
                let out = out.replacen("]_ ", "] ", 1);
                assert_eq!(out, "Here it is: [OPENROUTER_KEY] — keep it safe.", "{shown} / {size}");
            }
        }
    }

    #[test]
    fn ordinary_markdown_answers_are_not_redacted() {
        let r = engine(r#"{"SECRETS":"redact","EMAIL":"redact"}"#);
        for text in [
            "**Note:** set `OPENROUTER_API_KEY` to a key that starts with `sk-or-v1-`, never ~~commit~~ it.",
            "Use *very*careful* settings: `a`b`c`, x<sub>2</sub>y, H<sub>2</sub>O and 2**10 = 1024.",
            "| col_a | col_b |\n|---|---|\n| **sk** | <i>or</i> |\n<!-- table end -->done",
            "Call `client.chat.completions.create(model=\"gpt-4o\")`**now**, then ~~wait~~go.",
            "A hash: **3f2a9c7d0b13f8465e2a9c7d**0b13f8465e2a9c7d0b13f846 (a commit id, not a key).",
            "Call `self._private_helper(x.__dict__)`, set MY_API_KEY_NAME=_unset_ and read docs/_build/_static.",
        ] {
            assert_eq!(scan(&r, text, text.len()).unwrap(), text);
            assert_eq!(scan(&r, text, 3).unwrap(), text);
        }
    }
}
