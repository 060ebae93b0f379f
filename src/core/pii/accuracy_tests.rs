//! Accuracy floors on a fixed sample of the labeled generator (`bench/pii/gen.rs`), so a detector
//! regression fails `cargo test`. The full report is `bench/pii/accuracy.sh`.

#[path = "../../../bench/pii/gen.rs"]
mod gen;

use super::{PiiConfig, Redactor};

fn redactor(all: bool) -> Redactor {
    let json = if all { r#"{"entities": {"PERSON": "redact", "ADDRESS": "redact"}}"# } else { "{}" };
    let cfg = PiiConfig::from_json(json).unwrap();
    Redactor::compile(&cfg, None, "p").unwrap()
}

fn report(entities: &[&'static str], per_entity: usize, decoys: usize, all: bool) -> gen::Report {
    let cases = gen::cases(20240806, entities, per_entity, decoys, 0.15);
    let r = redactor(all);
    gen::score(&cases, |t| r.detect(t).into_iter().map(|d| (d.start, d.end, d.entity.to_owned())).collect())
}

#[test]
fn builtin_entities_meet_recall_and_precision_floors() {
    let rep = report(&gen::ENTITIES[..18], 150, 1500, false);
    for e in &gen::ENTITIES[..18] {
        let st = rep.stat(e).unwrap();
        let floor = if *e == "PHONE" { 0.97 } else { 0.995 };
        assert!(st.recall() >= floor, "{e} recall {} < {floor}\n{}", st.recall(), rep.table());
        assert!(st.precision() >= 0.99, "{e} precision {}\n{}", st.precision(), rep.table());
    }
    assert!(rep.decoy_fp_rate() <= 0.01, "{}", rep.table());
}

#[test]
fn person_and_address_reach_their_best_effort_floors_when_enabled() {
    let rep = report(&["PERSON", "ADDRESS"], 200, 500, true);
    for e in ["PERSON", "ADDRESS"] {
        let st = rep.stat(e).unwrap();
        assert!(st.recall() >= 0.9 && st.precision() >= 0.9, "{e}\n{}", rep.table());
    }
    assert!(rep.decoy_fp_rate() <= 0.01, "{}", rep.table());
}
