//! A fast fake OpenRouter for the benchmark: HTTP/1.1 keep-alive on 127.0.0.1, one thread per
//! connection. Reads and discards the request body (Content-Length or chunked) and answers a fixed
//! chat completion: JSON, or an SSE stream (chunked) when the request says `"stream": true`
//! (looked for in the first 4 KiB of the body) or carries `x-bench-stream: 1`.
//!
//! SSE answers are written in two writes: headers + first event, then the rest, so a client sees
//! the first event as early as possible (time to first byte).
//!
//! Usage: bench-upstream [PORT]   (0 or absent: any free port). Prints `PORT <n>` on stdout.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

const JSON_BODY: &str = r#"{"id":"gen-bench-0001","provider":"Anthropic","model":"anthropic/claude-3.5-sonnet","object":"chat.completion","created":1735689600,"choices":[{"index":0,"logprobs":null,"finish_reason":"stop","native_finish_reason":"end_turn","message":{"role":"assistant","content":"Here is a short summary of the quarterly report: revenue grew eight percent year over year, operating costs were flat, and the team recommends extending the pilot to two more regions before the end of the fiscal year.","refusal":null,"reasoning":null}}],"usage":{"prompt_tokens":412,"completion_tokens":48,"total_tokens":460,"cost":0.001956,"is_byok":false}}"#;

const SSE_WORDS: [&str; 12] = [
    "Here is",
    " a short",
    " summary",
    " of the",
    " quarterly",
    " report:",
    " revenue",
    " grew",
    " eight",
    " percent",
    " year over",
    " year.",
];

fn chunk(s: &str) -> String {
    format!("{:x}\r\n{s}\r\n", s.len())
}

fn sse_event(data: &str) -> String {
    chunk(&format!("data: {data}\n\n"))
}

fn sse_chunks() -> (String, String) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nx-generation-id: gen-bench-0001\r\ntransfer-encoding: chunked\r\n\r\n";
    let mut first = head.to_string();
    first.push_str(&chunk(": OPENROUTER PROCESSING\n\n"));
    let mut rest = String::new();
    for (i, w) in SSE_WORDS.iter().enumerate() {
        let delta = format!(
            r#"{{"id":"gen-bench-0001","provider":"Anthropic","model":"anthropic/claude-3.5-sonnet","object":"chat.completion.chunk","created":1735689600,"choices":[{{"index":0,"delta":{{"role":"assistant","content":"{w}"}},"finish_reason":null,"native_finish_reason":null,"logprobs":null}}]}}"#
        );
        if i == 0 {
            first.push_str(&sse_event(&delta));
        } else {
            rest.push_str(&sse_event(&delta));
        }
    }
    rest.push_str(&sse_event(r#"{"id":"gen-bench-0001","provider":"Anthropic","model":"anthropic/claude-3.5-sonnet","object":"chat.completion.chunk","created":1735689600,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop","native_finish_reason":"end_turn","logprobs":null}],"usage":{"prompt_tokens":412,"completion_tokens":48,"total_tokens":460,"cost":0.001956,"is_byok":false}}"#));
    rest.push_str(&sse_event("[DONE]"));
    rest.push_str("0\r\n\r\n");
    (first, rest)
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
    json: Vec<u8>,
    sse: (Vec<u8>, Vec<u8>),
    sink: Vec<u8>,
}

impl Conn {
    /// Reads up to `n` body bytes, keeping the first 4 KiB in `head`.
    fn discard(&mut self, mut n: usize, head: &mut Vec<u8>) -> io::Result<()> {
        while n > 0 {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let k = buf.len().min(n);
            if head.len() < 4096 {
                let take = k.min(4096 - head.len());
                head.extend_from_slice(&buf[..take]);
            }
            self.r.consume(k);
            n -= k;
        }
        Ok(())
    }

    fn line(&mut self) -> io::Result<Option<String>> {
        self.sink.clear();
        if self.r.read_until(b'\n', &mut self.sink)? == 0 {
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(&self.sink).trim_end().to_string()))
    }

    fn serve_one(&mut self) -> io::Result<bool> {
        let Some(req_line) = self.line()? else { return Ok(false) };
        if req_line.is_empty() {
            return Ok(true);
        }
        let mut len = 0usize;
        let mut chunked = false;
        let mut stream_hdr = false;
        let mut close = false;
        loop {
            let Some(h) = self.line()? else { return Ok(false) };
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or((h.as_str(), ""));
            let v = v.trim();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.parse().unwrap_or(0),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "x-bench-stream" => stream_hdr = v == "1",
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        let mut head = Vec::with_capacity(4096);
        if chunked {
            loop {
                let Some(sz) = self.line()? else { return Ok(false) };
                let n = usize::from_str_radix(sz.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
                if n == 0 {
                    // trailers until the empty line
                    while let Some(t) = self.line()? {
                        if t.is_empty() {
                            break;
                        }
                    }
                    break;
                }
                self.discard(n, &mut head)?;
                self.line()?; // CRLF after the chunk
            }
        } else {
            self.discard(len, &mut head)?;
        }
        let stream = stream_hdr || find(&head, b"\"stream\":true") || find(&head, b"\"stream\": true");
        if stream {
            self.w.write_all(&self.sse.0)?;
            self.w.write_all(&self.sse.1)?;
        } else {
            self.w.write_all(&self.json)?;
        }
        Ok(!close)
    }
}

fn handle(s: TcpStream, json: Vec<u8>, sse: (Vec<u8>, Vec<u8>)) {
    let _ = s.set_nodelay(true);
    let Ok(w) = s.try_clone() else { return };
    let mut c = Conn { r: BufReader::with_capacity(256 * 1024, s), w, json, sse, sink: Vec::new() };
    while let Ok(true) = c.serve_one() {}
}

fn main() -> io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    let l = TcpListener::bind(("127.0.0.1", port))?;
    println!("PORT {}", l.local_addr()?.port());
    io::stdout().flush()?;
    let json = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-generation-id: gen-bench-0001\r\ncontent-length: {}\r\n\r\n{JSON_BODY}",
        JSON_BODY.len()
    )
    .into_bytes();
    let (a, b) = sse_chunks();
    let sse = (a.into_bytes(), b.into_bytes());
    for s in l.incoming() {
        let Ok(s) = s else { continue };
        let (j, e) = (json.clone(), sse.clone());
        thread::spawn(move || handle(s, j, e));
    }
    Ok(())
}
