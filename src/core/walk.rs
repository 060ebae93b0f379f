//! Walking a governed request body and turning PII findings into byte edits.
//!
//! Every string value, every object key and every JSON number of seven or more digits (with the
//! names of the two keys above it as context) is scanned, at any depth, except the structural
//! fields of [`structural`] whose values fit their grammar (model ids, the `provider` object,
//! enumerations such as `role`/`type`, provider-issued ids, reasoning signatures). Each string is
//! decoded once and given to [`Redactor::scan`] (which scans it again, up to its pass limit, when
//! a placeholder lands glued to the rest of the text); only when something must change is it
//! re-encoded and recorded as an [`Edit`] over the original string token. Some strings are scanned
//! in parts: a structural value that fits its grammar is scanned from each credential prefix on
//! ([`structural::credential_cuts`]), a `data:` URL's header and body apart, and a tool-call
//! `arguments` string that fails to rebuild is scanned again as text. Tool-call `arguments` are
//! JSON inside a string: their inner strings and keys are scanned and the argument string is
//! rebuilt. `data:` URLs are
//! read as a downstream reader reads them ([`dataurl`]): a body holding text (a text media type,
//! or bytes that are UTF-8 whatever the media type) is decoded, scanned and re-encoded when
//! redacted; binary bodies (images, audio, PDF) are skipped; a base64 body that does not decode
//! sets [`Walker::unreadable`] and the request is refused.
//!
//! A redacted object key must stay unique in its object: when two keys redact to the same text
//! (`{"bob@x.com": 1, "amy@y.com": 2}` with `redact` gives two `[EMAIL]`), or a redacted key
//! equals a key already there, the later ones are numbered `[EMAIL]#2`, `[EMAIL]#3`, … so the
//! body stays valid JSON without duplicate keys and no value is lost.

use std::borrow::Cow;

use crate::core::dataurl::{self, DataUrl, Read};
use crate::core::edit::{self, Edit};
use crate::core::json::{self, Kind, Member, Node};
use crate::core::keynames;
use crate::core::pii::mask::Masks;
use crate::core::pii::normalize::View;
use crate::core::pii::{PiiTally, Redactor};
use crate::core::structural::{self, Grammar};

/// Reserves every placeholder-shaped token (`[EMAIL_1]`) the client wrote in any string or key of
/// the body, tool-call arguments included (their raw text holds their strings), so the `mask`
/// action never issues one of them. Each string is read as the model may read it
/// ([`reserve_text`]).
pub(crate) fn reserve_literals(node: &Node<'_>, masks: &mut Masks) {
    match &node.kind {
        Kind::Str(s) => reserve_text(&s.decode(), masks),
        Kind::Array(items) => items.iter().for_each(|n| reserve_literals(n, masks)),
        Kind::Object(members) => {
            for m in members {
                reserve_text(&m.key, masks);
                reserve_literals(&m.value, masks);
            }
        }
        Kind::Null | Kind::Bool(_) | Kind::Number(_) => {}
    }
}

/// Reserves the tags of `text` as written, with its escapes decoded (the normalised view:
/// `\u005bEMAIL_1\u005d` inside tool-call arguments, `&#91;`, `%5B`), and inside a `data:` URL's
/// text body (a `data:text/plain;base64,…` file the model reads): attack round 3, finding 18, a
/// client tag there was issued to the user's own value and the model's copy restored.
fn reserve_text(text: &str, masks: &mut Masks) {
    let reserve = |t: &str, masks: &mut Masks| {
        masks.reserve_literals(t);
        let view = View::new(t);
        if view.is_folded() {
            masks.reserve_literals(view.text());
        }
    };
    reserve(text, masks);
    if let Read::Url(d) = dataurl::read(text) {
        if dataurl::is_text_media(&d.media_type()) || !d.starts_binary() {
            if let Some(raw) = d.bytes() {
                reserve(&String::from_utf8_lossy(&raw), masks);
            }
        }
    }
}

/// The names of the two keys above a value (grandparent, parent): the context of a number.
pub(crate) type Keys<'k> = [&'k str; 2];

pub(crate) const NO_KEYS: Keys<'static> = ["", ""];

/// Digits a JSON number needs to be scanned: the shortest number a detector takes with a cue word
/// (a seven-digit national phone number); shorter ones are counts, prices and ids.
const NUMBER_MIN_DIGITS: usize = 7;

/// Characters of a key kept as a number's context (cue words sit at a key's start or end).
const KEY_CUE_CHARS: usize = 48;

/// The text a JSON number is scanned after (the names of the two keys above it, letters only), or
/// `None` when it has too few digits to be scanned. Shared by the request walker and output
/// inspection of JSON answers.
pub(crate) fn number_context(keys: Keys<'_>, raw: &str) -> Option<String> {
    if raw.bytes().filter(u8::is_ascii_digit).count() < NUMBER_MIN_DIGITS {
        return None;
    }
    let cue = |k: &str| -> String {
        k.chars().filter(|c| c.is_alphabetic() || matches!(c, '_' | '-' | ' ')).take(KEY_CUE_CHARS).collect()
    };
    Some(format!("{} {}: ", cue(keys[0]), cue(keys[1])))
}

/// The number's part of `scanned` (its context `prefix` followed by the number, after scanning).
pub(crate) fn number_value<'s>(scanned: &'s str, prefix: &str) -> &'s str {
    scanned.strip_prefix(prefix).or_else(|| scanned.rsplit_once(": ").map(|(_, v)| v)).unwrap_or(scanned)
}

/// Collects redaction edits for one body.
pub struct Walker<'r, 't> {
    redactor: &'r Redactor,
    tally: &'t mut PiiTally,
    max_depth: u32,
    /// Edits over the original body.
    pub edits: Vec<Edit>,
    /// A `data:` URL was marked base64 but does not decode as a reader decodes it (see
    /// [`dataurl`]): the request must be refused, not forwarded with it unscanned.
    pub(crate) unreadable: bool,
}

impl<'r, 't> Walker<'r, 't> {
    /// A walker using `redactor`, counting into `tally`.
    pub fn new(redactor: &'r Redactor, tally: &'t mut PiiTally, max_depth: u32) -> Self {
        Self { redactor, tally, max_depth, edits: Vec::new(), unreadable: false }
    }

    /// Walks a whole body: every string and key but the structural fields that fit their grammar.
    pub fn walk_body(&mut self, root: &Node<'_>) {
        self.walk(root, true, NO_KEYS);
    }

    /// Walks a value; `top`: it is the body's top-level value (top-only structural keys apply).
    fn walk(&mut self, node: &Node<'_>, top: bool, keys: Keys<'_>) {
        match &node.kind {
            Kind::Str(_) => self.scan_string(node),
            Kind::Array(items) => items.iter().for_each(|n| self.walk(n, false, keys)),
            Kind::Object(members) => {
                self.scan_keys(members, None);
                for m in members {
                    match structural::lookup(&m.key, top) {
                        Some(g) => self.walk_structural(&m.value, g),
                        None if m.key == "arguments" && matches!(m.value.kind, Kind::Str(_)) => {
                            self.scan_json_string(&m.value)
                        }
                        None => self.walk(&m.value, false, [keys[1], &m.key]),
                    }
                }
            }
            Kind::Number(raw) => self.scan_number(node, raw, keys),
            Kind::Null | Kind::Bool(_) => {}
        }
    }

    /// A JSON number long enough to be a card, SSN or phone number is scanned as the text it is,
    /// after the names of the two keys above it as a reader sees them (`"ssn": 123456789`,
    /// `"ssn": {"const": 123456789}`), so cue words count as in text; a redacted number becomes a
    /// JSON string holding the placeholder. Only the keys' letters (and `_`, `-`, spaces) are kept
    /// as context, so a key's own findings (scanned with the key) are not counted twice.
    fn scan_number(&mut self, node: &Node<'_>, raw: &str, keys: Keys<'_>) {
        let Some(prefix) = number_context(keys, raw) else { return };
        let Some(new) = self.redactor.scan(&format!("{prefix}{raw}"), self.tally) else { return };
        let value = number_value(&new, &prefix);
        if value == raw {
            return;
        }
        let mut bytes = Vec::with_capacity(value.len() + 2);
        json::write_json_string(value, &mut bytes);
        self.edits.push(Edit { start: node.start, end: node.end, bytes });
    }

    /// Walks the value of a structural field: strings that fit `g` are skipped, the rest scanned;
    /// inside an object value (`provider`), keys must fit [`Grammar::Enum`].
    fn walk_structural(&mut self, node: &Node<'_>, g: Grammar) {
        match &node.kind {
            Kind::Str(s) => {
                let text = s.decode();
                if !g.fits(&text) {
                    self.scan_string(node);
                } else {
                    self.scan_marked_pieces(node, &text);
                }
            }
            Kind::Array(items) => items.iter().for_each(|n| self.walk_structural(n, g)),
            Kind::Object(members) => {
                self.scan_keys(members, Some(Grammar::Enum));
                for m in members {
                    self.walk_structural(&m.value, g);
                }
            }
            Kind::Null | Kind::Bool(_) | Kind::Number(_) => {}
        }
    }

    /// A structural value that fits its grammar but holds a credential's mark (`call_AKIA…`,
    /// `msg_ghp_…`, an AWS key id inside a signature blob): each piece from a mark on is scanned
    /// on its own (the id prefix or blob around it would glue to it), and the value rebuilt from
    /// the pieces when one changed. Values without a mark are skipped.
    fn scan_marked_pieces(&mut self, node: &Node<'_>, text: &str) {
        let cuts = structural::credential_cuts(text);
        if cuts.is_empty() {
            return;
        }
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        let mut from = 0;
        for to in cuts.into_iter().chain([text.len()]) {
            let piece = text.get(from..to).unwrap_or_default();
            match self.redactor.scan(piece, self.tally) {
                Some(new) => {
                    changed = true;
                    out.push_str(&new);
                }
                None => out.push_str(piece),
            }
            from = to;
        }
        if changed {
            let mut bytes = Vec::with_capacity(out.len() + 2);
            json::write_json_string(&out, &mut bytes);
            self.edits.push(Edit { start: node.start, end: node.end, bytes });
        }
    }

    /// Scans an object's keys (those not fitting `skip_fitting`, when given) and records edits for
    /// the ones that change, numbering any that would collide with another key of the object.
    fn scan_keys(&mut self, members: &[Member<'_>], skip_fitting: Option<Grammar>) {
        let mut renamed: Vec<(usize, String)> = Vec::new();
        for (i, m) in members.iter().enumerate() {
            if skip_fitting.is_some_and(|g| g.fits(&m.key)) {
                continue;
            }
            if let Some(new) = self.redactor.scan(&m.key, self.tally) {
                renamed.push((i, new));
            }
        }
        if renamed.is_empty() {
            return;
        }
        let is_renamed: Vec<bool> = {
            let mut v = vec![false; members.len()];
            for (i, _) in &renamed {
                if let Some(slot) = v.get_mut(*i) {
                    *slot = true;
                }
            }
            v
        };
        let kept = members.iter().zip(&is_renamed).filter(|(_, r)| !**r).map(|(m, _)| m.key.as_ref());
        let (at, bases): (Vec<usize>, Vec<String>) = renamed.into_iter().unzip();
        let (names, _) = keynames::assign(kept, bases);
        for (i, name) in at.into_iter().zip(names) {
            let Some(m) = members.get(i) else { continue };
            let mut bytes = Vec::with_capacity(name.len() + 2);
            json::write_json_string(&name, &mut bytes);
            self.edits.push(Edit { start: m.key_start, end: m.key_end, bytes });
        }
    }

    fn scan_string(&mut self, node: &Node<'_>) {
        let Kind::Str(s) = &node.kind else { return };
        let text = s.decode();
        let new = match dataurl::read(&text) {
            Read::Text => self.redactor.scan(&text, self.tally),
            Read::Url(d) => self.scan_data_url(&d),
            Read::Unreadable => {
                self.unreadable = true;
                None
            }
        };
        if let Some(new) = new {
            let mut bytes = Vec::with_capacity(new.len() + 2);
            json::write_json_string(&new, &mut bytes);
            self.edits.push(Edit { start: node.start, end: node.end, bytes });
        }
    }

    /// A `data:` URL: its header is scanned as text, and its body, decoded, when it is text: any
    /// body of a text media type (read as UTF-8, lossily), and the body of any other media type
    /// (`application/octet-stream`, `image/png` …) whose bytes are UTF-8. When either changes,
    /// the URL is rebuilt with the body re-encoded.
    fn scan_data_url(&mut self, d: &DataUrl<'_>) -> Option<String> {
        let text_media = dataurl::is_text_media(&d.media_type());
        if !text_media && d.starts_binary() {
            // Binary media: the header is still text.
            let header = self.redactor.scan(&d.header, self.tally)?;
            let Some(raw) = d.bytes() else {
                self.unreadable = true;
                return None;
            };
            return Some(d.rebuild(&header, &raw));
        }
        let Some(raw) = d.bytes() else {
            self.unreadable = true;
            return None;
        };
        let text = if text_media {
            String::from_utf8_lossy(&raw)
        } else {
            match std::str::from_utf8(&raw) {
                Ok(t) => Cow::Borrowed(t),
                Err(_) => Cow::Borrowed(""),
            }
        };
        let header = self.redactor.scan(&d.header, self.tally);
        let body = self.redactor.scan(&text, self.tally);
        if header.is_none() && body.is_none() {
            return None;
        }
        let bytes = body.as_deref().map_or(&raw[..], str::as_bytes);
        Some(d.rebuild(header.as_deref().unwrap_or(&d.header), bytes))
    }

    /// A string holding JSON (tool-call arguments): scan the strings and keys inside and rebuild
    /// it. When it is not JSON, it is scanned as plain text.
    fn scan_json_string(&mut self, node: &Node<'_>) {
        let Kind::Str(s) = &node.kind else { return };
        let text = s.decode();
        let Ok(inner) = json::parse(text.as_bytes(), self.max_depth) else {
            self.scan_string(node);
            return;
        };
        let mut sub = Walker::new(self.redactor, self.tally, self.max_depth);
        sub.walk(&inner, false, NO_KEYS);
        self.unreadable |= sub.unreadable;
        if sub.edits.is_empty() {
            return;
        }
        let edits = std::mem::take(&mut sub.edits);
        match edit::apply(text.as_bytes(), edits) {
            Ok(rebuilt) => {
                let rebuilt = String::from_utf8_lossy(&rebuilt);
                let mut bytes = Vec::with_capacity(rebuilt.len() + 2);
                json::write_json_string(&rebuilt, &mut bytes);
                self.edits.push(Edit { start: node.start, end: node.end, bytes });
            }
            // Cannot happen for edits from one walk; fail safe by scanning as text.
            Err(_) => self.scan_string(node),
        }
    }
}

#[cfg(test)]
#[path = "walk_tests.rs"]
mod tests;
