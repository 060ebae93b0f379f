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
            self.walk(root);
            return;
        };
        for m in members {
            let take = match roots {
                Some(r) => r.contains(&m.key.as_ref()),
                None => !TOP_LEVEL_SKIP.contains(&m.key.as_ref()),
            };
            if take {
                self.walk(&m.value);
            }
        }
    }

    fn walk(&mut self, node: &Node<'_>) {
        match &node.kind {
            Kind::Str(_) => self.scan_string(node),
            Kind::Array(items) => items.iter().for_each(|n| self.walk(n)),
            Kind::Object(members) => {
                for m in members {
                    let key = m.key.as_ref();
                    if NON_TEXT_KEYS.contains(&key) {
                        continue;
                    }
                    if key == "arguments" && matches!(m.value.kind, Kind::Str(_)) {
                        self.scan_json_string(&m.value);
                    } else {
                        self.walk(&m.value);
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
        sub.walk(&inner);
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

fn is_data_url(s: &str) -> bool {
    s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:")) && s.contains(";base64,")
}
