//! Output inspection (`profiles.<name>.output_pii`): what the model sends back is scanned with the
//! same engine as requests ([`Redactor`]); per finding the action is `flag` (counted only),
//! `redact` (rewritten in place as `[EMAIL]`) or `block` (the response is withheld, or the stream
//! ended with an error event).
//!
//! The rewrite pipeline ([`super::rewrite`]) hands every text channel to the output stage
//! ([`super::outscan_stage`]), which runs one [`StreamScanner`] per channel (a choice's `content`,
//! its `reasoning`, one tool call's `arguments`, or one whole string of a JSON body). Text
//! fragments arrive in order; the scanner releases text that can no longer be part of a finding
//! and holds back a bounded tail.
//!
//! ## What is held back, and why the released text equals a whole-text scan
//!
//! A release ends only at a *cut*: a position right after an ASCII whitespace byte, so no token
//! (key, JWT, e-mail, IP address, URL) is ever split. Findings that may contain whitespace are the
//! only ones that can straddle a cut; their longest shapes, derived from the detectors, set how many
//! bytes must have arrived after a cut before it is taken ([`StreamScanner::lookahead`]):
//!
//! | trigger within the bytes before the cut | bytes needed after it |
//! |---|---|
//! | always (a finding before the whitespace is decided by the bytes before it and by the rows below; the random-split tests check it) | [`MARGIN`] = 2 |
//! | a digit within [`DIGIT_NEAR`] = 12 bytes (PHONE, US_SSN, CREDIT_CARD, IBAN: ≤ 24 groups joined by ≤ 3 separator bytes; the rules keep at most 19 digits of them) | [`DIGIT_SPAN`] = 96 |
//! | a digit within [`ADDRESS_SPAN`] (ADDRESS on: number, ≤ 4 street words, type, unit, city, ZIP) | [`ADDRESS_SPAN`] = 160 |
//! | PERSON on (cue + ≤ 3 capitalised words) | [`PERSON_SPAN`] = 96 |
//! | `-----BEGIN` within [`PEM_HEAD`] bytes (the header must close within 80 bytes) | [`PEM_HEAD`] = 96 |
//! | a wrappable key prefix (`sk-or-v1-`, `AIza`, …) that is not a whole key yet, within [`WRAP_REACH`] bytes (≤ 3 more pieces of ≤ 200 bytes after a 1–2 byte break) | [`WRAP_SPAN`] = 610 |
//! | a dictionary term with a space | its length + [`MARGIN`] |
//! | custom patterns configured | [`CUSTOM_SPAN`] = 256 |
//!
//! A finding that is already detected across a cut (a PEM block without its END runs to the end of
//! the text) also keeps the cut back. The engine reads up to 128 bytes *before* a value (context
//! words such as "ssn", "secret", an AWS key id): the last [`CONTEXT_BYTES`] released bytes are kept
//! (original text, in memory only) and scanned with the held text, never released again.
//!
//! So the scanner holds at most the lookahead plus the whitespace-free run at the end, and never
//! more than [`MAX_HOLD`] bytes: beyond it the held text is released up to [`FORCED_KEEP`] bytes
//! before its end ([`StreamScanner::forced_cut`]), moved back to the start of a finding across
//! that cut, so a value that is found later never has a byte released. Only a finding that starts
//! at the front of the held text and runs to its end (a single token of 4 KiB, a PEM block longer
//! than that) is cut at the end, and the rest of it (to the next whitespace, or a PEM block's
//! `-----END …-----`) is swallowed into the placeholder already sent. Limit: a token whose shape is
//! decided only by bytes more than [`FORCED_KEEP`] after its start.
//!
//! With the cuts placed like this, what a stream releases is what [`render`] produces on the whole
//! text (tests: a value split at every byte position, and random splits of mixed text).
//! Known limits: a table whose header row lies more than [`CONTEXT_BYTES`] before a value; custom
//! patterns that span whitespace over more than [`CUSTOM_SPAN`] bytes; redaction is one pass over
//! the engine's findings (no re-scan of placeholder neighbours, unlike request bodies).

use std::ops::Range;

use super::stage::StageText;
use crate::core::config::ConfigError;
use crate::core::pii::detectors::secrets::WRAPPABLE;
use crate::core::pii::{Action, Detection, Entity, PiiConfig, PiiTally, Reach, Redactor};

/// Bytes after a cut needed in any case.
pub(crate) const MARGIN: usize = 2;
/// Reach of a digit cluster value that contains whitespace.
pub(crate) const DIGIT_SPAN: usize = 96;
/// A digit cluster continues across a cut only when a digit lies this close before it: groups are
/// joined by at most 3 separator bytes; an IBAN group of 4 letters (`WEST`) and its separators
/// make it 12.
pub(crate) const DIGIT_NEAR: usize = 12;
/// Reach of an ADDRESS.
pub(crate) const ADDRESS_SPAN: usize = 160;
/// Reach of a PERSON after its cue.
pub(crate) const PERSON_SPAN: usize = 96;
/// Reach of a PEM header (`-----BEGIN … PRIVATE KEY-----`).
pub(crate) const PEM_HEAD: usize = 96;
/// How far before a cut a wrappable key prefix matters (a 200-byte first piece and its breaks).
pub(crate) const WRAP_REACH: usize = 810;
/// Bytes a wrapped key may continue after a cut (3 pieces of 200 bytes, each after a 1–2 byte break).
pub(crate) const WRAP_SPAN: usize = 610;
/// Reach of a custom pattern across whitespace.
pub(crate) const CUSTOM_SPAN: usize = 256;
/// Released bytes kept as context for the next scans.
pub(crate) const CONTEXT_BYTES: usize = 160;
/// Most bytes ever held back.
pub const MAX_HOLD: usize = 4096;
/// Bytes kept back by a release forced by [`MAX_HOLD`]: a value starting before the cut has
/// arrived whole, or enough of it to be seen ([`WRAP_SPAN`] and every bounded shape fit).
pub(crate) const FORCED_KEEP: usize = 1024;
/// Once [`FORCED_KEEP`] bytes or more are held, a push scans again only when the held text grew by
/// 1/`RESCAN_STEP` since the last attempt (or passed [`MAX_HOLD`], or the channel ends): a long
/// run without a cut (one token, a PEM block without its END) arriving in 1-byte deltas was
/// scanned whole on every delta (up to 4 KiB per byte of output); now the scans of a held run
/// grow geometrically, so their cost is linear in the output. Releasing later is never unsafe:
/// nothing held is sent before it is scanned, and a `block` found later still sends no byte of
/// the value. Shorter held text (prose, a value being typed) is scanned on every push as before.
pub(crate) const RESCAN_STEP: usize = 8;

/// Compiles `profiles.<name>.output_pii` (`path`). `None` when it is disabled or finds nothing.
/// `hash` and `mask` are refused: they are request-side actions (an output pseudonym would need the
/// pseudonym key on the response path and tells the client nothing).
pub(crate) fn compile(cfg: &PiiConfig, path: &str) -> Result<Option<Redactor>, ConfigError> {
    let refused = |a: Action| matches!(a, Action::Hash | Action::Mask);
    let msg =
        |a: Action| format!("action `{}` is not available on output; use `flag`, `redact` or `block`", a.as_str());
    if let Some((name, a)) = cfg.entities.iter().find(|(_, a)| refused(**a)) {
        return Err(ConfigError::new(format!("{path}.entities.{name}"), msg(*a)));
    }
    if let Some((i, c)) = cfg.custom.iter().enumerate().find(|(_, c)| refused(c.action)) {
        return Err(ConfigError::new(format!("{path}.custom[{i}].action"), msg(c.action)));
    }
    if let Some((i, d)) = cfg.dictionaries.iter().enumerate().find(|(_, d)| refused(d.action)) {
        return Err(ConfigError::new(format!("{path}.dictionaries[{i}].action"), msg(d.action)));
    }
    let r = Redactor::compile(cfg, None, path)?;
    Ok(r.is_active().then_some(r))
}

/// Refuses a profile that masks a credential on the request (`pii`) and blocks or redacts it on
/// output: restore puts back any masked value of the request (the app's system prompt, a tool
/// result, a RAG document included), and restored values are exempt from output inspection, so an
/// end user who asks the model to print `[OPENROUTER_KEY_1]` would get the app's own key back past
/// the output rule (attack round 3, note). `path` is the profile's `output_pii`.
pub(crate) fn refuse_restored_secrets(request: &Redactor, output: &Redactor, path: &str) -> Result<(), ConfigError> {
    let clash = Entity::ALL.iter().find(|e| {
        e.is_secret()
            && request.action(**e) == Action::Mask
            && matches!(output.action(**e), Action::Block | Action::Redact)
    });
    match clash {
        Some(e) => Err(ConfigError::new(
            format!("{path}.entities.{}", e.name()),
            format!(
                "`{}` on output cannot hold for a credential the request side masks (`pii`: `mask`): restore puts \
                 masked values back past output inspection; use `redact` or `block` in `pii` instead of `mask`",
                output.action(*e).as_str()
            ),
        )),
        None => Ok(()),
    }
}

/// After a forced release that cut a finding: bytes to drop until the finding's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swallow {
    /// To the next whitespace (a long token).
    Token,
    /// To the end of a PEM block's `-----END …-----` line.
    Pem,
}

/// The streaming scanner of one text channel. Holds no configuration: each call takes the
/// profile's output [`Redactor`] and the response's [`PiiTally`].
#[derive(Debug, Default)]
pub struct StreamScanner {
    /// The last released original bytes (context for the detectors), starting at a token start.
    ctx: String,
    /// Text received and not released yet.
    held: String,
    /// Ranges of `held` that are restored user values (never flagged nor rewritten).
    held_restored: Vec<Range<usize>>,
    swallow: Option<Swallow>,
    /// Bytes held after the last release attempt (see [`RESCAN_STEP`]).
    tried: usize,
    /// Release attempts (each scans the held text), for the linearity test.
    #[cfg(test)]
    scans: usize,
    /// Most bytes held at once (for measurement).
    pub(crate) max_held: usize,
}

/// Whether finding `d` lies inside one of the restored ranges.
fn in_restored(d: &Detection<'_>, restored: &[Range<usize>]) -> bool {
    restored.iter().any(|r| r.start <= d.start && d.end <= r.end)
}

/// Copies `window[a..b]` to `out`, carrying the restored ranges inside it.
fn copy(window: &str, a: usize, b: usize, restored: &[Range<usize>], out: &mut StageText) {
    if a >= b {
        return;
    }
    let o = out.text.len();
    out.text.push_str(window.get(a..b).unwrap_or(""));
    for r in restored {
        let (s, e) = (r.start.max(a), r.end.min(b));
        if s < e {
            out.restored.push(o + (s - a)..o + (e - a));
        }
    }
}

/// Renders `window[from..to]` into `out` with the findings in `dets` applied: `redact` (and
/// `hash`) become `[NAME]`, `flag` is counted, `block` stops with the entity's name. Findings
/// inside `restored` ranges (the user's own values put back by restore) are left alone; a finding
/// that starts before `from` and runs into the range is applied to its part in the range.
pub(crate) fn render(
    window: &str,
    dets: &[Detection<'_>],
    restored: &[Range<usize>],
    (from, to): (usize, usize),
    tally: &mut PiiTally,
    out: &mut StageText,
) -> Result<(), String> {
    let mut pos = from;
    for d in dets {
        if d.end <= from || d.start >= to || d.end <= d.start || in_restored(d, restored) {
            continue;
        }
        let (s, e) = (d.start.max(pos), d.end.min(to));
        match d.action {
            Action::Off => continue,
            Action::Flag => tally.add(d.entity, Action::Flag.as_str()),
            Action::Block => {
                tally.add(d.entity, Action::Block.as_str());
                return Err(d.entity.to_owned());
            }
            Action::Redact | Action::Hash | Action::Mask => {
                tally.add(d.entity, Action::Redact.as_str());
                copy(window, pos, s, restored, out);
                out.text.push('[');
                out.text.push_str(d.entity);
                out.text.push(']');
                pos = e.max(pos);
            }
        }
    }
    copy(window, pos, to, restored, out);
    Ok(())
}

/// Where a wrappable key prefix starts in `b` outside every finding (ascending): a key that is
/// already complete is not joined with what follows, one that is not may still be.
fn open_wrappables(b: &[u8], dets: &[Detection<'_>]) -> Vec<usize> {
    (0..b.len())
        .filter(|&i| {
            matches!(b.get(i), Some(b's' | b'A' | b'g' | b'x'))
                && WRAPPABLE.iter().any(|p| b.get(i..i + p.len()) == Some(*p))
                && !dets.iter().any(|d| d.start <= i && i < d.end)
        })
        .collect()
}

/// Where `-----BEGIN` starts in `b` (ascending).
fn pem_heads(b: &[u8]) -> Vec<usize> {
    (0..b.len()).filter(|&i| b.get(i) == Some(&b'-') && b.get(i..i + 10) == Some(b"-----BEGIN")).collect()
}

/// Precomputed positions for [`StreamScanner::lookahead`] over one window.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    /// Open wrappable key prefixes.
    wraps: Vec<usize>,
    /// PEM headers.
    heads: Vec<usize>,
}

impl Marks {
    /// The marks of window `b` with its findings `dets`, for the entities `reach` enables.
    pub(crate) fn new(reach: &Reach, b: &[u8], dets: &[Detection<'_>]) -> Self {
        Self {
            wraps: if reach.wrapped_keys { open_wrappables(b, dets) } else { Vec::new() },
            heads: if reach.pem { pem_heads(b) } else { Vec::new() },
        }
    }
}

/// Whether one of the ascending `xs` lies in `from..to`.
fn any_in(xs: &[usize], from: usize, to: usize) -> bool {
    let k = xs.partition_point(|&x| x < from);
    xs.get(k).is_some_and(|&x| x < to)
}

impl StreamScanner {
    /// A scanner with nothing held.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes currently held back.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Bytes that must follow a cut at `w` in `b` before it may be taken (see the module docs).
    pub(crate) fn lookahead(reach: &Reach, b: &[u8], w: usize, marks: &Marks) -> usize {
        let back = |span: usize| b.get(w.saturating_sub(span)..w).unwrap_or(&[]);
        let mut n = MARGIN;
        if reach.digits && back(DIGIT_NEAR).iter().any(u8::is_ascii_digit) {
            n = n.max(DIGIT_SPAN);
        }
        if reach.address && back(ADDRESS_SPAN).iter().any(u8::is_ascii_digit) {
            n = n.max(ADDRESS_SPAN);
        }
        if reach.person {
            n = n.max(PERSON_SPAN);
        }
        if reach.pem && any_in(&marks.heads, w.saturating_sub(PEM_HEAD), w) {
            n = n.max(PEM_HEAD);
        }
        if reach.wrapped_keys && any_in(&marks.wraps, w.saturating_sub(WRAP_REACH), w) {
            n = n.max(WRAP_SPAN);
        }
        if reach.spaced_term > 0 {
            n = n.max(reach.spaced_term + MARGIN);
        }
        if reach.custom {
            n = n.max(CUSTOM_SPAN);
        }
        n
    }

    /// Most bytes a cut of this profile may wait for (the largest [`lookahead`](Self::lookahead)).
    pub fn bound(reach: &Reach) -> usize {
        let on = |yes: bool, n: usize| if yes { n } else { 0 };
        [
            MARGIN,
            on(reach.digits, DIGIT_SPAN),
            on(reach.address, ADDRESS_SPAN),
            on(reach.person, PERSON_SPAN),
            on(reach.pem, PEM_HEAD),
            on(reach.wrapped_keys, WRAP_SPAN),
            on(reach.spaced_term > 0, reach.spaced_term + MARGIN),
            on(reach.custom, CUSTOM_SPAN),
        ]
        .into_iter()
        .max()
        .unwrap_or(MARGIN)
    }

    /// Takes the next fragment of the channel (`restored`: ranges of it that are restored user
    /// values); appends what may be passed on now to `out`. `Err(entity)`: a `block` finding.
    pub(crate) fn push(
        &mut self,
        r: &Redactor,
        fragment: &str,
        restored: &[Range<usize>],
        tally: &mut PiiTally,
        out: &mut StageText,
    ) -> Result<(), String> {
        let base = self.held.len();
        self.held.push_str(fragment);
        self.held_restored.extend(restored.iter().map(|x| base + x.start..base + x.end));
        self.drop_swallowed();
        let n = self.held.len();
        if (FORCED_KEEP..=MAX_HOLD).contains(&n) && n < self.tried.saturating_add(self.tried / RESCAN_STEP) {
            self.max_held = self.max_held.max(n);
            return Ok(());
        }
        let mut result = self.release(r, false, tally, out);
        // A forced cut moved back to a finding's start: the next one starts at that finding.
        for _ in 0..2 {
            if result.is_err() || self.swallow.is_some() || self.held.len() <= MAX_HOLD {
                break;
            }
            result = self.release(r, false, tally, out);
        }
        self.tried = self.held.len();
        self.max_held = self.max_held.max(self.held.len());
        result
    }

    /// [`push`](Self::push) for plain text (no restored ranges): the text released now.
    pub fn push_text(&mut self, r: &Redactor, fragment: &str, tally: &mut PiiTally) -> Result<String, String> {
        let mut out = StageText::default();
        self.push(r, fragment, &[], tally, &mut out).map(|()| out.text)
    }

    /// [`finish`](Self::finish) for plain text: everything still held.
    pub fn finish_text(&mut self, r: &Redactor, tally: &mut PiiTally) -> Result<String, String> {
        let mut out = StageText::default();
        self.finish(r, tally, &mut out).map(|()| out.text)
    }

    /// The channel ended: appends everything held to `out`.
    pub(crate) fn finish(&mut self, r: &Redactor, tally: &mut PiiTally, out: &mut StageText) -> Result<(), String> {
        self.drop_swallowed();
        self.release(r, true, tally, out)
    }

    /// Drops the first `n` held bytes (and their restored ranges).
    fn drop_front(&mut self, n: usize) {
        self.held.replace_range(..n, "");
        self.held_restored.retain(|x| x.end > n);
        for x in &mut self.held_restored {
            *x = x.start.saturating_sub(n)..x.end - n;
        }
    }

    /// After a forced release inside a finding: drops held bytes up to the finding's end.
    fn drop_swallowed(&mut self) {
        let Some(kind) = self.swallow else { return };
        let end = match kind {
            Swallow::Token => self.held.find(|c: char| c.is_ascii_whitespace()),
            Swallow::Pem => self.held.find("-----END").and_then(|j| {
                let from = j + 8;
                self.held.get(from..).and_then(|rest| rest.find("-----")).map(|k| from + k + 5)
            }),
        };
        match end {
            Some(e) => {
                self.drop_front(e);
                self.swallow = None;
            }
            None => {
                // Keep a PEM block's last bytes: `-----END` may arrive split.
                let keep = if kind == Swallow::Pem { 16 } else { 0 };
                let mut cut = self.held.len().saturating_sub(keep);
                while !self.held.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.drop_front(cut);
            }
        }
    }

    /// Finds the latest safe cut (or takes all of it when `last`, or when over [`MAX_HOLD`]) and
    /// releases the text before it.
    fn release(&mut self, r: &Redactor, last: bool, tally: &mut PiiTally, out: &mut StageText) -> Result<(), String> {
        #[cfg(test)]
        {
            self.scans += 1;
        }
        if self.swallow.is_some() {
            if last {
                // The channel ended inside a swallowed finding: nothing of it is passed on.
                self.held.clear();
                self.held_restored.clear();
            }
            return Ok(());
        }
        if self.held.is_empty() {
            return Ok(());
        }
        let base = self.ctx.len();
        let window: String = [self.ctx.as_str(), self.held.as_str()].concat();
        let restored: Vec<Range<usize>> = self.held_restored.iter().map(|x| base + x.start..base + x.end).collect();
        let mut dets = r.detect(&window);
        let folded = super::markup::findings(r, &window);
        if !folded.is_empty() {
            super::markup::merge(&mut dets, folded);
        }
        dets.retain(|d| !in_restored(d, &restored));
        let over = !last && self.held.len() > MAX_HOLD;
        let early = if over { self.forced_cut(&window, &dets) } else { None };
        let forced = over && early.is_none();
        let cut =
            if last || forced { Some(self.held.len()) } else { early.or_else(|| self.safe_cut(r, &window, &dets)) };
        let Some(c) = cut.filter(|&c| c > 0) else { return Ok(()) };
        let w = base + c;
        if let Err(entity) = render(&window, &dets, &restored, (base, w), tally, out) {
            self.held.clear();
            self.held_restored.clear();
            return Err(entity);
        }
        if forced {
            // A finding running to the forced end continues in bytes not received yet.
            let running = dets.iter().find(|d| d.end >= w && d.start < w && d.action != Action::Flag);
            if let Some(d) = running {
                self.swallow = Some(if d.entity == "PRIVATE_KEY" { Swallow::Pem } else { Swallow::Token });
            }
        }
        self.set_context(&window, w);
        self.drop_front(c);
        self.drop_swallowed();
        Ok(())
    }

    /// The cut of a channel holding more than [`MAX_HOLD`] bytes: [`FORCED_KEEP`] bytes before the
    /// end (at the last whitespace before that when there is one), so a value starting before it
    /// has arrived whole or is already long enough to be seen; moved back to the start of a
    /// finding across it, or on to its end when it started before the held text. `None`: a finding
    /// running from before the held text to its end (released up to the end, the rest swallowed).
    fn forced_cut(&self, window: &str, dets: &[Detection<'_>]) -> Option<usize> {
        let base = self.ctx.len();
        let n = self.held.len();
        let mut c = n.saturating_sub(FORCED_KEEP);
        while c > 0 && !self.held.is_char_boundary(c) {
            c -= 1;
        }
        let held = self.held.as_bytes();
        if let Some(j) = held.get(..c).and_then(|h| h.iter().rposition(u8::is_ascii_whitespace)) {
            c = j + 1;
        }
        // Each step moves the cut back to a finding's start or on past every finding across it.
        for _ in 0..dets.len() + 2 {
            let w = base + c;
            let across = || dets.iter().filter(|d| d.start < w && w < d.end);
            let Some(first) = across().map(|d| d.start).min() else {
                return (c > 0 && window.is_char_boundary(w)).then_some(c);
            };
            if first > base {
                c = first - base;
                continue;
            }
            let end = across().map(|d| d.end).max().unwrap_or(w);
            if end >= base + n {
                return None;
            }
            c = end - base;
        }
        None
    }

    /// The latest cut in `held` (right after ASCII whitespace, outside restored values) with
    /// enough bytes after it and no finding across it.
    fn safe_cut(&self, r: &Redactor, window: &str, dets: &[Detection<'_>]) -> Option<usize> {
        let reach = r.reach();
        let b = window.as_bytes();
        let base = self.ctx.len();
        let held = self.held.as_bytes();
        let n = held.len();
        let bound = Self::bound(&reach);
        let marks = Marks::new(&reach, b, dets);
        let mut c = n.saturating_sub(MARGIN);
        while c > 0 {
            let ws = held.get(c - 1).is_some_and(u8::is_ascii_whitespace);
            if ws && !self.held_restored.iter().any(|x| x.start < c && c < x.end) {
                let w = base + c;
                let enough = n - c >= bound || n - c >= Self::lookahead(&reach, b, w, &marks);
                if enough && !dets.iter().any(|d| d.start < w && d.end > w) {
                    return Some(c);
                }
            }
            c -= 1;
        }
        None
    }

    /// Keeps the last [`CONTEXT_BYTES`] original bytes before `w`; when that starts inside a token,
    /// from the next whitespace on (half a token could read as something it is not).
    fn set_context(&mut self, window: &str, w: usize) {
        let b = window.as_bytes();
        let mut s = w.saturating_sub(CONTEXT_BYTES);
        let mid_token = s > 0 && !b.get(s - 1).is_some_and(u8::is_ascii_whitespace);
        if mid_token {
            if let Some(j) = b.get(s..w).and_then(|x| x.iter().position(u8::is_ascii_whitespace)) {
                s += j + 1;
            }
        }
        while s < w && !window.is_char_boundary(s) {
            s += 1;
        }
        self.ctx = window.get(s..w).map(str::to_owned).unwrap_or_default();
    }
}

#[cfg(test)]
/// The whole-text reference of a stream: what [`StreamScanner`] releases over all fragments.
pub(crate) fn render_whole(r: &Redactor, text: &str, tally: &mut PiiTally) -> Result<String, String> {
    let dets = r.detect(text);
    let mut out = StageText::default();
    render(text, &dets, &[], (0, text.len()), tally, &mut out)?;
    Ok(out.text)
}

#[cfg(test)]
#[path = "outscan_tests.rs"]
mod tests;
