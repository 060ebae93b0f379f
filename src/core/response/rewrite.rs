//! The response rewriting pipeline: body bytes in (one JSON document, or an SSE stream chunk by
//! chunk), text channels through the [`TextStage`]s, valid bytes out.
//!
//! **JSON** ([`rewrite_json`]): every string value, object key and long number is a channel of its
//! own (pushed and finished at once, [`super::json_walk`]); a string under `arguments` or `partial_json` is JSON source (tool-call arguments), its
//! escapes canonicalised before the stages ([`super::json_canon`]). Only
//! the strings that change are re-encoded and spliced into the original bytes.
//!
//! **SSE** ([`SseRewriter`]): the stream is cut into events (a blank line ends one; an incomplete
//! event is held until it is complete, at most `max_event` bytes). Comments and events without data
//! pass unchanged. An event's `data` is parsed as JSON and its *delta* strings are pieces of
//! long-lived channels:
//!
//! | API | delta | channel |
//! |---|---|---|
//! | chat | `choices[i].delta.content` / `reasoning` / `reasoning_content` / `refusal` | per choice `index` |
//! | chat | `choices[i].delta.tool_calls[k].function.arguments` | per choice and tool call `index` |
//! | chat | `choices[i].delta.function_call.arguments` (legacy) | per choice |
//! | chat | `choices[i].delta.audio.transcript`, `choices[i].text` (legacy completions), `choices[i].message.content` | per choice |
//! | chat | `choices[i].delta.content[k].text`, `choices[i].delta.reasoning_details[k].text` / `.summary` | per choice and element |
//! | `/responses` | `delta` of an event whose `type` ends in `.delta` | per `output_index`, `content_index` |
//! | `/messages` | `delta.text` / `delta.partial_json` / `delta.thinking` of `content_block_delta` | per block `index` |
//! | both | the text a start event opens a block or part with ([`super::stream_start`]) | the channel its deltas continue |
//!
//! Every other string of an event (`response.output_text.done`'s full `text`, an error message)
//! is a whole channel. A stage may hold the tail of a channel back (a placeholder cut in two, the
//! current word): that text is emitted with the channel's next delta, or, where the stream ends
//! the channel ([`super::stream_end`]: a `finish_reason`, `content_block_stop`, a `/responses`
//! `.done`, `[DONE]`, the end of the body), in that event or in an extra event built from the
//! channel's last event (same fields, only that delta's text). An event without a delta ends
//! nothing: the channel's scanner goes on with its next delta. Text for an ended channel ends the
//! stream as unreadable. So no text is lost or reordered within a channel, and every event stays
//! valid JSON. A channel's last event is kept once per event (its deltas emptied), shared by the
//! channels it carried, at most twice the event bound per stream; one event costs one pass
//! whatever its number of deltas.
//!
//! Every other string under a chat `delta` (a tool call's `id` and `function.name`, `role`, unknown
//! fields) is scanned whole and must come in one piece ([`super::delta_fields`]): a later
//! non-empty piece that differs ends the stream as unreadable. An event with both a
//! `choices` array and a `/messages` or `/responses` `type` is unreadable (two SDKs read it two ways).
//!
//! Under output inspection `logprobs` are dropped ([`super::logprobs`]). Data that is not JSON
//! (other than `[DONE]`) is one whole channel of JSON source text. A [`StageSignal::Block`] ends
//! the response ([`error_tail`] for streams).

use std::collections::BTreeMap;
use std::ops::Range;
use std::rc::Rc;

use super::channel_index;
use super::delta_fields::OnePiece;
use super::json_canon::Canon;
use super::json_walk::walk_whole;
use super::sniff;
use super::sse_frame::{push_data, split_event, Framer};
use super::stream_end;
use super::stream_start;
use super::stage::{Channel, ChannelKind, StageSignal, StageText, TextStage, STREAM_COPY_SLOT};
use crate::core::audit::AuditRecord;
use crate::core::edit::{self, Edit};
use crate::core::json::{self, Kind, Node};
use crate::core::reason::Unreadable;
use crate::core::reply::Rejection;

/// Nesting bound for response JSON.
const MAX_DEPTH: u32 = 64;

/// Most channels of one stream open at once (each keeps its last event as a template): beyond
/// it the stream ends with an error event ([`Unreadable::TooManyChannels`]), so an upstream sending thousands
/// of distinct `choices[].index` values cannot grow memory without bound.
pub(crate) const MAX_OPEN_CHANNELS: usize = 64;

/// Why a body could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RewriteError {
    /// A stage demanded a block (entity type name).
    Blocked(String),
    /// The body could not be read (not JSON, an SSE event over the limit): fail closed.
    Unreadable(Unreadable),
}

/// The ordered text stages of one response.
pub(crate) struct Pipeline {
    stages: Vec<Box<dyn TextStage>>,
    /// Next `part` for a whole-string channel.
    next_whole: u32,
    /// JSON-source channels' canonicalisers (an escape cut across deltas is held here).
    canon: BTreeMap<Channel, Canon>,
    /// The `slot` of whole-string channels: `u32::MAX` in a JSON body, [`STREAM_COPY_SLOT`] in a
    /// stream's events.
    whole_slot: u32,
    /// Token renderings (`logprobs`) are dropped ([`super::logprobs`]).
    strip_logprobs: bool,
}

impl Pipeline {
    /// A pipeline of `stages`, run in order.
    pub(crate) fn new(stages: Vec<Box<dyn TextStage>>) -> Self {
        let strip_logprobs = stages.iter().any(|s| s.strips_logprobs());
        Self { stages, next_whole: 0, canon: BTreeMap::new(), whole_slot: u32::MAX, strip_logprobs }
    }

    /// The most bytes held back on one channel by all stages together.
    #[cfg(test)]
    pub(crate) fn max_holdback(&self) -> usize {
        self.stages.iter().map(|s| s.max_holdback()).sum()
    }

    /// Lets every stage add its counts to the audit record.
    pub(crate) fn record(&self, audit: &mut AuditRecord) {
        self.stages.iter().for_each(|s| s.record(audit));
    }

    /// Pushes `text` of `ch` through every stage.
    fn push(&mut self, ch: Channel, text: &str) -> Result<StageText, RewriteError> {
        let text = if ch.is_json_source() { self.canon.entry(ch).or_default().push(text) } else { text.to_owned() };
        let mut cur = StageText { text, restored: Vec::new() };
        for stage in &mut self.stages {
            let mut out = StageText::default();
            if let StageSignal::Block { entity } = stage.push(ch, &cur.text, &cur.restored, &mut out) {
                return Err(RewriteError::Blocked(entity));
            }
            cur = out;
        }
        if let Some(c) = self.canon.get_mut(&ch) {
            cur.text = c.escape(cur.text);
        }
        Ok(cur)
    }

    /// Ends `ch` in every stage: what stage `i` releases goes through stages `i+1..` first.
    fn finish(&mut self, ch: Channel) -> Result<StageText, RewriteError> {
        let mut canon = self.canon.remove(&ch);
        let held = canon.as_mut().map(Canon::finish).unwrap_or_default();
        let mut carry = StageText { text: held, restored: Vec::new() };
        for stage in &mut self.stages {
            let mut out = StageText::default();
            if !carry.text.is_empty() {
                if let StageSignal::Block { entity } = stage.push(ch, &carry.text, &carry.restored, &mut out) {
                    return Err(RewriteError::Blocked(entity));
                }
            }
            if let StageSignal::Block { entity } = stage.finish(ch, &mut out) {
                return Err(RewriteError::Blocked(entity));
            }
            carry = out;
        }
        if let Some(c) = canon.as_mut() {
            carry.text = c.escape(std::mem::take(&mut carry.text));
        }
        Ok(carry)
    }

    /// One whole string through every stage.
    fn whole(&mut self, text: &str, json_source: bool) -> Result<String, RewriteError> {
        let kind = if json_source { ChannelKind::ToolArguments } else { ChannelKind::Whole };
        let ch = Channel { slot: self.whole_slot, kind, part: self.next_whole };
        self.next_whole = self.next_whole.wrapping_add(1);
        let mut out = self.push(ch, text)?;
        let tail = self.finish(ch)?;
        out.text.push_str(&tail.text);
        Ok(out.text)
    }
}

/// Sorts skip ranges by their start (one instantiation for every caller).
fn sort_ranges(ranges: &mut [Range<usize>]) {
    ranges.sort_unstable_by_key(|r| r.start);
}

/// The edits dropping `root`'s token renderings when the pipeline strips them, and their spans.
fn strip_logprobs(root: &Node<'_>, p: &Pipeline, edits: &mut Vec<Edit>, skip: &mut Vec<Range<usize>>) {
    if p.strip_logprobs {
        super::logprobs::strip(root, edits, skip);
    }
}

/// Rewrites a whole JSON body; `None` when nothing changed.
pub(crate) fn rewrite_json(body: &[u8], p: &mut Pipeline) -> Result<Option<Vec<u8>>, RewriteError> {
    let root = json::parse(body, MAX_DEPTH).map_err(|_| RewriteError::Unreadable(Unreadable::BadJson))?;
    let (mut edits, mut skip) = (Vec::new(), Vec::new());
    strip_logprobs(&root, p, &mut edits, &mut skip);
    sort_ranges(&mut skip);
    walk_whole(&root, false, &skip, &mut |t: &str, j: bool| p.whole(t, j), &mut edits)?;
    if edits.is_empty() {
        return Ok(None);
    }
    edit::apply(body, edits).map(Some).map_err(|_| RewriteError::Unreadable(Unreadable::EditConflict))
}

/// Rewrites a body that is neither JSON nor SSE (a plain-text error page) as one whole text
/// channel; `None` when nothing changed.
pub(crate) fn rewrite_text(body: &[u8], p: &mut Pipeline) -> Result<Option<Vec<u8>>, RewriteError> {
    let text = std::str::from_utf8(body).map_err(|_| RewriteError::Unreadable(Unreadable::NotUtf8))?;
    let out = p.whole(text, false)?;
    Ok((out != text).then(|| out.into_bytes()))
}

/// The channel index of the element `node` names ([`channel_index::index_of`]); an index no client
/// reads as a small integer cannot be placed: unreadable.
fn index_of(node: Option<&Node<'_>>, fallback: usize) -> Result<u32, RewriteError> {
    channel_index::index_of(node, fallback).ok_or(RewriteError::Unreadable(Unreadable::BadIndex))
}

fn str_node<'n, 'a>(node: Option<&'n Node<'a>>) -> Option<&'n Node<'a>> {
    node.filter(|n| matches!(n.kind, Kind::Str(_)))
}

/// Channel parts of chat text outside the plain delta fields (each array field gets `PART_SPAN` parts).
const PART_CHOICE_TEXT: u32 = 1 << 20;
const PART_MESSAGE: u32 = PART_CHOICE_TEXT + 1;
const PART_AUDIO: u32 = PART_CHOICE_TEXT + 2;
const PART_SPAN: u32 = 1 << 16;
const PART_CONTENT_PARTS: u32 = 2 << 20;
const PART_DETAILS_TEXT: u32 = 3 << 20;
const PART_DETAILS_SUMMARY: u32 = 4 << 20;
/// The legacy `delta.function_call.arguments` (above every tool call `index`).
const PART_FUNCTION_CALL: u32 = channel_index::MAX_INDEX + 1;

/// Whether an event `type` is a `/messages` or `/responses` one: such an event that also has a
/// `choices` array is read one way by one SDK and another way by the other (attack round 3,
/// finding 8): unreadable.
fn other_api_type(ty: &str) -> bool {
    ty.starts_with("content_block_") || ty.starts_with("message_") || ty.starts_with("response.")
}

/// The delta strings of one event's JSON (see the module table). `Err`: an index a client could
/// read as another channel's ([`index_of`]).
fn deltas<'n, 'a>(root: &'n Node<'a>, pieces: &mut OnePiece) -> Result<Vec<(Channel, &'n Node<'a>)>, RewriteError> {
    let mut out = Vec::new();
    if let Some(Kind::Array(choices)) = root.get("choices").map(|n| &n.kind) {
        if root.get("type").and_then(Node::as_str).is_some_and(|t| other_api_type(&t)) {
            return Err(RewriteError::Unreadable(Unreadable::AmbiguousEvent));
        }
        for (pos, c) in choices.iter().enumerate() {
            let slot = index_of(c.get("index"), pos)?;
            if let Some(delta) = c.get("delta") {
                pieces.check(slot, delta).map_err(RewriteError::Unreadable)?;
            }
            // Text a streaming client accumulates outside `delta` (legacy completions' `text`, a whole
            // `message` inside a stream) is a channel too: scanned across events, not one event at a time.
            if let Some(n) = str_node(c.get("text")) {
                out.push((Channel { slot, kind: ChannelKind::Content, part: PART_CHOICE_TEXT }, n));
            }
            if let Some(n) = str_node(c.get("message").and_then(|m| m.get("content"))) {
                out.push((Channel { slot, kind: ChannelKind::Content, part: PART_MESSAGE }, n));
            }
            let Some(delta) = c.get("delta") else { continue };
            let text_fields = [
                ("content", ChannelKind::Content, 0),
                ("reasoning", ChannelKind::Reasoning, 0),
                ("reasoning_content", ChannelKind::Reasoning, 1),
                ("refusal", ChannelKind::Refusal, 0),
            ];
            for (key, kind, part) in text_fields {
                if let Some(n) = str_node(delta.get(key)) {
                    out.push((Channel { slot, kind, part }, n));
                }
            }
            if let Some(n) = str_node(delta.get("audio").and_then(|a| a.get("transcript"))) {
                out.push((Channel { slot, kind: ChannelKind::Content, part: PART_AUDIO }, n));
            }
            // `content` as an array of parts, and OpenRouter's `reasoning_details` (text and summary items):
            // one channel per element position.
            let arrays = [
                ("content", "text", ChannelKind::Content, PART_CONTENT_PARTS),
                ("reasoning_details", "text", ChannelKind::Reasoning, PART_DETAILS_TEXT),
                ("reasoning_details", "summary", ChannelKind::Reasoning, PART_DETAILS_SUMMARY),
            ];
            for (key, field, kind, base) in arrays {
                if let Some(Kind::Array(items)) = delta.get(key).map(|n| &n.kind) {
                    for (k, item) in items.iter().enumerate() {
                        if let Some(n) = str_node(item.get(field)) {
                            let part = base.saturating_add(index_of(item.get("index"), k)?.min(PART_SPAN - 1));
                            out.push((Channel { slot, kind, part }, n));
                        }
                    }
                }
            }
            if let Some(n) = str_node(delta.get("function_call").and_then(|f| f.get("arguments"))) {
                out.push((Channel { slot, kind: ChannelKind::ToolArguments, part: PART_FUNCTION_CALL }, n));
            }
            if let Some(Kind::Array(calls)) = delta.get("tool_calls").map(|n| &n.kind) {
                for (k, call) in calls.iter().enumerate() {
                    if let Some(n) = str_node(call.get("function").and_then(|f| f.get("arguments"))) {
                        let part = index_of(call.get("index"), k)?;
                        out.push((Channel { slot, kind: ChannelKind::ToolArguments, part }, n));
                    }
                }
            }
        }
        return Ok(out);
    }
    stream_start::starts(root, &mut out).ok_or(RewriteError::Unreadable(Unreadable::BadIndex))?;
    let ty = root.get("type").and_then(Node::as_str);
    let Some(ty) = ty else { return Ok(out) };
    if ty == "content_block_delta" {
        let slot = index_of(root.get("index"), 0)?;
        let Some(delta) = root.get("delta") else { return Ok(out) };
        for (key, kind) in [
            ("text", ChannelKind::Content),
            ("partial_json", ChannelKind::ToolArguments),
            ("thinking", ChannelKind::Reasoning),
        ] {
            if let Some(n) = str_node(delta.get(key)) {
                out.push((Channel { slot, kind, part: 0 }, n));
            }
        }
    } else if ty.ends_with(".delta") {
        if let Some(n) = str_node(root.get("delta")) {
            let slot = index_of(root.get("output_index"), 0)?;
            let part = stream_end::responses_part(root).ok_or(RewriteError::Unreadable(Unreadable::BadIndex))?;
            out.push((Channel { slot, kind: stream_end::responses_kind(&ty), part }, n));
        }
    }
    Ok(out)
}

/// One event's data with every delta emptied (`""`) and its other strings rewritten, shared by
/// the channels whose last delta it carried (one copy per event, not per channel: attack round 3,
/// finding 12).
struct Shape {
    /// The event's non-data lines, each with its line end.
    fields: Vec<u8>,
    /// The data JSON.
    data: Vec<u8>,
}

/// A channel's last event: where, in its [`Shape`], the channel's `""` is.
struct Template {
    shape: Rc<Shape>,
    /// Offset of the channel's empty string literal in `shape.data`.
    hole: usize,
}

/// `data` with `edits` applied and every delta span of `found` replaced by `""`; with the offset
/// of the `""` of each delta `keep` names (at most [`MAX_OPEN_CHANNELS`]). Linear in the event.
fn shape(
    data: &[u8],
    edits: &[Edit],
    found: &[(Channel, &Node<'_>)],
    keep: &[(Channel, usize)],
) -> Result<(Vec<u8>, Vec<usize>), RewriteError> {
    let empty = |n: &Node<'_>| Edit { start: n.start, end: n.end, bytes: b"\"\"".to_vec() };
    let all: Vec<Edit> = edits.iter().cloned().chain(found.iter().map(|(_, n)| empty(n))).collect();
    // Where a hole lands: its start moved by what every edit before it added or removed.
    let at = |start: usize| {
        all.iter().filter(|e| e.end <= start && e.start < start).fold(start, |p, e| {
            p.saturating_add(e.bytes.len()).saturating_sub(e.end.saturating_sub(e.start))
        })
    };
    let holes = keep.iter().map(|(_, i)| found.get(*i).map(|(_, n)| at(n.start))).collect::<Option<Vec<_>>>();
    let holes = holes.ok_or(RewriteError::Unreadable(Unreadable::EditConflict))?;
    let t = edit::apply(data, all).map_err(|_| RewriteError::Unreadable(Unreadable::EditConflict))?;
    Ok((t, holes))
}

/// Most channels a stream may have finished (each is remembered so that text after its end fails
/// closed, [`stream_end`]).
const MAX_FINISHED_CHANNELS: usize = 4096;

/// Incremental SSE rewriter for one response.
pub(crate) struct SseRewriter {
    pipeline: Pipeline,
    /// Bytes of the event being received (not yet complete).
    buf: Vec<u8>,
    /// How far `buf` has been looked at for the event's end.
    framer: Framer,
    max_event: usize,
    /// Channels that have seen a delta and not been finished, with their last event.
    open: BTreeMap<Channel, Template>,
    /// Channels the stream ended ([`stream_end`]), sorted: more text on one is unreadable.
    finished: Vec<Channel>,
    /// The first piece of each non-channel delta string ([`OnePiece`]).
    pieces: OnePiece,
}

/// The bytes that end a stream a stage blocked (or that could not be read): `r`'s OpenAI-shaped
/// error as an event, then `[DONE]`.
pub(crate) fn error_tail(r: &Rejection) -> Vec<u8> {
    let mut out = b"data: ".to_vec();
    out.extend_from_slice(&r.body());
    out.extend_from_slice(b"\n\ndata: [DONE]\n\n");
    out
}

impl SseRewriter {
    /// A rewriter with `pipeline`, holding incomplete events of at most `max_event` bytes.
    pub(crate) fn new(mut pipeline: Pipeline, max_event: usize) -> Self {
        pipeline.whole_slot = STREAM_COPY_SLOT;
        Self {
            pipeline,
            buf: Vec::new(),
            framer: Framer::default(),
            max_event,
            open: BTreeMap::new(),
            finished: Vec::new(),
            pieces: OnePiece::default(),
        }
    }

    /// The pipeline (for its counts).
    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Gives the pipeline back (the stream ended early).
    pub(crate) fn into_pipeline(self) -> Pipeline {
        self.pipeline
    }

    /// Bytes of an incomplete event held now.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.buf.len()
    }

    fn is_finished(&self, ch: &Channel) -> bool {
        self.finished.binary_search(ch).is_ok()
    }

    /// Remembers that `ch` ended.
    fn finish_channel(&mut self, ch: Channel) {
        if let Err(k) = self.finished.binary_search(&ch) {
            self.finished.insert(k, ch);
        }
    }

    /// Bytes the open channels' templates keep (each shared event counted once).
    pub(crate) fn template_bytes(&self) -> usize {
        let mut seen: Vec<&Rc<Shape>> = Vec::new();
        for t in self.open.values() {
            if !seen.iter().any(|s| Rc::ptr_eq(s, &t.shape)) {
                seen.push(&t.shape);
            }
        }
        seen.iter().map(|s| s.fields.len() + s.data.len()).sum()
    }

    /// Takes the next chunk; returns the bytes to send on now.
    pub(crate) fn on_chunk(&mut self, chunk: &[u8]) -> Result<Vec<u8>, RewriteError> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(chunk.len() + 64);
        let mut start = 0usize;
        while let Some(end) = self.framer.next_end(&self.buf) {
            let raw = self.buf.get(start..end).unwrap_or(&[]).to_vec();
            self.event(&raw, &mut out)?;
            start = end;
        }
        self.buf.drain(..start);
        self.framer.shift(start);
        if self.buf.len() > self.max_event {
            return Err(RewriteError::Unreadable(Unreadable::EventTooLarge));
        }
        Ok(out)
    }

    /// The stream ended: a last event without its blank line, then every open channel's held text.
    pub(crate) fn finish(&mut self) -> Result<Vec<u8>, RewriteError> {
        let mut out = Vec::new();
        let rest = std::mem::take(&mut self.buf);
        self.framer = Framer::default();
        if !rest.is_empty() {
            let mut raw = rest;
            raw.extend_from_slice(b"\n\n");
            self.event(&raw, &mut out)?;
        }
        self.flush_where(&mut out, |_| true)?;
        Ok(out)
    }

    /// Ends the open channels `pick` selects: what each still holds goes out in an event shaped
    /// like its last one (same fields, only that text in its delta).
    fn flush_where(&mut self, out: &mut Vec<u8>, pick: impl Fn(&Channel) -> bool) -> Result<(), RewriteError> {
        let (open, keep): (BTreeMap<_, _>, BTreeMap<_, _>) =
            std::mem::take(&mut self.open).into_iter().partition(|(c, _)| pick(c));
        self.open = keep;
        for (ch, t) in open {
            self.finish_channel(ch);
            let tail = self.pipeline.finish(ch)?;
            if tail.text.is_empty() {
                continue;
            }
            out.extend_from_slice(&t.shape.fields);
            let mut json = t.shape.data.get(..t.hole).unwrap_or(&[]).to_vec();
            json::write_json_string(&tail.text, &mut json);
            json.extend_from_slice(t.shape.data.get(t.hole.saturating_add(2)..).unwrap_or(&[]));
            push_data(&json, out);
            out.push(b'\n');
        }
        Ok(())
    }

    /// An event's lines other than `data` (comments, `event:`, `id:`, unknown fields: what a
    /// client reading the raw text sees) as one whole text channel; `None` when unchanged.
    fn scan_fields(&mut self, fields: &[u8]) -> Result<Option<Vec<u8>>, RewriteError> {
        if fields.is_empty() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(fields);
        let new = self.pipeline.whole(&text, false)?;
        Ok((new != text).then(|| new.into_bytes()))
    }

    fn event(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<(), RewriteError> {
        let (data, fields, has_data) = split_event(raw);
        let scanned = self.scan_fields(&fields)?;
        if !has_data {
            match scanned {
                Some(new) => {
                    out.extend_from_slice(&new);
                    out.push(b'\n');
                }
                None => out.extend_from_slice(raw),
            }
            return Ok(());
        }
        let changed_fields = scanned.is_some();
        let fields = scanned.unwrap_or(fields);
        if data.as_slice() == b"[DONE]" {
            self.flush_where(out, |_| true)?;
            out.extend_from_slice(raw);
            return Ok(());
        }
        let Ok(root) = json::parse(&data, MAX_DEPTH) else {
            if sniff::starts_json(&data) == Some(true) {
                // Looks like JSON but does not parse strictly (a duplicate key, a lone surrogate
                // escape, nesting over the bound): a lenient client may still read it, and its
                // channels join the ones before. Fail closed.
                return Err(RewriteError::Unreadable(Unreadable::BadEventJson));
            }
            // Not JSON: one whole channel of JSON-ish source text. Open channels stay open.
            let text = String::from_utf8_lossy(&data);
            let new = self.pipeline.whole(&text, true)?;
            out.extend_from_slice(&fields);
            push_data(new.as_bytes(), out);
            out.push(b'\n');
            return Ok(());
        };
        let found = deltas(&root, &mut self.pieces)?;
        let ends = stream_end::ends(&root).ok_or(RewriteError::Unreadable(Unreadable::BadIndex))?;
        // Each channel of this event with its last delta (where its template's hole goes, where it ends).
        let mut last: Vec<(Channel, usize)> = Vec::new();
        for (i, (c, _)) in found.iter().enumerate() {
            let full = last.len() >= MAX_OPEN_CHANNELS;
            match last.iter_mut().find(|(l, _)| l == c) {
                Some(l) => l.1 = i,
                None if full => return Err(RewriteError::Unreadable(Unreadable::TooManyChannels)),
                None => last.push((*c, i)),
            }
        }
        let here = |c: &Channel| last.iter().any(|(l, _)| l == c);
        // A channel this event ends without a delta in it: what it holds goes out first.
        self.flush_where(out, |c| ends.covers(c) && !here(c))?;
        let mut edits = Vec::new();
        let mut skip: Vec<Range<usize>> = found.iter().map(|(_, n)| n.start..n.end).collect();
        strip_logprobs(&root, &self.pipeline, &mut edits, &mut skip);
        sort_ranges(&mut skip);
        let pipeline = &mut self.pipeline;
        walk_whole(&root, false, &skip, &mut |t: &str, j: bool| pipeline.whole(t, j), &mut edits)?;
        let mut texts = Vec::new();
        for (i, (ch, node)) in found.iter().enumerate() {
            let text = node.as_str().unwrap_or_default();
            if self.is_finished(ch) {
                if text.is_empty() {
                    continue;
                }
                // A client appends this to what the channel released already, scanned apart: fail closed.
                return Err(RewriteError::Unreadable(Unreadable::TextAfterEnd));
            }
            let mut emitted = self.pipeline.push(*ch, &text)?;
            if ends.covers(ch) && last.iter().any(|(l, j)| l == ch && *j == i) {
                // The channel ends here: what it still holds goes out in this very event.
                emitted.text.push_str(&self.pipeline.finish(*ch)?.text);
            }
            if emitted.text != text {
                texts.push(Edit { start: node.start, end: node.end, bytes: json::json_string(&emitted.text).into_bytes() });
            }
        }
        for (ch, _) in last.iter().filter(|(c, _)| ends.covers(c)) {
            self.open.remove(ch);
            self.finish_channel(*ch);
        }
        if self.finished.len() > MAX_FINISHED_CHANNELS {
            return Err(RewriteError::Unreadable(Unreadable::TooManyChannels));
        }
        let keep: Vec<(Channel, usize)> = last.into_iter().filter(|(c, _)| !self.is_finished(c)).collect();
        if !keep.is_empty() {
            let new = keep.iter().filter(|(c, _)| !self.open.contains_key(c)).count();
            if self.open.len() + new > MAX_OPEN_CHANNELS {
                return Err(RewriteError::Unreadable(Unreadable::TooManyChannels));
            }
            if stream_start::is_start(&root) {
                // Held text of a channel that ends right after its start goes out in a delta event.
                for (ch, _) in keep {
                    let (fields, data, hole) = stream_start::delta_event(ch, &root, &data, &fields);
                    self.open.insert(ch, Template { shape: Rc::new(Shape { fields, data }), hole });
                }
            } else {
                let (t_data, at) = shape(&data, &edits, &found, &keep)?;
                let shape = Rc::new(Shape { fields: fields.clone(), data: t_data });
                for ((ch, _), hole) in keep.into_iter().zip(at) {
                    self.open.insert(ch, Template { shape: Rc::clone(&shape), hole });
                }
            }
            if self.template_bytes() > self.max_event.saturating_mul(2) {
                // Templates of big events on many channels: bounded per stream, not per channel.
                return Err(RewriteError::Unreadable(Unreadable::TemplatesTooLarge));
            }
        }
        edits.extend(texts);
        if edits.is_empty() && !changed_fields {
            out.extend_from_slice(raw);
            return Ok(());
        }
        let new = edit::apply(&data, edits).map_err(|_| RewriteError::Unreadable(Unreadable::EditConflict))?;
        out.extend_from_slice(&fields);
        push_data(&new, out);
        out.push(b'\n');
        Ok(())
    }
}

#[cfg(test)]
#[path = "rewrite_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "rewrite_stream_tests.rs"]
mod stream_tests;
