//! The whole strings, object keys and long numbers of a JSON answer (or of a stream event outside
//! its delta strings) through a whole-string rewriter (the response pipeline's), as byte edits
//! over the original text.
//!
//! A client hands a JSON answer's structured values to code: a `/messages` `tool_use` block's
//! `input` object, a `/responses` item, anything a provider adds. So, as on the request side
//! ([`crate::core::walk`]), every string value, every object key and every number of seven or
//! more digits (after the names of the two keys above it, so cue words count) is a whole channel.
//! A changed key is renamed; keys that would collide in their object are numbered
//! (`[EMAIL]#2`, [`keynames`]); a changed number becomes a JSON string.

use std::ops::Range;

use crate::core::edit::Edit;
use crate::core::json::{self, Kind, Member, Node};
use crate::core::keynames;
use crate::core::walk::{number_context, number_value, Keys, NO_KEYS};

/// Keys whose string value is JSON source text.
pub(super) fn is_json_source_key(key: &str) -> bool {
    key == "arguments" || key == "partial_json"
}

/// Rewrites one whole string: `(text, json_source)` to the text to send.
pub(super) type Whole<'p, E> = dyn FnMut(&str, bool) -> Result<String, E> + 'p;

/// Whether `at` lies in one of the sorted, disjoint `ranges`.
fn within(ranges: &[Range<usize>], at: usize) -> bool {
    let k = ranges.partition_point(|r| r.start <= at);
    k > 0 && ranges.get(k - 1).is_some_and(|r| at < r.end)
}

/// Collects edits for every string value, key and long number under `node` except the values
/// inside `skip` (sorted, disjoint ranges: delta strings, stripped token renderings), each
/// rewritten by `p`.
pub(super) fn walk_whole<E>(
    node: &Node<'_>,
    json_source: bool,
    skip: &[Range<usize>],
    p: &mut Whole<'_, E>,
    edits: &mut Vec<Edit>,
) -> Result<(), E> {
    walk(node, json_source, skip, NO_KEYS, p, edits)
}

fn walk<E>(
    node: &Node<'_>,
    json_source: bool,
    skip: &[Range<usize>],
    keys: Keys<'_>,
    p: &mut Whole<'_, E>,
    edits: &mut Vec<Edit>,
) -> Result<(), E> {
    if within(skip, node.start) {
        return Ok(());
    }
    match &node.kind {
        Kind::Str(s) => {
            let text = s.decode();
            let out = p(&text, json_source)?;
            if out != text {
                edits.push(Edit { start: node.start, end: node.end, bytes: json::json_string(&out).into_bytes() });
            }
        }
        Kind::Array(items) => {
            for n in items {
                walk(n, false, skip, keys, p, edits)?;
            }
        }
        Kind::Object(members) => {
            walk_keys(members, p, edits)?;
            for m in members {
                walk(&m.value, is_json_source_key(&m.key), skip, [keys[1], &m.key], p, edits)?;
            }
        }
        Kind::Number(raw) => {
            let Some(prefix) = number_context(keys, raw) else { return Ok(()) };
            let out = p(&format!("{prefix}{raw}"), false)?;
            let value = number_value(&out, &prefix);
            if value != *raw {
                edits.push(Edit { start: node.start, end: node.end, bytes: json::json_string(value).into_bytes() });
            }
        }
        Kind::Null | Kind::Bool(_) => {}
    }
    Ok(())
}

/// An object's keys as whole strings; the changed ones are renamed, numbered apart from every
/// other key of the object.
fn walk_keys<E>(members: &[Member<'_>], p: &mut Whole<'_, E>, edits: &mut Vec<Edit>) -> Result<(), E> {
    let mut renamed: Vec<(usize, String)> = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let out = p(&m.key, false)?;
        if out != m.key {
            renamed.push((i, out));
        }
    }
    if renamed.is_empty() {
        return Ok(());
    }
    let mut is_renamed = vec![false; members.len()];
    for (i, _) in &renamed {
        if let Some(slot) = is_renamed.get_mut(*i) {
            *slot = true;
        }
    }
    let kept = members.iter().zip(&is_renamed).filter(|(_, r)| !**r).map(|(m, _)| m.key.as_ref());
    let (at, bases): (Vec<usize>, Vec<String>) = renamed.into_iter().unzip();
    let (names, _) = keynames::assign(kept, bases);
    for (i, name) in at.into_iter().zip(names) {
        if let Some(m) = members.get(i) {
            edits.push(Edit { start: m.key_start, end: m.key_end, bytes: json::json_string(&name).into_bytes() });
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "json_walk_tests.rs"]
mod tests;
