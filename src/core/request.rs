//! The request path: headers → plan, body → forward (possibly rewritten) or reject.
//!
//! Both steps fill the [`AuditRecord`]. Every failure is a [`Rejection`]: nothing unchecked is
//! ever forwarded.

use crate::core::audit::{sha256_hex, sha256_hex_parts, AuditRecord, Decision};
use crate::core::audit_safe;
use crate::core::config::{CapAction, UnknownEndpoints};
use crate::core::decode::{self, Coding, DecodeError};
use crate::core::edit::{Edit, Rewrite};
use crate::core::endpoint::{classify, Endpoint, Route};
use crate::core::head_pii;
use crate::core::json::{self, JsonError, Kind, Node};
use crate::core::model::{canonical_model, ModelRules};
use crate::core::pii::mask::Masks;
use crate::core::pii::{Entity, PiiTally};
use crate::core::plugins::{self, PluginUse};
use crate::core::policy::{Policy, Profile};
use crate::core::provider::Routing;
use crate::core::reason::Reason;
use crate::core::reply::Rejection;
use crate::core::spend::feed::{PriceView, Prices};
use crate::core::spend::{self, estimate::worst_case};
use crate::core::token_input;
use crate::core::urlpath;
use crate::core::walk::{self, Walker};

/// Longest user id taken from a header or the body.
const MAX_USER_LEN: usize = 256;

/// What the adapter knows when request headers arrive.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// All request headers (names lower-case, as Envoy gives them), pseudo-headers included.
    pub headers: &'a [(String, String)],
    /// Whether the headers end the request (no body follows).
    pub end_of_stream: bool,
}

/// What the body step needs from the header step.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Index of the profile in [`Policy::profiles`].
    pub profile: usize,
    /// Classified path.
    pub(crate) route: Route,
    /// Trusted user id from the configured header.
    pub(crate) trusted_user: Option<String>,
    /// Trusted team id from `spend.team_header`.
    pub team: Option<String>,
    /// Headers to remove before the upstream.
    pub(crate) remove_headers: Vec<String>,
    /// The normalised `:path` to forward, when it differs from the one received: the upstream
    /// must see the path the request was classified by.
    pub(crate) rewrite_path: Option<String>,
    /// Headers to set (replacing any value) before the upstream.
    pub(crate) set_headers: Vec<(&'static str, &'static str)>,
    /// The request body's content coding: the body is decoded, governed and forwarded decoded,
    /// so `content-encoding` must be removed once the body is replaced ([`Plan::body_decoded`]).
    pub(crate) content_coding: Option<Coding>,
    /// The prices the worst case uses besides the policy's table (`spend.prices_refresh`).
    pub(crate) prices: PriceView,
    /// Headers whose values were redacted (`core::head_pii`): (name as sent, new value).
    pub(crate) redacted_headers: Vec<(String, String)>,
    /// Findings in the headers and the query string, counted with the body's.
    pub(crate) head_findings: Vec<(String, &'static str, u64)>,
}

/// Every governed request asks the upstream for an uncompressed answer, so the filter reads every
/// response (docs/design.md, "Compressed bodies"). An absent `accept-encoding` would allow any
/// coding (RFC 9110 §12.5.3): it is set, not removed.
pub(crate) const ACCEPT_ENCODING: (&str, &str) = ("accept-encoding", "identity");

impl Plan {
    /// Whether the forwarded body is the decoded form of a compressed one: then its
    /// `content-encoding` header goes (and `content-length` is the decoded length).
    pub fn body_decoded(&self) -> bool {
        self.content_coding.is_some()
    }
}

/// Finds the single value of header `name`; more than one value is an error.
fn header<'h>(headers: &'h [(String, String)], name: &str) -> Result<Option<&'h str>, Rejection> {
    let mut found = None;
    for (k, v) in headers {
        if k.eq_ignore_ascii_case(name) {
            if found.is_some() {
                return Err(Rejection::bad_request(
                    Reason::AmbiguousHeader,
                    format!("header {name} appears more than once"),
                ));
            }
            found = Some(v.as_str());
        }
    }
    Ok(found)
}

fn first<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// `application/json` or `application/*+json`, in UTF-8: the filter reads the body as UTF-8, so
/// a server that honours another `charset` (UTF-7 turns ASCII `+ADEAMgAz-` into `123`) would read
/// text the filter never saw.
fn is_json_media_type(ct: &str) -> bool {
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let json = media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"));
    let utf8 = parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
            v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    });
    json && utf8
}

/// Every `x-request-id` value, joined with `,`; `None` without one.
fn request_ids(h: &[(String, String)]) -> Option<String> {
    let ids: Vec<&str> =
        h.iter().filter(|(k, _)| k.eq_ignore_ascii_case("x-request-id")).map(|(_, v)| v.as_str()).collect();
    (!ids.is_empty()).then(|| ids.join(","))
}

/// Fills the fields of the audit record that describe the request (method, authority, id, path,
/// endpoint) and normalises and classifies its path: the route and the `:path` to forward when it
/// differs from the one received, or `400 invalid_path` ([`urlpath::normalize`]). `on_head` calls
/// it; the adapter also calls it for a request it refuses before `on_head` (a header that is not
/// UTF-8, core/headers.rs).
pub(crate) fn describe_head(
    headers: &[(String, String)],
    audit: &mut AuditRecord,
) -> Result<(Route, Option<String>), Rejection> {
    let h = headers;
    let raw_path = first(h, ":path").unwrap_or("/");
    audit.method = first(h, ":method").map(audit_safe::method);
    audit.authority = first(h, ":authority").map(audit_safe::authority);
    // Several x-request-id headers are recorded (and so rewritten) as one joined value: a plain first
    // value must not let a second one reach the logs in clear.
    audit.request_id = request_ids(h).map(|ids| audit_safe::request_id(&ids));
    // The path as sent, without its query string: recorded only as a hash unless it is exactly
    // the recorded path.
    let sent = raw_path.split('?').next().unwrap_or_default();
    let normal = match urlpath::normalize(raw_path) {
        Ok(n) => n,
        Err(e) => {
            audit.path = None;
            audit.path_sha256 = Some(sha256_hex(sent.as_bytes()));
            return Err(Rejection::bad_request(Reason::InvalidPath, e.message()));
        }
    };
    let route = classify(&normal.path);
    let (recorded_path, path_hash) = audit_safe::path(&route, sent);
    audit.path = recorded_path;
    audit.path_sha256 = path_hash;
    audit.endpoint = Some(route.endpoint.name());
    let target = normal.target();
    let rewrite_path = (target != raw_path).then_some(target);
    Ok((route, rewrite_path))
}

/// Step 1: request headers. Returns the plan, or a rejection (audit already filled).
///
/// Who is asking (profile and trusted user) is resolved and recorded before any check can refuse
/// the request, so a refusal in this step still says who and under which profile.
pub fn on_head(policy: &Policy, head: RequestHead<'_>, audit: &mut AuditRecord) -> Result<Plan, Rejection> {
    let h = head.headers;
    let described = describe_head(h, audit);
    // Resolved even when the path is refused, so that refusal still names who asked.
    let who = identify(policy, h, audit);
    let result = described.and_then(|(route, rewrite_path)| {
        let (profile, trusted_user) = who?;
        let team = match &policy.spend.team_header {
            Some(name) => header(h, name)?
                .map(|v| v.trim().chars().take(MAX_USER_LEN).collect::<String>())
                .filter(|v| !v.is_empty()),
            None => None,
        };
        let plan = Plan {
            profile,
            route,
            trusted_user,
            team,
            remove_headers: Vec::new(),
            rewrite_path,
            set_headers: vec![ACCEPT_ENCODING],
            content_coding: None,
            prices: PriceView::Policy,
            redacted_headers: Vec::new(),
            head_findings: Vec::new(),
        };
        check_head(policy, head, plan)
    });
    let result = result.and_then(|plan| scan_head(policy, h, plan, audit));
    if let Ok(plan) = &result {
        audit.team.clone_from(&plan.team);
    }
    result.inspect_err(|r| record_rejection(audit, r))
}

/// Resolves the trusted user and the profile and records them; the user first, so a bad profile
/// header still leaves the user in the record.
fn identify(
    policy: &Policy,
    h: &[(String, String)],
    audit: &mut AuditRecord,
) -> Result<(usize, Option<String>), Rejection> {
    let trusted_user = match &policy.user_header {
        Some(name) => {
            header(h, name)?.map(|v| v.trim().chars().take(MAX_USER_LEN).collect::<String>()).filter(|v| !v.is_empty())
        }
        None => None,
    };
    if let Some(u) = &trusted_user {
        audit.user = Some(u.clone());
        audit.user_source = Some("header");
    }
    let profile = match header(h, &policy.profile_header)? {
        None => policy.default_profile,
        Some(v) => policy.profile_by_name(v).ok_or_else(|| {
            Rejection::bad_request(Reason::UnknownProfile, format!("unknown value in header {}", policy.profile_header))
        })?,
    };
    let prof = policy.profiles.get(profile).ok_or_else(|| Rejection::internal(Reason::ProfileIndex))?;
    audit.profile = Some(prof.name.clone());
    Ok((profile, trusted_user))
}

fn check_head(policy: &Policy, head: RequestHead<'_>, mut plan: Plan) -> Result<Plan, Rejection> {
    let h = head.headers;
    let mut remove_headers = vec![policy.profile_header.clone()];
    if let Some(u) = &policy.user_header {
        remove_headers.push(u.clone());
    }
    if let Some(t) = &policy.spend.team_header {
        remove_headers.push(t.clone());
    }
    plan.remove_headers = remove_headers;
    let profile = plan.profile;

    let prof = policy.profiles.get(profile).ok_or_else(|| Rejection::internal(Reason::ProfileIndex))?;
    if prof.reject_client_keys && (first(h, "authorization").is_some() || first(h, "x-api-key").is_some()) {
        return Err(Rejection::forbidden(
            Reason::ClientKeyRejected,
            format!(
                "profile '{}' does not accept client-supplied API keys; the gateway injects the credential",
                prof.name
            ),
        ));
    }
    if head.end_of_stream {
        return Ok(plan);
    }
    if policy.unknown_endpoints == UnknownEndpoints::Reject && plan.route.endpoint == Endpoint::Other {
        return Err(Rejection::invalid(
            404,
            Reason::UnknownEndpoint,
            "this endpoint is not allowed through the gateway",
        ));
    }
    if let Some(enc) = header(h, "content-encoding")? {
        plan.content_coding = decode::parse_coding(enc).map_err(|_| {
            Rejection::invalid(
                415,
                Reason::UnsupportedEncoding,
                "the request's content-encoding is not supported; send one of identity, gzip, deflate, zstd",
            )
        })?;
    }
    match header(h, "content-type")? {
        Some(ct) if is_json_media_type(ct) => {}
        _ => {
            return Err(Rejection::invalid(
                415,
                Reason::UnsupportedMediaType,
                "request bodies must be application/json",
            ))
        }
    }
    if let Some(cl) = header(h, "content-length")? {
        let n: u64 = cl
            .trim()
            .parse()
            .map_err(|_| Rejection::bad_request(Reason::InvalidContentLength, "content-length is not a number"))?;
        if n > policy.max_body_bytes {
            return Err(too_large(policy));
        }
    }
    Ok(plan)
}

/// Personal data and secrets in the forwarded headers and the query string ([`head_pii`]):
/// redacted in place (the path rewritten with the new query), counted, or `403 pii_blocked`.
fn scan_head(
    policy: &Policy,
    h: &[(String, String)],
    mut plan: Plan,
    audit: &mut AuditRecord,
) -> Result<Plan, Rejection> {
    let profile = policy.profiles.get(plan.profile).ok_or_else(|| Rejection::internal(Reason::ProfileIndex))?;
    if !profile.redactor.is_active() {
        return Ok(plan);
    }
    // `x-request-id` is not scanned as a header (the logs are keyed by it), but a credential in it
    // is recorded, and so forwarded and logged (stream/request_side.rs), as its hash (docs/pii.md).
    if let Some(ids) = request_ids(h) {
        if profile.redactor.detect(&ids).iter().any(|d| Entity::from_name(d.entity).is_some_and(Entity::is_secret)) {
            audit.request_id = Some(audit_safe::hashed(&ids));
        }
    }
    let query = first(h, ":path").and_then(|p| p.split_once('?')).map_or("", |(_, q)| q);
    let found = head_pii::scan(&profile.redactor, h, &plan.remove_headers, query);
    audit.set_redactions(&found.tally);
    if let Some(entity) = &found.tally.blocked {
        return Err(Rejection::forbidden(
            Reason::PiiBlocked,
            format!("a request header or the query string contains {entity}, which profile '{}' blocks", profile.name),
        ));
    }
    if let Some(q) = found.query {
        plan.rewrite_path = Some(format!("{}?{q}", plan.route.path));
    }
    plan.redacted_headers = found.headers;
    plan.head_findings = found.tally.counts;
    Ok(plan)
}

fn too_large(policy: &Policy) -> Rejection {
    Rejection::invalid(
        413,
        Reason::BodyTooLarge,
        format!("request body exceeds the gateway limit of {} bytes", policy.max_body_bytes),
    )
}

/// Rejection for a body that grew past the limit while buffering.
pub(crate) fn body_too_large(policy: &Policy, audit: &mut AuditRecord) -> Rejection {
    let r = too_large(policy);
    record_rejection(audit, &r);
    r
}

/// Marks the audit record for a rejection.
pub(crate) fn record_rejection(audit: &mut AuditRecord, r: &Rejection) {
    audit.decision = match r.status {
        402 | 403 | 429 => Decision::Deny,
        500..=599 => Decision::Error,
        _ => Decision::Reject,
    };
    audit.status = Some(r.status);
    audit.reason(r.reason);
    audit.prompt_sha256 = None;
    audit.bytes_out = 0;
}

/// Step 2: the whole body. Returns `Some(new_body)` when it must be rewritten, `None` to forward
/// it unchanged, or a rejection (audit already filled).
pub fn on_body(
    policy: &Policy,
    plan: &Plan,
    body: &[u8],
    audit: &mut AuditRecord,
) -> Result<Option<Vec<u8>>, Rejection> {
    on_body_masked(policy, plan, body, audit, &mut Masks::default())
}

/// [`on_body`], handing back in `masks` the placeholders the `mask` action issued (for restoring
/// them in the response; kept in the stream's memory only).
pub(crate) fn on_body_masked(
    policy: &Policy,
    plan: &Plan,
    body: &[u8],
    audit: &mut AuditRecord,
    masks: &mut Masks,
) -> Result<Option<Vec<u8>>, Rejection> {
    Ok(on_body_rewrite(policy, plan, body, audit, masks)?.map(|rw| rw.apply_to(body)))
}

/// [`on_body_masked`], the new body given as a [`Rewrite`] of `body` (what the adapter writes).
pub(crate) fn on_body_rewrite(
    policy: &Policy,
    plan: &Plan,
    body: &[u8],
    audit: &mut AuditRecord,
    masks: &mut Masks,
) -> Result<Option<Rewrite>, Rejection> {
    audit.bytes_in = body.len() as u64;
    let decoded = match decode_body(policy, plan, body, audit) {
        Ok(d) => d,
        Err(r) => {
            record_rejection(audit, &r);
            return Err(r);
        }
    };
    let result = check_body(policy, plan, decoded.as_deref().unwrap_or(body), audit, masks);
    // A decoded body is forwarded decoded, rewritten or not: it replaces the whole (compressed) body.
    let result = match (result, decoded) {
        (Ok(rw), Some(d)) => Ok(Some(Rewrite::whole(body.len(), rw.map_or(d.clone(), |rw| rw.apply_to(&d))))),
        (r, None) => r,
        (Err(r), _) => Err(r),
    };
    match &result {
        Ok(out) => {
            let (head, rest) = out.as_ref().map_or((body, &[][..]), |rw| (&rw.prefix[..], rw.rest(body)));
            audit.bytes_out = (head.len() + rest.len()) as u64;
            audit.prompt_sha256 = (!head.is_empty() || !rest.is_empty()).then(|| sha256_hex_parts(&[head, rest]));
            audit.decision = Decision::Allow;
        }
        Err(r) => record_rejection(audit, r),
    }
    result
}

/// Decodes a compressed request body (`Some`), within `max_body_bytes` of decoded size: more is
/// `413 body_too_large`, a stream that does not decode is `400 invalid_encoding`.
fn decode_body(
    policy: &Policy,
    plan: &Plan,
    body: &[u8],
    audit: &mut AuditRecord,
) -> Result<Option<Vec<u8>>, Rejection> {
    let Some(coding) = plan.content_coding else { return Ok(None) };
    let limit = usize::try_from(policy.max_body_bytes).unwrap_or(usize::MAX);
    let decoded = decode::decode(coding, body, limit).map_err(|e| match e {
        DecodeError::TooLarge => too_large(policy),
        e => Rejection::bad_request(
            Reason::InvalidEncoding,
            format!("the request body does not decode as {}: {}", coding.name(), e.describe()),
        ),
    })?;
    audit.reason(coding.request_note());
    Ok(Some(decoded))
}

fn json_rejection(e: &JsonError) -> Rejection {
    let (reason, message) = match e {
        JsonError::InvalidUtf8 => (Reason::InvalidUtf8, "request body is not valid UTF-8".to_string()),
        JsonError::Syntax(at) => (Reason::InvalidJson, format!("request body is not valid JSON (byte {at})")),
        JsonError::DuplicateKey(at) => {
            (Reason::DuplicateKey, format!("request body has a duplicate object key (byte {at})"))
        }
        JsonError::TooDeep(max) => (Reason::TooDeep, format!("request body nests deeper than {max} levels")),
    };
    Rejection::bad_request(reason, message)
}

fn check_body(
    policy: &Policy,
    plan: &Plan,
    body: &[u8],
    audit: &mut AuditRecord,
    masks: &mut Masks,
) -> Result<Option<Rewrite>, Rejection> {
    if body.len() as u64 > policy.max_body_bytes {
        return Err(too_large(policy));
    }
    let endpoint = plan.route.endpoint;
    let profile = policy.profiles.get(plan.profile).ok_or_else(|| Rejection::internal(Reason::ProfileIndex))?;
    if body.is_empty() {
        if endpoint.is_inference() {
            return Err(Rejection::bad_request(Reason::ModelMissing, "request has no body and so names no model"));
        }
        return Ok(None);
    }
    let root = json::parse(body, policy.max_json_depth).map_err(|e| json_rejection(&e))?;
    let is_object = matches!(root.kind, Kind::Object(_));
    // A JavaScript server that copies the body with `Object.assign` turns a `__proto__` member into
    // the prototype, so `{"__proto__": {"models": [...]}}` would hand it fields the filter never saw.
    if let Kind::Object(members) = &root.kind {
        if members.iter().any(|m| m.key.as_ref() == "__proto__") {
            return Err(Rejection::bad_request(Reason::ReservedKey, "the body has a top-level `__proto__` member"));
        }
    }
    if endpoint.is_inference() && !is_object {
        return Err(Rejection::bad_request(Reason::InvalidJson, "request body must be a JSON object"));
    }

    // Who asked is recorded before any refusal of the body (a denied request still names its user).
    if audit.user.is_none() {
        if let Some(u) = root.get("user").and_then(Node::as_str) {
            // Client-controlled and often an e-mail: recorded only as a hash.
            audit.user = Some(audit_safe::hashed(&u));
            audit.user_source = Some("body");
        }
    }
    check_models(profile, plan, &root, audit)?;
    let plugin_uses = plugins::uses(&root, &audit.models);
    check_plugins(profile, plugin_uses.as_deref())?;
    audit.stream = matches!(root.get("stream").map(|n| &n.kind), Some(Kind::Bool(true)));

    let mut edits: Vec<Edit> = Vec::new();
    if profile.redactor.is_active() && token_input::has_token_ids(endpoint, &root) {
        return Err(Rejection::bad_request(
            Reason::TokenInputUnreadable,
            "token ids cannot be read for personal data; send the text itself (e.g. LangChain's \
             OpenAIEmbeddings with check_embedding_ctx_length=False)",
        ));
    }
    if profile.redactor.is_active() {
        // The headers' and query's findings first: the record counts both.
        let mut tally = PiiTally { counts: plan.head_findings.clone(), ..PiiTally::default() };
        if profile.redactor.masks_any() {
            // Tags the client wrote itself are never issued (see `pii::mask`).
            walk::reserve_literals(&root, &mut tally.masks);
        }
        let mut walker = Walker::new(&profile.redactor, &mut tally, policy.max_json_depth);
        walker.walk_body(&root);
        if walker.unreadable {
            return Err(Rejection::bad_request(
                Reason::DataUrlUnreadable,
                "a data: URL is marked base64 but its body is not base64 (or its header names base64 \
                 elsewhere than at its end); send the standard alphabet, padding only at the end",
            ));
        }
        edits = walker.edits;
        audit.set_redactions(&tally);
        *masks = std::mem::take(&mut tally.masks);
        if let Some(entity) = &tally.blocked {
            return Err(Rejection::forbidden(
                Reason::PiiBlocked,
                format!("request contains {entity}, which profile '{}' blocks", profile.name),
            ));
        }
    }

    check_token_limits(endpoint, &root)?;
    if is_object {
        let mut inserts: Vec<(String, String)> = Vec::new();
        let mut top: Vec<Edit> = Vec::new();
        top_level_edits(policy, profile, plan, &root, body, audit, &mut top, &mut inserts)?;
        reconcile(&root, &mut edits, top)?;
        if !inserts.is_empty() {
            let mut frag =
                inserts.iter().map(|(k, v)| format!("{}:{v}", json::json_string(k))).collect::<Vec<_>>().join(",");
            if matches!(&root.kind, Kind::Object(m) if !m.is_empty()) {
                frag.push(',');
            }
            edits.push(Edit { start: root.start + 1, end: root.start + 1, bytes: frag.into_bytes() });
        }
    }
    let out = if edits.is_empty() {
        None
    } else {
        Some(Rewrite::of(body, edits).map_err(|_| Rejection::internal(Reason::EditConflict))?)
    };
    if profile.max_cost_per_request.is_some() || policy.spend.has_limits() {
        // On the body as sent: redaction and injected fields change its length.
        let sent_len = out.as_ref().map_or(body.len(), |rw| rw.len(body));
        let s = &policy.spend;
        let prices = Prices { table: &s.prices, fetched: &plan.prices };
        let worst =
            worst_case(prices, s.assume_output_tokens, profile.max_tokens, endpoint, &root, sent_len, &audit.models);
        let worst = spend::with_plugins(worst, s.plugin_prices.cost(plugin_uses.as_deref()));
        audit.spend = Some(spend::audit_of(&worst));
        spend::check_cost(profile.max_cost_per_request, &profile.name, &worst)?;
    }
    Ok(out)
}

/// Adds the top-level replacements to the redaction edits. A replaced `user` (the trusted
/// header's id written over the body's) drops redactions inside the old value. A replaced
/// `provider` is rendered from the client's original object, so a redaction inside it (a
/// provider value that failed its grammar and held personal data) cannot be honoured there:
/// the request is refused rather than sending the value on.
fn reconcile(root: &Node<'_>, edits: &mut Vec<Edit>, top: Vec<Edit>) -> Result<(), Rejection> {
    for t in top {
        let inside = |e: &Edit| e.start >= t.start && e.end <= t.end && t.end > t.start;
        if edits.iter().any(inside) {
            let is_user = root.get("user").is_some_and(|n| n.start == t.start && n.end == t.end);
            if !is_user {
                return Err(Rejection::bad_request(
                    Reason::ProviderInvalid,
                    "provider holds personal data or a credential; it must hold provider routing fields only",
                ));
            }
            edits.retain(|e| !inside(e));
        }
        edits.push(t);
    }
    Ok(())
}

/// Checks every model the request can reach against the profile's rules.
fn check_models(profile: &Profile, plan: &Plan, root: &Node<'_>, audit: &mut AuditRecord) -> Result<(), Rejection> {
    let mut reachable: Vec<String> = Vec::new();
    let invalid = |what: &str| Rejection::bad_request(Reason::ModelInvalid, format!("{what} is not a valid model id"));
    match root.get("model") {
        None | Some(Node { kind: Kind::Null, .. }) => {}
        Some(n) => {
            let s = n.as_str().ok_or_else(|| invalid("model"))?;
            let c = canonical_model(&s).ok_or_else(|| invalid("model"))?;
            audit.model_requested = Some(c.clone());
            reachable.push(c);
        }
    }
    match root.get("models") {
        None | Some(Node { kind: Kind::Null, .. }) => {}
        Some(Node { kind: Kind::Array(items), .. }) => {
            for item in items {
                let s = item.as_str().ok_or_else(|| {
                    Rejection::bad_request(Reason::ModelsInvalid, "models must be a list of model ids")
                })?;
                let c = canonical_model(&s).ok_or_else(|| {
                    Rejection::bad_request(Reason::ModelsInvalid, "models contains an invalid model id")
                })?;
                reachable.push(c);
            }
        }
        Some(_) => return Err(Rejection::bad_request(Reason::ModelsInvalid, "models must be a list of model ids")),
    }
    match root.get("preset") {
        None | Some(Node { kind: Kind::Null, .. }) => {}
        Some(n) => {
            let s = n.as_str().ok_or_else(|| invalid("preset"))?;
            let slug = s.trim().trim_start_matches("@preset/").to_string();
            reachable.push(canonical_model(&format!("@preset/{slug}")).ok_or_else(|| invalid("preset"))?);
        }
    }
    if let Some(slug) = &plan.route.preset {
        reachable.push(canonical_model(&format!("@preset/{slug}")).ok_or_else(|| invalid("preset"))?);
    }
    if plan.route.endpoint.is_inference() && reachable.is_empty() {
        return Err(Rejection::bad_request(Reason::ModelMissing, "request names no model; the policy requires one"));
    }
    audit.models = reachable.clone();
    for m in &reachable {
        let v = profile.models.check(m);
        if !v.allowed {
            let why = match v.rule {
                Some(n) => format!("rule #{n} ({})", profile.models.describe(n)),
                None => ModelRules::why_unmatched(m),
            };
            return Err(Rejection::forbidden(
                Reason::ModelDenied,
                format!("a requested model is not allowed for profile '{}': {why}", profile.name),
            ));
        }
    }
    Ok(())
}

/// Refuses a plugin (or `:online` model) the profile does not allow, and a malformed `plugins` on
/// a profile that restricts them (policy wins over the client: refused, not stripped, so the
/// client learns why its answer would lack the search or parsing it asked for).
fn check_plugins(profile: &Profile, uses: Result<&[PluginUse], &()>) -> Result<(), Rejection> {
    let denied = |what: String| {
        Rejection::forbidden(
            Reason::PluginDenied,
            format!("{what} is not allowed for profile '{}': it would send prompt content to a processor its provider routing does not govern", profile.name),
        )
    };
    match uses {
        Err(()) if profile.plugins.restricted() => Err(denied("plugins (not a list of objects with an id)".into())),
        Err(()) => Ok(()),
        Ok(u) => match profile.plugins.denied(u) {
            Some(p) => Err(denied(format!(
                "plugin '{}' (engine {})",
                p.id,
                p.engine.as_deref().unwrap_or("OpenRouter's default; a model with :online uses it")
            ))),
            None => Ok(()),
        },
    }
}

/// Every token-limit field the request sends must be `null` or an integer of at least 1, on every
/// profile: OpenAI refuses 0, negatives and fractions (`integer below minimum value`), Anthropic
/// requires at least 1, and a provider behind OpenRouter that reads 0 as "no limit" would make a
/// worst case computed from it (0 output tokens) wrong. Refused before any cap or cost is applied.
fn check_token_limits(endpoint: Endpoint, root: &Node<'_>) -> Result<(), Rejection> {
    for f in endpoint.token_limit_fields() {
        match root.get(f).map(|n| &n.kind) {
            None | Some(Kind::Null) => {}
            Some(Kind::Number(t)) if json::positive_integer(t).is_some() => {}
            Some(_) => {
                return Err(Rejection::bad_request(
                    Reason::MaxTokensInvalid,
                    format!("{f} must be an integer of at least 1 (or null)"),
                ))
            }
        }
    }
    Ok(())
}

/// Provider injection, token caps and user attribution: replacements of top-level values or
/// insertions after the opening brace.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
fn top_level_edits(
    policy: &Policy,
    profile: &Profile,
    plan: &Plan,
    root: &Node<'_>,
    body: &[u8],
    audit: &mut AuditRecord,
    edits: &mut Vec<Edit>,
    inserts: &mut Vec<(String, String)>,
) -> Result<(), Rejection> {
    let endpoint = plan.route.endpoint;
    fn set(root: &Node<'_>, key: &str, value: String, edits: &mut Vec<Edit>, inserts: &mut Vec<(String, String)>) {
        match root.get(key) {
            Some(n) => edits.push(Edit { start: n.start, end: n.end, bytes: value.into_bytes() }),
            None => inserts.push((key.to_string(), value)),
        }
    }

    // Routing applies to every request that can reach a model, whatever its path.
    if let (Some(pp), true) = (&profile.provider, endpoint.is_inference() || !audit.models.is_empty()) {
        let node = root.get("provider");
        if node.is_some_and(|n| body.get(n.start..n.end).is_none()) {
            return Err(Rejection::internal(Reason::ProviderSpan));
        }
        let client =
            Routing::read(node, pp.fixes_sort()).map_err(|e| Rejection::bad_request(Reason::ProviderInvalid, e.0))?;
        let merged = pp.merge(&client);
        for n in &merged.notes {
            audit.reason(*n);
        }
        let rendered = merged.value.to_json();
        let unchanged = root.get("provider").and_then(|n| body.get(n.start..n.end)) == Some(rendered.as_bytes());
        if !unchanged {
            set(root, "provider", rendered, edits, inserts);
        }
        audit.provider_injected = true;
    }

    if let Some(cap) = profile.max_tokens {
        let fields = endpoint.token_limit_fields();
        let mut any = false;
        for f in fields {
            let Some(n) = root.get(f) else { continue };
            any = true;
            if matches!(n.kind, Kind::Null) {
                // `null` means "no limit" to OpenRouter: replace it (inserting a second key would
                // leave a duplicate whose last value, the null, wins upstream).
                edits.push(Edit { start: n.start, end: n.end, bytes: cap.to_string().into_bytes() });
                audit.reason(Reason::MaxTokensInserted);
                continue;
            }
            let v = match &n.kind {
                Kind::Number(t) => json::positive_integer(t),
                _ => None,
            };
            // `check_token_limits` refused anything else already.
            let Some(v) = v else { return Err(Rejection::internal(Reason::MaxTokensInvalid)) };
            if v > cap {
                if profile.max_tokens_action == CapAction::Reject {
                    return Err(Rejection::bad_request(
                        Reason::MaxTokensExceeded,
                        format!("{f} exceeds the cap of {cap} for profile '{}'", profile.name),
                    ));
                }
                edits.push(Edit { start: n.start, end: n.end, bytes: cap.to_string().into_bytes() });
                audit.reason(Reason::MaxTokensClamped);
            }
        }
        if let (false, Some(primary)) = (any, fields.first()) {
            inserts.push(((*primary).to_string(), cap.to_string()));
            audit.reason(Reason::MaxTokensInserted);
        }
    }

    if policy.write_user {
        if let Some(u) = &plan.trusted_user {
            let value = json::json_string(u);
            let unchanged = root.get("user").and_then(|n| body.get(n.start..n.end)) == Some(value.as_bytes());
            if !unchanged {
                set(root, "user", value, edits, inserts);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "request_decode_tests.rs"]
mod decode_tests;
