//! Cost of output inspection on a stream (`StreamScanner`), per corpus: the text is cut into
//! token-sized fragments (1–8 bytes, ~4.5 on average, like an LLM's deltas) and pushed one by one.
//!
//! `cargo run --release -p bench-pii --bin outscan_bench [-- --quick]` (`bench/outscan.sh`, run by `make bench`). Not a test:
//! figures only (the mean is left out: on a shared machine a few preempted pushes dominate it). Output lines:
//! `RESULT <corpus> <ns/fragment p50> <ns/fragment p99> <MB/s> <held max B> <held mean B> <first release after B> <findings>`.
//! *held* is what the scanner keeps back after a push (the text a client has not received yet);
//! *first release after* is how many bytes had arrived when the first byte left (the time to first
//! byte added, in bytes of model output: ÷ ~4 for tokens).

#[path = "../../gen.rs"]
mod gen;

use std::hint::black_box;
use std::time::Instant;

use openrouter_guard::api::StreamScanner;
use openrouter_guard::api::{PiiConfig, PiiTally, Redactor};

fn redactor(json: &str) -> Redactor {
    let cfg = PiiConfig::from_json(json).unwrap_or_else(|e| {
        eprintln!("bench config: {e}");
        std::process::exit(2)
    });
    Redactor::compile(&cfg, None, "bench").unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    })
}

/// Token-sized fragments of `text`.
fn fragments(text: &str, rng: &mut gen::Rng) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let mut j = (i + 1 + rng.below(8)).min(text.len());
        while j < text.len() && !text.is_char_boundary(j) {
            j += 1;
        }
        out.push(text.get(i..j).unwrap_or("").to_owned());
        i = j;
    }
    out
}

fn run(name: &str, r: &Redactor, text: &str, rounds: usize) {
    let mut rng = gen::Rng::new(7);
    let parts = fragments(text, &mut rng);
    let mut times: Vec<u64> = Vec::with_capacity(parts.len() * rounds);
    let (mut held_max, mut held_sum, mut first_release, mut findings) = (0usize, 0usize, None, 0u64);
    let start = Instant::now();
    for round in 0..rounds {
        let mut s = StreamScanner::new();
        let mut tally = PiiTally::default();
        let mut received = 0usize;
        for p in &parts {
            let t0 = Instant::now();
            let out = s.push_text(r, black_box(p), &mut tally);
            times.push(t0.elapsed().as_nanos() as u64);
            received += p.len();
            if round == 0 {
                held_max = held_max.max(s.held());
                held_sum += s.held();
                if first_release.is_none() && out.as_ref().is_ok_and(|t| !t.is_empty()) {
                    first_release = Some(received);
                }
            }
            if out.is_err() {
                break;
            }
        }
        let _ = black_box(s.finish_text(r, &mut tally));
        findings = tally.total();
    }
    let secs = start.elapsed().as_secs_f64();
    times.sort_unstable();
    let p50 = times.get(times.len() / 2).copied().unwrap_or(0);
    let p99 = times.get(times.len() * 99 / 100).copied().unwrap_or(0);
    let mbps = (text.len() * rounds) as f64 / secs / 1e6;
    let held_mean = held_sum as f64 / parts.len().max(1) as f64;
    println!(
        "RESULT {name:<16} {p50:>8} {p99:>8} {mbps:>8.1} {held_max:>8} {held_mean:>8.1} {:>8} {findings:>6}",
        first_release.unwrap_or(text.len())
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let size = if quick { 32 * 1024 } else { 256 * 1024 };
    let rounds = if quick { 3 } else { 5 };
    let mut rng = gen::Rng::new(42);
    let prose = gen::prose(&mut rng, size);
    let dense = gen::dense(&mut rng, size);
    let code = gen::code(&mut rng, size);
    let defaults = redactor("{}");
    let secrets = redactor(r#"{"builtin_defaults": false, "entities": {"SECRETS": "block"}}"#);
    println!("# openrouter-guard output inspection on streams ({} KiB per corpus, 1-8 byte fragments)", size / 1024);
    println!(
        "# hold bound (bytes a cut may wait for): defaults {}, secrets only {}; ceiling {}",
        StreamScanner::bound(&defaults.reach()),
        StreamScanner::bound(&secrets.reach()),
        openrouter_guard::api::MAX_HOLD
    );
    println!("#      corpus          p50 ns   p99 ns     MB/s held max held avg 1st after findings");
    run("prose/defaults", &defaults, &prose, rounds);
    run("dense/defaults", &defaults, &dense, rounds);
    run("code/defaults", &defaults, &code, rounds);
    run("prose/secrets", &secrets, &prose, rounds);
    run("code/secrets", &secrets, &code, rounds);
}
