//! SSE framing for the rewriter: where an event ends (found incrementally, so an event arriving in
//! many small chunks is scanned once, not from its start on every chunk), an event's data and
//! other lines, and writing data back as `data:` lines.
//!
//! Lines end at CR, LF or CRLF; a blank line ends an event (the WHATWG event-stream grammar, which
//! every SSE client follows). `data:` with or without the space, and several `data` lines joined
//! with LF, are read as clients read them.

/// How far [`Framer::next_end`] has looked into the buffer of the event being received.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Framer {
    /// The next byte to look at.
    pos: usize,
    /// Where the current line starts.
    line_start: usize,
    /// Bytes looked at so far (for the linearity test).
    #[cfg(test)]
    pub(crate) looked: usize,
}

impl Framer {
    /// Where the event that starts at the last end (or at 0) ends in `b`, just past its blank line,
    /// if it is complete; bytes already looked at are not looked at again. A CR at the very end may
    /// still be followed by LF: the event is not complete yet.
    pub(crate) fn next_end(&mut self, b: &[u8]) -> Option<usize> {
        let mut i = self.pos;
        while let Some(&x) = b.get(i) {
            #[cfg(test)]
            {
                self.looked += 1;
            }
            if x == b'\n' || x == b'\r' {
                let mut next = i + 1;
                if x == b'\r' {
                    match b.get(next) {
                        Some(b'\n') => next += 1,
                        Some(_) => {}
                        None => {
                            self.pos = i;
                            return None;
                        }
                    }
                }
                if i == self.line_start {
                    self.pos = next;
                    self.line_start = next;
                    return Some(next);
                }
                self.line_start = next;
                i = next;
            } else {
                i += 1;
            }
        }
        self.pos = i;
        None
    }

    /// The buffer lost its first `n` bytes (events already handled).
    pub(crate) fn shift(&mut self, n: usize) {
        self.pos = self.pos.saturating_sub(n);
        self.line_start = self.line_start.saturating_sub(n);
    }
}

/// Appends `json` as `data:` lines (JSON whitespace newlines become line breaks).
pub(crate) fn push_data(json: &[u8], out: &mut Vec<u8>) {
    for line in json.split(|&b| b == b'\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.push(b'\n');
    }
}

/// An event's lines: (data joined with LF, other lines verbatim, whether it has data).
pub(crate) fn split_event(raw: &[u8]) -> (Vec<u8>, Vec<u8>, bool) {
    let mut data = Vec::new();
    let mut fields = Vec::new();
    let mut has_data = false;
    let mut rest = raw;
    while !rest.is_empty() {
        let end = crate::core::json::find_line_end(rest).unwrap_or(rest.len());
        let (line, tail) = rest.split_at(end);
        let eol = match tail {
            [b'\r', b'\n', ..] => 2,
            [] => 0,
            _ => 1,
        };
        let (with_eol, after) = rest.split_at(end + eol);
        rest = after;
        if line.is_empty() {
            continue;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(c) => (line.get(..c).unwrap_or(&[]), line.get(c + 1..).unwrap_or(&[])),
            None => (line, &[][..]),
        };
        if name == b"data" {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if has_data {
                data.push(b'\n');
            }
            data.extend_from_slice(value);
            has_data = true;
        } else {
            fields.extend_from_slice(with_eol);
            if eol == 0 {
                fields.push(b'\n');
            }
        }
    }
    (data, fields, has_data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event end of `stream` fed in chunks of `size`, and the bytes looked at.
    fn ends(stream: &[u8], size: usize) -> (Vec<usize>, usize) {
        let (mut f, mut buf, mut found, mut base) = (Framer::default(), Vec::new(), Vec::new(), 0);
        for chunk in stream.chunks(size) {
            buf.extend_from_slice(chunk);
            let mut start = 0;
            while let Some(e) = f.next_end(&buf) {
                found.push(base + e);
                start = e;
            }
            buf.drain(..start);
            f.shift(start);
            base += start;
        }
        (found, f.looked)
    }

    #[test]
    fn events_end_at_blank_lines_of_any_line_ending_at_every_chunk_size() {
        let stream = b"data: a\n\n: c\r\n\r\ndata:b\rdata: c\r\revent: x\ndata\n\nid: 1";
        let want = vec![9, 16, 32, 47];
        for size in 1..=stream.len() {
            assert_eq!(ends(stream, size).0, want, "chunks of {size}");
        }
    }

    #[test]
    fn a_large_event_in_small_chunks_is_looked_at_once() {
        // 1 MB in one event, 1-byte and 64-byte chunks: each byte is looked at about once (the
        // former scan restarted at the event's start on every chunk: ~5·10^11 looks).
        let mut stream = b"data: ".to_vec();
        stream.extend(std::iter::repeat_n(b'x', 1 << 20));
        stream.extend_from_slice(b"\r\n\r\n");
        for size in [1, 64] {
            let (found, looked) = ends(&stream, size);
            assert_eq!(found, vec![stream.len()]);
            assert!(looked <= stream.len() + stream.len() / size + 2, "chunks of {size}: {looked}");
        }
    }

    #[test]
    fn data_lines_are_joined_and_other_lines_kept() {
        let (data, fields, has) = split_event(b"event: e\r\ndata:{\"a\":\ndata:  1}\n: note\n\n");
        assert_eq!(
            (data.as_slice(), fields.as_slice(), has),
            (&b"{\"a\":\n 1}"[..], &b"event: e\r\n: note\n"[..], true)
        );
        let mut out = Vec::new();
        push_data(b"{\r\n}", &mut out);
        assert_eq!(out, b"data: {\ndata: }\n");
    }
}
