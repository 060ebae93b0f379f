//! Every reason code the filter records or answers with: one enum, one spelling each. A reason
//! is the `error.reason` of a reply, an entry of the audit record's `reasons`, and the `reason`
//! label of `openrouter_guard_denials_total` (docs/audit.md, docs/configuration.md, docs/metrics.md).

use serde::{Serialize, Serializer};

macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, )*) => {
        /// A reason code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $( $(#[$doc])* $variant, )*
        }

        impl Reason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The code as printed (snake_case).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Reason::$variant => $text, )*
                }
            }
        }
    };
}

reasons! {
    // Refusals of the request headers.
    /// A header the filter reads appears more than once.
    AmbiguousHeader = "ambiguous_header",
    /// The path cannot be normalised unambiguously.
    InvalidPath = "invalid_path",
    /// The profile header names no configured profile.
    UnknownProfile = "unknown_profile",
    /// A client-supplied API key under a profile that refuses them.
    ClientKeyRejected = "client_key_rejected",
    /// A path outside the known endpoints under `unknown_endpoints: reject`.
    UnknownEndpoint = "unknown_endpoint",
    /// A `content-encoding` other than identity.
    UnsupportedEncoding = "unsupported_encoding",
    /// A body that is not `application/json` (UTF-8).
    UnsupportedMediaType = "unsupported_media_type",
    /// A `content-length` that is not a number.
    InvalidContentLength = "invalid_content_length",
    /// A body over `max_body_bytes`.
    BodyTooLarge = "body_too_large",
    /// An interpreted request header that is not UTF-8.
    HeaderNotUtf8 = "header_not_utf8",
    // Refusals of the request body.
    /// A body that is not UTF-8.
    InvalidUtf8 = "invalid_utf8",
    /// A body that is not JSON (or not an object where one is required).
    InvalidJson = "invalid_json",
    /// A compressed request body that does not decode (corrupt, truncated, checksum mismatch).
    InvalidEncoding = "invalid_encoding",
    /// A JSON object with a repeated key.
    DuplicateKey = "duplicate_key",
    /// JSON nested deeper than `max_json_depth`.
    TooDeep = "too_deep",
    /// A top-level `__proto__` member.
    ReservedKey = "reserved_key",
    /// No model named where one is required.
    ModelMissing = "model_missing",
    /// `model` or `preset` is not a valid model id.
    ModelInvalid = "model_invalid",
    /// `models` is not a list of valid model ids.
    ModelsInvalid = "models_invalid",
    /// A model the profile does not allow.
    ModelDenied = "model_denied",
    /// A plugin (or the `:online` variant) the profile does not allow, or a malformed `plugins`.
    PluginDenied = "plugin_denied",
    /// The client's `provider` object is invalid.
    ProviderInvalid = "provider_invalid",
    /// A token limit that is not a non-negative integer.
    MaxTokensInvalid = "max_tokens_invalid",
    /// A token limit over the cap under `max_tokens_action: reject`.
    MaxTokensExceeded = "max_tokens_exceeded",
    /// PII the profile blocks.
    PiiBlocked = "pii_blocked",
    /// A `data:` URL marked base64 whose body a WHATWG reader does not decode (so other readers
    /// may read text from it that the filter could not scan).
    DataUrlUnreadable = "data_url_unreadable",
    /// `/embeddings` `input` or `/completions` `prompt` given as token ids under an active `pii`
    /// profile: text the PII engine cannot read.
    TokenInputUnreadable = "token_input_unreadable",
    /// The worst-case cost is over the profile's `max_cost_per_request` (402).
    CostLimitExceeded = "cost_limit_exceeded",
    /// The cost cannot be bounded: nothing caps the output.
    MaxTokensRequired = "max_tokens_required",
    /// The cost cannot be bounded: a file, audio or video part given by URL.
    CostUnbounded = "cost_unbounded",
    /// The cost cannot be bounded: a reachable model has no price.
    PriceMissing = "price_missing",
    /// The cost cannot be bounded: the prices fetched from OpenRouter are older than
    /// `spend.prices_refresh.max_age_s`, or none were fetched yet (503).
    PricesStale = "prices_stale",
    /// A budget or rate limit is exhausted (429, with `Retry-After`).
    LimitExceeded = "limit_exceeded",
    /// The limit counters could not be read or written (shared data failed): fail closed.
    LimitStoreFailed = "limit_store_failed",
    /// A limit counter held bytes that are not a counter: fail closed.
    LimitStoreBadData = "limit_store_bad_data",
    /// A limit counter kept changing under concurrent writers: fail closed.
    LimitStoreContended = "limit_store_contended",
    /// The rate-limit service (`spend.store` kind `rls`) did not answer: timeout, unavailable,
    /// no such cluster.
    LimitStoreUnavailable = "limit_store_unavailable",
    // Notes: where the policy overruled the client, or what the filter did to the stream.
    /// `max_tokens` (or the endpoint's field) was inserted.
    MaxTokensInserted = "max_tokens_inserted",
    /// A token limit was lowered to the cap.
    MaxTokensClamped = "max_tokens_clamped",
    /// Providers outside the policy's order were dropped from the client's `order`.
    ProviderOrderOutsidePolicyDropped = "provider_order_outside_policy_dropped",
    /// Providers outside the policy were dropped from the client's `only`.
    ProviderOnlyOutsidePolicyDropped = "provider_only_outside_policy_dropped",
    /// The client's `allow_fallbacks` was overridden.
    ProviderAllowFallbacksOverridden = "provider_allow_fallbacks_overridden",
    /// A boolean provider flag was overridden.
    ProviderFlagOverridden = "provider_flag_overridden",
    /// The client's `data_collection` was overridden.
    ProviderDataCollectionOverridden = "provider_data_collection_overridden",
    /// The client's `max_price` was lowered to the policy's.
    ProviderMaxPriceCapped = "provider_max_price_capped",
    /// A request header that is not UTF-8 was passed on unread (or treated as absent).
    HeaderNotUtf8Passed = "header_not_utf8_passed",
    /// A response header the filter reads was not UTF-8.
    ResponseHeaderNotUtf8 = "response_header_not_utf8",
    /// Request trailers were removed before forwarding.
    RequestTrailersDropped = "request_trailers_dropped",
    /// The request body arrived gzip-compressed and was forwarded decoded.
    RequestDecodedGzip = "request_decoded_gzip",
    /// The request body arrived deflate-compressed and was forwarded decoded.
    RequestDecodedDeflate = "request_decoded_deflate",
    /// The request body arrived zstd-compressed and was forwarded decoded.
    RequestDecodedZstd = "request_decoded_zstd",
    /// The response body arrived gzip-compressed and was decoded to be read.
    ResponseDecodedGzip = "response_decoded_gzip",
    /// The response body arrived deflate-compressed and was decoded to be read.
    ResponseDecodedDeflate = "response_decoded_deflate",
    /// The response body arrived zstd-compressed and was decoded to be read.
    ResponseDecodedZstd = "response_decoded_zstd",
    /// The answer could not be read to restore its placeholders (compressed, too large, not
    /// parseable): withheld (502).
    ResponseUnreadable = "response_unreadable",
    /// A stream ended with trailers while its rewriting held back a tail (a placeholder prefix,
    /// the output inspection's window): nothing can follow the last data frame, so the tail was
    /// dropped, never sent unread.
    ResponseTailDropped = "response_tail_dropped",
    // The stream itself.
    /// Output inspection blocked the model's answer (`output_pii` action `block`).
    OutputBlocked = "output_blocked",
    /// A held response came from a provider or model outside the policy (502).
    ServedUnapproved = "served_unapproved",
    /// The stream ended before the filter saw the whole request; nothing was forwarded.
    RequestIncomplete = "request_incomplete",
    /// The request reached the upstream without a decision (the filter lost control).
    FilterBypassed = "filter_bypassed",
    /// Envoy could not hold the request headers (`allow_on_headers_stop_iteration` off).
    HeadersNotHeld = "headers_not_held",
    // Internal faults (500, fail closed).
    /// No policy loaded.
    NoPolicy = "no_policy",
    /// The body step left no cost estimate for the budget check.
    SpendEstimateMissing = "spend_estimate_missing",
    /// A profile index out of range.
    ProfileIndex = "profile_index",
    /// The span of the client's `provider` object is out of range.
    ProviderSpan = "provider_span",
    /// Body edits overlap.
    EditConflict = "edit_conflict",
    /// The body step found no plan.
    MissingPlan = "missing_plan",
    /// The request headers could not be read.
    ReadHeadersFailed = "read_headers_failed",
    /// The request body could not be read.
    ReadBodyFailed = "read_body_failed",
    /// A request header could not be edited.
    HeaderEditFailed = "header_edit_failed",
    /// The recorded path could not be published for the log.
    LogPathFailed = "log_path_failed",
    /// Request trailers could not be read or removed.
    TrailersEditFailed = "trailers_edit_failed",
    /// The request body could not be replaced.
    WriteBodyFailed = "write_body_failed",
}

impl Reason {
    /// A refusal because the request body could not be parsed or decoded (counted as a request parse
    /// failure).
    pub fn is_request_parse_failure(self) -> bool {
        matches!(
            self,
            Self::InvalidJson | Self::InvalidUtf8 | Self::DuplicateKey | Self::TooDeep | Self::InvalidEncoding
        )
    }
}

/// Why an answer could not be read to restore or inspect it. Never printed: the reply, the audit
/// record and the metric all say [`Reason::ResponseUnreadable`]; the detail names the check that
/// failed, for tests and readers of the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreadable {
    /// A body (or a held body labelled JSON) that is not one JSON document.
    BadJson,
    /// The rewrite's edits overlap.
    EditConflict,
    /// A plain-text body that is not UTF-8.
    NotUtf8,
    /// A `choices[].index` (or output index) a client could read as another channel's.
    BadIndex,
    /// An event with a `choices` array whose `type` belongs to another API.
    AmbiguousEvent,
    /// A non-text delta string (tool-call id, name, role) arriving in differing pieces.
    SplitName,
    /// More channels open (or first pieces kept) than a stream may hold.
    TooManyChannels,
    /// An event over the size bound.
    EventTooLarge,
    /// An event whose data is not JSON.
    BadEventJson,
    /// Text on a channel after its end event.
    TextAfterEnd,
    /// The open channels' templates over their bound.
    TemplatesTooLarge,
    /// A compressed stream, or a coding the filter does not decode.
    Encoded,
    /// A held body (decoded or not) over the size bound.
    TooLarge,
    /// A compressed body that does not decode.
    BadEncoding,
    /// The rewritten body could not be written back.
    WriteFailed,
    /// The held body could not be read.
    ReadFailed,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Tests compare reasons with their printed codes.
#[cfg(test)]
impl PartialEq<&str> for Reason {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
impl PartialEq<str> for Reason {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_tokens() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            let s = r.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{s}"
            );
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{s}\""));
        }
    }

    /// The codes in a markdown table's `column` (after the `header` row), as backticked tokens:
    /// all of them, or (`after_status`) those after a status (`400 \`invalid_json\` / \`too_deep\``).
    fn table_codes(doc: &str, header: &str, column: usize, after_status: bool) -> Vec<String> {
        let text = std::fs::read_to_string(format!("{}/docs/{doc}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let (_, table) = text.split_once(header).unwrap();
        let mut codes = Vec::new();
        for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
            let cell = row.split('|').nth(column).unwrap();
            let mut status = !after_status;
            for (i, piece) in cell.split('`').enumerate() {
                if i % 2 == 0 {
                    let t = piece.trim();
                    status = !after_status || t.ends_with(|c: char| c.is_ascii_digit()) || (status && t == "/");
                } else if status && piece.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                    codes.push(piece.to_owned());
                }
            }
        }
        codes
    }

    #[test]
    fn the_docs_reason_tables_name_only_codes_of_the_enum() {
        let audit = table_codes("audit.md", "| reason | decision / status | meaning |", 1, false);
        let answers = table_codes("configuration.md", "| situation | answer (`error.reason`) |", 2, true);
        assert!(audit.len() > 15 && answers.len() > 20, "{audit:?} {answers:?}");
        let known: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        let unknown: Vec<&String> = audit.iter().chain(&answers).filter(|c| !known.contains(&c.as_str())).collect();
        assert!(unknown.is_empty(), "codes in docs/ that are no Reason: {unknown:?}");
    }

    #[test]
    fn every_code_is_documented() {
        let docs: String = ["audit.md", "configuration.md", "metrics.md", "design.md", "spend.md", "pii.md"]
            .iter()
            .map(|f| std::fs::read_to_string(format!("{}/docs/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap())
            .collect();
        // As a whole token: `400 max_tokens_invalid`, `header_not_utf8` (not inside a longer code).
        let is_code_byte = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        let documented = |code: &str| {
            docs.match_indices(code).any(|(i, _)| {
                let before = i.checked_sub(1).and_then(|j| docs.as_bytes().get(j)).copied();
                let after = docs.as_bytes().get(i + code.len()).copied();
                !before.is_some_and(is_code_byte) && !after.is_some_and(is_code_byte)
            })
        };
        let missing: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).filter(|s| !documented(s)).collect();
        assert!(missing.is_empty(), "reason codes missing from docs/: {missing:?}");
    }
}
