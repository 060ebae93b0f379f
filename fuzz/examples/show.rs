//! Prints what a fuzz input means: `cargo run --example show -- <target> <file>`.
//! For the request targets, the headers and body sent and what the guard forwarded.

use arbitrary::{Arbitrary, Unstructured};
use openrouter_guard::api::AuditRecord;
use openrouter_guard::api::{on_body, on_head, RequestHead};

fn pipeline(h: &[(String, String)], eos: bool, body: &[u8]) {
    println!("headers: {h:?}\nend_of_stream: {eos}\nbody: {}", String::from_utf8_lossy(body));
    let p = guard_fuzz::request::policy();
    let mut audit = AuditRecord::new();
    match on_head(p, RequestHead { headers: h, end_of_stream: eos }, &mut audit) {
        Err(r) => println!("head rejected: {} {}", r.status, r.reason),
        Ok(plan) => match on_body(p, &plan, if eos { &[] } else { body }, &mut audit) {
            Err(r) => println!("body rejected: {} {}", r.status, r.reason),
            Ok(None) => println!("forwarded unchanged"),
            Ok(Some(b)) => println!("forwarded: {}", String::from_utf8_lossy(&b)),
        },
    }
    println!("audit: {}", audit.to_json());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (target, file) = (&args[1], &args[2]);
    let data = std::fs::read(file).expect("read input");
    match target.as_str() {
        "request_structured" => {
            let r = guard_fuzz::structured::Req::arbitrary_take_rest(Unstructured::new(&data)).expect("decode");
            let (h, body, planted) = guard_fuzz::structured::build(&r);
            println!("planted: {planted:?}");
            pipeline(&h, false, &body);
        }
        "request_raw" => {
            let (h, eos, body) = guard_fuzz::request::raw_headers(&data);
            pipeline(&h, eos, body);
        }
        "pii_scan" => {
            let (config, plant, text) =
                <(u8, Option<(u8, u16)>, &str)>::arbitrary_take_rest(Unstructured::new(&data)).expect("decode");
            let engines = guard_fuzz::pii::engines();
            let (r, _) = &engines[usize::from(config) % engines.len()];
            let (t, planted) = guard_fuzz::pii::compose(text, plant);
            println!("config {}: planted {planted:?}\ntext: {t:?}", usize::from(config) % engines.len());
            for d in r.detect(&t) {
                println!("  {} {:?} {}..{} {:?}", d.entity, d.action, d.start, d.end, &t[d.start..d.end]);
            }
            let mut tally = Default::default();
            println!("scan: {:?}", r.scan(&t, &mut tally));
        }
        "sse_chunking" => {
            let c = guard_fuzz::sse::Case::arbitrary_take_rest(Unstructured::new(&data)).expect("decode");
            println!("{c:#?}\nbody: {:?}", String::from_utf8_lossy(&guard_fuzz::sse::render(&c.body)));
        }
        other => println!("{other}: the input is the raw bytes: {:?}", String::from_utf8_lossy(&data)),
    }
}
