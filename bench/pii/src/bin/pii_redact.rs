//! Runs the filter's PII engine (`Redactor::scan`, the call the request path makes for each string)
//! over JSON lines: `{"text": "..."}` in, `{"text": "<redacted>", "blocked": false}` out, one line
//! per input line, same order. Used by `bench/pii/corpus/report.py` to score a corpus by what
//! leaves the filter.
//!
//! `cargo run --release -p bench-pii --bin pii_redact -- [--config '<profiles.*.pii JSON>'] < in.jsonl > out.jsonl`
//! Default config: every built-in entity on with `redact`, PERSON and ADDRESS included.

use std::io::{BufRead, Write};

use openrouter_guard::api::{PiiConfig, PiiTally, Redactor};

const ALL_ON: &str = r#"{"entities": {"PERSON": "redact", "ADDRESS": "redact"}}"#;

fn fail(msg: &str) -> ! {
    eprintln!("pii_redact: {msg}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cfg_text =
        args.iter().position(|a| a == "--config").and_then(|i| args.get(i + 1)).map_or(ALL_ON, String::as_str);
    let cfg = PiiConfig::from_json(cfg_text).unwrap_or_else(|e| fail(&format!("config: {e}")));
    let r = Redactor::compile(&cfg, None, "pii").unwrap_or_else(|e| fail(&e.to_string()));
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line.unwrap_or_else(|e| fail(&format!("read: {e}")));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| fail(&format!("input line: {e}")));
        let text =
            v.get("text").and_then(serde_json::Value::as_str).unwrap_or_else(|| fail("input line without \"text\""));
        let mut tally = PiiTally::default();
        let scanned = r.scan(text, &mut tally);
        let red = scanned.as_deref().unwrap_or(text);
        let o = serde_json::json!({"text": red, "blocked": tally.blocked.is_some()});
        if writeln!(out, "{o}").is_err() {
            fail("write failed");
        }
    }
    if out.flush().is_err() {
        fail("write failed");
    }
}
