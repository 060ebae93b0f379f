//! The fields the filter reads from an OpenRouter JSON body or SSE chunk, and how they fold into a
//! [`ResponseSummary`].
//!
//! One reader serves both shapes: a non-streaming body and each streamed chunk carry the same
//! top-level names (`id`, `model`, `provider`, `usage`, `choices`, `error`). The filter's own
//! parser ([`crate::core::json`]) validates the payload and borrows from it; everything else,
//! including all generated text, is never decoded or copied. Error `message`s are never read:
//! they can echo prompt content.
//!
//! Also understood, because OpenRouter serves them too: `/responses` stream events wrap the
//! response in `response`, and `/messages` (Anthropic shape) uses `message`, `input_tokens`,
//! `output_tokens` and `stop_reason`.

use crate::core::json::{self, Kind, Node};

use super::{usage_bounds, ResponseSummary};

/// Longest id / model / provider / reason kept in a summary, in bytes.
const MAX_FIELD: usize = 256;

/// Nesting accepted in a response body or chunk (serde_json's own recursion limit).
const MAX_DEPTH: u32 = 128;

/// A body or chunk that is not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotAPayload;

/// Parses one body or chunk with the filter's own JSON parser and folds it into `summary`: id,
/// model and provider are kept from the first payload that has them; usage fields and the finish
/// reason from the last. Fields of an unexpected type are ignored (a number sent as a string is
/// still read), so one odd field never hides the rest.
pub(crate) fn apply(bytes: &[u8], summary: &mut ResponseSummary) -> Result<(), NotAPayload> {
    let root = json::parse(bytes, MAX_DEPTH).map_err(|_| NotAPayload)?;
    if !matches!(root.kind, Kind::Object(_)) {
        return Err(NotAPayload);
    }
    apply_payload(&root, summary);
    Ok(())
}

/// Folds one payload object (top level, or the `response` / `message` wrapper inside it).
fn apply_payload(p: &Node<'_>, summary: &mut ResponseSummary) {
    fill_once(&mut summary.generation_id, text(p.get("id")).as_deref());
    fill_once(&mut summary.model_used, text(p.get("model")).as_deref());
    fill_once(&mut summary.provider, text(p.get("provider")).as_deref());
    if let Some(usage) = p.get("usage").filter(|u| matches!(u.kind, Kind::Object(_))) {
        apply_usage(usage, summary);
    }
    if let Some(Node { kind: Kind::Array(choices), .. }) = p.get("choices") {
        for choice in choices {
            set_reason(&mut summary.finish_reason, text(choice.get("finish_reason")).as_deref());
        }
    }
    set_reason(&mut summary.finish_reason, text(p.get("stop_reason")).as_deref());
    if let Some(delta) = p.get("delta") {
        set_reason(&mut summary.finish_reason, text(delta.get("stop_reason")).as_deref());
    }
    match p.get("error") {
        None | Some(Node { kind: Kind::Null, .. }) => {}
        Some(error) => apply_error_code(summary, error.get("code")),
    }
    for key in ["response", "message"] {
        if let Some(inner) = p.get(key).filter(|n| matches!(n.kind, Kind::Object(_))) {
            apply_payload(inner, summary);
        }
    }
}

/// Token counts and cost; `input_tokens` / `output_tokens` are the `/responses` and `/messages`
/// names. Figures out of bounds ([`usage_bounds`]) are kept only as suspect text.
fn apply_usage(u: &Node<'_>, s: &mut ResponseSummary) {
    let prompt = if u.get("prompt_tokens").is_some() { "prompt_tokens" } else { "input_tokens" };
    let completion = if u.get("completion_tokens").is_some() { "completion_tokens" } else { "output_tokens" };
    let tokens = |s: &mut ResponseSummary, field: &'static str, node: Option<&Node<'_>>| match tokens_figure(node) {
        Figure::Absent => None,
        Figure::Good(v) => Some(v),
        Figure::Suspect(raw) => {
            suspect(s, field, raw);
            None
        }
    };
    let v = tokens(s, "prompt_tokens", u.get(prompt));
    overwrite(&mut s.prompt_tokens, v);
    let v = tokens(s, "completion_tokens", u.get(completion));
    overwrite(&mut s.completion_tokens, v);
    let v = tokens(s, "total_tokens", u.get("total_tokens"));
    overwrite(&mut s.total_tokens, v);
    let v = tokens(s, "cached_tokens", u.get("prompt_tokens_details").and_then(|d| d.get("cached_tokens")));
    overwrite(&mut s.cached_tokens, v);
    let v = tokens(s, "reasoning_tokens", u.get("completion_tokens_details").and_then(|d| d.get("reasoning_tokens")));
    overwrite(&mut s.reasoning_tokens, v);
    match cost_figure(u.get("cost")) {
        Figure::Absent => {}
        Figure::Good(c) => s.cost = Some(c),
        Figure::Suspect(raw) => suspect(s, "cost", raw),
    }
}

/// A string value, decoded.
fn text<'a>(node: Option<&Node<'a>>) -> Option<std::borrow::Cow<'a, str>> {
    node.and_then(Node::as_str)
}

/// A usage figure as read.
enum Figure<T> {
    /// Missing, null, or not a number at all (an object, a word): ignored.
    Absent,
    /// A plausible value.
    Good(T),
    /// A number out of bounds, negative, fractional (for tokens) or not finite: the text as sent.
    Suspect(String),
}

/// The text of a number written as a JSON number or as a string.
fn number_text<'a>(node: Option<&Node<'a>>) -> Option<std::borrow::Cow<'a, str>> {
    match &node?.kind {
        Kind::Number(n) => Some(std::borrow::Cow::Borrowed(*n)),
        Kind::Str(s) => {
            let t = s.decode();
            let t = t.trim();
            t.parse::<f64>().is_ok().then(|| std::borrow::Cow::Owned(t.to_owned()))
        }
        _ => None,
    }
}

/// A token count: an integer in `0..=MAX_TOKENS`.
fn tokens_figure(node: Option<&Node<'_>>) -> Figure<u64> {
    let Some(text) = number_text(node) else { return Figure::Absent };
    match text.parse::<u64>() {
        Ok(v) if v <= usage_bounds::MAX_TOKENS => Figure::Good(v),
        _ => Figure::Suspect(raw_text(&text)),
    }
}

/// A cost: a finite number in `0..=MAX_COST`.
fn cost_figure(node: Option<&Node<'_>>) -> Figure<f64> {
    let Some(text) = number_text(node) else { return Figure::Absent };
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=usage_bounds::MAX_COST).contains(&v) => Figure::Good(v),
        _ => Figure::Suspect(raw_text(&text)),
    }
}

/// The number as sent, for the record: number characters only, at most `MAX_RAW` bytes.
fn raw_text(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
        .take(usage_bounds::MAX_RAW)
        .collect()
}

/// Notes a suspect figure (the last one per field is kept).
fn suspect(s: &mut ResponseSummary, field: &'static str, raw: String) {
    match s.usage_suspect.iter_mut().find(|(f, _)| *f == field) {
        Some(entry) => entry.1 = raw,
        None => s.usage_suspect.push((field, raw)),
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
fn apply_error_code(s: &mut ResponseSummary, code: Option<&Node<'_>>) {
    let kind = match code.map(|c| &c.kind) {
        Some(Kind::Number(n)) => match n.parse::<i64>() {
            Ok(c) => {
                s.error_code = Some(c);
                return;
            }
            Err(_) => "other",
        },
        Some(Kind::Str(t)) => {
            let t = t.decode();
            match t.trim().parse::<i64>() {
                Ok(c) => {
                    s.error_code = Some(c);
                    return;
                }
                Err(_) if is_token(&t) => {
                    s.error_type = Some(t.into_owned());
                    return;
                }
                Err(_) => "other",
            }
        }
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
        apply(json.as_bytes(), &mut s).unwrap();
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
        apply(br#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":40}}"#, &mut s2)
            .unwrap();
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
    fn it_refuses_what_is_not_a_json_object_and_reads_an_error_without_an_object() {
        let mut s = ResponseSummary::default();
        assert_eq!(apply(b"[1,2]", &mut s), Err(NotAPayload));
        assert_eq!(apply(b"{\"id\":", &mut s), Err(NotAPayload));
        assert_eq!(apply(b"{\"a\":1,\"a\":2}", &mut s), Err(NotAPayload));
        assert_eq!(s, ResponseSummary::default());
        let s = summary_of(r#"{"error":"rate limited","choices":[1,{"finish_reason":"stop"}],"usage":null}"#);
        assert_eq!(s.error_type.as_deref(), Some("unknown"));
        assert_eq!(s.finish_reason.as_deref(), Some("stop"));
        let s =
            summary_of(r#"{"usage":{"prompt_tokens":5.0,"completion_tokens":-1,"total_tokens":" 7 ","cost":"1e400"}}"#);
        assert_eq!((s.prompt_tokens, s.completion_tokens, s.total_tokens, s.cost), (None, None, Some(7), None));
    }

    #[test]
    fn it_keeps_implausible_usage_as_suspect_text_and_never_as_a_figure() {
        let s = summary_of(
            r#"{"usage":{"prompt_tokens":18446744073709551615,"completion_tokens":-3,"total_tokens":100000001,
                "cost":1e300,"prompt_tokens_details":{"cached_tokens":"2.5"},
                "completion_tokens_details":{"reasoning_tokens":100000000}}}"#,
        );
        assert_eq!((s.prompt_tokens, s.completion_tokens, s.total_tokens, s.cost), (None, None, None, None));
        assert_eq!((s.cached_tokens, s.reasoning_tokens), (None, Some(100_000_000)));
        let suspect: Vec<(&str, &str)> = s.usage_suspect.iter().map(|(f, v)| (*f, v.as_str())).collect();
        assert_eq!(
            suspect,
            [
                ("prompt_tokens", "18446744073709551615"),
                ("completion_tokens", "-3"),
                ("total_tokens", "100000001"),
                ("cached_tokens", "2.5"),
                ("cost", "1e300"),
            ]
        );
        for cost in ["-0.5", "1000.01", "\"NaN\"", "\"inf\""] {
            let s = summary_of(&format!(r#"{{"usage":{{"cost":{cost}}}}}"#));
            assert_eq!((s.cost, s.usage_suspect.len()), (None, 1), "{cost}");
        }
        let s = summary_of(r#"{"usage":{"cost":1000,"prompt_tokens":0}}"#);
        assert_eq!((s.cost, s.prompt_tokens, s.usage_suspect.len()), (Some(1000.0), Some(0), 0));
    }

    #[test]
    fn a_later_plausible_figure_keeps_the_earlier_suspect_one_on_record() {
        let mut s = summary_of(r#"{"usage":{"completion_tokens":-1}}"#);
        apply(br#"{"usage":{"completion_tokens":7}}"#, &mut s).unwrap();
        assert_eq!(s.completion_tokens, Some(7));
        assert_eq!(s.usage_suspect, vec![("completion_tokens", "-1".to_string())]);
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
