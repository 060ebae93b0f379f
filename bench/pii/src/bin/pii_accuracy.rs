//! Accuracy report of the PII engine on the labeled generator (`bench/pii/gen.rs`).
//!
//! `cargo run --release --example pii_accuracy -- [--per-entity N] [--decoys N] [--seed S] [--dump FILE.jsonl]`
//! Prints per-entity recall/precision and the decoy false-positive rate; `--dump` writes the cases
//! (text + labels) as JSON lines for other tools (`bench/pii/presidio_compare.py`).

#[path = "../../gen.rs"]
mod gen;

use std::io::Write;

use openrouter_guard::api::{PiiConfig, Redactor};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let per_entity = arg(&args, "--per-entity").and_then(|v| v.parse().ok()).unwrap_or(2000usize);
    let decoys = arg(&args, "--decoys").and_then(|v| v.parse().ok()).unwrap_or(20000usize);
    let seed = arg(&args, "--seed").and_then(|v| v.parse().ok()).unwrap_or(7u64);
    let cases = gen::cases(seed, &gen::ENTITIES, per_entity, decoys, 0.15);
    let cfg: PiiConfig = match PiiConfig::from_json(r#"{"entities": {"PERSON": "redact", "ADDRESS": "redact"}}"#) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("config: {e}");
            std::process::exit(2);
        }
    };
    let r = match Redactor::compile(&cfg, None, "pii") {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let rep = gen::score(&cases, |t| r.detect(t).into_iter().map(|d| (d.start, d.end, d.entity.to_owned())).collect());
    println!("openrouter-guard PII accuracy: seed {seed}, {per_entity} cases per entity, {decoys} decoys, 15% evasive");
    print!("{}", rep.table());
    if let Some(n) = arg(&args, "--show").and_then(|v| v.parse::<usize>().ok()) {
        for (ent, text) in rep.misses.iter().take(n) {
            println!("MISS {ent}: {text:?}");
        }
        for (ent, hit, text) in rep.false_hits.iter().take(n) {
            println!("FALSE {ent} {hit:?} in {text:?}");
        }
    }
    if let Some(path) = arg(&args, "--dump") {
        let mut out = match std::fs::File::create(&path) {
            Ok(f) => std::io::BufWriter::new(f),
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(2);
            }
        };
        for c in &cases {
            let labels: Vec<serde_json::Value> = c
                .labels
                .iter()
                .map(|l| serde_json::json!({"start": l.start, "end": l.end, "entity": l.entity}))
                .collect();
            let line = serde_json::json!({"text": c.text, "labels": labels, "decoy": c.decoy, "evasive": c.evasive});
            if writeln!(out, "{line}").is_err() {
                eprintln!("{path}: write failed");
                std::process::exit(2);
            }
        }
    }
}
