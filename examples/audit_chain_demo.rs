//! Prints sealed audit lines for two interleaved chains, as two Envoy worker VMs would write them
//! into one access log, plus `-` lines for requests the filter did not govern.
//!
//! `cargo run --quiet --example audit_chain_demo -- [RECORDS_PER_CHAIN]` (default 6). The output
//! is deterministic; `tools/verify_audit.py` checks it and `tests/tools/test_verify_audit.py`
//! tampers with it.

use openrouter_guard::api::AuditChain;

fn main() {
    let per_chain: u64 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(6);
    let mut workers = [AuditChain::new("0123456789abcdef".to_owned()), AuditChain::new("fedcba9876543210".to_owned())];
    let mut line_no = 0u64;
    // Worker 0 finishes two requests for every one of worker 1, until both have `per_chain`.
    while workers.iter().any(|w| w.last_seq() < per_chain) {
        for (worker, turns) in [(0usize, 2), (1, 1)] {
            for _ in 0..turns {
                let Some(chain) = workers.get_mut(worker) else {
                    continue;
                };
                if chain.last_seq() >= per_chain {
                    continue;
                }
                line_no += 1;
                let record = serde_json::json!({
                    "ts": format!("2026-01-01T00:00:{:02}Z", line_no % 60),
                    "request_id": format!("req-{line_no}"),
                    "profile": "internal",
                    "model_requested": "anthropic/claude-sonnet-4",
                    "provider": "Google AI Studio",
                    "decision": if line_no.is_multiple_of(5) { "deny" } else { "allow" },
                    "prompt_tokens": 10 + line_no,
                    "cost": 0.000387 * line_no as f64,
                    "user": "zoë@example.test",
                });
                match record.is_object().then(|| chain.seal_object(&record.to_string())) {
                    Some(Ok(line)) => println!("{line}"),
                    Some(Err(e)) => eprintln!("seal failed: {e}"),
                    None => eprintln!("record is not an object"),
                }
            }
        }
        // A request that was not bound for OpenRouter: the access log prints `-`.
        println!("-");
    }
}
