//! The fields the filter reads from an OpenRouter JSON body or SSE chunk, and how they fold into a
//! [`ResponseSummary`].
//!
//! One borrowed view serves both shapes: a non-streaming body and each streamed chunk carry the
//! same top-level names (`id`, `model`, `provider`, `usage`, `choices`, `error`). Everything else,
//! including all generated text, is skipped by serde without being copied. Error `message`s are
//! never read: they can echo prompt content.
//!
//! Also understood, because OpenRouter serves them too: `/responses` stream events wrap the
//! response in `response`, and `/messages` (Anthropic shape) uses `message`, `input_tokens`,
//! `output_tokens` and `stop_reason`.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::ResponseSummary;

/// Longest id / model / provider / reason kept in a summary, in bytes.
const MAX_FIELD: usize = 256;

/// Top-level view of a body or chunk.
#[derive(Debug, Deserialize)]
pub(crate) struct Payload<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    provider: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    error: Option<ErrorView>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default, borrow)]
    response: Option<Box<Payload<'a>>>,
    #[serde(default, borrow)]
    message: Option<Box<Payload<'a>>>,
}

#[derive(Debug, Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct ErrorView {
    /// A number (HTTP status) in error bodies; a string such as `"server_error"` mid-stream.
    #[serde(default)]
    code: Option<Value>,
}

/// Token counts: numbers are read leniently (a string or a wrong type yields `None`, not a
/// failed parse of the whole chunk).
#[derive(Debug, Deserialize)]
struct Usage {
    #[serde(default, deserialize_with = "lenient_u64")]
    prompt_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    completion_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    total_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    input_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    output_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_f64")]
    cost: Option<f64>,
    #[serde(default)]
    prompt_tokens_details: Option<Details>,
    #[serde(default)]
    completion_tokens_details: Option<Details>,
}

#[derive(Debug, Deserialize)]
struct Details {
    #[serde(default, deserialize_with = "lenient_u64")]
    cached_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    reasoning_tokens: Option<u64>,
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

impl Payload<'_> {
    /// Folds this body or chunk into `summary`: id, model and provider are kept from the first
    /// payload that has them; usage fields and the finish reason from the last.
    pub(crate) fn apply(&self, summary: &mut ResponseSummary) {
        fill_once(&mut summary.generation_id, self.id.as_deref());
        fill_once(&mut summary.model_used, self.model.as_deref());
        fill_once(&mut summary.provider, self.provider.as_deref());
        if let Some(usage) = &self.usage {
            usage.apply(summary);
        }
        for choice in self.choices.iter().flatten() {
            set_reason(&mut summary.finish_reason, choice.finish_reason.as_deref());
        }
        set_reason(&mut summary.finish_reason, self.stop_reason.as_deref());
        if let Some(delta) = &self.delta {
            set_reason(&mut summary.finish_reason, delta.stop_reason.as_deref());
        }
        if let Some(error) = &self.error {
            apply_error_code(summary, error.code.as_ref());
        }
        for inner in [&self.response, &self.message].into_iter().flatten() {
            inner.apply(summary);
        }
    }
}

impl Usage {
    fn apply(&self, s: &mut ResponseSummary) {
        overwrite(&mut s.prompt_tokens, self.prompt_tokens.or(self.input_tokens));
        overwrite(&mut s.completion_tokens, self.completion_tokens.or(self.output_tokens));
        overwrite(&mut s.total_tokens, self.total_tokens);
        overwrite(&mut s.cost, self.cost);
        let cached = self.prompt_tokens_details.as_ref();
        overwrite(&mut s.cached_tokens, cached.and_then(|d| d.cached_tokens));
        let reasoning = self.completion_tokens_details.as_ref();
        overwrite(&mut s.reasoning_tokens, reasoning.and_then(|d| d.reasoning_tokens));
    }
}

fn overwrite<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}

fn fill_once(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none() {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            *slot = Some(truncate(v).to_owned());
        }
    }
}

/// Finish reasons are short machine tokens; anything else is recorded as `other`.
fn set_reason(slot: &mut Option<String>, value: Option<&str>) {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return;
    };
    let v = if is_token(v) { v } else { "other" };
    if slot.as_deref() != Some(v) {
        *slot = Some(v.to_owned());
    }
}

/// A numeric code (or a numeric string) goes to `error_code`; a token such as `server_error` to
/// `error_type`. Free text is never copied.
fn apply_error_code(s: &mut ResponseSummary, code: Option<&Value>) {
    let kind = match code {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(c) => {
                s.error_code = Some(c);
                return;
            }
            None => "other",
        },
        Some(Value::String(t)) => match t.trim().parse::<i64>() {
            Ok(c) => {
                s.error_code = Some(c);
                return;
            }
            Err(_) if is_token(t) => t.as_str(),
            Err(_) => "other",
        },
        _ => "unknown",
    };
    s.error_type = Some(kind.to_owned());
}

fn is_token(v: &str) -> bool {
    v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn truncate(v: &str) -> &str {
    if v.len() <= MAX_FIELD {
        return v;
    }
    let mut end = MAX_FIELD;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary_of(json: &str) -> ResponseSummary {
        let mut s = ResponseSummary::default();
        serde_json::from_str::<Payload>(json).unwrap().apply(&mut s);
        s
    }

    #[test]
    fn it_reads_anthropic_message_usage_and_stop_reason() {
        let s = summary_of(
            r#"{"type":"message_start","message":{"id":"gen-1","model":"anthropic/claude",
                "usage":{"input_tokens":12,"output_tokens":1}}}"#,
        );
        assert_eq!(s.generation_id.as_deref(), Some("gen-1"));
        assert_eq!(s.prompt_tokens, Some(12));
        let mut s2 = s.clone();
        serde_json::from_str::<Payload>(
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":40}}"#,
        )
        .unwrap()
        .apply(&mut s2);
        assert_eq!(s2.completion_tokens, Some(40));
        assert_eq!(s2.prompt_tokens, Some(12));
        assert_eq!(s2.finish_reason.as_deref(), Some("end_turn"));
    }

    #[test]
    fn it_reads_usage_wrapped_in_a_responses_api_event() {
        let s = summary_of(
            r#"{"type":"response.completed","response":{"id":"gen-2","model":"openai/gpt-4o",
                "usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7,"cost":0.5}}}"#,
        );
        assert_eq!(s.total_tokens, Some(7));
        assert_eq!(s.cost, Some(0.5));
    }

    #[test]
    fn it_records_a_string_error_code_as_a_type_and_never_free_text() {
        let s = summary_of(r#"{"error":{"code":"server_error","message":"secret prompt"}}"#);
        assert_eq!(s.error_type.as_deref(), Some("server_error"));
        assert_eq!(s.error_code, None);
        let s = summary_of(r#"{"error":{"code":"my ssn is 123","message":"x"}}"#);
        assert_eq!(s.error_type.as_deref(), Some("other"));
    }

    #[test]
    fn it_tolerates_odd_usage_types_without_losing_the_rest() {
        let s = summary_of(r#"{"id":"gen-3","usage":{"prompt_tokens":"5","completion_tokens":null,"cost":{"x":1}}}"#);
        assert_eq!(s.generation_id.as_deref(), Some("gen-3"));
        assert_eq!(s.prompt_tokens, Some(5));
        assert_eq!(s.completion_tokens, None);
        assert_eq!(s.cost, None);
    }

    #[test]
    fn it_truncates_overlong_names_on_a_char_boundary() {
        let model = "é".repeat(200);
        let s = summary_of(&format!(r#"{{"model":"{model}"}}"#));
        let kept = s.model_used.unwrap();
        assert!(kept.len() <= MAX_FIELD);
        assert!(model.starts_with(&kept));
    }
}
