//! `bench-stream`: one whole governed request through the core's stream state machine
//! (`core::stream::Stream`, exactly what the wasm adapter drives), natively, with an in-memory host:
//! request headers, the whole body, response headers, the bench-upstream JSON answer, the log
//! (audit record serialised, sealed into the chain). The callgrind target of `make bench`
//! (`--toggle-collect=*stream_loop*`): instructions per request by function, for the fixed
//! per-request cost the request-path harness (bench-hotpath) does not see (audit record, chain,
//! spend counters, response side, metrics).
//!
//! `--sse`: the answer is bench-upstream's event stream (14 chat chunks and `[DONE]`, one callback; use a BODY
//! that asks for a stream) instead of its JSON answer.
//!
//! Usage: bench-stream POLICY BODY --iters N [--sse]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use openrouter_guard::api::AuditChain;
use openrouter_guard::api::Policy;
use openrouter_guard::api::RawHeader;
use openrouter_guard::api::Rejection;
use openrouter_guard::api::{CounterStore, SetError, StoreError};
use openrouter_guard::api::{Effect, HostFailure, Property, Stream, StreamHost};

const ANSWER: &[u8] = br#"{"id":"gen-bench-0001","provider":"Anthropic","model":"anthropic/claude-3.5-sonnet","object":"chat.completion","created":1735689600,"choices":[{"index":0,"logprobs":null,"finish_reason":"stop","native_finish_reason":"end_turn","message":{"role":"assistant","content":"Here is a short summary of the quarterly report.","refusal":null,"reasoning":null}}],"usage":{"prompt_tokens":412,"completion_tokens":48,"total_tokens":460,"cost":0.001956}}"#;

#[derive(Default)]
struct Store {
    map: HashMap<String, (Vec<u8>, u32)>,
    cas: u32,
}

impl CounterStore for Store {
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, u32)>, StoreError> {
        Ok(self.map.get(key).cloned())
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), SetError> {
        if let Some((_, c)) = self.map.get(key) {
            if cas != 0 && cas != u32::MAX && cas != *c {
                return Err(SetError::CasMismatch);
            }
        }
        self.cas += 1;
        self.map.insert(key.to_owned(), (value.to_vec(), self.cas));
        Ok(())
    }
}

/// The system allocator, counting allocations and reallocations (`allocs_per_request` in the output: the
/// allocator churn of one request; the wasm module's dlmalloc sees the same calls).
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// bench-upstream's event stream (bench/hostcalls.py `sse_answer`): a comment, then one chunk per word, the last
/// with `finish_reason`, then `[DONE]`.
fn sse_answer() -> Vec<u8> {
    let words = [
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
        "",
    ];
    let mut out = b": OPENROUTER PROCESSING\n\n".to_vec();
    for (i, w) in words.iter().enumerate() {
        let finish = if i + 1 == words.len() { "\"stop\"" } else { "null" };
        out.extend_from_slice(
            format!(
                "data: {{\"id\":\"gen-bench-0001\",\"provider\":\"Anthropic\",\"model\":\"anthropic/claude-3.5-sonnet\",\
                 \"object\":\"chat.completion.chunk\",\"created\":1735689600,\"choices\":[{{\"index\":0,\"delta\":\
                 {{\"role\":\"assistant\",\"content\":\"{w}\"}},\"finish_reason\":{finish}}}]}}\n\n"
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

struct Host<'a> {
    now: u64,
    answer: &'a [u8],
    req_headers: &'a [RawHeader],
    resp_headers: &'a [RawHeader],
    body: &'a [u8],
    store: Store,
}

impl StreamHost for Host<'_> {
    fn now_ns(&mut self) -> u64 {
        self.now += 1_000;
        self.now
    }
    fn request_header(&mut self, name: &str) -> Option<Vec<u8>> {
        self.req_headers.iter().find(|(k, _)| k.as_slice() == name.as_bytes()).map(|(_, v)| v.clone())
    }
    fn request_headers(&mut self) -> Result<Vec<RawHeader>, HostFailure> {
        Ok(self.req_headers.to_vec())
    }
    fn request_trailers(&mut self) -> Result<Vec<RawHeader>, HostFailure> {
        Ok(Vec::new())
    }
    fn response_headers(&mut self) -> Result<Vec<RawHeader>, HostFailure> {
        Ok(self.resp_headers.to_vec())
    }
    fn request_body(&mut self, max: usize) -> Result<Vec<u8>, HostFailure> {
        Ok(self.body[..max.min(self.body.len())].to_vec())
    }
    fn response_body(&mut self, max: usize) -> Result<Vec<u8>, HostFailure> {
        Ok(self.answer[..max.min(self.answer.len())].to_vec())
    }
    fn property(&mut self, _p: Property) -> Option<Vec<u8>> {
        None
    }
    fn hold_refusal(&mut self) -> Option<Rejection> {
        None
    }
    fn counters(&mut self) -> &mut dyn CounterStore {
        &mut self.store
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<RawHeader> {
    list.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
}

/// The callbacks of one request, in order (allocations are counted per callback).
const PHASES: [&str; 6] = ["request_headers", "request_body", "response_headers", "response_body", "log", "drop"];

/// Allocations and reallocations so far.
fn allocs() -> u64 {
    ALLOCS.load(Ordering::Relaxed) + REALLOCS.load(Ordering::Relaxed)
}

#[inline(never)]
fn stream_loop(policy: &Rc<Policy>, host: &mut Host<'_>, iters: u64, per_phase: &mut [u64; 6]) -> usize {
    let chain = Rc::new(RefCell::new(AuditChain::new("0123456789abcdef".into())));
    let mut audit_bytes = 0;
    for _ in 0..iters {
        let mut at = allocs();
        let mut mark = |k: usize| {
            let now = allocs();
            per_phase[k] += now - at;
            at = now;
        };
        let mut s = Stream::new(Rc::clone(policy), Rc::clone(&chain));
        black_box(s.on_request_headers(host, false));
        mark(0);
        black_box(s.on_request_body(host, host.body.len(), true));
        mark(1);
        black_box(s.on_response_headers(host, false));
        mark(2);
        black_box(s.on_response_body(host, host.answer.len(), true));
        mark(3);
        for e in s.on_log(host).effects {
            if let Effect::PublishAudit(line) = e {
                audit_bytes += line.len();
            }
        }
        mark(4);
        drop(s);
        mark(5);
    }
    audit_bytes
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let policy = Rc::new(Policy::from_json(&std::fs::read(&args[0]).expect("policy")).expect("policy compiles"));
    let body = std::fs::read(&args[1]).expect("body");
    let iters: u64 = args.iter().position(|a| a == "--iters").map_or(100, |i| args[i + 1].parse().expect("iters"));
    let len = body.len().to_string();
    let req = pairs(&[
        (":method", "POST"),
        (":path", "/api/v1/chat/completions"),
        (":authority", "openrouter.ai"),
        (":scheme", "http"),
        ("content-type", "application/json"),
        ("content-length", &len),
        ("x-request-id", "2f1c8e57-3a43-4c2e-9a53-0d7d3c1b9e11"),
    ]);
    let sse = args.iter().any(|a| a == "--sse");
    let answer = if sse { sse_answer() } else { ANSWER.to_vec() };
    let content_type = if sse { "text/event-stream" } else { "application/json" };
    let resp = pairs(&[(":status", "200"), ("content-type", content_type)]);
    let mut host = Host {
        now: 1_800_000_000_000_000_000,
        answer: &answer,
        req_headers: &req,
        resp_headers: &resp,
        body: &body,
        store: Store::default(),
    };
    let (a0, r0) = (ALLOCS.load(Ordering::Relaxed), REALLOCS.load(Ordering::Relaxed));
    let mut per_phase = [0u64; 6];
    let n = stream_loop(&policy, &mut host, iters, &mut per_phase);
    let per = |now: u64, before: u64| now.saturating_sub(before) / iters.max(1);
    let phases: Vec<String> =
        PHASES.iter().zip(per_phase).map(|(p, n)| format!("\"{p}\":{}", n / iters.max(1))).collect();
    println!(
        "{{\"iters\":{iters},\"audit_bytes_per_request\":{},\"allocs_per_request\":{},\"reallocs_per_request\":{},\
         \"allocs_and_reallocs_per_callback\":{{{}}}}}",
        n as u64 / iters.max(1),
        per(ALLOCS.load(Ordering::Relaxed), a0),
        per(REALLOCS.load(Ordering::Relaxed), r0),
        phases.join(",")
    );
}
