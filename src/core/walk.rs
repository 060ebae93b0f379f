//! Walking the request body's text-bearing fields and turning PII findings into byte edits.
//!
//! Each string is decoded once, scanned once, and, only when something must change, re-encoded
//! and recorded as an [`Edit`] over the original string token. Tool-call `arguments` are JSON
//! inside a string: their inner strings are scanned and the argument string is rebuilt.

use crate::core::edit::{self, Edit};
use crate::core::json::{self, Kind, Node};
use crate::core::pii::{PiiTally, Redactor};

/// Keys whose string values are identifiers or enumerations, never user text.
const NON_TEXT_KEYS: &[&str] = &[
    "type",
    "role",
    "id",
    "tool_call_id",
    "call_id",
    "tool_use_id",
    "cache_control",
    "media_type",
    "mime_type",
    "format",
    "detail",
    "status",
    "signature",
    "encrypted_content",
    "model",
    "models",
    "provider",
    "preset",
    "file_id",
];

/// Keys whose values are payloads authored by the caller or a tool (tool-call arguments, tool
/// inputs, JSON schemas): inside them every string is scanned, whatever its key, because the
/// key names are the tool's, not the API's.
const PAYLOAD_KEYS: &[&str] = &["arguments", "input", "parameters", "input_schema", "output"];

/// Top-level keys never scanned in "scan every string" mode (routing and policy fields).
const TOP_LEVEL_SKIP: &[&str] =
    &["model", "models", "provider", "preset", "route", "transforms", "plugins", "user", "session_id"];

/// Collects redaction edits for one body.
pub struct Walker<'r, 't> {
    redactor: &'r Redactor,
    tally: &'t mut PiiTally,
    max_depth: u32,
    /// Edits over the original body.
    pub edits: Vec<Edit>,
}

impl<'r, 't> Walker<'r, 't> {
    /// A walker using `redactor`, counting into `tally`.
    pub fn new(redactor: &'r Redactor, tally: &'t mut PiiTally, max_depth: u32) -> Self {
        Self { redactor, tally, max_depth, edits: Vec::new() }
    }

    /// Walks the top-level object: only `roots` when given, else every field but routing fields.
    pub fn walk_body(&mut self, root: &Node<'_>, roots: Option<&[&str]>) {
        let Kind::Object(members) = &root.kind else {
            self.walk(root, false);
            return;
        };
        for m in members {
            let take = match roots {
                Some(r) => r.contains(&m.key.as_ref()),
                None => !TOP_LEVEL_SKIP.contains(&m.key.as_ref()),
            };
            if take {
                self.walk(&m.value, false);
            }
        }
    }

    /// Walks a value. In `payload` mode (inside tool arguments, tool inputs, schemas) no key is
    /// skipped.
    fn walk(&mut self, node: &Node<'_>, payload: bool) {
        match &node.kind {
            Kind::Str(_) => self.scan_string(node),
            Kind::Array(items) => items.iter().for_each(|n| self.walk(n, payload)),
            Kind::Object(members) => {
                for m in members {
                    let key = m.key.as_ref();
                    // An identifier key holding an object is a container, not an identifier: the
                    // Responses API's `text.format` holds the output schema the model reads.
                    if !payload && NON_TEXT_KEYS.contains(&key) && !matches!(m.value.kind, Kind::Object(_)) {
                        continue;
                    }
                    if key == "arguments" && matches!(m.value.kind, Kind::Str(_)) {
                        self.scan_json_string(&m.value);
                    } else {
                        self.walk(&m.value, payload || PAYLOAD_KEYS.contains(&key));
                    }
                }
            }
            Kind::Null | Kind::Bool(_) | Kind::Number(_) => {}
        }
    }

    fn scan_string(&mut self, node: &Node<'_>) {
        let Kind::Str(s) = &node.kind else { return };
        let text = s.decode();
        if is_data_url(&text) {
            return;
        }
        if let Some(new) = self.redactor.scan(&text, self.tally) {
            let mut bytes = Vec::with_capacity(new.len() + 2);
            json::write_json_string(&new, &mut bytes);
            self.edits.push(Edit { start: node.start, end: node.end, bytes });
        }
    }

    /// A string holding JSON (tool-call arguments): scan the strings inside and rebuild it.
    /// When it is not JSON, it is scanned as plain text.
    fn scan_json_string(&mut self, node: &Node<'_>) {
        let Kind::Str(s) = &node.kind else { return };
        let text = s.decode();
        let Ok(inner) = json::parse(text.as_bytes(), self.max_depth) else {
            self.scan_string(node);
            return;
        };
        let mut sub = Walker::new(self.redactor, self.tally, self.max_depth);
        sub.walk(&inner, true);
        if sub.edits.is_empty() {
            return;
        }
        let edits = std::mem::take(&mut sub.edits);
        match edit::apply(text.as_bytes(), edits) {
            Ok(rebuilt) => {
                let rebuilt = String::from_utf8_lossy(&rebuilt);
                let mut bytes = Vec::with_capacity(rebuilt.len() + 2);
                json::write_json_string(&rebuilt, &mut bytes);
                self.edits.push(Edit { start: node.start, end: node.end, bytes });
            }
            // Cannot happen for edits from one walk; fail safe by scanning as text.
            Err(_) => self.scan_string(node),
        }
    }
}

/// A real base64 data URL (`data:<media type>;base64,<base64>`), skipped because binary payloads
/// carry no text and scanning them only produces false positives. Anything else that merely
/// starts like one (text after the payload, spaces in the media type) is scanned.
fn is_data_url(s: &str) -> bool {
    let Some(rest) = s.get(..5).filter(|p| p.eq_ignore_ascii_case("data:")).and(s.get(5..)) else { return false };
    let Some((media, payload)) = rest.split_once(";base64,") else { return false };
    let media_ok = media.bytes().all(|b| b.is_ascii_alphanumeric() || b"/+-.=;_".contains(&b));
    let payload_ok = !payload.is_empty()
        && payload.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    media_ok && payload_ok
}

#[cfg(test)]
mod tests {
    use super::is_data_url;

    #[test]
    fn only_real_base64_data_urls_are_skipped() {
        assert!(is_data_url("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA"));
        assert!(is_data_url("DATA:application/pdf;base64,JVBERi0xLjQK/+=="));
        assert!(!is_data_url("data:text/plain;base64,AAAA my ssn is 123-45-6789"));
        assert!(!is_data_url("DATA:;base64, mail bob@example.com"));
        assert!(!is_data_url("data:text plain;base64,AAAA"));
        assert!(!is_data_url("data:image/png;base64,"));
        assert!(!is_data_url("hello"));
    }
}
