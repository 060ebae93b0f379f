//! The worst case of one request (tokens and cost), as the spend estimate computes it
//! ([`crate::core::spend::estimate`]), the audit record carries it and budgets count it.

use crate::core::reason::Reason;

/// Why a request's worst case is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// Neither the request nor its profile caps the output, and no `assume_output_tokens`.
    NoOutputCap,
    /// A file, document, audio or video part given by URL or `file_id`.
    RemoteMedia,
    /// A content part of a type the endpoint's estimate does not know.
    PartType,
    /// A model the request can reach has no price.
    NoPrice,
    /// Prices are refreshed from OpenRouter (`spend.prices_refresh`) and the last good fetch is
    /// older than `max_age_s`, or there was none yet.
    PricesStale,
    /// A limit kept per model, and a model OpenRouter resolves itself (router, alias, preset):
    /// which model's counter it uses is known only from the answer.
    ResolvedUpstream,
}

impl Unknown {
    /// The reason code (audit record, error reply).
    pub(crate) fn reason(self) -> Reason {
        match self {
            Unknown::NoOutputCap => Reason::MaxTokensRequired,
            Unknown::RemoteMedia | Unknown::PartType | Unknown::ResolvedUpstream => Reason::CostUnbounded,
            Unknown::NoPrice => Reason::PriceMissing,
            Unknown::PricesStale => Reason::PricesStale,
        }
    }
}

/// The worst case of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Worst {
    /// Upper bound on prompt tokens.
    pub(crate) prompt_tokens: Result<u64, Unknown>,
    /// Output cap (times `n` choices).
    pub(crate) output_tokens: Result<u64, Unknown>,
    /// Largest cost over every reachable model, micro-USD.
    pub(crate) cost_micro: Result<u64, Unknown>,
}
