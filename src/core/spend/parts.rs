//! The content parts of every endpoint the cost guard bounds, by type: text parts cost their
//! bytes; an image given by reference (URL, `file_id`) costs at most its model's image allowance
//! (`spend.prices[].image_tokens`, [`super::price::DEFAULT_IMAGE_TOKENS`] by default); a file,
//! document, audio or video given by reference has no bound; a part type the filter does not
//! know has no known bound either. Both unbounded cases fail closed (`403 cost_unbounded`).
//!
//! Where parts are (docs/spend.md):
//! - `/chat/completions`: `messages[].content[]`;
//! - `/messages` (Anthropic): `system[]`, `messages[].content[]`, and `tool_result.content[]`;
//! - `/responses`: `input[]` items and `input[].content[]` (`output[]` of a function call output);
//! - `/completions`, `/embeddings`, `/rerank`: strings only (no parts).

use crate::core::endpoint::Endpoint;
use crate::core::json::{Kind, Node};
use crate::core::worst::Unknown;

/// Part types that are images (chat, Responses, Anthropic).
const IMAGE_PARTS: [&str; 3] = ["image_url", "input_image", "image"];
/// Part types whose content given by reference has no token bound (chat, Responses, Anthropic).
const MEDIA_PARTS: [&str; 8] =
    ["file", "input_file", "document", "input_audio", "audio_url", "video_url", "input_video", "container_upload"];

/// Part types of `messages[].content[]` in the chat shape.
const CHAT_PARTS: [&str; 7] = ["text", "image_url", "file", "input_audio", "audio_url", "video_url", "refusal"];
/// Block types of `/messages` content (`system[]` holds text blocks only, checked the same way).
const MESSAGES_PARTS: [&str; 9] = [
    "text",
    "image",
    "document",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
    "search_result",
    "server_tool_use",
];
/// Item types of `/responses` `input[]` (an item without `type` but with `role` is a message).
const RESPONSES_ITEMS: [&str; 4] = ["message", "function_call", "function_call_output", "reasoning"];
/// Part types of a `/responses` message's `content[]`.
const RESPONSES_PARTS: [&str; 7] =
    ["input_text", "input_image", "input_file", "input_audio", "input_video", "output_text", "refusal"];

/// The number of images given by reference in the body; `Err` when a part has no token bound
/// (media by reference, or a part type `endpoint` does not know).
pub(crate) fn images(endpoint: Endpoint, root: &Node<'_>) -> Result<u64, Unknown> {
    known_parts(endpoint, root)?;
    let mut n = 0u64;
    media(root, &mut n)?;
    Ok(n)
}

/// Checks that every part at a part position of `endpoint` has a known type.
fn known_parts(endpoint: Endpoint, root: &Node<'_>) -> Result<(), Unknown> {
    match endpoint {
        Endpoint::ChatCompletions => each(root.get("messages"), |m| parts(m.get("content"), &CHAT_PARTS)),
        Endpoint::Messages => {
            parts(root.get("system"), &["text"])?;
            each(root.get("messages"), |m| {
                parts(m.get("content"), &MESSAGES_PARTS)?;
                each(m.get("content"), |b| parts(b.get("content"), &MESSAGES_PARTS))
            })
        }
        Endpoint::Responses => each(root.get("input"), |item| {
            let kind = item.get("type").and_then(Node::as_str);
            match kind.as_deref() {
                None if item.get("role").is_some() => {}
                Some(k) if RESPONSES_ITEMS.contains(&k) => {}
                _ => return Err(Unknown::PartType),
            }
            parts(item.get("content"), &RESPONSES_PARTS)?;
            parts(item.get("output"), &RESPONSES_PARTS)
        }),
        _ => Ok(()),
    }
}

/// Runs `f` on each element of an array (nothing for a string, null or absent value).
fn each(list: Option<&Node<'_>>, f: impl FnMut(&Node<'_>) -> Result<(), Unknown>) -> Result<(), Unknown> {
    match list.map(|n| &n.kind) {
        Some(Kind::Array(items)) => items.iter().try_for_each(f),
        _ => Ok(()),
    }
}

/// Checks that a content value (a string, or an array of typed parts) holds only `known` types.
fn parts(content: Option<&Node<'_>>, known: &[&str]) -> Result<(), Unknown> {
    each(content, |p| match p.get("type").and_then(Node::as_str) {
        Some(k) if known.contains(&k.as_ref()) => Ok(()),
        _ => Err(Unknown::PartType),
    })
}

/// Counts images given by reference anywhere in the body and refuses other media given by
/// reference. A part is an object whose `type` names it. Depth is bounded by the parser.
fn media(node: &Node<'_>, images: &mut u64) -> Result<(), Unknown> {
    match &node.kind {
        Kind::Object(members) => {
            if let Some(k) = node.get("type").and_then(Node::as_str) {
                let referenced = by_reference(node);
                if referenced && MEDIA_PARTS.contains(&k.as_ref()) {
                    return Err(Unknown::RemoteMedia);
                }
                if referenced && IMAGE_PARTS.contains(&k.as_ref()) {
                    *images = images.saturating_add(1);
                    return Ok(());
                }
            }
            members.iter().try_for_each(|m| media(&m.value, images))
        }
        Kind::Array(items) => items.iter().try_for_each(|n| media(n, images)),
        _ => Ok(()),
    }
}

/// Whether content under `node` is given by reference: a string URL other than `data:`, or a
/// `file_id` (an uploaded file of any size).
fn by_reference(node: &Node<'_>) -> bool {
    match &node.kind {
        Kind::Str(s) => {
            let v = s.decode();
            let v = v.trim_start().to_ascii_lowercase();
            v.contains("://") && !v.starts_with("data:")
        }
        Kind::Object(members) => {
            members.iter().any(|m| m.key == "file_id" || (m.key != "type" && by_reference(&m.value)))
        }
        Kind::Array(items) => items.iter().any(by_reference),
        _ => false,
    }
}
