//! Canonical JSON source text for the stages: tool-call arguments are JSON *source*, so a value
//! can hide behind escapes (`leak\u0040example.net`, `ghp\u005f…`, `\u005bEMAIL_1\u005d`) that
//! output inspection and restore would not see. [`Canon`] rewrites every `\uXXXX` escape of a
//! character that needs no escaping (not `"`, `\`, a control character or a surrogate) and every
//! `\/` into the literal character before the stages run: the JSON value the client parses is the
//! same, and the stages see plain text. Inside a string, the escapes `\n`, `\r` and `\t` are given
//! to the stages as the line break or tab they stand for, so a key the model wraps with a `\n`
//! escape is joined as a wrapped key in plain text is (attack round 3, finding 17); after the
//! stages, [`Canon::escape`] writes those characters back as their escapes (any raw line break or
//! tab inside a string of the stages' output becomes its escape, so the source stays valid JSON).
//! An escape cut across two deltas is held back (at most 5 bytes) until the next piece of the
//! channel completes it.

/// Per-channel canonicaliser state: the incomplete escape that ended the last piece, and whether
/// the canonicalised input and the stages' output are inside a JSON string.
#[derive(Debug, Default)]
pub(crate) struct Canon {
    held: String,
    /// The input read so far ends inside a string.
    in_string: bool,
    /// The output written so far ends inside a string (`out_escape`: right after its `\`).
    out_string: bool,
    out_escape: bool,
}

impl Canon {
    /// Canonicalises `text` (after what was held); an incomplete escape at its end is held.
    pub(crate) fn push(&mut self, text: &str) -> String {
        let mut src = std::mem::take(&mut self.held);
        src.push_str(text);
        let (out, rest) = canonicalise(&src, &mut self.in_string);
        self.held = rest.to_owned();
        out
    }

    /// The channel ended: what is still held, unchanged (an escape that never completed).
    pub(crate) fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// The stages' output for the client: a line break or tab inside a string written as its
    /// escape again.
    pub(crate) fn escape(&mut self, text: String) -> String {
        if !text.contains(['\n', '\r', '\t']) && !text.contains(['"', '\\']) && !self.out_escape {
            return text;
        }
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if self.out_escape {
                self.out_escape = false;
                out.push(c);
                continue;
            }
            match c {
                '"' => self.out_string = !self.out_string,
                '\\' => self.out_escape = true,
                '\n' if self.out_string => {
                    out.push_str("\\n");
                    continue;
                }
                '\r' if self.out_string => {
                    out.push_str("\\r");
                    continue;
                }
                '\t' if self.out_string => {
                    out.push_str("\\t");
                    continue;
                }
                _ => {}
            }
            out.push(c);
        }
        out
    }
}

/// The character a `\uXXXX` escape's four hex digits stand for, when it needs no escaping.
fn plain_char(hex: &str) -> Option<char> {
    let code = u32::from_str_radix(hex, 16).ok()?;
    let c = char::from_u32(code)?;
    (c != '"' && c != '\\' && !c.is_control()).then_some(c)
}

/// `src` canonicalised, and the incomplete escape at its end (not yet canonicalised);
/// `in_string` says whether `src` starts inside a string and is left at its end state.
fn canonicalise<'s>(src: &'s str, in_string: &mut bool) -> (String, &'s str) {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(pos) = rest.find(['\\', '"']) {
        let (plain, esc) = rest.split_at(pos);
        out.push_str(plain);
        let mut chars = esc.char_indices().skip(1);
        if esc.starts_with('"') {
            *in_string = !*in_string;
            out.push('"');
            rest = esc.get(1..).unwrap_or("");
            continue;
        }
        match chars.next() {
            None => return (out, esc),
            Some((_, '/')) => {
                out.push('/');
                rest = esc.get(2..).unwrap_or("");
            }
            Some((_, c @ ('n' | 'r' | 't'))) if *in_string => {
                out.push(match c {
                    'n' => '\n',
                    'r' => '\r',
                    _ => '\t',
                });
                rest = esc.get(2..).unwrap_or("");
            }
            Some((_, 'u')) => {
                let digits: String = esc.chars().skip(2).take(4).take_while(char::is_ascii_hexdigit).collect();
                if digits.len() < 4 && esc.len() == 2 + digits.len() {
                    return (out, esc);
                }
                match (digits.len() == 4).then(|| plain_char(&digits)).flatten() {
                    Some(c) => {
                        out.push(c);
                        rest = esc.get(6..).unwrap_or("");
                    }
                    None => {
                        out.push_str("\\u");
                        rest = esc.get(2..).unwrap_or("");
                    }
                }
            }
            Some((i, c)) => {
                // `\\`, `\"`, `\b`, …: kept as is (the pair, so `\\u0040` stays text).
                let end = i + c.len_utf8();
                out.push_str(esc.get(..end).unwrap_or(esc));
                rest = esc.get(end..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    (out, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Longest incomplete escape held back across pieces (`\uXXX`).
    const MAX_HELD: usize = 5;

    fn whole(s: &str) -> String {
        let mut c = Canon::default();
        let mut out = c.push(s);
        out.push_str(&c.finish());
        out
    }

    #[test]
    fn decodes_escapes_that_need_none() {
        assert_eq!(whole(r#"{"to":"leak\u0040example.net"}"#), r#"{"to":"leak@example.net"}"#);
        assert_eq!(whole(r#"ghp\u005F16C7"#), "ghp_16C7");
        assert_eq!(whole(r#"\u005bEMAIL_1\u005d"#), "[EMAIL_1]");
        assert_eq!(whole(r#"a\/b"#), "a/b");
        assert_eq!(whole(r#"\u00e9"#), "é");
    }

    #[test]
    fn keeps_escapes_that_are_needed_or_literal() {
        for s in [
            r#"\u0022"#,
            r#"\u005c"#,
            r#"\u000a"#,
            r#"\ud83d\ude00"#,
            r#"\\u0040"#,
            r#"\"\n\t"#,
            r#"\u12"#,
            r#"\uzzzz"#,
        ] {
            assert_eq!(whole(s), s, "{s}");
        }
        assert_eq!(whole(r#"\\\u0040"#), r#"\\@"#);
    }

    #[test]
    fn every_split_gives_the_same_text() {
        let src = r#"{"a":"x\u0040y\\u0041\/\u005f\u0022z\u12"}"#;
        let want = whole(src);
        for i in 0..=src.len() {
            for j in i..=src.len() {
                let (Some(a), Some(b), Some(c)) = (src.get(..i), src.get(i..j), src.get(j..)) else { continue };
                let mut k = Canon::default();
                let mut out = k.push(a);
                assert!(k.held.len() <= MAX_HELD);
                out.push_str(&k.push(b));
                out.push_str(&k.push(c));
                out.push_str(&k.finish());
                assert_eq!(out, want, "split {i} {j}");
            }
        }
    }

    /// `src` in the given pieces through a canonicaliser and back through its escaper.
    fn round_trip(pieces: &[&str]) -> (String, String) {
        let mut k = Canon::default();
        let mut canon = String::new();
        let mut back = String::new();
        for p in pieces {
            let c = k.push(p);
            canon.push_str(&c);
            back.push_str(&k.escape(c));
        }
        let c = k.finish();
        canon.push_str(&c);
        back.push_str(&k.escape(c));
        (canon, back)
    }

    #[test]
    fn line_break_escapes_inside_strings_reach_the_stages_as_line_breaks_and_come_back() {
        let src = r#"{"note":"Key:\nsk-or-v1-ab\r\ncd\te","q":"a\"\n","k\n":1} \n"#;
        let (canon, back) = round_trip(&[src]);
        assert_eq!(canon, "{\"note\":\"Key:\nsk-or-v1-ab\r\ncd\te\",\"q\":\"a\\\"\n\",\"k\n\":1} \\n");
        assert_eq!(back, src);
        for i in 0..=src.len() {
            let (Some(a), Some(b)) = (src.get(..i), src.get(i..)) else { continue };
            assert_eq!(round_trip(&[a, b]), (canon.clone(), src.to_owned()), "split {i}");
        }
    }

    #[test]
    fn a_raw_line_break_in_a_string_of_the_output_is_escaped() {
        let mut k = Canon::default();
        assert_eq!(k.escape("{\"a\":\"x\ny\\\\\"}\n".to_owned()), "{\"a\":\"x\\ny\\\\\"}\n");
    }
}
