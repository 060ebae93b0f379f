//! Throughput of the PII engine (`Redactor::scan`) per corpus, in MB/s.
//!
//! `cargo run --release --example pii_bench [-- --quick] [--only PREFIX]...`; also builds for `wasm32-wasip1` and runs
//! under any WASI runtime (`bench/pii/run.sh` runs both and prints a table). Each corpus is split
//! into ~2 KB strings, the size of a typical chat message, and scanned repeatedly for a fixed time.
//! Output lines: `RESULT <name> <MB/s> <findings per pass> <MB/s of the fastest pass>`.
//! `--passes N` runs exactly N timed passes after the warm-up instead of a time budget: a fixed
//! amount of work, for instruction counts under `valgrind --tool=callgrind` (docs/pii.md).

#[path = "../../gen.rs"]
mod gen;

use std::hint::black_box;
use std::time::{Duration, Instant};

use openrouter_guard::api::{PiiConfig, PiiTally, Redactor};

fn chunks(text: &str, size: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + size).min(text.len());
        while end < text.len() && !text.is_char_boundary(end) {
            end += 1;
        }
        // Prefer to cut at a space so no planted value is split.
        if let Some(sp) = text.get(start..end).and_then(|s| s.rfind(' ')).filter(|&sp| sp > size / 2) {
            end = start + sp + 1;
        }
        out.push(text.get(start..end).unwrap_or("").to_owned());
        start = end;
    }
    out
}

fn redactor(json: &str) -> Redactor {
    let cfg: PiiConfig = match PiiConfig::from_json(json) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench config: {e}");
            std::process::exit(2);
        }
    };
    match Redactor::compile(&cfg, Some(b"bench-pseudonym-key-0123456789"), "bench") {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}

fn run(name: &str, r: &Redactor, parts: &[String], budget: Duration) {
    if !selected(name) {
        return;
    }
    let bytes: usize = parts.iter().map(String::len).sum();
    let mut findings = 0u64;
    // Warm-up pass, also counts findings.
    for p in parts {
        let mut t = PiiTally::default();
        black_box(r.scan(black_box(p), &mut t));
        findings += t.total();
    }
    let start = Instant::now();
    let mut iters = 0u64;
    let mut best = Duration::MAX;
    let fixed = passes();
    while fixed.map_or(start.elapsed() < budget || iters < 3, |n| iters < n) {
        let pass = Instant::now();
        for p in parts {
            let mut t = PiiTally::default();
            black_box(r.scan(black_box(p), &mut t));
        }
        best = best.min(pass.elapsed());
        iters += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let mbps = (bytes as f64 * iters as f64) / secs / 1e6;
    // The fastest single pass is much less disturbed by other jobs on a shared machine.
    let best_mbps = bytes as f64 / best.as_secs_f64().max(1e-9) / 1e6;
    println!("RESULT {name:<28} {mbps:>9.1} {findings:>8} {best_mbps:>9.1}");
}

/// `--passes N`: a fixed number of timed passes instead of the time budget.
fn passes() -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2).find(|w| w.first().is_some_and(|a| a == "--passes")).and_then(|w| w.get(1)?.parse().ok())
}

/// Whether `--only PREFIX` (repeatable) lets corpus `name` run; all run without it.
fn selected(name: &str) -> bool {
    let args: Vec<String> = std::env::args().collect();
    let only: Vec<&String> =
        args.windows(2).filter(|w| w.first().is_some_and(|a| a == "--only")).filter_map(|w| w.get(1)).collect();
    only.is_empty() || only.iter().any(|p| name.starts_with(p.as_str()))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let size = if quick { 256 * 1024 } else { 2 * 1024 * 1024 };
    let budget = Duration::from_millis(if quick { 200 } else { 1000 });
    let mut rng = gen::Rng::new(42);
    let prose = chunks(&gen::prose(&mut rng, size), 2048);
    let dense = chunks(&gen::dense(&mut rng, size), 2048);
    let code = chunks(&gen::code(&mut rng, size), 2048);

    let default = redactor("{}");
    let terms: Vec<String> = (0..1000)
        .map(|i| {
            let w = gen::ALNUM;
            let a = char::from(w.get((i * 7) % 26).copied().unwrap_or(b'A'));
            let b = char::from(w.get(26 + (i * 13) % 26).copied().unwrap_or(b'a'));
            let word = gen::WORDS_SHORT.get(i % gen::WORDS_SHORT.len()).copied().unwrap_or("x");
            format!("\"{a}{b}{word}project{i}\"")
        })
        .collect();
    let dict = redactor(&format!(r#"{{"dictionaries": [{{"name": "CODENAME", "terms": [{}]}}]}}"#, terms.join(",")));
    let prefixed: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"name": "CUSTOM_{i}", "pattern": "{}{i}-[0-9]{{6}}"}}"#,
                ["EMP", "PRJ", "CUST", "ACCT", "TKT"].get(i % 5).copied().unwrap_or("X")
            )
        })
        .collect();
    let custom = redactor(&format!(r#"{{"custom": [{}]}}"#, prefixed.join(",")));
    let mut mixed: Vec<String> = prefixed.iter().take(15).cloned().collect();
    for (i, p) in [
        r"\b[A-Z]{2}[0-9]{7}\b",
        r"\b[0-9]{3}[A-Z]{3}[0-9]{3}\b",
        r"[A-Z]{4}-[0-9]{4}-[A-Z]{4}",
        r"\bP[0-9]{8}\b",
        r"(?i)\b(?:proj|case)_[0-9]{5}\b",
    ]
    .iter()
    .enumerate()
    {
        mixed.push(format!(r#"{{"name": "FREE_{i}", "pattern": "{}"}}"#, p.replace('\\', "\\\\")));
    }
    let mixed = redactor(&format!(r#"{{"custom": [{}]}}"#, mixed.join(",")));
    let everything = redactor(&format!(
        r#"{{"entities": {{"PERSON": "redact", "ADDRESS": "redact", "PHONE": "hash"}}, "dictionaries": [{{"name": "CODENAME", "terms": [{}]}}], "custom": [{}]}}"#,
        terms.join(","),
        prefixed.join(",")
    ));

    println!("# openrouter-guard PII throughput ({} KiB per corpus, ~2 KiB strings)", size / 1024);
    println!("#      name                           MB/s  findings      best");
    run("prose/default", &default, &prose, budget);
    run("dense/default", &default, &dense, budget);
    run("code/default", &default, &code, budget);
    run("prose/dict1000", &dict, &prose, budget);
    run("prose/custom20-prefixed", &custom, &prose, budget);
    run("prose/custom20-5-unprefixed", &mixed, &prose, budget);
    run("dense/all-on+dict+custom", &everything, &dense, budget);
}
