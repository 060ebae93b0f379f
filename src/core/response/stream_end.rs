//! Where a stream says a channel ends (attack round 3, findings 1 and 2).
//!
//! A channel's scanner is finished (its held text released whole, its state forgotten) only where
//! the stream itself ends the text a client accumulates: a chat choice's `finish_reason`, a
//! `/messages` `content_block_stop` (that block) or `message_stop`, a `/responses` `.done` event
//! (the channel its `.delta` names; `output_item.done`: the whole output item) or its terminal
//! event, and `[DONE]` / the end of the body. Any other event without a delta (a `content: null`
//! chunk, an encrypted reasoning item, an annotation, usage, a ping) finishes nothing: held text
//! waits for the channel's next delta. Clients keep appending to a channel whatever came before,
//! so a finished channel that receives text again ends the stream as unreadable (fail closed)
//! rather than being scanned apart from what it already released.

use super::channel_index;
use super::stage::{Channel, ChannelKind};
use crate::core::json::{Kind, Node};

/// The channels an event ends.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) enum Ends {
    /// None.
    #[default]
    Nothing,
    /// Every channel of these slots (chat choices, `/messages` blocks, `/responses` output items).
    Slots(Vec<u32>),
    /// This one channel.
    One(Channel),
    /// Every channel.
    All,
}

impl Ends {
    /// Whether the event ends `ch`.
    pub(crate) fn covers(&self, ch: &Channel) -> bool {
        match self {
            Ends::Nothing => false,
            Ends::Slots(s) => s.contains(&ch.slot),
            Ends::One(c) => c == ch,
            Ends::All => !ch.is_stream_copy(),
        }
    }
}

fn index(node: Option<&Node<'_>>) -> Option<u32> {
    channel_index::index_of(node, 0)
}

/// The kind of text a `/responses` event type names (`response.<x>.delta` / `.done`).
pub(crate) fn responses_kind(ty: &str) -> ChannelKind {
    if ty.contains("arguments") {
        ChannelKind::ToolArguments
    } else if ty.contains("reasoning") {
        ChannelKind::Reasoning
    } else if ty.contains("refusal") {
        ChannelKind::Refusal
    } else {
        ChannelKind::Content
    }
}

/// Channel part of a `/responses` event: its `content_index`, or its `summary_index` moved past
/// every content index (a reasoning item's summary and its text are two things a client keeps).
/// `None`: an index no client reads as a small integer.
pub(crate) fn responses_part(root: &Node<'_>) -> Option<u32> {
    match root.get("content_index") {
        Some(n) if !matches!(n.kind, Kind::Null) => index(Some(n)),
        _ => match root.get("summary_index") {
            Some(n) if !matches!(n.kind, Kind::Null) => Some(summary_part(index(Some(n))?)),
            _ => Some(0),
        },
    }
}

/// Marks a `summary_index` part (above [`channel_index::MAX_INDEX`]).
const SUMMARY_PART: u32 = 1 << 30;

/// The channel part of `summary_index` `k`.
pub(crate) fn summary_part(k: u32) -> u32 {
    k | SUMMARY_PART
}

/// Whether a channel part is a `summary_index` one.
pub(crate) fn is_summary_part(part: u32) -> bool {
    part & SUMMARY_PART != 0
}

/// The `summary_index` of a [`summary_part`].
pub(crate) fn summary_index(part: u32) -> u32 {
    part & !SUMMARY_PART
}

/// What `root` (one event's data) ends; `None`: an index no client reads as a small integer.
pub(crate) fn ends(root: &Node<'_>) -> Option<Ends> {
    if let Some(Kind::Array(choices)) = root.get("choices").map(|n| &n.kind) {
        let mut slots = Vec::new();
        for (pos, c) in choices.iter().enumerate() {
            let reason = c.get("finish_reason").and_then(Node::as_str);
            if reason.is_some_and(|r| !r.is_empty()) {
                slots.push(channel_index::index_of(c.get("index"), pos)?);
            }
        }
        return Some(if slots.is_empty() { Ends::Nothing } else { Ends::Slots(slots) });
    }
    let Some(ty) = root.get("type").and_then(Node::as_str) else { return Some(Ends::Nothing) };
    Some(match ty.as_ref() {
        "content_block_stop" => Ends::Slots(vec![index(root.get("index"))?]),
        "message_stop" | "response.completed" | "response.incomplete" | "response.failed" => Ends::All,
        "response.output_item.done" => Ends::Slots(vec![index(root.get("output_index"))?]),
        t if t.starts_with("response.") && t.ends_with(".done") && root.get("output_index").is_some() => {
            let slot = index(root.get("output_index"))?;
            Ends::One(Channel { slot, kind: responses_kind(t), part: responses_part(root)? })
        }
        _ => Ends::Nothing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json;

    fn of(src: &str) -> Ends {
        ends(&json::parse(src.as_bytes(), 16).unwrap()).unwrap()
    }

    #[test]
    fn only_the_stream_s_own_end_markers_end_channels() {
        assert_eq!(of(r#"{"choices":[{"index":2,"delta":{},"finish_reason":"stop"}]}"#), Ends::Slots(vec![2]));
        for src in [
            r#"{"choices":[{"index":0,"delta":{"content":null},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":""}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":1}}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"response.output_text.annotation.added","output_index":0,"content_index":0}"#,
            r#"{}"#,
        ] {
            assert_eq!(of(src), Ends::Nothing, "{src}");
        }
        assert_eq!(of(r#"{"type":"content_block_stop","index":1}"#), Ends::Slots(vec![1]));
        assert_eq!(of(r#"{"type":"message_stop"}"#), Ends::All);
        let done = of(r#"{"type":"response.output_text.done","output_index":1,"content_index":2,"text":"x"}"#);
        assert_eq!(done, Ends::One(Channel { slot: 1, kind: ChannelKind::Content, part: 2 }));
        let summary = of(r#"{"type":"response.reasoning_summary_text.done","output_index":0,"summary_index":0}"#);
        assert_eq!(summary, Ends::One(Channel { slot: 0, kind: ChannelKind::Reasoning, part: SUMMARY_PART }));
        assert!(!Ends::All.covers(&Channel { slot: super::super::stage::STREAM_COPY_SLOT, kind: ChannelKind::Whole, part: 0 }));
    }
}
