//! The soak load generator: C threads, one HTTP/1.1 keep-alive connection each, closed loop, N
//! requests in all through Envoy. Requests come from a deterministic corpus of templates mixing the
//! six inference endpoints, body sizes (1 KB – ~1 MB, most small), planted PII (e-mails, card
//! numbers, `sk-or-v1-` keys), `"stream": true`, chunked uploads, profiles, and a few requests the
//! filter must refuse (denied model, invalid JSON, unknown profile, max_tokens over a reject cap).
//! Every request carries `x-request-id: soak-<run>-<n>`; its status is checked against the
//! template's expected one, and a 200 body for completeness (SSE ends with `data: [DONE]`).
//!
//! Usage: soak-load --port P [--requests N] [--concurrency C] [--seed S] [--max-seconds T]
//!                  [--out FILE] [--templates K] [--header 'name: value']
//! --out writes one line per request: `rid expected got endpoint stream planted(e,c,k) class`.
//! Prints a JSON summary on stdout and a progress line on stderr every 5 s.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use soak_tools::{
    card_form, cards, contains, json_str, read_body, read_head, Rng, EMAIL_DOMAIN, EMAIL_LOCAL_MARK, KEY_PREFIX,
};

const ENDPOINTS: [(&str, u64); 6] = [
    ("chat/completions", 34),
    ("completions", 10),
    ("responses", 16),
    ("messages", 16),
    ("embeddings", 14),
    ("rerank", 10),
];

const FILLER: [&str; 48] = [
    "the",
    "quarterly",
    "report",
    "shows",
    "revenue",
    "grew",
    "while",
    "costs",
    "stayed",
    "flat",
    "please",
    "summarize",
    "following",
    "notes",
    "from",
    "meeting",
    "about",
    "pilot",
    "regions",
    "customer",
    "feedback",
    "was",
    "mostly",
    "positive",
    "with",
    "some",
    "concerns",
    "around",
    "latency",
    "and",
    "pricing",
    "team",
    "recommends",
    "extending",
    "program",
    "before",
    "end",
    "of",
    "fiscal",
    "year",
    "42",
    "items",
    "2024-05-01",
    "v1.2.3",
    "café",
    "naïve",
    "日本語",
    "résumé",
];

struct Tpl {
    ep: &'static str,
    class: &'static str,
    body: Vec<u8>,
    stream: bool,
    expect: u16,
    planted: (u32, u32, u32),
    chunked: bool,
    profile: Option<&'static str>,
    user: bool,
}

/// Text of about `size` bytes with `pii` planted values at random word positions.
fn text(rng: &mut Rng, size: usize, pii: u32, planted: &mut (u32, u32, u32), cards: &[String]) -> String {
    let mut words: Vec<String> = Vec::with_capacity(size / 6 + 8);
    let mut len = 0;
    while len < size {
        let w = FILLER[rng.range(0, FILLER.len() as u64) as usize];
        len += w.len() + 1;
        words.push(w.to_string());
    }
    for _ in 0..pii {
        let v = match rng.range(0, 3) {
            0 => {
                planted.0 += 1;
                format!("{EMAIL_LOCAL_MARK}.user{}@{EMAIL_DOMAIN}", rng.range(0, 100000))
            }
            1 => {
                planted.1 += 1;
                card_form(&cards[rng.range(0, cards.len() as u64) as usize], rng.next_u64())
            }
            _ => {
                planted.2 += 1;
                let hex: String = (0..64).map(|_| b"0123456789abcdef"[rng.range(0, 16) as usize] as char).collect();
                format!("{KEY_PREFIX}{hex}")
            }
        };
        let at = rng.range(0, words.len() as u64 + 1) as usize;
        words.insert(at, v);
    }
    words.join(" ")
}

fn split_text(rng: &mut Rng, size: usize, pii: u32, planted: &mut (u32, u32, u32), cards: &[String]) -> Vec<String> {
    // Large bodies become several parts (messages, documents...) of at most ~16 KiB.
    let parts = (size / 16384).max(1);
    let mut out = Vec::new();
    let mut left = pii;
    for i in 0..parts {
        let here = if i + 1 == parts { left } else { rng.range(0, left as u64 + 1) as u32 };
        left -= here;
        out.push(text(rng, size / parts, here, planted, cards));
    }
    out
}

fn pick_size(rng: &mut Rng) -> usize {
    let p = rng.range(0, 1000);
    if p < 750 {
        rng.range(700, 4096) as usize
    } else if p < 920 {
        rng.range(4096, 65536) as usize
    } else if p < 980 {
        rng.range(65536, 262144) as usize
    } else {
        rng.range(262144, 960_000) as usize
    }
}

fn make_tpl(rng: &mut Rng, cards: &[String]) -> Tpl {
    let total: u64 = ENDPOINTS.iter().map(|e| e.1).sum();
    let mut x = rng.range(0, total);
    let mut ep = ENDPOINTS[0].0;
    for (e, w) in ENDPOINTS {
        if x < w {
            ep = e;
            break;
        }
        x -= w;
    }
    let size = pick_size(rng);
    let pii = if rng.chance(0.3) { rng.range(1, 7) as u32 } else { 0 };
    let streamable = matches!(ep, "chat/completions" | "completions" | "responses" | "messages");
    let stream = streamable && rng.chance(0.3);
    let mut planted = (0, 0, 0);
    let parts = split_text(rng, size, pii, &mut planted, cards);
    let mut class = "ok";
    let mut expect = 200;
    let mut profile = None;
    let roll = rng.range(0, 1000);
    let mut model = match ep {
        "chat/completions" | "messages" => "anthropic/claude-3.5-sonnet",
        "embeddings" => "openai/text-embedding-3-small",
        "rerank" => "openai/rerank-soak-1",
        _ => "openai/gpt-4o",
    };
    let mut max_tokens: Option<u64> = if rng.chance(0.5) { Some(rng.range(16, 2048)) } else { None };
    if roll < 20 {
        class = "model_denied";
        model = "meta-llama/llama-3.1-70b-instruct";
        expect = 403;
    } else if roll < 30 && ep != "embeddings" && ep != "rerank" {
        class = "max_tokens_exceeded";
        profile = Some("restricted");
        model = "anthropic/claude-3.5-sonnet";
        max_tokens = Some(10_000);
        expect = 400;
    } else if roll < 40 {
        class = "invalid_json";
        expect = 400;
    } else if roll < 45 {
        class = "unknown_profile";
        profile = Some("top-secret");
        expect = 400;
    } else if roll < 80 {
        profile = Some(if roll.is_multiple_of(2) { "public" } else { "internal" });
    }
    let strs = |v: &[String]| v.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(",");
    let mut fields: Vec<String> = vec![format!("\"model\":{}", json_str(model))];
    if stream {
        fields.push("\"stream\":true".into());
    }
    match ep {
        "chat/completions" => {
            let mut msgs = vec![format!("{{\"role\":\"system\",\"content\":\"You are a concise assistant.\"}}")];
            for (i, p) in parts.iter().enumerate() {
                let role = if i % 2 == 0 { "user" } else { "assistant" };
                msgs.push(format!("{{\"role\":\"{role}\",\"content\":{}}}", json_str(p)));
            }
            fields.push(format!("\"messages\":[{}]", msgs.join(",")));
            if let Some(m) = max_tokens {
                fields.push(format!("\"max_tokens\":{m}"));
            }
        }
        "completions" => {
            fields.push(format!("\"prompt\":{}", json_str(&parts.join("\n"))));
            if let Some(m) = max_tokens {
                fields.push(format!("\"max_tokens\":{m}"));
            }
        }
        "responses" => {
            let items: Vec<String> =
                parts.iter().map(|p| format!("{{\"role\":\"user\",\"content\":{}}}", json_str(p))).collect();
            fields.push("\"instructions\":\"Answer briefly.\"".into());
            fields.push(format!("\"input\":[{}]", items.join(",")));
            if let Some(m) = max_tokens {
                fields.push(format!("\"max_output_tokens\":{m}"));
            }
        }
        "messages" => {
            let msgs: Vec<String> = parts
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let role = if i % 2 == 0 { "user" } else { "assistant" };
                    format!("{{\"role\":\"{role}\",\"content\":[{{\"type\":\"text\",\"text\":{}}}]}}", json_str(p))
                })
                .collect();
            fields.push("\"system\":\"You are a concise assistant.\"".into());
            fields.push(format!("\"messages\":[{}]", msgs.join(",")));
            fields.push(format!("\"max_tokens\":{}", max_tokens.unwrap_or(1024)));
        }
        "embeddings" => fields.push(format!("\"input\":[{}]", strs(&parts))),
        _ => {
            fields.push("\"query\":\"which notes mention pricing?\"".into());
            fields.push(format!("\"documents\":[{}]", strs(&parts)));
            fields.push("\"top_n\":3".into());
        }
    }
    if rng.chance(0.2) {
        fields.push("\"user\":\"soak-body-user\"".into());
    }
    let mut body = format!("{{{}}}", fields.join(",")).into_bytes();
    if class == "invalid_json" {
        body.truncate(body.len() - 2);
    }
    Tpl { ep, class, body, stream, expect, planted, chunked: rng.chance(0.05), profile, user: rng.chance(0.5) }
}

struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

fn connect(port: u16) -> io::Result<Conn> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let w = s.try_clone()?;
    Ok(Conn { r: BufReader::with_capacity(64 * 1024, s), w })
}

#[derive(Default, Clone)]
struct Outcome {
    status: u16,
    body_ok: bool,
    latency_us: u32,
    transport_error: bool,
}

fn exchange(c: &mut Conn, t: &Tpl, rid: &str, extra: &[String]) -> io::Result<(u16, Vec<u8>, bool)> {
    let mut head = format!(
        "POST /api/v1/{} HTTP/1.1\r\nhost: openrouter.ai\r\ncontent-type: application/json\r\nx-request-id: {rid}\r\n",
        t.ep
    );
    if let Some(p) = t.profile {
        head.push_str(&format!("x-data-classification: {p}\r\n"));
    }
    if t.user {
        head.push_str("x-user-id: soak-user-7\r\n");
    }
    for h in extra {
        head.push_str(h);
        head.push_str("\r\n");
    }
    if t.chunked {
        head.push_str("transfer-encoding: chunked\r\n\r\n");
        c.w.write_all(head.as_bytes())?;
        for part in t.body.chunks(16384) {
            let mut v = format!("{:x}\r\n", part.len()).into_bytes();
            v.extend_from_slice(part);
            v.extend_from_slice(b"\r\n");
            c.w.write_all(&v)?;
        }
        c.w.write_all(b"0\r\n\r\n")?;
    } else {
        head.push_str(&format!("content-length: {}\r\n\r\n", t.body.len()));
        let mut msg = head.into_bytes();
        if t.body.len() < 65536 {
            msg.extend_from_slice(&t.body);
            c.w.write_all(&msg)?;
        } else {
            c.w.write_all(&msg)?;
            c.w.write_all(&t.body)?;
        }
    }
    let h =
        read_head(&mut c.r)?.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "closed before response"))?;
    let (body, complete) = read_body(&mut c.r, &h, h.wants_close(), 64 << 20)?;
    if !complete {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short body"));
    }
    Ok((h.status(), body, h.wants_close()))
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn pct(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, "--port").and_then(|v| v.parse().ok()).expect("--port");
    let n_total: u64 = arg(&args, "--requests").and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let conc: usize = arg(&args, "--concurrency").and_then(|v| v.parse().ok()).unwrap_or(24);
    let seed: u64 = arg(&args, "--seed").and_then(|v| v.parse().ok()).unwrap_or(1);
    let max_secs: f64 = arg(&args, "--max-seconds").and_then(|v| v.parse().ok()).unwrap_or(540.0);
    let k: usize = arg(&args, "--templates").and_then(|v| v.parse().ok()).unwrap_or(600);
    let out = arg(&args, "--out");
    let extra: Vec<String> = args.windows(2).filter(|w| w[0] == "--header").map(|w| w[1].clone()).collect();

    let cards = cards();
    let mut rng = Rng::new(seed);
    let t0 = Instant::now();
    let tpls: Arc<Vec<Tpl>> = Arc::new((0..k).map(|_| make_tpl(&mut rng, &cards)).collect());
    let corpus_bytes: usize = tpls.iter().map(|t| t.body.len()).sum();
    eprintln!(
        "soak-load: {} templates, {} MB corpus, built in {:.1}s",
        k,
        corpus_bytes >> 20,
        t0.elapsed().as_secs_f64()
    );

    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let run = format!("{:x}", seed);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(max_secs);
    let mut handles = Vec::new();
    for tid in 0..conc {
        let tpls = Arc::clone(&tpls);
        let next = Arc::clone(&next);
        let done = Arc::clone(&done);
        let stop = Arc::clone(&stop);
        let extra = extra.clone();
        let run = run.clone();
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(seed ^ ((tid as u64 + 1) << 32));
            let mut res: Vec<(u64, usize, Outcome)> = Vec::new();
            let mut conn: Option<Conn> = None;
            loop {
                if stop.load(Relaxed) || Instant::now() >= deadline {
                    break;
                }
                let n = next.fetch_add(1, Relaxed);
                if n >= n_total {
                    break;
                }
                let ti = rng.range(0, tpls.len() as u64) as usize;
                let t = &tpls[ti];
                let rid = format!("soak-{run}-{n:07}");
                let t1 = Instant::now();
                let mut o = Outcome::default();
                if conn.is_none() {
                    conn = connect(port).ok();
                }
                match conn.as_mut().map(|c| exchange(c, t, &rid, &extra)) {
                    Some(Ok((status, body, close))) => {
                        o.status = status;
                        o.body_ok = if status == 200 {
                            if t.stream {
                                contains(&body, b"data: [DONE]")
                            } else {
                                contains(&body, b"\"usage\"")
                            }
                        } else {
                            contains(&body, b"\"reason\"")
                        };
                        if close {
                            conn = None;
                        }
                    }
                    _ => {
                        o.transport_error = true;
                        conn = None;
                    }
                }
                o.latency_us = t1.elapsed().as_micros().min(u32::MAX as u128) as u32;
                res.push((n, ti, o));
                done.fetch_add(1, Relaxed);
            }
            res
        }));
    }
    {
        let done = Arc::clone(&done);
        let stop2 = Arc::clone(&stop);
        thread::spawn(move || {
            let mut last = 0;
            loop {
                thread::sleep(Duration::from_secs(5));
                if stop2.load(Relaxed) {
                    return;
                }
                let d = done.load(Relaxed);
                eprintln!(
                    "soak-load: {d}/{n_total} done, {:.0} rps (last 5 s), {:.0}s elapsed",
                    (d - last) as f64 / 5.0,
                    start.elapsed().as_secs_f64()
                );
                last = d;
            }
        });
    }
    let mut all: Vec<(u64, usize, Outcome)> = Vec::new();
    for h in handles {
        all.extend(h.join().expect("worker"));
    }
    stop.store(true, Relaxed);
    let secs = start.elapsed().as_secs_f64();
    all.sort_by_key(|r| r.0);

    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut per_ep: BTreeMap<&str, u64> = BTreeMap::new();
    let mut per_class: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut unexpected, mut bad_body, mut transport, mut streams, mut pii_reqs, mut fwd, mut chunked) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut planted_fwd = (0u64, 0u64, 0u64);
    let mut planted_all = (0u64, 0u64, 0u64);
    let mut bytes = 0u64;
    let mut examples: Vec<String> = Vec::new();
    let mut lat: Vec<u32> = Vec::with_capacity(all.len());
    let mut w = out.as_ref().map(|p| BufWriter::new(File::create(p).expect("--out")));
    for (n, ti, o) in &all {
        let t = &tpls[*ti];
        *statuses.entry(o.status).or_default() += 1;
        *per_ep.entry(t.ep).or_default() += 1;
        *per_class.entry(t.class).or_default() += 1;
        bytes += t.body.len() as u64;
        lat.push(o.latency_us);
        let p = t.planted;
        planted_all = (planted_all.0 + p.0 as u64, planted_all.1 + p.1 as u64, planted_all.2 + p.2 as u64);
        if p.0 + p.1 + p.2 > 0 {
            pii_reqs += 1;
        }
        if t.stream {
            streams += 1;
        }
        if t.chunked {
            chunked += 1;
        }
        if o.status == 200 {
            fwd += 1;
            planted_fwd = (planted_fwd.0 + p.0 as u64, planted_fwd.1 + p.1 as u64, planted_fwd.2 + p.2 as u64);
        }
        let bad = o.transport_error || o.status != t.expect || !o.body_ok;
        if o.transport_error {
            transport += 1;
        } else if o.status != t.expect {
            unexpected += 1;
        } else if !o.body_ok {
            bad_body += 1;
        }
        if bad && examples.len() < 20 {
            examples.push(format!(
                "soak-{run}-{n:07} {} expected {} got {}{}{}",
                t.ep,
                t.expect,
                o.status,
                if o.transport_error { " transport-error" } else { "" },
                if !o.body_ok && !o.transport_error { " bad-body" } else { "" }
            ));
        }
        if let Some(w) = w.as_mut() {
            writeln!(
                w,
                "soak-{run}-{n:07} {} {} {} {} {},{},{} {}",
                t.expect,
                o.status,
                t.ep,
                u8::from(t.stream),
                p.0,
                p.1,
                p.2,
                t.class
            )
            .expect("write --out");
        }
    }
    if let Some(mut w) = w {
        w.flush().expect("flush --out");
    }
    lat.sort_unstable();
    let map = |m: &BTreeMap<&str, u64>| m.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(",");
    let smap = statuses.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(",");
    let ex = examples.iter().map(|e| json_str(e)).collect::<Vec<_>>().join(",");
    println!(
        "{{\"requests\":{},\"seconds\":{:.2},\"rps\":{:.1},\"concurrency\":{conc},\"statuses\":{{{smap}}},\"unexpected_status\":{unexpected},\"bad_body\":{bad_body},\"transport_errors\":{transport},\"endpoints\":{{{}}},\"classes\":{{{}}},\"streams\":{streams},\"chunked\":{chunked},\"pii_requests\":{pii_reqs},\"planted\":{{\"email\":{},\"card\":{},\"key\":{}}},\"planted_forwarded\":{{\"email\":{},\"card\":{},\"key\":{}}},\"forwarded_expected\":{fwd},\"request_bytes\":{bytes},\"latency_us\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"max\":{}}},\"examples\":[{ex}]}}",
        all.len(),
        secs,
        all.len() as f64 / secs,
        map(&per_ep),
        map(&per_class),
        planted_all.0,
        planted_all.1,
        planted_all.2,
        planted_fwd.0,
        planted_fwd.1,
        planted_fwd.2,
        pct(&lat, 0.5),
        pct(&lat, 0.9),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0),
    );
}
