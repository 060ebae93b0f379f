//! Incremental Server-Sent Events parser: chunks in, the `data` of each event out.
//!
//! Grammar (WHATWG HTML, "9.2.5 Parsing an event stream"):
//!
//! ```text
//! stream        = [ bom ] *event
//! event         = *( comment / field ) end-of-line
//! comment       = colon *any-char end-of-line
//! field         = 1*name-char [ colon [ space ] *any-char ] end-of-line
//! end-of-line   = ( cr lf / cr / lf )
//!
//! ; characters
//! lf            = %x000A ; U+000A LINE FEED (LF)
//! cr            = %x000D ; U+000D CARRIAGE RETURN (CR)
//! space         = %x0020 ; U+0020 SPACE
//! colon         = %x003A ; U+003A COLON (:)
//! bom           = %xFEFF ; U+FEFF BYTE ORDER MARK
//! name-char     = %x0000-0009 / %x000B-000C / %x000E-0039 / %x003B-10FFFF
//!                 ; a scalar value other than U+000A LF, U+000D CR, or U+003A COLON
//! any-char      = %x0000-0009 / %x000B-000C / %x000E-10FFFF
//!                 ; a scalar value other than U+000A LF or U+000D CR
//! ```
//!
//! An empty line dispatches the event; `data` lines of one event are joined with LF. Only `data`
//! matters to the filter: `event`, `id` and `retry` are parsed and ignored. OpenRouter sends
//! `: OPENROUTER PROCESSING` comments while it waits, `data: {json}` events, and `data: [DONE]`.
//!
//! Memory and copies: lines are split on bytes, never decoded here (a chunk may end inside a UTF-8
//! character or between CR and LF; only complete lines are looked at). Complete lines are read in
//! place from the chunk; only an unterminated tail is copied, into `partial`, and an event's data
//! is copied into `data` only when the blank line that ends it is not already in the same chunk.
//! Both buffers are capped at `max_line` bytes: a longer line (or event) is skipped and counted.
//! So the common case copies nothing, and memory stays bounded however long the stream.

/// Counters kept by [`SseParser`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SseStats {
    /// Events dispatched with data.
    pub events: u32,
    /// Comment lines (`: ...`).
    pub(crate) comments: u32,
    /// Lines longer than the limit, and events whose joined data exceeded it; both are dropped.
    pub(crate) skipped_lines: u32,
}

/// Incremental SSE parser with bounded memory. Feed it each chunk once, in order.
#[derive(Debug)]
pub(crate) struct SseParser {
    max_line: usize,
    /// Bytes of a line not yet terminated (at most `max_line`).
    partial: Vec<u8>,
    /// Joined `data` of the event being assembled (at most `max_line`).
    data: Vec<u8>,
    /// The event being assembled has at least one `data` line.
    has_data: bool,
    /// The event's data exceeded `max_line`: it will be dropped at dispatch.
    data_overflow: bool,
    /// The current line exceeded `max_line`: drop bytes until its end of line.
    skipping: bool,
    /// The previous chunk ended with CR: a leading LF belongs to that end of line.
    after_cr: bool,
    /// No line has been completed yet (a leading BOM is dropped from the first line).
    first_line: bool,
    stats: SseStats,
}

impl SseParser {
    /// A parser that keeps lines and events of at most `max_line` bytes.
    pub(crate) fn new(max_line: usize) -> Self {
        Self {
            max_line,
            partial: Vec::new(),
            data: Vec::new(),
            has_data: false,
            data_overflow: false,
            skipping: false,
            after_cr: false,
            first_line: true,
            stats: SseStats::default(),
        }
    }

    /// Counters so far.
    pub(crate) fn stats(&self) -> SseStats {
        self.stats
    }

    /// Parses the next chunk of the stream, calling `on_data` with the data of each complete event.
    pub(crate) fn feed<F: FnMut(&[u8])>(&mut self, chunk: &[u8], on_data: &mut F) {
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let Some((b'\n', tail)) = rest.split_first() {
                rest = tail;
            }
        }
        if !self.partial.is_empty() || self.skipping {
            // Finish the line carried over from earlier chunks.
            let Some((head, eol)) = split_at_eol(rest) else {
                self.carry(rest);
                return;
            };
            self.carry(head);
            rest = self.skip_eol(eol);
            if self.skipping {
                self.skipping = false;
                self.first_line = false;
            } else {
                let line = std::mem::take(&mut self.partial);
                self.line(&line, rest, on_data);
                self.partial = line;
                self.partial.clear();
            }
        }
        while let Some((line, eol)) = split_at_eol(rest) {
            rest = self.skip_eol(eol);
            if line.len() > self.max_line {
                self.stats.skipped_lines = self.stats.skipped_lines.saturating_add(1);
                self.first_line = false;
            } else {
                self.line(line, rest, on_data);
            }
        }
        self.carry(rest);
    }

    /// Ends the stream. When `complete`, an unterminated last line and an event missing its final
    /// blank line are still processed (the spec discards them; being lenient here only gains usage
    /// data). When the stream was cut, they are dropped: they may be truncated.
    pub(crate) fn finish<F: FnMut(&[u8])>(&mut self, complete: bool, on_data: &mut F) {
        if complete {
            if !self.partial.is_empty() && !self.skipping {
                let line = std::mem::take(&mut self.partial);
                self.line(&line, &[], on_data);
            }
            self.dispatch(on_data);
        }
        self.partial = Vec::new();
        self.data = Vec::new();
        self.has_data = false;
        self.data_overflow = false;
        self.skipping = false;
        self.after_cr = false;
    }

    /// Appends an unterminated piece of the current line, or starts skipping it when too long.
    fn carry(&mut self, bytes: &[u8]) {
        if self.skipping || bytes.is_empty() {
            return;
        }
        if self.partial.len().saturating_add(bytes.len()) > self.max_line {
            self.stats.skipped_lines = self.stats.skipped_lines.saturating_add(1);
            self.skipping = true;
            self.partial.clear();
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// `eol` starts with CR or LF; returns what follows the end of line.
    fn skip_eol<'c>(&mut self, eol: &'c [u8]) -> &'c [u8] {
        match eol {
            [b'\r', b'\n', tail @ ..] => tail,
            [b'\r'] => {
                self.after_cr = true;
                &[]
            }
            [_, tail @ ..] => tail,
            [] => eol,
        }
    }

    /// Handles one complete line. `next` is what follows it in the current chunk (a lookahead).
    fn line<F: FnMut(&[u8])>(&mut self, line: &[u8], next: &[u8], on_data: &mut F) {
        let mut line = line;
        if self.first_line {
            self.first_line = false;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        let Some((&first, _)) = line.split_first() else {
            self.dispatch(on_data);
            return;
        };
        if first == b':' {
            self.stats.comments = self.stats.comments.saturating_add(1);
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':').and_then(|colon| line.split_at_checked(colon)) {
            Some((name, value)) => {
                let value = value.get(1..).unwrap_or_default();
                (name, value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        if name != b"data" {
            return;
        }
        let blank_line_follows = matches!(next.first(), Some(b'\n' | b'\r'));
        if !self.has_data && blank_line_follows {
            // The whole event is in this chunk: hand out the data without copying it.
            self.stats.events = self.stats.events.saturating_add(1);
            on_data(value);
            return;
        }
        if self.has_data {
            self.push_data(b"\n");
        }
        self.has_data = true;
        self.push_data(value);
    }

    fn push_data(&mut self, bytes: &[u8]) {
        if self.data_overflow {
            return;
        }
        if self.data.len().saturating_add(bytes.len()) > self.max_line {
            self.data_overflow = true;
            self.data.clear();
        } else {
            self.data.extend_from_slice(bytes);
        }
    }

    fn dispatch<F: FnMut(&[u8])>(&mut self, on_data: &mut F) {
        if self.data_overflow {
            self.stats.skipped_lines = self.stats.skipped_lines.saturating_add(1);
        } else if self.has_data {
            self.stats.events = self.stats.events.saturating_add(1);
            on_data(&self.data);
        }
        self.data.clear();
        self.has_data = false;
        self.data_overflow = false;
    }
}

/// Splits at the first CR or LF: (line, end of line and the rest), or `None` without one.
fn split_at_eol(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = crate::core::json::find_line_end(bytes)?;
    bytes.split_at_checked(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_of(pieces: &[&[u8]], max_line: usize) -> (Vec<String>, SseStats) {
        let mut parser = SseParser::new(max_line);
        let mut out = Vec::new();
        let mut sink = |d: &[u8]| out.push(String::from_utf8(d.to_vec()).unwrap());
        for p in pieces {
            parser.feed(p, &mut sink);
        }
        parser.finish(true, &mut sink);
        (out, parser.stats())
    }

    #[test]
    fn it_joins_multi_line_data_with_lf_and_ignores_other_fields() {
        let stream = b"event: x\nid: 7\ndata: a\ndata:b\nretry: 5\n\n";
        let (events, stats) = events_of(&[stream], 1024);
        assert_eq!(events, ["a\nb"]);
        assert_eq!(stats.events, 1);
    }

    #[test]
    fn it_accepts_cr_lf_and_crlf_line_ends_in_one_stream() {
        let stream = b"data: 1\r\rdata: 2\n\ndata: 3\r\n\r\n";
        let (events, _) = events_of(&[stream], 1024);
        assert_eq!(events, ["1", "2", "3"]);
    }

    #[test]
    fn it_treats_cr_then_lf_in_the_next_chunk_as_one_line_end() {
        let (events, _) = events_of(&[b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n"], 1024);
        assert_eq!(events, ["1", "2"]);
    }

    #[test]
    fn it_counts_comments_and_dispatches_nothing_for_them() {
        let (events, stats) = events_of(&[b": OPENROUTER PROCESSING\n\n: again\n\n"], 1024);
        assert!(events.is_empty());
        assert_eq!(stats.comments, 2);
        assert_eq!(stats.events, 0);
    }

    #[test]
    fn it_drops_a_leading_byte_order_mark_split_across_chunks() {
        let (events, _) = events_of(&[b"\xEF", b"\xBB\xBFdata: x\n\n"], 1024);
        assert_eq!(events, ["x"]);
    }

    #[test]
    fn it_skips_and_counts_an_overlong_line_whatever_the_split() {
        let long = format!("data: {}\n\ndata: ok\n\n", "x".repeat(100));
        for at in 0..=long.len() {
            let (a, b) = long.as_bytes().split_at(at);
            let (events, stats) = events_of(&[a, b], 64);
            assert_eq!(events, ["ok"], "split at {at}");
            assert_eq!(stats.skipped_lines, 1, "split at {at}");
        }
    }

    #[test]
    fn it_drops_an_event_whose_joined_data_exceeds_the_limit() {
        let stream = format!("data: {0}\ndata: {0}\n\ndata: ok\n\n", "y".repeat(40));
        let (events, stats) = events_of(&[stream.as_bytes()], 64);
        assert_eq!(events, ["ok"]);
        assert_eq!(stats.skipped_lines, 1);
    }

    #[test]
    fn it_keeps_memory_bounded_on_an_endless_line() {
        let mut parser = SseParser::new(16);
        let mut sink = |_: &[u8]| panic!("no event expected");
        for _ in 0..1000 {
            parser.feed(b"data: aaaaaaaaaaaaaaaaaaaa", &mut sink);
        }
        assert!(parser.partial.capacity() <= 64);
        assert_eq!(parser.stats().skipped_lines, 1);
    }

    #[test]
    fn it_drops_an_unterminated_event_when_the_stream_was_cut() {
        let mut parser = SseParser::new(1024);
        let mut seen = Vec::new();
        parser.feed(b"data: {\"a\":1}\ndata: trunc", &mut |d: &[u8]| seen.push(d.to_vec()));
        parser.finish(false, &mut |d: &[u8]| seen.push(d.to_vec()));
        assert!(seen.is_empty());
    }

    #[test]
    fn it_dispatches_an_event_missing_its_blank_line_at_a_clean_end() {
        let (events, _) = events_of(&[b"data: [DONE]"], 1024);
        assert_eq!(events, ["[DONE]"]);
    }
}
