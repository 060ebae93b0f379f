//! The text-stage interface of the response rewriting pipeline.
//!
//! The pipeline ([`super::rewrite`]) reads a response body (one JSON document, or an SSE stream
//! chunk by chunk), finds its *text channels* and passes each channel's text, piece by piece, through
//! an ordered list of [`TextStage`]s; what the last stage emits is re-encoded into valid bytes.
//!
//! - Stage 1: restore of `mask` pseudonyms (`[EMAIL_1]` → the user's value), [`super::restore`].
//! - Stage 2: output inspection (flag / redact / block what the model wrote).
//!
//! A channel is one stream of text the client reads as a whole: a choice's `content`, its
//! `reasoning`, one tool call's `arguments`, a `/responses` output part, a `/messages` content block.
//! A string of a non-streaming body (or a non-delta string inside an event, such as the full text of
//! `response.output_text.done`) is a channel of its own, pushed once and finished at once.
//!
//! Contract for a stage:
//! - `push` receives the next piece of one channel's text and appends to `out` what may be emitted
//!   now; it may hold back a bounded tail (at most [`TextStage::max_holdback`] bytes per channel)
//!   and must emit it on a later `push` or on `finish`. Text is never reordered between channels.
//! - `restored` lists byte ranges of `input` that stage 1 put there (the user's own values): a
//!   later stage must not flag or rewrite them, and must report the ranges it emits in
//!   `out.restored` (shifted to `out.text` coordinates) so stages further on know them too.
//! - `finish` ends one channel: everything held for it is emitted; the stage forgets the channel.
//! - A [`StageSignal::Block`] ends the response: non-streaming bodies are replaced by a 502
//!   OpenAI-shaped error, streams end with an SSE error event and `[DONE]`; nothing the stage held
//!   back is emitted.
//! - Stages never log or keep text beyond their holdback, and report counts only ([`TextStage::record`]).

use std::ops::Range;

use crate::core::audit::AuditRecord;

/// What kind of text a channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ChannelKind {
    /// Answer text: `choices[].delta.content` / `message.content`, `/responses` `output_text`,
    /// `/messages` `text`.
    Content,
    /// Reasoning text: `reasoning`, `reasoning_content`, `/messages` `thinking`, `/responses`
    /// reasoning deltas.
    Reasoning,
    /// A refusal message.
    Refusal,
    /// One tool call's `arguments` (or `/messages` `partial_json`): JSON source text; a
    /// replacement inside it must be escaped as JSON string content.
    ToolArguments,
    /// One whole string (a non-streaming body's string, a non-delta string of an event).
    Whole,
}

/// One text channel of a response: `slot` is the choice / output / content-block index, `part`
/// the tool call index or content part (0 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Channel {
    /// Choice index (chat), `output_index` (`/responses`), content block `index` (`/messages`).
    pub(crate) slot: u32,
    /// What the text is.
    pub(crate) kind: ChannelKind,
    /// Tool call index, or `content_index` (`/responses`); 0 otherwise.
    pub(crate) part: u32,
}

/// The `slot` of a whole string inside a stream's event (not a delta): a copy of text the stream
/// already sent in deltas (`/responses` repeats its answer in `response.output_text.done`,
/// `content_part.done`, `output_item.done` and `response.completed`). Rewritten like any text,
/// not counted again by restore.
pub(crate) const STREAM_COPY_SLOT: u32 = u32::MAX - 1;

impl Channel {
    /// Whether the channel is a whole string inside a stream's event ([`STREAM_COPY_SLOT`]).
    pub(crate) fn is_stream_copy(self) -> bool {
        self.slot == STREAM_COPY_SLOT
    }

    /// Whether the channel's text is JSON source (tool-call arguments).
    pub(crate) fn is_json_source(self) -> bool {
        self.kind == ChannelKind::ToolArguments
    }
}

/// Text a stage emits, with the byte ranges of it that are restored user values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct StageText {
    /// Emitted text (appended to).
    pub(crate) text: String,
    /// Ranges of `text` holding restored values (sorted, non-overlapping).
    pub(crate) restored: Vec<Range<usize>>,
}

impl StageText {
    /// Appends plain text.
    pub(crate) fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Appends a restored value and records its range.
    pub(crate) fn push_restored(&mut self, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        if !s.is_empty() {
            self.restored.push(start..self.text.len());
        }
    }

    /// Empties the buffer, keeping its capacity.
    #[cfg(test)]
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.restored.clear();
    }
}

/// What a stage asks of the pipeline after a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StageSignal {
    /// Go on.
    Continue,
    /// End the response now (the stage found something its profile blocks). `entity` names the
    /// entity type for the audit record and the error message; never a value.
    Block {
        /// Entity type name, e.g. `OPENAI_KEY`.
        entity: String,
    },
}

/// One stage of the text pipeline (see the module documentation for the contract).
pub(crate) trait TextStage {
    /// Takes the next piece of `channel`'s text; appends what may be emitted now to `out`.
    fn push(&mut self, channel: Channel, input: &str, restored: &[Range<usize>], out: &mut StageText) -> StageSignal;

    /// Ends `channel`: appends everything still held for it to `out` and forgets it.
    fn finish(&mut self, channel: Channel, out: &mut StageText) -> StageSignal;

    /// The most bytes this stage holds back on one channel between calls.
    #[allow(dead_code, reason = "the documented bound; tests check it")]
    fn max_holdback(&self) -> usize;

    /// Adds what the stage counted (never values) to the audit record, once, when the response ends.
    fn record(&self, _audit: &mut AuditRecord) {}

    /// Whether token renderings of the text (`logprobs`) must be dropped from the answer: they
    /// cannot be edited like the text they shadow ([`super::logprobs`]).
    fn strips_logprobs(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restored_ranges_are_recorded_in_output_coordinates() {
        let mut t = StageText::default();
        t.push_str("to ");
        t.push_restored("a@b.co");
        t.push_str(".");
        assert_eq!(t.text, "to a@b.co.");
        assert_eq!(t.restored, vec![3..9]);
        t.clear();
        assert!(t.text.is_empty() && t.restored.is_empty());
    }
}
