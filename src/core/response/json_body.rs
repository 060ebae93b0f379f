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
///
/// The prompt figure is every prompt token billed, cache reads and writes included, whatever the
/// shape ([`prompt_figure`]).
fn apply_usage(u: &Node<'_>, s: &mut ResponseSummary) {
    let completion = if u.get("completion_tokens").is_some() { "completion_tokens" } else { "output_tokens" };
    let v = prompt_figure(u, s);
    overwrite(&mut s.prompt_tokens, v);
    let v = token_field(s, "completion_tokens", u.get(completion));
    overwrite(&mut s.completion_tokens, v);
    let v = token_field(s, "total_tokens", u.get("total_tokens"));
    overwrite(&mut s.total_tokens, v);
    let cached = CACHE_READ.iter().find_map(|path| at(u, path));
    let v = token_field(s, "cached_tokens", cached);
    overwrite(&mut s.cached_tokens, v);
    let v =
        token_field(s, "reasoning_tokens", u.get("completion_tokens_details").and_then(|d| d.get("reasoning_tokens")));
    overwrite(&mut s.reasoning_tokens, v);
    match cost_figure(u.get("cost")) {
        Figure::Absent => {}
        Figure::Good(c) => s.cost = Some(c),
        Figure::Suspect(raw) => suspect(s, "cost", raw),
    }
}

/// Where each shape reports the prompt tokens read from a cache: OpenAI / OpenRouter chat,
/// `/responses`, `/messages` (Anthropic).
const CACHE_READ: [&[&str]; 3] = [
    &["prompt_tokens_details", "cached_tokens"],
    &["input_tokens_details", "cached_tokens"],
    &["cache_read_input_tokens"],
];

/// Cache figures the Anthropic shape (`/messages`) reports BESIDE `input_tokens`, which excludes
/// them: cache writes and cache reads are billed on top (1.25x and 0.1x the input price).
const ADDED: [&[&str]; 2] = [&["cache_creation_input_tokens"], &["cache_read_input_tokens"]];

/// Cache figures the OpenAI shape reports as PART of `prompt_tokens` / `input_tokens`
/// (OpenRouter's usage accounting: `cached_tokens` read, `cache_write_tokens` written).
const INCLUDED: [&[&str]; 3] = [
    &["prompt_tokens_details", "cached_tokens"],
    &["prompt_tokens_details", "cache_write_tokens"],
    &["input_tokens_details", "cached_tokens"],
];

/// The prompt tokens one usage object bills: `prompt_tokens` (else `input_tokens`), plus the
/// Anthropic cache figures reported beside it ([`ADDED`]); and when the figures said to be part of
/// it ([`INCLUDED`]) add up to more than it, they cannot be part of it and are added too (a token
/// budget never counts a cached prompt as free). `None` when the object names no prompt figure, or
/// when any of these figures is out of bounds (recorded as a suspect `prompt_tokens`, so the
/// budget charges the reservation rather than an undercount).
fn prompt_figure(u: &Node<'_>, s: &mut ResponseSummary) -> Option<u64> {
    let field = if u.get("prompt_tokens").is_some() { "prompt_tokens" } else { "input_tokens" };
    let mut bad: Option<String> = None;
    let mut read = |node: Option<&Node<'_>>| match tokens_figure(node) {
        Figure::Absent => None,
        Figure::Good(v) => Some(v),
        Figure::Suspect(raw) => {
            bad.get_or_insert(raw);
            None
        }
    };
    let reported = read(u.get(field));
    let added = ADDED.iter().filter_map(|p| read(at(u, p))).fold(0, u64::saturating_add);
    let included = INCLUDED.iter().filter_map(|p| read(at(u, p))).fold(0, u64::saturating_add);
    if let Some(raw) = bad {
        // The first figure out of bounds; the prompt is then unknown (never an undercount).
        suspect(s, "prompt_tokens", raw);
        return None;
    }
    let base = reported?.saturating_add(added);
    Some(if included > base { base.saturating_add(included) } else { base })
}

/// The node at `path` under `u` (objects only).
fn at<'n, 'a>(u: &'n Node<'a>, path: &[&str]) -> Option<&'n Node<'a>> {
    path.iter().try_fold(u, |n, k| n.get(k))
}

/// A token count read from `node`; a suspect one is recorded under `field` and gives `None`.
fn token_field(s: &mut ResponseSummary, field: &'static str, node: Option<&Node<'_>>) -> Option<u64> {
    match tokens_figure(node) {
        Figure::Absent => None,
        Figure::Good(v) => Some(v),
        Figure::Suspect(raw) => {
            suspect(s, field, raw);
            None
        }
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
    fn anthropic_cache_writes_and_reads_are_prompt_tokens_json_and_stream() {
        // /messages: `input_tokens` excludes the cache figures, billed on top of it.
        let s = summary_of(
            r#"{"type":"message","usage":{"input_tokens":4,"cache_creation_input_tokens":1000,
                "cache_read_input_tokens":0,"output_tokens":10}}"#,
        );
        assert_eq!((s.prompt_tokens, s.completion_tokens, s.cached_tokens), (Some(1004), Some(10), Some(0)));
        // Stream: message_start carries the prompt figures, message_delta the output only.
        let mut s = summary_of(
            r#"{"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":4,
                "cache_creation_input_tokens":1000,"cache_read_input_tokens":50,"output_tokens":1}}}"#,
        );
        apply(br#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":10}}"#, &mut s)
            .unwrap();
        assert_eq!((s.prompt_tokens, s.completion_tokens, s.cached_tokens), (Some(1054), Some(10), Some(50)));
        // A cumulative message_delta that repeats every figure gives the same total.
        apply(
            br#"{"type":"message_delta","usage":{"input_tokens":4,"cache_creation_input_tokens":1000,
                "cache_read_input_tokens":50,"output_tokens":12}}"#,
            &mut s,
        )
        .unwrap();
        assert_eq!((s.prompt_tokens, s.completion_tokens), (Some(1054), Some(12)));
    }

    #[test]
    fn openai_shape_cache_figures_are_part_of_the_prompt_unless_they_cannot_be() {
        // OpenRouter's usage accounting: cached and cache-write tokens are within prompt_tokens.
        let s = summary_of(
            r#"{"usage":{"prompt_tokens":194,"completion_tokens":2,"total_tokens":196,
                "prompt_tokens_details":{"cached_tokens":50,"cache_write_tokens":100}}}"#,
        );
        assert_eq!((s.prompt_tokens, s.cached_tokens), (Some(194), Some(50)));
        // /responses: input_tokens_details.cached_tokens is within input_tokens.
        let s =
            summary_of(r#"{"usage":{"input_tokens":10,"output_tokens":1,"input_tokens_details":{"cached_tokens":8}}}"#);
        assert_eq!((s.prompt_tokens, s.cached_tokens), (Some(10), Some(8)));
        // Figures said to be part of the prompt that exceed it were reported beside it: added.
        let s = summary_of(
            r#"{"usage":{"prompt_tokens":4,"completion_tokens":10,
                "prompt_tokens_details":{"cached_tokens":600,"cache_write_tokens":1000}}}"#,
        );
        assert_eq!(s.prompt_tokens, Some(1604));
    }

    #[test]
    fn a_cache_figure_out_of_bounds_makes_the_prompt_unknown_and_is_on_record() {
        let s = summary_of(r#"{"usage":{"input_tokens":4,"cache_creation_input_tokens":-1000,"output_tokens":10}}"#);
        assert_eq!((s.prompt_tokens, s.completion_tokens), (None, Some(10)));
        assert_eq!(s.usage_suspect, vec![("prompt_tokens", "-1000".to_string())]);
        // An earlier plausible prompt figure is kept, as for every field.
        let mut s = summary_of(r#"{"usage":{"input_tokens":4,"cache_read_input_tokens":6}}"#);
        apply(br#"{"usage":{"input_tokens":4,"cache_read_input_tokens":1.5}}"#, &mut s).unwrap();
        assert_eq!(s.prompt_tokens, Some(10));
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
