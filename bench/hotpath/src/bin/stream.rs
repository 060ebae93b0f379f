//! `bench-stream`: one whole governed request through the core's stream state machine
//! (`core::stream::Stream`, exactly what the wasm adapter drives), natively, with an in-memory host:
//! request headers, the whole body, response headers, the bench-upstream JSON answer, the log
//! (audit record serialised, sealed into the chain). The callgrind target of `make bench`
//! (`--toggle-collect=*stream_loop*`): instructions per request by function, for the fixed
//! per-request cost the request-path harness (bench-hotpath) does not see (audit record, chain,
//! spend counters, response side, metrics).
//!
//! Usage: bench-stream POLICY BODY --iters N
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::rc::Rc;

use openrouter_guard::core::chain::AuditChain;
use openrouter_guard::core::headers::RawHeader;
use openrouter_guard::core::policy::Policy;
use openrouter_guard::core::reply::Rejection;
use openrouter_guard::core::spend::{CounterStore, SetError, StoreError};
use openrouter_guard::core::stream::{Effect, HostFailure, Property, Stream, StreamHost};

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

struct Host<'a> {
    now: u64,
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
        Ok(ANSWER[..max.min(ANSWER.len())].to_vec())
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

#[inline(never)]
fn stream_loop(policy: &Rc<Policy>, host: &mut Host<'_>, iters: u64) -> usize {
    let chain = Rc::new(RefCell::new(AuditChain::new("0123456789abcdef".into())));
    let mut audit_bytes = 0;
    for _ in 0..iters {
        let mut s = Stream::new(Rc::clone(policy), Rc::clone(&chain));
        black_box(s.on_request_headers(host, false));
        black_box(s.on_request_body(host, host.body.len(), true));
        black_box(s.on_response_headers(host, false));
        black_box(s.on_response_body(host, ANSWER.len(), true));
        for e in s.on_log(host).effects {
            if let Effect::PublishAudit(line) = e {
                audit_bytes += line.len();
            }
        }
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
    let resp = pairs(&[(":status", "200"), ("content-type", "application/json")]);
    let mut host = Host {
        now: 1_800_000_000_000_000_000,
        req_headers: &req,
        resp_headers: &resp,
        body: &body,
        store: Store::default(),
    };
    let n = stream_loop(&policy, &mut host, iters);
    println!("{{\"iters\":{iters},\"audit_bytes_per_request\":{}}}", n as u64 / iters.max(1));
}
