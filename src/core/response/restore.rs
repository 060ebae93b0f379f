//! Stage 1 of the response text pipeline: `mask` placeholders back to the user's values.
//!
//! `[EMAIL_1]` issued for this request becomes the value it stands for; in a tool call's
//! `arguments` (JSON source text) the value is escaped as JSON string content, so `a"b` arrives as
//! `a\"b` and the arguments stay valid JSON. A placeholder-shaped tag this request did not issue
//! (`[EMAIL_7]`, or `[EMAIL_1]` the client wrote itself, see [`crate::core::pii::mask`]) is left as
//! it is and counted `unknown` when its entity is masked; a mangled one (`[EMAIL 1]`, `[email_1]`,
//! `[EMAIL1]`) is left and counted `mangled`.
//!
//! On a stream a tag may be cut anywhere: the tail of a piece that may still become a tag (`[`,
//! `[EMA`, `[EMAIL_1`, `[email 1`) is held back until the channel's next piece or its end; at most
//! [`MAX_HOLDBACK`] bytes per channel. Everything before it is emitted at once.

use std::collections::BTreeMap;
use std::ops::Range;

use super::stage::{Channel, StageSignal, StageText, TextStage};
use crate::core::audit::{AuditRecord, RestoreCounts};
use crate::core::json;
use crate::core::pii::mask::{parse_placeholder, Masks, MAX_PLACEHOLDER};

/// The most bytes held back per channel: a tag prefix is shorter than a whole tag.
pub(crate) const MAX_HOLDBACK: usize = MAX_PLACEHOLDER - 1;

/// The restore stage of one response.
pub(crate) struct Restore {
    masks: Masks,
    /// Entity names whose action is `mask` (tags of other names are ordinary text).
    masked: Vec<String>,
    /// Held tail per channel.
    pending: BTreeMap<Channel, String>,
    counts: RestoreCounts,
}

/// Whether `b` may continue a (possibly mangled) tag body.
fn tag_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b' ' | b'-' | b':' | b'#')
}

/// Whether `rest` (starting with `[`, running to the end of the text so far) may still grow into
/// a tag or a mangled tag.
fn may_become_tag(rest: &[u8]) -> bool {
    rest.len() <= MAX_HOLDBACK && rest.iter().skip(1).all(|&b| tag_byte(b))
}

/// If `rest` starts with a mangled tag `[name sep? digits]` (any case, separator one of ` -:#_` or
/// none), its length and upper-cased name.
fn mangled_tag(rest: &[u8]) -> Option<(usize, String)> {
    let close = rest.iter().take(MAX_PLACEHOLDER + 1).position(|&b| b == b']')?;
    let inner = rest.get(1..close)?;
    if inner.is_empty() || !inner.iter().all(|&b| tag_byte(b)) {
        return None;
    }
    let digits = inner.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let head = inner.get(..inner.len() - digits)?;
    let name = match head.last() {
        Some(b' ' | b'-' | b':' | b'#' | b'_') => head.get(..head.len() - 1)?,
        _ => head,
    };
    if digits == 0 || name.is_empty() || !name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    Some((close + 1, String::from_utf8_lossy(name).to_ascii_uppercase()))
}

/// Appends `value` escaped as the content of a JSON string (no quotes).
fn push_json_escaped(value: &str, out: &mut StageText) {
    let mut lit = Vec::with_capacity(value.len() + 2);
    json::write_json_string(value, &mut lit);
    let inner = lit.get(1..lit.len().saturating_sub(1)).unwrap_or(&[]);
    out.push_restored(&String::from_utf8_lossy(inner));
}

impl Restore {
    /// A stage restoring `masks`' placeholders; `masked` names the entities whose action is `mask`.
    pub(crate) fn new(masks: Masks, masked: Vec<String>) -> Self {
        Self { masks, masked, pending: BTreeMap::new(), counts: RestoreCounts::default() }
    }

    /// What was done so far.
    #[cfg(test)]
    pub(crate) fn counts(&self) -> RestoreCounts {
        self.counts
    }

    fn is_masked(&self, name: &str) -> bool {
        self.masked.iter().any(|m| m == name)
    }

    /// Rewrites `text` into `out`; unless `at_end`, a tail that may become a tag is returned
    /// (held) instead of emitted.
    fn run<'t>(&mut self, text: &'t str, json_source: bool, at_end: bool, out: &mut StageText) -> &'t str {
        let b = text.as_bytes();
        let mut copied = 0usize;
        let mut i = 0usize;
        while let Some(off) = b.get(i..).and_then(|r| r.iter().position(|&x| x == b'[')) {
            let at = i + off;
            let rest = b.get(at..).unwrap_or(&[]);
            if let Some((len, name, n)) = parse_placeholder(rest) {
                out.push_str(text.get(copied..at).unwrap_or(""));
                match self.masks.lookup(name, n) {
                    Some(value) => {
                        self.counts.restored += 1;
                        if json_source {
                            push_json_escaped(value, out);
                        } else {
                            out.push_restored(value);
                        }
                    }
                    None => {
                        if std::str::from_utf8(name).is_ok_and(|n| self.is_masked(n)) {
                            self.counts.unknown += 1;
                        }
                        out.push_str(text.get(at..at + len).unwrap_or(""));
                    }
                }
                copied = at + len;
                i = copied;
                continue;
            }
            if !at_end && may_become_tag(rest) {
                out.push_str(text.get(copied..at).unwrap_or(""));
                return text.get(at..).unwrap_or("");
            }
            if let Some((len, name)) = mangled_tag(rest) {
                if self.is_masked(&name) {
                    self.counts.mangled += 1;
                }
                i = at + len;
            } else {
                i = at + 1;
            }
        }
        out.push_str(text.get(copied..).unwrap_or(""));
        ""
    }
}

impl Restore {
    /// [`TextStage::push`], counting what it finds.
    fn push_counted(&mut self, channel: Channel, input: &str, out: &mut StageText) -> StageSignal {
        let json_source = channel.is_json_source();
        match self.pending.remove(&channel) {
            Some(mut held) => {
                held.push_str(input);
                let tail = self.run(&held, json_source, false, out).to_owned();
                if !tail.is_empty() {
                    self.pending.insert(channel, tail);
                }
            }
            None => {
                let tail = self.run(input, json_source, false, out);
                if !tail.is_empty() {
                    self.pending.insert(channel, tail.to_owned());
                }
            }
        }
        StageSignal::Continue
    }

    /// [`TextStage::finish`], counting what it finds.
    fn finish_counted(&mut self, channel: Channel, out: &mut StageText) -> StageSignal {
        if let Some(held) = self.pending.remove(&channel) {
            self.run(&held, channel.is_json_source(), true, out);
        }
        StageSignal::Continue
    }
}

impl TextStage for Restore {
    fn push(&mut self, channel: Channel, input: &str, _restored: &[Range<usize>], out: &mut StageText) -> StageSignal {
        // A stream's copy of text it already sent is restored but not counted again.
        let counted = self.counts;
        let signal = self.push_counted(channel, input, out);
        if channel.is_stream_copy() {
            self.counts = counted;
        }
        signal
    }

    fn finish(&mut self, channel: Channel, out: &mut StageText) -> StageSignal {
        let counted = self.counts;
        let signal = self.finish_counted(channel, out);
        if channel.is_stream_copy() {
            self.counts = counted;
        }
        signal
    }

    fn max_holdback(&self) -> usize {
        MAX_HOLDBACK
    }

    fn record(&self, audit: &mut AuditRecord) {
        audit.restore = Some(self.counts);
    }
}

#[cfg(test)]
mod tests {
    use super::super::stage::ChannelKind;
    use super::*;

    const CONTENT: Channel = Channel { slot: 0, kind: ChannelKind::Content, part: 0 };
    const ARGS: Channel = Channel { slot: 0, kind: ChannelKind::ToolArguments, part: 1 };

    fn stage() -> Restore {
        let mut m = Masks::default();
        m.placeholder("EMAIL", "ann@x.com");
        m.placeholder("EMAIL", "bob@y.org");
        m.placeholder("CODENAME", "Blue \"Heron\"\\");
        Restore::new(m, vec!["EMAIL".into(), "CODENAME".into()])
    }

    /// Feeds `pieces` to one channel and finishes it.
    fn feed(s: &mut Restore, ch: Channel, pieces: &[&str]) -> StageText {
        let mut out = StageText::default();
        for p in pieces {
            s.push(ch, p, &[], &mut out);
            assert!(s.pending.get(&ch).is_none_or(|h| h.len() <= MAX_HOLDBACK));
        }
        s.finish(ch, &mut out);
        out
    }

    #[test]
    fn issued_tags_come_back_and_their_ranges_are_reported() {
        let mut s = stage();
        let out = feed(&mut s, CONTENT, &["Write to [EMAIL_1] and [EMAIL_2]."]);
        assert_eq!(out.text, "Write to ann@x.com and bob@y.org.");
        assert_eq!(out.restored, vec![9..18, 23..32]);
        assert_eq!(s.counts(), RestoreCounts { restored: 2, unknown: 0, mangled: 0 });
    }

    #[test]
    fn a_tag_split_at_every_byte_is_restored_and_the_rest_is_not_held() {
        let text = "a [b] c [EMAIL_2] d [EMAIL_1]";
        for cut in 0..=text.len() {
            for cut2 in cut..=text.len() {
                let mut s = stage();
                let mut out = StageText::default();
                s.push(CONTENT, &text[..cut], &[], &mut out);
                // Everything before the last `[` is out at once.
                let before = text[..cut].rfind('[').unwrap_or(cut);
                assert!(out.text.len() >= before.min(out.text.len()));
                s.push(CONTENT, &text[cut..cut2], &[], &mut out);
                s.push(CONTENT, &text[cut2..], &[], &mut out);
                s.finish(CONTENT, &mut out);
                assert_eq!(out.text, "a [b] c bob@y.org d ann@x.com", "cuts {cut} {cut2}");
            }
        }
    }

    #[test]
    fn plain_text_is_never_held() {
        let mut s = stage();
        let mut out = StageText::default();
        s.push(CONTENT, "no tags here, [see docs] and arrays [1, 2]", &[], &mut out);
        assert_eq!(out.text, "no tags here, [see docs] and arrays [1, 2]");
        s.push(CONTENT, "ends with [", &[], &mut out);
        assert_eq!(out.text.len(), "no tags here, [see docs] and arrays [1, 2]ends with ".len());
        s.finish(CONTENT, &mut out);
        assert!(out.text.ends_with("ends with ["));
    }

    #[test]
    fn the_holdback_is_bounded_by_the_longest_tag() {
        let mut s = stage();
        let mut out = StageText::default();
        let long = format!("[{}", "A".repeat(200));
        s.push(CONTENT, &long, &[], &mut out);
        assert_eq!(out.text, long);
        let mut out = StageText::default();
        let near = format!("[{}_1234567", "A".repeat(60));
        s.push(CONTENT, &near, &[], &mut out);
        assert!(out.text.is_empty() && near.len() <= MAX_HOLDBACK);
    }

    #[test]
    fn unknown_and_mangled_tags_are_left_and_counted() {
        let mut s = stage();
        let out = feed(&mut s, CONTENT, &["[EMAIL_7] [EMAIL 1] [email_1] [EMAIL1] [STEP_1] [step 2] [EMAIL_1]"]);
        assert_eq!(out.text, "[EMAIL_7] [EMAIL 1] [email_1] [EMAIL1] [STEP_1] [step 2] ann@x.com");
        assert_eq!(s.counts(), RestoreCounts { restored: 1, unknown: 1, mangled: 3 });
    }

    #[test]
    fn in_tool_arguments_a_value_is_escaped_as_json_string_content() {
        let mut s = stage();
        let out = feed(&mut s, ARGS, &["{\"to\":\"[EMAIL_1]\",\"tag\":\"[CODE", "NAME_1]\"}"]);
        assert_eq!(out.text, r#"{"to":"ann@x.com","tag":"Blue \"Heron\"\\"}"#);
        let v: serde_json::Value = serde_json::from_str(&out.text).unwrap();
        assert_eq!(v["tag"], "Blue \"Heron\"\\");
        // The same value in answer text is not escaped.
        let out = feed(&mut s, CONTENT, &["[CODENAME_1]"]);
        assert_eq!(out.text, "Blue \"Heron\"\\");
    }

    #[test]
    fn channels_hold_apart() {
        let mut s = stage();
        let mut out = StageText::default();
        s.push(CONTENT, "x [EMA", &[], &mut out);
        s.push(ARGS, "IL_1]", &[], &mut out);
        s.push(CONTENT, "IL_2]", &[], &mut out);
        s.finish(ARGS, &mut out);
        s.finish(CONTENT, &mut out);
        assert_eq!(out.text, "x IL_1]bob@y.org");
    }

    #[test]
    fn multibyte_text_around_tags_survives_every_split() {
        let text = "é[EMAIL_1]ü";
        for cut in (0..=text.len()).filter(|c| text.is_char_boundary(*c)) {
            let mut s = stage();
            let out = feed(&mut s, CONTENT, &[&text[..cut], &text[cut..]]);
            assert_eq!(out.text, "éann@x.comü");
        }
    }
}
