//! Events that *start* a channel with text (attack round 3, findings 3 and 4).
//!
//! The SDKs begin a block or part with the text of its start event and append the deltas to it:
//! the Anthropic SDK takes `content_block_start.content_block` (`text`, `thinking`) as the block,
//! openai-python's Responses stream takes `response.output_item.added`'s item (its `content[k]`
//! parts, `summary[k]`, a function call's `arguments`) and appends `response.content_part.added`'s
//! `part` / `response.reasoning_summary_part.added`'s `part`. So that text is the channel's first
//! piece, not a whole string of its own (scanned alone, a key split between it and the first delta
//! reached the client joined).
//!
//! A start event is not a delta event: if a channel holds text when the stream ends it right
//! after its start, that text goes out in a delta event built for the channel ([`delta_event`]),
//! never in a copy of the start event (a client would open the block a second time).

use super::channel_index;
use super::stage::{Channel, ChannelKind};
use super::stream_end;
use crate::core::json::{Kind, Node};

/// A start string of an event: its channel and node.
pub(crate) type Start<'n, 'a> = (Channel, &'n Node<'a>);

fn str_of<'n, 'a>(node: Option<&'n Node<'a>>) -> Option<&'n Node<'a>> {
    node.filter(|n| matches!(n.kind, Kind::Str(_)))
}

/// The text field and kind of a `/responses` content part (`output_text`, `refusal`,
/// `reasoning_text`, `summary_text`); `reasoning`: the part belongs to a reasoning item.
fn part_field(part: &Node<'_>, reasoning: bool) -> Option<(&'static str, ChannelKind)> {
    match part.get("type").and_then(Node::as_str).as_deref() {
        Some("refusal") => Some(("refusal", ChannelKind::Refusal)),
        Some("reasoning_text" | "summary_text") => Some(("text", ChannelKind::Reasoning)),
        Some("output_text") if !reasoning => Some(("text", ChannelKind::Content)),
        _ => None,
    }
}

/// Whether `root` (one event's data) is a start event.
pub(crate) fn is_start(root: &Node<'_>) -> bool {
    matches!(
        root.get("type").and_then(Node::as_str).as_deref(),
        Some(
            "content_block_start"
                | "response.output_item.added"
                | "response.content_part.added"
                | "response.reasoning_summary_part.added"
        )
    )
}

/// The start strings of `root` (see the module docs). `None`: an index no client reads as a small
/// integer.
pub(crate) fn starts<'n, 'a>(root: &'n Node<'a>, out: &mut Vec<Start<'n, 'a>>) -> Option<()> {
    let ty = root.get("type").and_then(Node::as_str);
    match ty.as_deref() {
        Some("content_block_start") => {
            let slot = channel_index::index_of(root.get("index"), 0)?;
            let Some(block) = root.get("content_block") else { return Some(()) };
            for (key, kind) in [("text", ChannelKind::Content), ("thinking", ChannelKind::Reasoning)] {
                if let Some(n) = str_of(block.get(key)) {
                    out.push((Channel { slot, kind, part: 0 }, n));
                }
            }
        }
        Some("response.content_part.added" | "response.reasoning_summary_part.added") => {
            let slot = channel_index::index_of(root.get("output_index"), 0)?;
            let part = stream_end::responses_part(root)?;
            let Some(p) = root.get("part") else { return Some(()) };
            let summary = ty.as_deref() == Some("response.reasoning_summary_part.added");
            if let Some((field, kind)) = part_field(p, summary) {
                if let Some(n) = str_of(p.get(field)) {
                    out.push((Channel { slot, kind, part }, n));
                }
            }
        }
        Some("response.output_item.added") => {
            let slot = channel_index::index_of(root.get("output_index"), 0)?;
            let Some(item) = root.get("item") else { return Some(()) };
            let item_type = item.get("type").and_then(Node::as_str);
            let reasoning = item_type.as_deref() == Some("reasoning");
            if item_type.as_deref() == Some("function_call") {
                if let Some(n) = str_of(item.get("arguments")) {
                    out.push((Channel { slot, kind: ChannelKind::ToolArguments, part: 0 }, n));
                }
            }
            for (key, summary) in [("content", false), ("summary", true)] {
                let Some(Kind::Array(parts)) = item.get(key).map(|n| &n.kind) else { continue };
                for (k, p) in parts.iter().enumerate() {
                    let Some((field, kind)) = part_field(p, reasoning) else { continue };
                    let Some(n) = str_of(p.get(field)) else { continue };
                    let k = channel_index::index_of(None, k)?;
                    let part = if summary { stream_end::summary_part(k) } else { k };
                    out.push((Channel { slot, kind, part }, n));
                }
            }
        }
        _ => {}
    }
    Some(())
}

/// A delta event carrying `ch`'s text, for a channel whose last event was the start event `root`:
/// (the event's non-data lines, its data JSON with an empty string where the text goes, the offset
/// of that `""`). `fields` are the start event's: an `event:` line names the delta event instead.
pub(crate) fn delta_event(ch: Channel, root: &Node<'_>, data: &[u8], fields: &[u8]) -> (Vec<u8>, Vec<u8>, usize) {
    let messages = root.get("type").and_then(Node::as_str).as_deref() == Some("content_block_start");
    let mut d = Vec::new();
    let ty = if messages {
        let (delta, key) = match ch.kind {
            ChannelKind::Reasoning => ("thinking_delta", "thinking"),
            _ => ("text_delta", "text"),
        };
        d.extend_from_slice(format!(r#"{{"type":"content_block_delta","index":{},"delta":{{"type":"{delta}","{key}":"#, ch.slot).as_bytes());
        "content_block_delta"
    } else {
        let ty = match ch.kind {
            ChannelKind::Refusal => "response.refusal.delta",
            ChannelKind::ToolArguments => "response.function_call_arguments.delta",
            ChannelKind::Reasoning if stream_end::is_summary_part(ch.part) => "response.reasoning_summary_text.delta",
            ChannelKind::Reasoning => "response.reasoning_text.delta",
            _ => "response.output_text.delta",
        };
        d.extend_from_slice(format!(r#"{{"type":"{ty}","#).as_bytes());
        let id = root.get("item_id").or_else(|| root.get("item").and_then(|i| i.get("id")));
        if let Some(id) = str_of(id) {
            d.extend_from_slice(b"\"item_id\":");
            d.extend_from_slice(data.get(id.start..id.end).unwrap_or(b"\"\""));
            d.push(b',');
        }
        d.extend_from_slice(format!(r#""output_index":{},"#, ch.slot).as_bytes());
        if stream_end::is_summary_part(ch.part) {
            d.extend_from_slice(format!(r#""summary_index":{},"#, stream_end::summary_index(ch.part)).as_bytes());
        } else if ch.kind != ChannelKind::ToolArguments {
            d.extend_from_slice(format!(r#""content_index":{},"#, ch.part).as_bytes());
        }
        d.extend_from_slice(br#""delta":"#);
        ty
    };
    let hole = d.len();
    d.extend_from_slice(b"\"\"");
    if messages {
        d.extend_from_slice(b"}");
    }
    d.extend_from_slice(b"}");
    let named = fields.split(|&b| b == b'\n' || b == b'\r').any(|l| l.starts_with(b"event:"));
    let f = if named { format!("event: {ty}\n").into_bytes() } else { Vec::new() };
    (f, d, hole)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json;

    fn of(src: &str) -> Vec<(Channel, String)> {
        let root = json::parse(src.as_bytes(), 16).unwrap();
        let mut out = Vec::new();
        starts(&root, &mut out).unwrap();
        out.into_iter().map(|(c, n)| (c, n.as_str().unwrap().into_owned())).collect()
    }

    const fn ch(slot: u32, kind: ChannelKind, part: u32) -> Channel {
        Channel { slot, kind, part }
    }

    #[test]
    fn start_events_open_the_channel_their_deltas_continue() {
        let block = r#"{"type":"content_block_start","index":2,"content_block":{"type":"text","text":"Key: sk"}}"#;
        assert_eq!(of(block), vec![(ch(2, ChannelKind::Content, 0), "Key: sk".into())]);
        let thinking = r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"t","signature":""}}"#;
        assert_eq!(of(thinking), vec![(ch(0, ChannelKind::Reasoning, 0), "t".into())]);
        let part = r#"{"type":"response.content_part.added","item_id":"m","output_index":1,"content_index":3,"part":{"type":"output_text","text":"a","annotations":[]}}"#;
        assert_eq!(of(part), vec![(ch(1, ChannelKind::Content, 3), "a".into())]);
        let refusal = r#"{"type":"response.content_part.added","output_index":0,"content_index":0,"part":{"type":"refusal","refusal":"no"}}"#;
        assert_eq!(of(refusal), vec![(ch(0, ChannelKind::Refusal, 0), "no".into())]);
        let summary = r#"{"type":"response.reasoning_summary_part.added","output_index":0,"summary_index":1,"part":{"type":"summary_text","text":"s"}}"#;
        assert_eq!(of(summary), vec![(ch(0, ChannelKind::Reasoning, stream_end::summary_part(1)), "s".into())]);
        let item = r#"{"type":"response.output_item.added","output_index":4,"item":{"type":"message","id":"m","content":[{"type":"output_text","text":"x"},{"type":"refusal","refusal":"y"}]}}"#;
        assert_eq!(
            of(item),
            vec![(ch(4, ChannelKind::Content, 0), "x".into()), (ch(4, ChannelKind::Refusal, 1), "y".into())]
        );
        let call = r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc","name":"f","arguments":"{\"a"}}"#;
        assert_eq!(of(call), vec![(ch(0, ChannelKind::ToolArguments, 0), "{\"a".into())]);
        let reasoning = r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"reasoning","summary":[{"type":"summary_text","text":"s"}]}}"#;
        assert_eq!(of(reasoning), vec![(ch(0, ChannelKind::Reasoning, stream_end::summary_part(0)), "s".into())]);
        assert!(of(r#"{"type":"content_block_delta","index":0,"delta":{"text":"x"}}"#).is_empty());
        assert!(is_start(&json::parse(block.as_bytes(), 8).unwrap()));
    }

    #[test]
    fn the_extra_event_of_a_started_channel_is_a_delta_event() {
        let src = r#"{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}"#;
        let root = json::parse(src.as_bytes(), 8).unwrap();
        let (f, d, hole) = delta_event(ch(2, ChannelKind::Content, 0), &root, src.as_bytes(), b"event: content_block_start\n");
        assert_eq!(f, b"event: content_block_delta\n");
        assert_eq!(
            std::str::from_utf8(&d).unwrap(),
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":""}}"#
        );
        assert_eq!(d.get(hole..hole + 2), Some(&b"\"\""[..]));
        let src = r#"{"type":"response.content_part.added","item_id":"msg_\"1","output_index":0,"content_index":1,"part":{"type":"output_text","text":""}}"#;
        let root = json::parse(src.as_bytes(), 8).unwrap();
        let (f, d, hole) = delta_event(ch(0, ChannelKind::Content, 1), &root, src.as_bytes(), b"");
        assert!(f.is_empty());
        assert_eq!(
            std::str::from_utf8(&d).unwrap(),
            r#"{"type":"response.output_text.delta","item_id":"msg_\"1","output_index":0,"content_index":1,"delta":""}"#
        );
        assert!(json::parse(&d, 8).is_ok());
        assert_eq!(d.get(hole..hole + 2), Some(&b"\"\""[..]));
        let summary = ch(0, ChannelKind::Reasoning, stream_end::summary_part(3));
        let (_, d, _) = delta_event(summary, &root, src.as_bytes(), b"");
        assert!(std::str::from_utf8(&d).unwrap().contains(r#""summary_index":3,"delta":"#));
    }
}
