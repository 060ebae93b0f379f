//! The detection pass: one walk over the bytes of a (normalised) string that dispatches to the
//! detectors at cheap anchors, then the optional passes (PERSON, ADDRESS, dictionaries and custom
//! patterns), then overlap resolution.
//!
//! Anchors, from a 256-entry class table: the first digit of a digit run (digit clusters, IBAN
//! after two letters), `@` (EMAIL), `:` between hex digits (IPv6), and the end of every token of
//! `[A-Za-z0-9_+/-]` that is at least ten bytes long (secrets) or is the word `bearer`. Runs of
//! letters, which never anchor anything, are skipped a word at a time (see [`main_pass`]).

use super::custom::CustomPattern;
use super::detectors::{address, email, iban, ip, numeric, person, secrets, table, Finding, Kind, Sink};
use super::dictionary::Automaton;
use super::entity::Entity;
use super::text::{alpha_end, at, before, digits_end, is_digit, is_word, lower_end};

const TOK: u8 = 1;
const DIG: u8 = 2;
const AT: u8 = 4;
const COLON: u8 = 8;

const fn class_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut v = 0;
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'+' || c == b'/' {
            v |= TOK;
        }
        if c.is_ascii_digit() {
            v |= DIG;
        }
        if c == b'@' {
            v |= AT;
        }
        if c == b':' {
            v |= COLON;
        }
        #[allow(clippy::indexing_slicing, reason = "const fn: i < 256 = t.len(); a mistake fails compilation")]
        {
            t[i] = v;
        }
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = class_table();

/// What a dictionary/prefix matcher hit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A term of dictionary `n`.
    Dict(u16),
    /// The literal prefix of custom pattern `n`.
    Prefix(u16),
}

/// Everything the pass needs from the compiled configuration.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    /// Custom patterns, by index.
    pub custom: &'a [CustomPattern],
    /// Indices of custom patterns without a literal prefix.
    pub(crate) fallback: &'a [u16],
    /// The shared matcher for dictionary terms and custom prefixes.
    pub(crate) automaton: Option<&'a Automaton>,
    /// What each matcher pattern id means.
    pub targets: &'a [Target],
}

fn on_token(b: &[u8], s: usize, e: usize, sink: &mut Sink) -> usize {
    let len = e - s;
    if len >= 10 {
        return secrets::token(b, s, e, sink);
    }
    if secrets::is_bearer_word(b, s, e) && sink.on.has(Entity::BearerToken) {
        secrets::bearer(b, e, sink);
    }
    e
}

fn on_digit(b: &[u8], i: usize, digits_on: bool, iban_on: bool, sink: &mut Sink) -> usize {
    let p = before(b, i);
    if p.is_ascii_alphabetic() {
        if iban_on && i >= 2 && before(b, i - 1).is_ascii_alphabetic() {
            match iban::scan(b, i - 2) {
                iban::Scan::Valid(e) => {
                    sink.push(i - 2, e, Entity::Iban);
                    return e;
                }
                iban::Scan::Shaped(e) => return e,
                iban::Scan::No => {}
            }
        }
        return digits_end(b, i);
    }
    if digits_on {
        numeric::scan(b, i, sink)
    } else {
        digits_end(b, i)
    }
}

fn v6_anchor(b: &[u8], i: usize) -> bool {
    let p = before(b, i);
    let n = at(b, i + 1);
    (p.is_ascii_hexdigit() || p == b':') && (n.is_ascii_hexdigit() || n == b':')
}

/// The class bits of byte `x`.
#[inline(always)]
fn class(x: u8) -> u8 {
    CLASS.get(usize::from(x)).copied().unwrap_or(0)
}

/// Whether the digit at `i` starts a digit run that [`on_digit`] would look at as an IBAN: two
/// letters before it that start a word (`iban::scan` rejects a country code glued to a word).
#[inline]
fn iban_candidate(b: &[u8], i: usize) -> bool {
    i >= 2 && before(b, i).is_ascii_alphabetic() && before(b, i - 1).is_ascii_alphabetic() && !is_word(before(b, i - 2))
}

/// Inside a token, from `i`: skips letters, and digit runs that directly follow a letter, as long
/// as skipping them is what the byte-by-byte pass would do anyway. Such a run reaches
/// [`on_digit`] only to be stepped over (`p` alphabetic, no IBAN candidate) or not at all; its
/// start is past `digit_done` and the byte after it is not a digit, so leaving `digit_done` as it
/// is changes no later decision. Returns where the byte-by-byte pass must continue: a byte that is
/// not a letter or digit, a digit after `_+/-`, an IBAN candidate, or a run before `digit_done`.
fn skip_inner(b: &[u8], mut i: usize, digit_done: usize, digit_anchor: bool, iban_on: bool) -> usize {
    loop {
        i = alpha_end(b, i);
        if !is_digit(at(b, i)) {
            return i;
        }
        let skippable = !digit_anchor
            || (i >= digit_done && before(b, i).is_ascii_alphabetic() && !(iban_on && iban_candidate(b, i)));
        if !skippable {
            return i;
        }
        i = digits_end(b, i);
    }
}

/// The single built-in pass over `b`.
///
/// Only digits (anchors) and bytes outside tokens (token ends, `@`, `:`) change the pass's state;
/// letters and `_+/-` never do, so runs of letters are skipped eight bytes at a time
/// ([`lower_end`], [`alpha_end`]). A token that is a plain word, `[A-Za-z][a-z]*`, cannot be any
/// secret shape (each needs a digit, a `-`/`_`/`/`/`+`, or a second capital: `AIza`, `AKIA…`,
/// `eyJ`); for it only the word `bearer` matters, so it is settled where it starts and the
/// secrets check at its end is skipped. On prose that leaves about two table lookups and one word
/// load per word.
fn main_pass(b: &[u8], sink: &mut Sink) {
    let on = sink.on;
    let digits_on = on.any(&[Entity::Phone, Entity::UsSsn, Entity::CreditCard, Entity::IpAddress]);
    let iban_on = on.has(Entity::Iban);
    let email_on = on.has(Entity::Email);
    let v6_on = on.has(Entity::IpAddress);
    let secrets_on = on.any_secret();
    let bearer_on = on.has(Entity::BearerToken);
    let digit_anchor = digits_on || iban_on;
    let mut tok_start = 0usize;
    let mut digit_done = 0usize;
    let mut colon_done = 0usize;
    let mut skip = 0usize;
    // End of the last token settled as a plain word (its end needs no secrets check).
    let mut plain_end = usize::MAX;
    let mut i = 0usize;
    while let Some(&x) = b.get(i) {
        let c = class(x);
        if c & TOK != 0 {
            if c & DIG != 0 {
                if i >= digit_done && digit_anchor {
                    digit_done = on_digit(b, i, digits_on, iban_on, sink).max(i + 1);
                }
                i += 1;
            } else if i == tok_start && x.is_ascii_alphabetic() {
                let e = lower_end(b, i + 1);
                if class(at(b, e)) & TOK == 0 {
                    if e - i == 6
                        && x | 0x20 == b'b'
                        && secrets_on
                        && bearer_on
                        && e >= skip
                        && secrets::is_bearer_word(b, i, e)
                    {
                        secrets::bearer(b, e, sink);
                    }
                    plain_end = e;
                    i = e;
                } else {
                    i = skip_inner(b, e, digit_done, digit_anchor, iban_on);
                }
            } else {
                i = skip_inner(b, i + 1, digit_done, digit_anchor, iban_on);
            }
            continue;
        }
        if secrets_on && i >= skip && i - tok_start >= 6 && i != plain_end {
            skip = on_token(b, tok_start, i, sink);
        }
        if c & AT != 0 && email_on {
            if let Some((s, e)) = email::find(b, i) {
                sink.push(s, e, Entity::Email);
            }
        } else if c & COLON != 0 && v6_on && i >= colon_done && v6_anchor(b, i) {
            let (hit, reached) = ip::find_v6(b, i);
            colon_done = reached;
            if let Some((s, e)) = hit {
                sink.push(s, e, Entity::IpAddress);
            }
        }
        tok_start = i + 1;
        i += 1;
    }
    let n = b.len();
    if secrets_on && n >= skip && n - tok_start >= 6 && n != plain_end {
        on_token(b, tok_start, n, sink);
    }
}

fn word_boundary(b: &[u8], s: usize, e: usize) -> bool {
    let wordish = |c: u8| is_word(c) || c >= 0x80;
    !wordish(before(b, s)) && !wordish(at(b, e))
}

/// Runs every enabled detector over `text` (already normalised) into `sink.out`.
pub(crate) fn detect(text: &str, plan: &Plan, sink: &mut Sink) {
    let b = text.as_bytes();
    main_pass(b, sink);
    if sink.digits_left && sink.on.any(&[Entity::Phone, Entity::UsSsn, Entity::CreditCard]) || sink.quads {
        table::scan(b, sink);
    }
    if sink.on.has(Entity::Person) {
        person::scan(b, sink);
    }
    if sink.on.has(Entity::Address) {
        address::scan(b, sink);
    }
    if let Some(ac) = plan.automaton {
        ac.for_each_match(b, |id, end| {
            let start = end - ac.pattern_len(id);
            match plan.targets.get(id) {
                Some(Target::Dict(d)) if word_boundary(b, start, end) => {
                    sink.out.push(Finding { start, end, kind: Kind::Dict(*d) });
                }
                Some(Target::Prefix(k)) => {
                    let found = plan.custom.get(usize::from(*k)).and_then(|p| p.confirm_at(text, start, end));
                    if let Some(e) = found {
                        sink.out.push(Finding { start, end: e, kind: Kind::Custom(*k) });
                    }
                }
                _ => {}
            }
        });
    }
    for &k in plan.fallback {
        if let Some(p) = plan.custom.get(usize::from(k)) {
            p.find_all(text, |s, e| sink.out.push(Finding { start: s, end: e, kind: Kind::Custom(k) }));
        }
    }
}

/// Tie-break order between findings on the same span: built-in over custom over dictionary, a
/// specific secret over a generic bearer value (lower is preferred).
pub(super) fn rank(k: Kind) -> u8 {
    match k {
        Kind::Builtin(Entity::BearerToken) => 3,
        Kind::Builtin(_) => 0,
        Kind::Custom(_) => 1,
        Kind::Dict(_) => 2,
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    /// Test helper: keeps the leftmost-longest non-overlapping findings (the redactor itself folds
    /// overlaps instead, see `Redactor::merge_overlaps`).
    fn resolve(found: &mut Vec<Finding>) {
        if found.len() < 2 {
            return;
        }
        found.sort_unstable_by(|a, b| {
            a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(rank(a.kind).cmp(&rank(b.kind)))
        });
        let mut last_end = 0usize;
        let mut first = true;
        found.retain(|f| {
            if first || f.start >= last_end {
                first = false;
                last_end = f.end;
                true
            } else {
                false
            }
        });
    }

    fn kinds(t: &str) -> Vec<(Entity, &str)> {
        let mut sink = Sink::all_on();
        let plan = Plan { custom: &[], fallback: &[], automaton: None, targets: &[] };
        detect(t, &plan, &mut sink);
        resolve(&mut sink.out);
        sink.out
            .iter()
            .map(|f| match f.kind {
                Kind::Builtin(e) => (e, &t[f.start..f.end]),
                _ => panic!("unexpected kind"),
            })
            .collect()
    }

    #[test]
    fn one_pass_finds_every_builtin_kind() {
        let t = "Mail a.b@ex.com, call (415) 555-0132, card 4111 1111 1111 1111, SSN 123-45-6789, \
                 IBAN DE89 3704 0044 0532 0130 00, host 10.1.2.3 or fe80::1ff:fe23:4567:890a, \
                 key AKIAIOSFODNN7EXAMPLE.";
        let got: Vec<Entity> = kinds(t).into_iter().map(|(e, _)| e).collect();
        assert_eq!(
            got,
            vec![
                Entity::Email,
                Entity::Phone,
                Entity::CreditCard,
                Entity::UsSsn,
                Entity::Iban,
                Entity::IpAddress,
                Entity::IpAddress,
                Entity::AwsAccessKey
            ]
        );
    }

    #[test]
    fn a_specific_secret_wins_over_the_bearer_value_it_is() {
        let k = format!("sk-or-v1-{}", "0f".repeat(32));
        let t = format!("Authorization: Bearer {k}");
        assert_eq!(kinds(&t), vec![(Entity::OpenrouterKey, k.as_str())]);
    }

    #[test]
    fn a_key_at_the_very_end_of_the_text_is_found() {
        assert_eq!(kinds("AKIAIOSFODNN7EXAMPLE"), vec![(Entity::AwsAccessKey, "AKIAIOSFODNN7EXAMPLE")]);
    }

    #[test]
    fn hostile_inputs_finish() {
        let digits = "7".repeat(1 << 20);
        assert!(kinds(&digits).is_empty());
        let ats = "@".repeat(1 << 20);
        assert!(kinds(&ats).is_empty());
        let dots = format!("a{}@b", ".".repeat(100_000));
        assert!(kinds(&dots).is_empty());
        let mixed = "a@b.".repeat(100_000);
        let _ = kinds(&mixed);
        let colons = "1:".repeat(500_000);
        let _ = kinds(&colons);
        let spaced = "1 ".repeat(500_000);
        let _ = kinds(&spaced);
        let dashes = "-----BEGIN ".repeat(50_000);
        let _ = kinds(&dashes);
        let pem = "-----BEGIN RSA PRIVATE KEY----- ".repeat(30_000);
        assert_eq!(kinds(&pem).len(), 1);
        let long_token = "a".repeat(1 << 20);
        assert!(kinds(&long_token).is_empty());
        let jwtish = "eyJ.".repeat(200_000);
        let _ = kinds(&jwtish);
        let bearer = "bearer ".repeat(100_000);
        let _ = kinds(&bearer);
    }
}
