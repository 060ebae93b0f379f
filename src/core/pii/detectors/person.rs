//! PERSON (best effort, off by default): one to three capitalised words right after a context cue
//! such as "my name is", "Name:", "Dear", "Hi", "Mr."/"Dr.", "Sincerely," or "From:". Without a
//! cue nothing is reported: a bare capitalised word is far more often not a name.

use super::Sink;
use crate::core::pii::entity::Entity;
use crate::core::pii::text::{at, before, starts_with_ci};

const CUES: [&[u8]; 34] = [
    b"my name is",
    b"name is",
    b"full name:",
    b"name:",
    b"i am",
    b"i'm",
    b"this is",
    b"dear",
    b"hi",
    b"hello",
    b"hey",
    b"mr.",
    b"mrs.",
    b"ms.",
    b"dr.",
    b"mr",
    b"mrs",
    b"ms",
    b"dr",
    b"prof.",
    b"sincerely,",
    b"regards,",
    b"thanks,",
    b"cheers,",
    b"best,",
    b"signed,",
    b"from:",
    b"to:",
    b"attn:",
    b"patient:",
    b"customer:",
    b"employee:",
    b"contact:",
    b"called",
];

/// Capitalised words that follow cues without being names ("Hi Team", "Dear Customer").
const STOP: [&[u8]; 40] = [
    b"the",
    b"team",
    b"all",
    b"there",
    b"everyone",
    b"sir",
    b"madam",
    b"customer",
    b"support",
    b"friend",
    b"friends",
    b"folks",
    b"guys",
    b"again",
    b"i",
    b"thanks",
    b"thank",
    b"please",
    b"good",
    b"hope",
    b"just",
    b"not",
    b"sorry",
    b"here",
    b"looking",
    b"going",
    b"writing",
    b"happy",
    b"glad",
    b"interested",
    b"a",
    b"an",
    b"my",
    b"your",
    b"our",
    b"we",
    b"it",
    b"this",
    b"that",
    b"user",
];

fn name_word(b: &[u8], i: usize) -> Option<usize> {
    if !at(b, i).is_ascii_uppercase() {
        return None;
    }
    let mut j = i + 1;
    if at(b, j) == b'.' {
        return Some(j + 1); // an initial
    }
    loop {
        let c = at(b, j);
        if c.is_ascii_alphabetic() {
            j += 1;
        } else if matches!(c, b'\'' | b'-') && at(b, j + 1).is_ascii_alphabetic() {
            j += 2;
        } else {
            break;
        }
    }
    let word = b.get(i..j)?;
    // "McDonald" and "O'Brien" yes; "ATM" (no lower case) and "Bob2" no.
    if j - i < 2 || at(b, j).is_ascii_digit() || !word.iter().any(u8::is_ascii_lowercase) {
        return None;
    }
    if STOP.iter().any(|s| word.eq_ignore_ascii_case(s)) {
        return None;
    }
    Some(j)
}

fn name_after(b: &[u8], mut i: usize) -> Option<(usize, usize)> {
    let start_limit = i + 4;
    while matches!(at(b, i), b' ' | b'\t' | b',' | b':' | b'\n' | b'\r') && i < start_limit {
        i += 1;
    }
    // Skip a title: "Dear Mr. John …".
    for t in [&b"mr."[..], b"mrs.", b"ms.", b"dr.", b"prof."] {
        if starts_with_ci(b, i, t) && at(b, i + t.len()) == b' ' {
            i += t.len() + 1;
            break;
        }
    }
    let s = i;
    let mut e = name_word(b, s)?;
    for _ in 0..2 {
        if at(b, e) != b' ' {
            break;
        }
        match name_word(b, e + 1) {
            Some(n) => e = n,
            None => break,
        }
    }
    while before(b, e) == b'.' && e - s > 2 && !before(b, e - 1).is_ascii_uppercase() {
        e -= 1; // sentence dot after a full name
    }
    Some((s, e))
}

/// Records PERSON findings anywhere in `b`.
pub(crate) fn scan(b: &[u8], sink: &mut Sink) {
    let mut i = 0;
    while i < b.len() {
        let c = at(b, i);
        if !c.is_ascii_alphabetic() || before(b, i).is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let mut next = i + 1;
        if matches!(
            c.to_ascii_lowercase(),
            b'm' | b'n' | b'f' | b'i' | b't' | b'd' | b'h' | b'p' | b's' | b'r' | b'c' | b'b' | b'a' | b'e'
        ) {
            for cue in CUES {
                let end = i + cue.len();
                let last = cue.last().copied().unwrap_or(b' ');
                if starts_with_ci(b, i, cue) && (!last.is_ascii_alphabetic() || !at(b, end).is_ascii_alphabetic()) {
                    if let Some((s, e)) = name_after(b, end) {
                        sink.push(s, e, Entity::Person);
                        next = e;
                    }
                    break;
                }
            }
        }
        i = next;
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn people(t: &str) -> Vec<&str> {
        Sink::texts(t, scan)
    }

    #[test]
    fn it_finds_names_after_cues() {
        assert_eq!(people("Hello, my name is Maria Garcia Lopez and I need help."), vec!["Maria Garcia Lopez"]);
        assert_eq!(people("Dear Mr. John O'Brien,"), vec!["John O'Brien"]);
        assert_eq!(people("Name: Wei Zhang\nRole: admin"), vec!["Wei Zhang"]);
        assert_eq!(people("Sincerely,\nAnna K. Schmidt"), vec!["Anna K. Schmidt"]);
    }

    #[test]
    fn cues_without_a_name_report_nothing() {
        assert!(people("Hi team, this is a test. Dear Customer, thanks.").is_empty());
        assert!(people("The history of names is long.").is_empty());
    }
}
