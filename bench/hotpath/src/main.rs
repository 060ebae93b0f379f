//! Native timing and profiling harness for the filter's request path.
//!
//!   bench-hotpath POLICY_JSON BODY_FILE... [--seconds S]   table of ns/request and MB/s per body,
//!                                                          with a phase split (parse / PII walk / sha256)
//!   bench-hotpath POLICY_JSON BODY_FILE --iters N --only   just N full requests (for callgrind/perf;
//!                                                          the measured loop is `hot_loop`)
//!   ... --iters N --only --phase parse|walk|sha256        N runs of one phase only (for instruction or
//!                                                          wasm fuel counts per phase)
//!
//! Native x86-64 code, not wasm under V8: absolute numbers are lower than in Envoy, the split is what
//! transfers.

use std::hint::black_box;
use std::time::Instant;

use openrouter_guard::api::json;
use openrouter_guard::api::PiiTally;
use openrouter_guard::api::Policy;
use openrouter_guard::api::Walker;
use openrouter_guard::api::{on_body, on_head, Plan, RequestHead};
use openrouter_guard::api::{sha256_hex, AuditRecord};

fn headers(len: usize) -> Vec<(String, String)> {
    [
        (":method", "POST".to_string()),
        (":path", "/api/v1/chat/completions".to_string()),
        (":authority", "openrouter.ai".to_string()),
        (":scheme", "http".to_string()),
        ("content-type", "application/json".to_string()),
        ("content-length", len.to_string()),
        ("x-request-id", "2f1c8e57-3a43-4c2e-9a53-0d7d3c1b9e11".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// One full request through the core, as the adapter runs it. Returns the bytes sent upstream.
fn one_request(policy: &Policy, hdrs: &[(String, String)], body: &[u8]) -> (usize, AuditRecord) {
    let mut audit = AuditRecord::new();
    let plan = match on_head(policy, RequestHead { headers: hdrs, end_of_stream: false }, &mut audit) {
        Ok(p) => p,
        Err(_) => return (0, audit),
    };
    let out = match on_body(policy, &plan, body, &mut audit) {
        Ok(Some(b)) => b.len(),
        Ok(None) => body.len(),
        Err(_) => 0,
    };
    // The adapter serialises the audit record once per request too.
    black_box(audit.to_json());
    (out, audit)
}

#[inline(never)]
fn hot_loop(policy: &Policy, hdrs: &[(String, String)], body: &[u8], iters: u64) -> usize {
    let mut acc = 0;
    for _ in 0..iters {
        acc += one_request(policy, hdrs, black_box(body)).0;
    }
    acc
}

/// `n` runs of one phase of the request path: `parse`, `utf8` (the UTF-8 check alone), `walk`
/// (PII walk over an already parsed body) or `sha256`.
#[inline(never)]
fn phase_loop(policy: &Policy, hdrs: &[(String, String)], body: &[u8], n: u64, phase: &str) -> usize {
    let depth = policy.max_json_depth;
    let mut acc = 0;
    match phase {
        "parse" => (0..n).for_each(|_| acc += usize::from(json::parse(black_box(body), depth).is_ok())),
        "utf8" => (0..n).for_each(|_| acc += usize::from(std::str::from_utf8(black_box(body)).is_ok())),
        "sha256" => (0..n).for_each(|_| acc += sha256_hex(black_box(body)).len()),
        "walk" => {
            let plan = plan_for(policy, hdrs).expect("plan");
            let profile = &policy.profiles[plan.profile];
            let root = json::parse(body, depth).expect("json");
            for _ in 0..n {
                let mut tally = PiiTally::default();
                let mut w = Walker::new(&profile.redactor, &mut tally, depth);
                w.walk_body(black_box(&root));
                acc += w.edits.len();
            }
        }
        other => panic!("unknown phase {other}"),
    }
    acc
}

fn plan_for(policy: &Policy, hdrs: &[(String, String)]) -> Option<Plan> {
    let mut audit = AuditRecord::new();
    on_head(policy, RequestHead { headers: hdrs, end_of_stream: false }, &mut audit).ok()
}

/// Mean nanoseconds per call of `f`, running it for about `seconds` (at least 3 times).
fn time_it(seconds: f64, mut f: impl FnMut()) -> f64 {
    f();
    let t0 = Instant::now();
    let mut n = 0u64;
    while n < 3 || t0.elapsed().as_secs_f64() < seconds {
        f();
        n += 1;
    }
    t0.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut files = Vec::new();
    let mut seconds = 0.5f64;
    let mut iters: Option<u64> = None;
    let mut phase = String::from("full");
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--seconds" => {
                seconds = args[i + 1].parse().expect("seconds");
                i += 1;
            }
            "--iters" => {
                iters = Some(args[i + 1].parse().expect("iters"));
                i += 1;
            }
            "--phase" => {
                phase = args[i + 1].clone();
                i += 1;
            }
            "--only" => {}
            f => files.push(f.to_string()),
        }
        i += 1;
    }
    let policy_text = std::fs::read(args.first().expect("usage: bench-hotpath POLICY BODY...")).expect("policy");
    let policy = Policy::from_json(&policy_text).expect("policy compiles");

    if let Some(n) = iters {
        for f in &files {
            let body = std::fs::read(f).expect("body");
            let hdrs = headers(body.len());
            if phase == "full" {
                black_box(hot_loop(&policy, &hdrs, &body, n));
            } else {
                black_box(phase_loop(&policy, &hdrs, &body, n, &phase));
            }
        }
        return;
    }

    println!(
        "{{\"rows\":[{}]}}",
        files
            .iter()
            .map(|f| {
                let body = std::fs::read(f).expect("body");
                let hdrs = headers(body.len());
                let (out_len, audit) = one_request(&policy, &hdrs, &body);
                let full = time_it(seconds, || {
                    black_box(hot_loop(&policy, &hdrs, &body, 1));
                });
                let depth = policy.max_json_depth;
                let parse = time_it(seconds / 2.0, || {
                    black_box(json::parse(black_box(&body), depth).is_ok());
                });
                let utf8 = time_it(seconds / 4.0, || {
                    black_box(std::str::from_utf8(black_box(&body)).is_ok());
                });
                let sha = time_it(seconds / 4.0, || {
                    black_box(sha256_hex(black_box(&body)));
                });
                let plan = plan_for(&policy, &hdrs).expect("plan");
                let profile = &policy.profiles[plan.profile];
                let root = json::parse(&body, depth).expect("json");
                let walk = time_it(seconds / 2.0, || {
                    let mut tally = PiiTally::default();
                    let mut w = Walker::new(&profile.redactor, &mut tally, depth);
                    w.walk_body(&root);
                    black_box(w.edits.len());
                });
                let findings: u64 = audit.redactions.iter().map(|(_, _, n)| n).sum();
                format!(
                    "{{\"file\":{:?},\"bytes\":{},\"bytes_out\":{},\"decision\":{:?},\"findings\":{},\
\"full_ns\":{:.0},\"parse_ns\":{:.0},\"utf8_ns\":{:.0},\"walk_ns\":{:.0},\"sha256_ns\":{:.0},\"mb_per_s\":{:.1}}}",
                    std::path::Path::new(f).file_name().and_then(|s| s.to_str()).unwrap_or(f),
                    body.len(),
                    out_len,
                    format!("{:?}", audit.decision),
                    findings,
                    full,
                    parse,
                    utf8,
                    walk,
                    sha,
                    body.len() as f64 / full * 1e3,
                )
            })
            .collect::<Vec<_>>()
            .join(",\n")
    );
}
