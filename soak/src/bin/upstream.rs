//! The soak upstream: a fast fake OpenRouter on 127.0.0.1 (HTTP/1.1 keep-alive, one thread per
//! connection) that reads every request body in full and checks it:
//!
//! - leaks: any trace of a planted e-mail, card number or `sk-or-v1` key (`soak_tools::Scanner`);
//! - governed: an inference POST must carry the injected `"provider":{...}` object, and the
//!   profile/user headers (`x-data-classification`, `x-user-id`) must have been removed;
//! - placeholders: `[EMAIL]`, `[CREDIT_CARD]`, `[OPENROUTER_KEY]` are counted.
//!
//! It answers like OpenRouter: JSON (chat, embeddings, rerank shapes) or SSE when the body says
//! `"stream": true`. Faults on request, by header `x-soak-fault`:
//!
//! ```text
//! reset-upload           read 32 KiB of the body, then RST (Envoy is still uploading)
//! reset-stream           answer SSE, RST after the third event
//! close-before-response  read the body, close (FIN) without answering
//! status-NNN             an OpenRouter-shaped error with status NNN
//! slow-first-byte-MS     wait MS milliseconds before the response headers
//! slow-stream-MS         SSE with MS milliseconds between events (15 events)
//! ```
//!
//! Control (direct, not through Envoy): `GET /__soak/stats` (JSON counters), `GET /__soak/rids`
//! (`rid complete fault` per line, every request seen), `POST /__soak/reset`.
//!
//! Usage: `soak-upstream [PORT]`; prints `PORT <n>` on stdout. Never prints request content.

use std::io::{self, BufReader, BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use soak_tools::{contains, count, read_body, read_head, set_linger_zero, Head, Scanner};

const COUNTERS: [&str; 20] = [
    "requests",
    "posts",
    "body_bytes",
    "leak_email",
    "leak_card",
    "leak_key",
    "leak_requests",
    "ungoverned",
    "header_leak",
    "ph_email",
    "ph_card",
    "ph_key",
    "streams",
    "incomplete_bodies",
    "faults",
    "connections",
    "read_errors",
    "write_errors",
    "stream_requests_json",
    "chunked_bodies",
];

struct Shared {
    c: Vec<AtomicU64>,
    seen: Mutex<Vec<String>>,
    leaked: Mutex<Vec<String>>,
    scanner: Scanner,
}

impl Shared {
    fn add(&self, name: &str, v: u64) {
        let i = COUNTERS.iter().position(|n| *n == name).expect("counter");
        self.c[i].fetch_add(v, Relaxed);
    }
    fn stats_json(&self) -> String {
        let mut parts: Vec<String> =
            COUNTERS.iter().zip(&self.c).map(|(n, v)| format!("\"{n}\":{}", v.load(Relaxed))).collect();
        let leaked = self.leaked.lock().unwrap();
        let l: Vec<String> = leaked.iter().map(|s| soak_tools::json_str(s)).collect();
        parts.push(format!("\"leaked_rids\":[{}]", l.join(",")));
        format!("{{{}}}", parts.join(","))
    }
}

fn is_inference(path: &str) -> bool {
    let p = path.split('?').next().unwrap_or("");
    ["/chat/completions", "/completions", "/responses", "/messages", "/embeddings", "/rerank"]
        .iter()
        .any(|s| p.ends_with(s))
}

fn model_of(body: &[u8]) -> String {
    let key = b"\"model\":";
    let Some(p) = body.windows(key.len()).position(|w| w == key) else {
        return "openai/gpt-4o".into();
    };
    let mut i = p + key.len();
    while i < body.len() && body[i] == b' ' {
        i += 1;
    }
    if i >= body.len() || body[i] != b'"' {
        return "openai/gpt-4o".into();
    }
    let s = i + 1;
    let e = body[s..].iter().position(|&c| c == b'"').map(|k| s + k).unwrap_or(s);
    String::from_utf8_lossy(&body[s..e.min(s + 200)]).into_owned()
}

const USAGE: &str = r#"{"prompt_tokens":412,"completion_tokens":48,"total_tokens":460,"cost":0.001956}"#;
const WORDS: [&str; 10] = ["Here", " is", " a", " short", " summary", " of", " the", " soak", " run", "."];

fn json_answer(path: &str, model: &str, gen: u64) -> String {
    let m = soak_tools::json_str(model);
    if path.ends_with("/embeddings") {
        format!(
            r#"{{"object":"list","id":"gen-soak-{gen}","model":{m},"provider":"Anthropic","data":[{{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3]}}],"usage":{USAGE}}}"#
        )
    } else if path.ends_with("/rerank") {
        format!(
            r#"{{"id":"gen-soak-{gen}","model":{m},"provider":"Anthropic","results":[{{"index":0,"relevance_score":0.9}}],"usage":{USAGE}}}"#
        )
    } else {
        format!(
            r#"{{"id":"gen-soak-{gen}","object":"chat.completion","created":1735689600,"model":{m},"provider":"Anthropic","choices":[{{"index":0,"finish_reason":"stop","native_finish_reason":"stop","message":{{"role":"assistant","content":"Here is a short summary of the soak run."}}}}],"usage":{USAGE}}}"#
        )
    }
}

fn sse_events(model: &str, gen: u64) -> Vec<String> {
    let m = soak_tools::json_str(model);
    let chunk = |delta: &str, finish: &str, extra: &str| {
        format!(
            "data: {{\"id\":\"gen-soak-{gen}\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,\"model\":{m},\"provider\":\"Anthropic\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]{extra}}}\n\n"
        )
    };
    let mut ev =
        vec![": OPENROUTER PROCESSING\n\n".to_string(), chunk(r#"{"role":"assistant","content":""}"#, "null", "")];
    for w in WORDS {
        ev.push(chunk(&format!("{{\"content\":{}}}", soak_tools::json_str(w)), "null", ""));
    }
    ev.push(chunk("{}", "\"stop\"", ""));
    ev.push(format!(
        "data: {{\"id\":\"gen-soak-{gen}\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,\"model\":{m},\"provider\":\"Anthropic\",\"choices\":[],\"usage\":{USAGE}}}\n\n"
    ));
    ev.push("data: [DONE]\n\n".to_string());
    ev
}

fn chunk(s: &str) -> Vec<u8> {
    let mut v = format!("{:x}\r\n", s.len()).into_bytes();
    v.extend_from_slice(s.as_bytes());
    v.extend_from_slice(b"\r\n");
    v
}

fn send_simple(w: &mut impl Write, status: u16, ctype: &str, body: &str, gen: u64) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    write!(
        w,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {ctype}\r\nx-generation-id: gen-soak-{gen}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )?;
    w.flush()
}

fn handle(stream: TcpStream, sh: Arc<Shared>, gens: Arc<AtomicU64>) {
    sh.add("connections", 1);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let wstream = match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    };
    let mut r = BufReader::with_capacity(256 * 1024, stream);
    let mut w = BufWriter::with_capacity(64 * 1024, wstream);
    loop {
        let head: Head = match read_head(&mut r) {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(_) => {
                sh.add("read_errors", 1);
                return;
            }
        };
        let mut parts = head.first.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        if path.starts_with("/__soak/") {
            let _ = read_body(&mut r, &head, false, usize::MAX);
            let body = match path.as_str() {
                "/__soak/stats" => sh.stats_json(),
                "/__soak/rids" => sh.seen.lock().unwrap().join("\n") + "\n",
                "/__soak/reset" => {
                    for c in &sh.c {
                        c.store(0, Relaxed);
                    }
                    sh.seen.lock().unwrap().clear();
                    sh.leaked.lock().unwrap().clear();
                    "{}".into()
                }
                _ => "{}".into(),
            };
            if send_simple(&mut w, 200, "application/json", &body, 0).is_err() {
                return;
            }
            continue;
        }
        sh.add("requests", 1);
        let rid = head.get("x-request-id").unwrap_or("-").to_string();
        let fault = head.get("x-soak-fault").unwrap_or("").to_string();
        if !fault.is_empty() {
            sh.add("faults", 1);
        }
        if head.chunked() {
            sh.add("chunked_bodies", 1);
        }
        let limit = if fault == "reset-upload" { 32 * 1024 } else { usize::MAX };
        let (body, complete) = match read_body(&mut r, &head, false, limit) {
            Ok(b) => b,
            Err(_) => {
                sh.add("read_errors", 1);
                sh.seen.lock().unwrap().push(format!("{rid} 0 {}", if fault.is_empty() { "-" } else { &fault }));
                return;
            }
        };
        sh.seen.lock().unwrap().push(format!(
            "{rid} {} {}",
            if complete { 1 } else { 0 },
            if fault.is_empty() { "-" } else { &fault }
        ));
        if !complete {
            sh.add("incomplete_bodies", 1);
        }
        sh.add("body_bytes", body.len() as u64);
        if method == "POST" {
            sh.add("posts", 1);
            let (e, c, k) = sh.scanner.scan(&body);
            if e + c + k > 0 {
                sh.add("leak_email", e);
                sh.add("leak_card", c);
                sh.add("leak_key", k);
                sh.add("leak_requests", 1);
                let mut l = sh.leaked.lock().unwrap();
                if l.len() < 50 {
                    l.push(rid.clone());
                }
            }
            if is_inference(&path) && !contains(&body, b"\"provider\":{") {
                sh.add("ungoverned", 1);
            }
            sh.add("ph_email", count(&body, b"[EMAIL]"));
            sh.add("ph_card", count(&body, b"[CREDIT_CARD]"));
            sh.add("ph_key", count(&body, b"[OPENROUTER_KEY]"));
        }
        if head.has("x-data-classification") || head.has("x-user-id") {
            sh.add("header_leak", 1);
        }
        if fault == "reset-upload" {
            set_linger_zero(r.get_ref());
            return;
        }
        if fault == "close-before-response" {
            return;
        }
        let gen = gens.fetch_add(1, Relaxed);
        let p = path.split('?').next().unwrap_or("").to_string();
        if let Some(ms) = fault.strip_prefix("slow-first-byte-").and_then(|v| v.parse::<u64>().ok()) {
            thread::sleep(Duration::from_millis(ms));
        }
        if let Some(code) = fault.strip_prefix("status-").and_then(|v| v.parse::<u16>().ok()) {
            let err = format!(
                r#"{{"error":{{"code":{code},"message":"soak scripted error","metadata":{{"provider_name":"Anthropic"}}}}}}"#
            );
            if send_simple(&mut w, code, "application/json", &err, gen).is_err() {
                sh.add("write_errors", 1);
                return;
            }
            continue;
        }
        let model = model_of(&body);
        let stream = contains(&body, b"\"stream\":true") || contains(&body, b"\"stream\": true");
        let res: io::Result<()> = if stream || fault == "reset-stream" || fault.starts_with("slow-stream-") {
            sh.add("streams", 1);
            let gap = fault.strip_prefix("slow-stream-").and_then(|v| v.parse::<u64>().ok());
            (|| {
                write!(
                    w,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nx-generation-id: gen-soak-{gen}\r\ntransfer-encoding: chunked\r\n\r\n"
                )?;
                for (i, ev) in sse_events(&model, gen).iter().enumerate() {
                    if fault == "reset-stream" && i == 3 {
                        w.flush()?;
                        set_linger_zero(r.get_ref());
                        return Err(io::Error::other("reset on purpose"));
                    }
                    w.write_all(&chunk(ev))?;
                    if let Some(ms) = gap {
                        w.flush()?;
                        thread::sleep(Duration::from_millis(ms));
                    } else if i == 2 {
                        w.flush()?; // first content event early, the rest in one go
                    }
                }
                w.write_all(b"0\r\n\r\n")?;
                w.flush()
            })()
        } else {
            send_simple(&mut w, 200, "application/json", &json_answer(&p, &model, gen), gen)
        };
        if res.is_err() {
            if fault != "reset-stream" {
                sh.add("write_errors", 1);
            }
            return;
        }
    }
}

fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    let l = TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
    println!("PORT {}", l.local_addr().unwrap().port());
    io::stdout().flush().ok();
    let sh = Arc::new(Shared {
        c: COUNTERS.iter().map(|_| AtomicU64::new(0)).collect(),
        seen: Mutex::new(Vec::with_capacity(200_000)),
        leaked: Mutex::new(Vec::new()),
        scanner: Scanner::new(),
    });
    let gens = Arc::new(AtomicU64::new(1));
    for s in l.incoming() {
        match s {
            Ok(s) => {
                let sh = Arc::clone(&sh);
                let g = Arc::clone(&gens);
                thread::spawn(move || handle(s, sh, g));
            }
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}
