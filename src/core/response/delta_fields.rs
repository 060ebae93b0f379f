//! The strings of a chat delta that are not text channels (attack round 3, finding 5).
//!
//! openai-python's `accumulate_delta` joins every string under `choices[i].delta` across chunks
//! (recursively, list elements by their `index`; only `index` and `type` are replaced, not
//! joined): a tool call's `id` and `function.name`, `role`, any field a provider adds. The filter
//! scans those strings whole, one event at a time, so they must arrive in one piece: a later
//! non-empty piece at the same place that differs from the first ends the stream as unreadable
//! (fail closed). Repeating the same value (OpenRouter sends `role: "assistant"` in every chunk)
//! passes: a value joined with itself spells nothing new. The text channels
//! ([`super::rewrite`]'s table) are scanned across events instead, and `audio.data` (base64
//! audio, sent in many pieces) is not text.

use std::collections::BTreeMap;

use super::channel_index;
use crate::core::json::{Kind, Node};
use crate::core::reason::Unreadable;

/// Delta members that are text channels (or audio bytes), at the top of `delta`.
const CHANNELS: [&str; 4] = ["content", "reasoning", "reasoning_content", "refusal"];

/// Most bytes of first pieces kept per stream (places and values): beyond it the stream is
/// unreadable ([`Unreadable::TooManyChannels`]).
const MAX_KEPT: usize = 64 * 1024;

/// The first non-empty piece seen at each place of the stream's deltas.
#[derive(Debug, Default)]
pub(crate) struct OnePiece {
    seen: BTreeMap<Vec<u8>, String>,
    kept: usize,
}

/// Whether the string at `path` (member names of `delta` down to it) is a text channel or audio.
fn is_channel(path: &[&str]) -> bool {
    match path {
        [k] => CHANNELS.contains(k),
        ["audio", "transcript" | "data"] | ["content", "text"] => true,
        ["reasoning_details", "text" | "summary"] => true,
        ["function_call", "arguments"] | ["tool_calls", "function", "arguments"] => true,
        _ => false,
    }
}

impl OnePiece {
    /// Checks the non-channel strings of choice `slot`'s `delta`.
    pub(crate) fn check(&mut self, slot: u32, delta: &Node<'_>) -> Result<(), Unreadable> {
        let mut place = slot.to_le_bytes().to_vec();
        let mut names = Vec::new();
        self.walk(delta, &mut place, &mut names)
    }

    fn walk<'n>(
        &mut self,
        node: &'n Node<'_>,
        place: &mut Vec<u8>,
        names: &mut Vec<&'n str>,
    ) -> Result<(), Unreadable> {
        match &node.kind {
            Kind::Str(s) => {
                if is_channel(names) {
                    return Ok(());
                }
                let value = s.decode();
                if value.is_empty() {
                    return Ok(());
                }
                match self.seen.get(place.as_slice()) {
                    Some(first) if *first == value => Ok(()),
                    Some(_) => Err(Unreadable::SplitName),
                    None => {
                        self.kept = self.kept.saturating_add(place.len() + value.len());
                        if self.kept > MAX_KEPT {
                            return Err(Unreadable::TooManyChannels);
                        }
                        self.seen.insert(place.clone(), value.into_owned());
                        Ok(())
                    }
                }
            }
            Kind::Object(members) => {
                for m in members {
                    if m.key == "index" || m.key == "type" {
                        continue;
                    }
                    let len = place.len();
                    place.push(0);
                    place.extend_from_slice(m.key.as_bytes());
                    names.push(m.key.as_ref());
                    let r = self.walk(&m.value, place, names);
                    names.pop();
                    place.truncate(len);
                    r?;
                }
                Ok(())
            }
            Kind::Array(items) => {
                for (pos, item) in items.iter().enumerate() {
                    let k = channel_index::index_of(item.get("index"), pos).ok_or(Unreadable::BadIndex)?;
                    let len = place.len();
                    place.push(1);
                    place.extend_from_slice(&k.to_le_bytes());
                    let r = self.walk(item, place, names);
                    place.truncate(len);
                    r?;
                }
                Ok(())
            }
            Kind::Number(_) | Kind::Null | Kind::Bool(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::json;

    fn check(p: &mut OnePiece, delta: &str) -> Result<(), Unreadable> {
        p.check(0, &json::parse(delta.as_bytes(), 16).unwrap())
    }

    #[test]
    fn a_non_channel_string_comes_in_one_piece_or_repeats_itself() {
        let mut p = OnePiece::default();
        let first = r#"{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{"}}]}"#;
        assert_eq!(check(&mut p, first), Ok(()));
        // The same values again, empty pieces, and channel text pass.
        let again = r#"{"role":"assistant","content":"x","tool_calls":[{"index":0,"id":"","type":"function","function":{"name":"f","arguments":"}"}}]}"#;
        assert_eq!(check(&mut p, again), Ok(()));
        assert_eq!(
            check(
                &mut p,
                r#"{"audio":{"data":"AAAA","transcript":"hi"},"reasoning_details":[{"index":0,"text":"t"}]}"#
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &mut p,
                r#"{"audio":{"data":"BBBB","transcript":"ho"},"reasoning_details":[{"index":0,"text":"u"}]}"#
            ),
            Ok(())
        );
        // A second, different piece of an id, a name or an unknown field: refused.
        for next in [
            r#"{"tool_calls":[{"index":0,"id":"_rest"}]}"#,
            r#"{"tool_calls":[{"index":0,"function":{"name":"g"}}]}"#,
            r#"{"role":"tool"}"#,
        ] {
            assert_eq!(check(&mut p, next), Err(Unreadable::SplitName), "{next}");
        }
        assert_eq!(check(&mut p, r#"{"x_note":"sk-or-v1-5e2a"}"#), Ok(()));
        assert_eq!(check(&mut p, r#"{"x_note":"9c7d0b13"}"#), Err(Unreadable::SplitName));
        // Another tool call (by its index) or another choice is another place.
        assert_eq!(check(&mut p, r#"{"tool_calls":[{"index":1,"id":"call_2"}]}"#), Ok(()));
        let delta = json::parse(br#"{"role":"user"}"#, 4).unwrap();
        assert_eq!(p.check(1, &delta), Ok(()));
    }

    #[test]
    fn the_places_kept_are_bounded() {
        let mut p = OnePiece::default();
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_KEPT));
        assert_eq!(check(&mut p, &big), Err(Unreadable::TooManyChannels));
    }
}
