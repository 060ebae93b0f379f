//! The generated numbering plan (`phone_plan.rs`) against the matcher of `phone_plan_types.rs`.

use super::phone_plan::PLAN;
use super::phone_plan_types::parsed_len;

#[test]
fn plan_patterns_use_only_the_supported_dialect() {
    let ok = |p: &str| p.bytes().all(|c| c.is_ascii_digit() || b"\\d[]-(?:)|{},".contains(&c));
    for c in &PLAN {
        assert!(ok(c.general) && ok(c.mobile), "{}", c.region);
        assert!(c.formats.iter().all(|f| ok(f.leading)), "{}", c.region);
        // Every pattern parses to its end.
        assert_eq!(parsed_len(c.general), c.general.len(), "{}", c.region);
    }
}
