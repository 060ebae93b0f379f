//! Stable-Rust replay of every seed and regression input through the same checks the fuzz targets
//! run: `cargo test --manifest-path fuzz/Cargo.toml`. A regression stays a test once it is fixed.

use std::fs;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use guard_fuzz::{json_diff, pii, policy, request, secrets, sse, structured};

#[global_allocator]
static ALLOC: guard_fuzz::alloc::Counting = guard_fuzz::alloc::Counting;

/// Runs the target's check on one input, decoded as the fuzz target decodes it.
fn run(target: &str, data: &[u8]) {
    match target {
        "json_parse" => {
            if let Some((&d, src)) = data.split_first() {
                json_diff::check(src, 1 + u32::from(d % 100));
            }
        }
        "policy_config" => policy::check(data),
        "request_raw" => {
            let (h, eos, body) = request::raw_headers(data);
            request::check(&h, eos, body);
        }
        "request_structured" => {
            if let Ok(r) = structured::Req::arbitrary_take_rest(Unstructured::new(data)) {
                structured::check(&r);
            }
        }
        "pii_scan" => {
            if let Ok((config, plant, text)) =
                <(u8, Option<(u8, u16)>, &str)>::arbitrary_take_rest(Unstructured::new(data))
            {
                pii::check(&pii::Case { config, text, plant });
            }
        }
        "sse_chunking" => {
            guard_fuzz::alloc::activate();
            if let Ok(c) = sse::Case::arbitrary_take_rest(Unstructured::new(data)) {
                sse::check(&c);
            }
        }
        other => panic!("unknown target directory {other}"),
    }
}

fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    let mut failed = Vec::new();
    let Ok(targets) = fs::read_dir(&root) else { return 0 };
    for t in targets.flatten().filter(|e| e.path().is_dir()) {
        let target = t.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = fs::read_dir(t.path()).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files.iter().filter(|f| f.is_file()) {
            let data = fs::read(f).unwrap();
            if std::panic::catch_unwind(|| run(&target, &data)).is_err() {
                failed.push(f.display().to_string());
            }
            n += 1;
        }
    }
    assert!(failed.is_empty(), "inputs failing their properties:\n{}", failed.join("\n"));
    n
}

#[test]
fn every_seed_input_satisfies_its_target_properties() {
    assert!(replay("seeds") > 0, "no seeds found");
}

#[test]
fn every_regression_input_satisfies_its_target_properties() {
    replay("regressions");
}

#[test]
fn every_planted_value_is_detected_alone_by_the_default_engine() {
    let r = openrouter_guard::api::Redactor::default();
    for p in secrets::catalogue() {
        let text = format!("x {} y", p.value);
        let found = r.detect(&text);
        assert!(
            found.iter().any(|d| d.entity == p.entity && &text[d.start..d.end] == p.value),
            "{} {:?} not detected whole: {:?}",
            p.entity,
            p.value,
            found.iter().map(|d| (d.entity, &text[d.start..d.end])).collect::<Vec<_>>()
        );
    }
}

#[test]
fn the_harness_policy_matches_its_profile_specs() {
    let p = request::policy();
    for spec in request::PROFILES {
        assert!(p.profile_by_name(spec.name).is_some(), "{}", spec.name);
    }
    assert_eq!(p.profiles.len(), request::PROFILES.len());
}
