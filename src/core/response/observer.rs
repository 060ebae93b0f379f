//! Per-response observer: headers, then each new body chunk, then `finish`. It never changes or
//! holds back the response; it only reads.

use super::json_body;
use super::sse::SseParser;
use super::{reason, ResponseSummary};
use crate::core::decode::{self, Coding, DecodeError};

/// Bounds on what one response may cost in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserverLimits {
    /// Largest non-streaming JSON body that is buffered and parsed; larger ones pass uninspected.
    pub max_json_bytes: usize,
    /// Longest SSE line (and joined event data) kept; longer ones are skipped and counted.
    pub max_sse_line: usize,
}

impl Default for ObserverLimits {
    fn default() -> Self {
        Self { max_json_bytes: 1024 * 1024, max_sse_line: 256 * 1024 }
    }
}

#[derive(Debug)]
enum Mode {
    /// `on_headers` has not been called.
    AwaitingHeaders,
    /// Buffering a JSON body; `too_large` once it passed the limit (the buffer is then freed).
    /// With a `coding`, the buffered bytes are compressed and decoded at the end, within the
    /// same limit.
    Json { body: Vec<u8>, too_large: bool, coding: Option<Coding> },
    /// Parsing an event stream.
    Sse(SseParser),
    /// Passing through without looking; the reason goes to `not_inspected`.
    Skip(&'static str),
}

/// Observes one OpenRouter response. Create one per response.
///
/// Call [`on_headers`](Self::on_headers) from the response-headers callback,
/// [`on_chunk`](Self::on_chunk) with only the new bytes of each response-body callback, and
/// [`finish`](Self::finish) once, at end of stream or when the stream is torn down.
#[derive(Debug)]
pub struct ResponseObserver {
    limits: ObserverLimits,
    mode: Mode,
    header_generation_id: Option<String>,
    summary: ResponseSummary,
    finished: Option<ResponseSummary>,
}

impl ResponseObserver {
    /// A new observer with the given limits.
    pub fn new(limits: ObserverLimits) -> Self {
        Self {
            limits,
            mode: Mode::AwaitingHeaders,
            header_generation_id: None,
            summary: ResponseSummary::default(),
            finished: None,
        }
    }

    /// Records the status and chooses how to read the body. A JSON body in `gzip`, `deflate` or
    /// `zstd` is decoded at the end; any other coding, and any coding on an event stream, means
    /// the body is not read (`encoded`; the filter asks for identity, `core::request::ACCEPT_ENCODING`).
    pub fn on_headers(
        &mut self,
        status: u16,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
        generation_id_header: Option<&str>,
    ) {
        self.summary.status = Some(status);
        self.header_generation_id =
            generation_id_header.map(str::trim).filter(|g| !g.is_empty() && g.len() <= 256).map(str::to_owned);
        let coding = decode::parse_coding(content_encoding.unwrap_or_default());
        let media = content_type.and_then(|ct| ct.split(';').next()).map(str::trim);
        let json = Mode::Json { body: Vec::new(), too_large: false, coding: coding.clone().ok().flatten() };
        self.mode = match media {
            _ if coding.is_err() => Mode::Skip(reason::ENCODED),
            Some(m) if m.eq_ignore_ascii_case("text/event-stream") => {
                self.summary.streamed = true;
                if coding != Ok(None) {
                    Mode::Skip(reason::ENCODED)
                } else {
                    Mode::Sse(SseParser::new(self.limits.max_sse_line))
                }
            }
            // No content type: try JSON, OpenRouter's only other body shape.
            None => json,
            Some(m) if is_json_media(m) => json,
            Some(_) => Mode::Skip(reason::NOT_JSON),
        };
    }

    /// Reads the next piece of the body: pass only the bytes not seen before.
    pub fn on_chunk(&mut self, chunk: &[u8]) {
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        self.summary.body_bytes = self.summary.body_bytes.saturating_add(len);
        let Self { mode, summary, limits, .. } = self;
        match mode {
            Mode::Json { too_large: true, .. } => {}
            Mode::Json { body, too_large, .. } => {
                if body.len().saturating_add(chunk.len()) > limits.max_json_bytes {
                    *too_large = true;
                    *body = Vec::new();
                } else {
                    body.extend_from_slice(chunk);
                }
            }
            Mode::Sse(parser) => parser.feed(chunk, &mut |data| on_event(summary, data)),
            Mode::AwaitingHeaders | Mode::Skip(_) => {}
        }
    }

    /// Ends the response and returns what was learned. `complete` is false when the stream was
    /// cut (client abort, upstream reset); then `not_inspected` is `"incomplete"`. Calling it again
    /// returns the same summary.
    pub fn finish(&mut self, complete: bool) -> ResponseSummary {
        if let Some(done) = &self.finished {
            return done.clone();
        }
        let mode = std::mem::replace(&mut self.mode, Mode::Skip(reason::NO_HEADERS));
        let mut s = std::mem::take(&mut self.summary);
        let not_inspected = match mode {
            Mode::AwaitingHeaders => Some(reason::NO_HEADERS),
            Mode::Skip(why) => Some(why),
            Mode::Json { too_large: true, .. } => Some(reason::TOO_LARGE),
            Mode::Json { .. } if !complete => Some(reason::INCOMPLETE),
            Mode::Json { body, .. } if body.is_empty() => Some(reason::EMPTY),
            Mode::Json { body, coding, .. } => match decoded(body, coding, self.limits.max_json_bytes, &mut s) {
                Err(why) => Some(why),
                Ok(body) => match json_body::apply(&body, &mut s) {
                    Ok(()) => {
                        s.inspected = true;
                        None
                    }
                    Err(_) => Some(reason::BAD_JSON),
                },
            },
            Mode::Sse(mut parser) => {
                parser.finish(complete, &mut |data| on_event(&mut s, data));
                let stats = parser.stats();
                s.events = stats.events;
                s.skipped_lines = stats.skipped_lines;
                s.inspected = true;
                (!complete).then_some(reason::INCOMPLETE)
            }
        };
        s.not_inspected = not_inspected;
        if let Some(header_id) = self.header_generation_id.take() {
            // The header is sent for every endpoint and is the id `/generation` looks up; a body
            // `id` can be an endpoint-specific id (e.g. on `/responses`).
            s.generation_id = Some(header_id);
        }
        self.finished = Some(s.clone());
        s
    }
}

/// The body as sent (no coding) or decoded within `limit`; a body that does not decode is not
/// inspected (`too_large`, `bad_encoding`). A decoded body is noted in the summary.
fn decoded(
    body: Vec<u8>,
    coding: Option<Coding>,
    limit: usize,
    s: &mut ResponseSummary,
) -> Result<Vec<u8>, &'static str> {
    let Some(coding) = coding else { return Ok(body) };
    match decode::decode(coding, &body, limit) {
        Ok(plain) => {
            s.decoded_from = Some(coding);
            Ok(plain)
        }
        Err(DecodeError::TooLarge) => Err(reason::TOO_LARGE),
        Err(_) => Err(reason::BAD_ENCODING),
    }
}

/// One SSE event's data: `[DONE]`, or a JSON chunk folded into the summary.
fn on_event(summary: &mut ResponseSummary, data: &[u8]) {
    if data.trim_ascii() == b"[DONE]" {
        summary.done = true;
        return;
    }
    if json_body::apply(data, summary).is_err() {
        summary.bad_events = summary.bad_events.saturating_add(1);
    }
}

fn is_json_media(media: &str) -> bool {
    media.eq_ignore_ascii_case("application/json")
        || media.rsplit_once('+').is_some_and(|(_, suffix)| suffix.eq_ignore_ascii_case("json"))
}
