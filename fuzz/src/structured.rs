//! Structure-aware requests: headers and chat / completions / responses / messages / embeddings /
//! rerank bodies built from fuzz bytes with `arbitrary`, with spelling tricks (escaped keys, case,
//! whitespace, zero-width characters, duplicate keys) and an optional secret planted in one text
//! field.

use arbitrary::Arbitrary;

use crate::request::{self, Outcome};
use crate::secrets::catalogue;

const PATHS: &[&str] = &[
    "/api/v1/chat/completions",
    "/api/v1/completions",
    "/api/v1/responses",
    "/api/v1/messages",
    "/api/v1/embeddings",
    "/api/v1/rerank",
    "/api/v1/models",
    "/API/V1//Chat/Completions/?x=1",
    "/v1/chat/completions#frag",
    "/api/v1/./responses",
    "/api/v1/presets/approved/chat/completions",
    "/api/v1/presets/Other/chat/completions",
    "/api/v1/chat/completions;x",
    "/api/v1/generation?id=1",
];

const MODELS: &[&str] = &[
    "anthropic/claude-3.5-sonnet",
    "anthropic/claude-3.5-sonnet:free",
    "anthropic/claude-3-5-haiku",
    "anthropic/claude-3x5-haiku",
    "openai/gpt-4o",
    "openai/gpt-4o-mini",
    "openai/o1",
    "meta-llama/llama-3-8b-instruct:free",
    "google/gemini-pro",
    "~anthropic/claude-latest",
    "@preset/approved",
    "@preset/other",
    "openrouter/auto",
    "mistralai/mistral-large",
];

const PROFILES: &[&str] = &["confidential", "restricted", "public", "locked", " PUBLIC ", "Restricted", "unknown", ""];
const SLUGS: &[&str] = &["anthropic", "openai", "google-vertex", "deepinfra", "Anthropic", " openai ", "together"];

/// One structured request.
#[derive(Debug, Clone, Arbitrary)]
pub struct Req {
    path: Sel<String>,
    profile: Option<Sel<String>>,
    dup_profile: bool,
    user_header: Option<String>,
    authorization: bool,
    content_type: u8,
    encoding: Option<u8>,
    content_length: Option<Option<u32>>,
    end_of_stream: bool,
    model: Option<ModelSel>,
    models: Option<Vec<ModelSel>>,
    preset: Option<Sel<String>>,
    texts: Vec<String>,
    text_shape: u8,
    tokens: Vec<(u8, TokVal)>,
    provider: Option<ProviderSel>,
    body_user: Option<String>,
    stream: Option<bool>,
    extra: Vec<(String, Extra)>,
    secret: Option<(u8, u8, u16)>,
    escape_keys: u16,
    duplicate: Option<u8>,
    pretty: bool,
}

/// A choice from a fixed list, or an arbitrary value.
#[derive(Debug, Clone, Arbitrary)]
enum Sel<T> {
    Known(u8),
    Raw(T),
}

#[derive(Debug, Clone, Arbitrary)]
enum ModelSel {
    Known(u8),
    Variant(u8, u8),
    Raw(String),
    NotString(u8),
}

#[derive(Debug, Clone, Arbitrary)]
enum TokVal {
    Int(u32),
    Big(u8),
    Neg(u16),
    Float(u16),
    Exp(u8),
    Str(u16),
    Null,
    Bool,
}

#[derive(Debug, Clone, Arbitrary)]
struct ProviderSel {
    not_object: bool,
    order: Option<Vec<u8>>,
    only: Option<Vec<u8>>,
    ignore: Option<Vec<u8>>,
    allow_fallbacks: Option<bool>,
    data_collection: Option<u8>,
    zdr: Option<bool>,
    unknown_field: bool,
    max_price: Option<u16>,
}

#[derive(Debug, Clone, Arbitrary)]
enum Extra {
    Str(String),
    Num(i64),
    Bool(bool),
    Null,
    Nested(Vec<String>),
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

/// A JSON string literal for `s`; when `escape`, every ASCII letter is written as `\u00XX`.
fn lit(s: &str, escape: bool) -> String {
    if !escape {
        return serde_json::to_string(s).unwrap_or_default();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if c.is_ascii_alphabetic() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            let e = serde_json::to_string(&c.to_string()).unwrap_or_default();
            out.push_str(&e[1..e.len() - 1]);
        }
    }
    out.push('"');
    out
}

fn model_json(m: &ModelSel) -> String {
    match m {
        ModelSel::Known(i) => lit(pick(MODELS, *i), false),
        ModelSel::Variant(i, t) => {
            let base = pick(MODELS, *i);
            let v = match t % 9 {
                0 => base.to_uppercase(),
                1 => format!("  {base}\t"),
                2 => format!("{base}:free"),
                3 => format!("{base}:FREE"),
                4 => format!("~{base}"),
                5 => base.replacen('/', "/\u{200b}", 1),
                6 => return lit(base, true),
                7 => format!("{base}\u{2003}"),
                _ => base.replacen('a', "\u{430}", 1),
            };
            lit(&v, false)
        }
        ModelSel::Raw(s) => lit(s, false),
        ModelSel::NotString(k) => ["null", "1", "[]", "{}", "true"][usize::from(*k % 5)].to_owned(),
    }
}

fn tok_json(t: &TokVal) -> String {
    match t {
        TokVal::Int(v) => v.to_string(),
        TokVal::Big(n) => "9".repeat(1 + usize::from(*n % 40)),
        TokVal::Neg(v) => format!("-{v}"),
        TokVal::Float(v) => format!("{v}.5"),
        TokVal::Exp(e) => format!("1e{e}"),
        TokVal::Str(v) => format!("\"{v}\""),
        TokVal::Null => "null".into(),
        TokVal::Bool => "true".into(),
    }
}

fn slugs(v: &[u8]) -> String {
    let items: Vec<String> = v.iter().map(|i| lit(pick(SLUGS, *i), false)).collect();
    format!("[{}]", items.join(","))
}

fn provider_json(p: &ProviderSel) -> String {
    if p.not_object {
        return "\"anthropic\"".into();
    }
    let mut f: Vec<String> = Vec::new();
    if let Some(o) = &p.order {
        f.push(format!("\"order\":{}", slugs(o)));
    }
    if let Some(o) = &p.only {
        f.push(format!("\"only\":{}", slugs(o)));
    }
    if let Some(o) = &p.ignore {
        f.push(format!("\"ignore\":{}", slugs(o)));
    }
    if let Some(b) = p.allow_fallbacks {
        f.push(format!("\"allow_fallbacks\":{b}"));
    }
    if let Some(d) = p.data_collection {
        f.push(format!(
            "\"data_collection\":{}",
            ["\"allow\"", "\"deny\"", "\"ALLOW\"", "1", "null"][usize::from(d % 5)]
        ));
    }
    if let Some(z) = p.zdr {
        f.push(format!("\"zdr\":{z}"));
    }
    if p.unknown_field {
        f.push("\"allow_fallback\":true".into());
    }
    if let Some(m) = p.max_price {
        f.push(format!("\"max_price\":{{\"prompt\":{m}}}"));
    }
    format!("{{{}}}", f.join(","))
}

fn extra_json(e: &Extra) -> String {
    match e {
        Extra::Str(s) => lit(s, false),
        Extra::Num(n) => n.to_string(),
        Extra::Bool(b) => b.to_string(),
        Extra::Null => "null".into(),
        Extra::Nested(v) => {
            let items: Vec<String> = v.iter().map(|s| format!("{{\"text\":{}}}", lit(s, false))).collect();
            format!("[{}]", items.join(","))
        }
    }
}

/// The text value of slot `i`, as JSON.
fn text_value(endpoint: &str, texts: &[String], shape: u8) -> Vec<(String, String)> {
    let s = |i: usize| lit(texts.get(i).map_or("", String::as_str), false);
    let all: Vec<String> = (0..texts.len().max(1)).map(s).collect();
    let messages = || {
        let items: Vec<String> = all
            .iter()
            .enumerate()
            .map(|(i, t)| match (usize::from(shape) + i) % 4 {
                0 => format!("{{\"role\":\"user\",\"content\":{t}}}"),
                1 => format!("{{\"role\":\"user\",\"content\":[{{\"type\":\"text\",\"text\":{t}}}]}}"),
                2 => {
                    let args = serde_json::json!({ "note": serde_json::from_str::<String>(t).unwrap_or_default() }).to_string();
                    format!(
                        "{{\"role\":\"assistant\",\"tool_calls\":[{{\"id\":\"c1\",\"type\":\"function\",\"function\":{{\"name\":\"f\",\"arguments\":{}}}}}]}}",
                        lit(&args, false)
                    )
                }
                _ => format!("{{\"role\":\"system\",\"content\":{t}}}"),
            })
            .collect();
        format!("[{}]", items.join(","))
    };
    let list = || format!("[{}]", all.join(","));
    match endpoint {
        "chat" => vec![("messages".into(), messages())],
        "completions" => vec![("prompt".into(), all[0].clone())],
        "responses" => {
            if shape % 2 == 0 {
                vec![("input".into(), all[0].clone())]
            } else {
                let items: Vec<String> = all
                    .iter()
                    .map(|t| format!("{{\"role\":\"user\",\"content\":[{{\"type\":\"input_text\",\"text\":{t}}}]}}"))
                    .collect();
                vec![("input".into(), format!("[{}]", items.join(","))), ("instructions".into(), all[0].clone())]
            }
        }
        "messages" => vec![("system".into(), all[0].clone()), ("messages".into(), messages())],
        "embeddings" => vec![("input".into(), list())],
        "rerank" => vec![("query".into(), all[0].clone()), ("documents".into(), list())],
        _ => vec![("note".into(), all[0].clone()), ("items".into(), list())],
    }
}

fn endpoint_kind(path: &str) -> &'static str {
    use openrouter_guard::api::{classify, Endpoint};
    match classify(path).endpoint {
        Endpoint::ChatCompletions => "chat",
        Endpoint::Completions => "completions",
        Endpoint::Responses => "responses",
        Endpoint::Messages => "messages",
        Endpoint::Embeddings => "embeddings",
        Endpoint::Rerank => "rerank",
        Endpoint::Other => "other",
    }
}

/// Builds the headers and body of `r`; returns them with the planted secret, if any.
pub fn build(r: &Req) -> (Vec<(String, String)>, Vec<u8>, Option<(String, &'static str)>) {
    let path = match &r.path {
        Sel::Known(i) => pick(PATHS, *i).to_owned(),
        Sel::Raw(s) => s.clone(),
    };
    let kind = endpoint_kind(&path);

    let mut texts = r.texts.clone();
    texts.truncate(8);
    let mut planted = None;
    if let Some((which, slot, pos)) = r.secret {
        let cat = catalogue();
        let p = &cat[usize::from(which) % cat.len()];
        if texts.is_empty() {
            texts.push(String::new());
        }
        let slot = usize::from(slot) % texts.len();
        let t = &texts[slot];
        let n = t.chars().count();
        let at = usize::from(pos) % (n + 1);
        let byte = t.char_indices().nth(at).map_or(t.len(), |(i, _)| i);
        texts[slot] = format!("{} ; {} ; {}", &t[..byte], p.value, &t[byte..]);
        planted = Some((p.value.clone(), p.entity));
    }

    let mut fields: Vec<(String, String)> = Vec::new();
    if let Some(m) = &r.model {
        fields.push(("model".into(), model_json(m)));
    }
    if let Some(ms) = &r.models {
        let items: Vec<String> = ms.iter().take(6).map(model_json).collect();
        fields.push(("models".into(), format!("[{}]", items.join(","))));
    }
    if let Some(p) = &r.preset {
        let v = match p {
            Sel::Known(i) => lit(pick(&["approved", "@preset/approved", "Other", " approved "], *i), false),
            Sel::Raw(s) => lit(s, false),
        };
        fields.push(("preset".into(), v));
    }
    fields.extend(text_value(kind, &texts, r.text_shape));
    let tok_names = ["max_tokens", "max_completion_tokens", "max_output_tokens"];
    for (f, v) in r.tokens.iter().take(3) {
        let name = pick(&tok_names, *f).to_owned();
        if !fields.iter().any(|(k, _)| *k == name) {
            fields.push((name, tok_json(v)));
        }
    }
    if let Some(p) = &r.provider {
        fields.push(("provider".into(), provider_json(p)));
    }
    if let Some(u) = &r.body_user {
        fields.push(("user".into(), lit(u, false)));
    }
    if let Some(s) = r.stream {
        fields.push(("stream".into(), s.to_string()));
    }
    for (k, v) in r.extra.iter().take(4) {
        if !fields.iter().any(|(fk, _)| fk == k) {
            fields.push((k.clone(), extra_json(v)));
        }
    }
    if let Some(d) = r.duplicate {
        if !fields.is_empty() {
            let (k, _) = fields[usize::from(d) % fields.len()].clone();
            fields.push((k, "\"anthropic/claude-3.5-sonnet\"".into()));
        }
    }
    let sep = if r.pretty { ",\n  " } else { "," };
    let body_fields: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, (k, v))| format!("{}:{v}", lit(k, r.escape_keys & (1 << (i % 16)) != 0)))
        .collect();
    let body = format!("{{{}}}", body_fields.join(sep)).into_bytes();

    let mut h: Vec<(String, String)> = vec![
        (":method".into(), "POST".into()),
        (":path".into(), path),
        (":authority".into(), "openrouter.ai".into()),
        ("x-request-id".into(), "fuzz-1".into()),
    ];
    let cts =
        ["application/json", "application/json; charset=utf-8", "Application/JSON", "text/plain", "application/x+json"];
    if r.content_type % 6 != 5 {
        h.push(("content-type".into(), pick(&cts, r.content_type).into()));
    }
    if let Some(e) = r.encoding {
        h.push(("content-encoding".into(), pick(&["identity", " IDENTITY ", "gzip", ""], e).into()));
    }
    match r.content_length {
        Some(Some(n)) => h.push(("content-length".into(), n.to_string())),
        Some(None) => h.push(("content-length".into(), body.len().to_string())),
        None => {}
    }
    if let Some(p) = &r.profile {
        let v = match p {
            Sel::Known(i) => pick(PROFILES, *i).to_owned(),
            Sel::Raw(s) => s.clone(),
        };
        h.push(("x-data-classification".into(), v.clone()));
        if r.dup_profile {
            h.push(("X-Data-Classification".into(), v));
        }
    }
    if let Some(u) = &r.user_header {
        h.push(("x-user-id".into(), u.clone()));
    }
    if r.authorization {
        h.push(("authorization".into(), "Bearer client-key".into()));
    }
    (h, body, planted)
}

/// Builds `r` and runs the request properties (and the secret properties when one is planted).
pub fn check(r: &Req) -> Outcome {
    let (h, body, planted) = build(r);
    match planted {
        Some((secret, entity)) if !r.end_of_stream => request::check_with_secret(&h, &body, &secret, entity),
        _ => request::check(&h, r.end_of_stream, &body).0,
    }
}
