//! Output inspection (`profiles.<name>.output_pii`): what the model sends back is scanned with the
//! same engine as requests ([`Redactor`]); per finding the action is `flag` (counted only),
//! `redact` (rewritten in place as `[EMAIL]`) or `block` (the response is withheld, or the stream
//! ended with an error event).
//!
//! - Non-streaming JSON: [`inspect_json`] walks every string of the body like a request body.
//! - Streams: one [`StreamScanner`] per text channel (a choice's `content`, its `reasoning`, one
//!   tool call's `arguments`, …). Text fragments arrive in order; the scanner releases text that can
//!   no longer be part of a finding and holds back a bounded tail.
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
//! | always (a detector reads up to 2 bytes past a value) | [`MARGIN`] = 8 |
//! | a digit within [`DIGIT_SPAN`] bytes (PHONE, US_SSN, CREDIT_CARD, IBAN: ≤ 24 groups joined by ≤ 3 separator bytes; the rules keep at most 19 digits of them) | [`DIGIT_SPAN`] = 96 |
//! | a digit within [`ADDRESS_SPAN`] (ADDRESS on: number, ≤ 4 street words, type, unit, city, ZIP) | [`ADDRESS_SPAN`] = 160 |
//! | PERSON on (cue + ≤ 3 capitalised words) | [`PERSON_SPAN`] = 96 |
//! | `-----BEGIN` within [`PEM_HEAD`] bytes (the header must close within 80 bytes) | [`PEM_HEAD`] = 96 |
//! | a wrappable key prefix (`sk-or-v1-`, `AIza`, …) within [`WRAP_REACH`] bytes (≤ 3 more pieces of ≤ 200 bytes after a 1–2 byte break) | [`WRAP_SPAN`] = 610 |
//! | a dictionary term with a space | its length + [`MARGIN`] |
//! | custom patterns configured | [`CUSTOM_SPAN`] = 256 |
//!
//! A finding that is already detected across a cut (a PEM block without its END runs to the end of
//! the text) also keeps the cut back. The engine reads up to 128 bytes *before* a value (context
//! words such as "ssn", "secret", an AWS key id): the last [`CONTEXT_BYTES`] released bytes are kept
//! (original text, in memory only) and scanned with the held text, never released again.
//!
//! So the scanner holds at most the lookahead plus the whitespace-free run at the end, and never
//! more than [`MAX_HOLD`] bytes: beyond it (a single token of 4 KiB, a PEM block longer than that)
//! the held text is scanned as if the text ended there and released; a finding running to that end
//! is cut there, and the rest of it (to the next whitespace, or a PEM block's `-----END …-----`)
//! is swallowed into the placeholder already sent.
//!
//! With the cuts placed like this, what a stream releases is what [`render`] produces on the whole
//! text (tests: a value split at every byte position, and random splits of mixed text).
//! Known limits: a table whose header row lies more than [`CONTEXT_BYTES`] before a value; custom
//! patterns that span whitespace over more than [`CUSTOM_SPAN`] bytes; redaction is one pass over
//! the engine's findings (no re-scan of placeholder neighbours, unlike request bodies).

use crate::core::config::ConfigError;
use crate::core::edit;
use crate::core::json;
use crate::core::pii::detectors::secrets::WRAPPABLE;
use crate::core::pii::{Action, Detection, PiiConfig, PiiTally, Reach, Redactor};
use crate::core::walk::Walker;

/// Bytes after a cut needed in any case.
pub const MARGIN: usize = 8;
/// Reach of a digit cluster value that contains whitespace.
pub const DIGIT_SPAN: usize = 96;
/// Reach of an ADDRESS.
pub const ADDRESS_SPAN: usize = 160;
/// Reach of a PERSON after its cue.
pub const PERSON_SPAN: usize = 96;
/// Reach of a PEM header (`-----BEGIN … PRIVATE KEY-----`).
pub const PEM_HEAD: usize = 96;
/// How far before a cut a wrappable key prefix matters (a 200-byte first piece and its breaks).
pub const WRAP_REACH: usize = 810;
/// Bytes a wrapped key may continue after a cut (3 pieces of 200 bytes, each after a 1–2 byte break).
pub const WRAP_SPAN: usize = 610;
/// Reach of a custom pattern across whitespace.
pub const CUSTOM_SPAN: usize = 256;
/// Released bytes kept as context for the next scans.
pub const CONTEXT_BYTES: usize = 160;
/// Most bytes ever held back.
pub const MAX_HOLD: usize = 4096;

/// Compiles `profiles.<name>.output_pii` (`path`). `None` when it is disabled or finds nothing.
/// `hash` is refused: an output pseudonym would need the pseudonym key on the response path and
/// says nothing the client can use.
pub fn compile(cfg: &PiiConfig, path: &str) -> Result<Option<Redactor>, ConfigError> {
    const MSG: &str = "action `hash` is not available on output; use `flag`, `redact` or `block`";
    if let Some((name, _)) = cfg.entities.iter().find(|(_, a)| **a == Action::Hash) {
        return Err(ConfigError::new(format!("{path}.entities.{name}"), MSG));
    }
    if let Some(i) = cfg.custom.iter().position(|c| c.action == Action::Hash) {
        return Err(ConfigError::new(format!("{path}.custom[{i}].action"), MSG));
    }
    if let Some(i) = cfg.dictionaries.iter().position(|d| d.action == Action::Hash) {
        return Err(ConfigError::new(format!("{path}.dictionaries[{i}].action"), MSG));
    }
    let r = Redactor::compile(cfg, None, path)?;
    Ok(r.is_active().then_some(r))
}

/// What [`inspect_json`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonOutcome {
    /// Nothing to change (no finding, or `flag` only).
    Unchanged,
    /// The body with findings redacted.
    Rewritten(Vec<u8>),
    /// A `block` finding of this entity.
    Blocked(String),
    /// Not JSON the filter can read: withhold it (fail closed).
    Unreadable,
}

/// Scans every string value and key of a non-streaming JSON response (tool-call `arguments`
/// included), counting findings in `tally`.
pub fn inspect_json(r: &Redactor, body: &[u8], max_depth: u32, tally: &mut PiiTally) -> JsonOutcome {
    let Ok(root) = json::parse(body, max_depth) else { return JsonOutcome::Unreadable };
    let mut walker = Walker::new(r, tally, max_depth);
    walker.walk_body(&root);
    let edits = walker.edits;
    if let Some(e) = &tally.blocked {
        return JsonOutcome::Blocked(e.clone());
    }
    if edits.is_empty() {
        return JsonOutcome::Unchanged;
    }
    match edit::apply(body, edits) {
        Ok(b) => JsonOutcome::Rewritten(b),
        Err(_) => JsonOutcome::Unreadable,
    }
}

/// What one [`StreamScanner`] call released.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// Text to pass on (findings already rewritten).
    pub text: String,
    /// Set once a `block` finding was confirmed: pass nothing more of this response.
    pub blocked: Option<String>,
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
/// profile's output [`Redactor`].
#[derive(Debug, Default)]
pub struct StreamScanner {
    /// The last released original bytes (context for the detectors), starting at a token start.
    ctx: String,
    /// Text received and not released yet.
    held: String,
    swallow: Option<Swallow>,
    blocked: Option<String>,
    /// Findings released so far, per entity and action.
    pub tally: PiiTally,
    /// Most bytes held at once (for measurement).
    pub max_held: usize,
}

/// Renders `window[from..to]` with the findings in `dets` applied: `redact` (and `hash`) become
/// `[NAME]`, `flag` is counted, `block` stops with the entity's name. A finding that starts
/// before `from` and runs into the range is applied to its part in the range.
pub fn render(
    window: &str,
    dets: &[Detection<'_>],
    from: usize,
    to: usize,
    tally: &mut PiiTally,
) -> Result<String, String> {
    let mut out = String::with_capacity(to.saturating_sub(from));
    let mut pos = from;
    for d in dets {
        if d.end <= from || d.start >= to || d.end <= d.start {
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
            Action::Redact | Action::Hash => {
                tally.add(d.entity, Action::Redact.as_str());
                out.push_str(window.get(pos..s).unwrap_or(""));
                out.push('[');
                out.push_str(d.entity);
                out.push(']');
                pos = e.max(pos);
            }
        }
    }
    out.push_str(window.get(pos..to).unwrap_or(""));
    Ok(out)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
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
    pub fn lookahead(reach: &Reach, b: &[u8], w: usize) -> usize {
        let back = |span: usize| b.get(w.saturating_sub(span)..w).unwrap_or(&[]);
        let mut n = MARGIN;
        if reach.digits && back(DIGIT_SPAN).iter().any(u8::is_ascii_digit) {
            n = n.max(DIGIT_SPAN);
        }
        if reach.address && back(ADDRESS_SPAN).iter().any(u8::is_ascii_digit) {
            n = n.max(ADDRESS_SPAN);
        }
        if reach.person {
            n = n.max(PERSON_SPAN);
        }
        if reach.pem && contains(back(PEM_HEAD), b"-----BEGIN") {
            n = n.max(PEM_HEAD);
        }
        if reach.wrapped_keys && WRAPPABLE.iter().any(|p| contains(back(WRAP_REACH), p)) {
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
        let mut n = MARGIN.max(if reach.digits { DIGIT_SPAN } else { 0 });
        if reach.address {
            n = n.max(ADDRESS_SPAN);
        }
        if reach.person {
            n = n.max(PERSON_SPAN);
        }
        if reach.pem {
            n = n.max(PEM_HEAD);
        }
        if reach.wrapped_keys {
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

    /// Takes the next fragment of the channel; returns what may be passed on now.
    pub fn push(&mut self, r: &Redactor, fragment: &str) -> Step {
        if self.blocked.is_some() {
            return self.stopped();
        }
        self.held.push_str(fragment);
        self.drop_swallowed();
        let step = self.release(r, false);
        self.max_held = self.max_held.max(self.held.len());
        step
    }

    /// The channel ended: releases everything held.
    pub fn finish(&mut self, r: &Redactor) -> Step {
        if self.blocked.is_some() {
            return self.stopped();
        }
        self.drop_swallowed();
        self.release(r, true)
    }

    fn stopped(&self) -> Step {
        Step { text: String::new(), blocked: self.blocked.clone() }
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
                self.held.replace_range(..e, "");
                self.swallow = None;
            }
            None => {
                // Keep a PEM block's last bytes: `-----END` may arrive split.
                let keep = if kind == Swallow::Pem { 16 } else { 0 };
                let mut cut = self.held.len().saturating_sub(keep);
                while !self.held.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.held.replace_range(..cut, "");
            }
        }
    }

    /// Finds the latest safe cut (or all of it when `last`, or when over [`MAX_HOLD`]) and
    /// releases the text before it.
    fn release(&mut self, r: &Redactor, last: bool) -> Step {
        if self.held.is_empty() || self.swallow.is_some() && !last {
            return Step::default();
        }
        if self.swallow.is_some() {
            // The stream ended inside a swallowed finding: nothing of it is passed on.
            self.held.clear();
            return Step::default();
        }
        let base = self.ctx.len();
        let window: String = [self.ctx.as_str(), self.held.as_str()].concat();
        let dets = r.detect(&window);
        let forced = !last && self.held.len() > MAX_HOLD;
        let cut = if last || forced { Some(self.held.len()) } else { self.safe_cut(r, &window, &dets) };
        let Some(c) = cut.filter(|&c| c > 0) else { return Step::default() };
        let w = base + c;
        let rendered = render(&window, &dets, base, w, &mut self.tally);
        let text = match rendered {
            Ok(t) => t,
            Err(entity) => {
                self.blocked = Some(entity);
                self.held.clear();
                return self.stopped();
            }
        };
        if forced {
            // A finding running to the forced end continues in bytes not received yet.
            let running = dets.iter().find(|d| d.end >= w && d.start < w && d.action != Action::Flag);
            if let Some(d) = running {
                self.swallow = Some(if d.entity == "PRIVATE_KEY" { Swallow::Pem } else { Swallow::Token });
            }
        }
        self.set_context(&window, w);
        self.held.replace_range(..c, "");
        self.drop_swallowed();
        Step { text, blocked: None }
    }

    /// The latest cut in `held` (right after ASCII whitespace) with enough bytes after it and no
    /// finding across it.
    fn safe_cut(&self, r: &Redactor, window: &str, dets: &[Detection<'_>]) -> Option<usize> {
        let reach = r.reach();
        let b = window.as_bytes();
        let base = self.ctx.len();
        let held = self.held.as_bytes();
        let n = held.len();
        let bound = Self::bound(&reach);
        let mut c = n.saturating_sub(MARGIN);
        while c > 0 {
            let ws = held.get(c - 1).is_some_and(u8::is_ascii_whitespace);
            if ws {
                let w = base + c;
                let enough = n - c >= bound || n - c >= Self::lookahead(&reach, b, w);
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

/// The whole-text reference of a stream: what [`StreamScanner`] releases over all fragments.
pub fn render_whole(r: &Redactor, text: &str, tally: &mut PiiTally) -> Result<String, String> {
    let dets = r.detect(text);
    render(text, &dets, 0, text.len(), tally)
}

#[cfg(test)]
#[path = "outscan_tests.rs"]
mod tests;
