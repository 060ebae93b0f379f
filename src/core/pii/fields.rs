//! Record grammars that name a value by where it stands, with no context word next to it:
//!
//! - vCard (RFC 6350): the value of a `TEL` property (`item1.TEL;type=WORK:5064893194`).
//! - HL7 v2 (segments split by `\r` or a line break, fields by the separator after the segment
//!   name, components by `^`, repetitions by `~`): the first component of PID-13 and PID-14 (home
//!   and business phone, `071 114 8144^PRN^PH`) and NK1-5/NK1-6 are phone numbers; PID-19 is the
//!   patient's SSN.
//! - FHIR JSON: the `"value"` of an object whose `"system"` is `phone`, `fax` or `sms`
//!   (ContactPoint) or the US SSN identifier system (`http://hl7.org/fhir/sid/us-ssn`,
//!   `urn:oid:2.16.840.1.113883.4.1`).
//!
//! The detectors still validate the value (SSN rules, the numbering plan): a grammar stands in for
//! the phone or SSN word only.

use super::text::before;

/// What a record's grammar says the value at an offset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named {
    /// A telephone number.
    Phone,
    /// A US social security number.
    Ssn,
}

/// How far back the grammars look for the start of a line, segment or object.
const WINDOW: usize = 512;

/// What the vCard, HL7 v2 or FHIR grammar names the value starting at `i`, if any.
pub(crate) fn named(b: &[u8], i: usize) -> Option<Named> {
    let lo = i.saturating_sub(WINDOW);
    let w = b.get(lo..i)?;
    // The line (vCard) or segment (HL7: `\r`) holding `i`.
    let ls = w.iter().rposition(|&c| c == b'\n' || c == b'\r').map_or(lo, |j| lo + j + 1);
    let line = b.get(ls..i)?;
    vcard_tel(line).or_else(|| hl7(line)).or_else(|| fhir(b, lo, i))
}

/// `[group.]TEL[;params]:` before the value.
fn vcard_tel(line: &[u8]) -> Option<Named> {
    let name_end = line.iter().position(|&c| c == b';' || c == b':')?;
    let name = line.get(..name_end)?;
    let prop = name.rsplit(|&c| c == b'.').next()?;
    let group_ok = name.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.');
    (group_ok && prop.eq_ignore_ascii_case(b"TEL") && line.get(name_end..)?.contains(&b':')).then_some(Named::Phone)
}

/// The HL7 v2 field holding the end of `line` (a segment up to the value), if it names one.
fn hl7(line: &[u8]) -> Option<Named> {
    let seg = line.get(..3)?;
    let fs = *line.get(3)?;
    if !matches!(fs, b'|' | b'!' | b'#') {
        return None;
    }
    let rest = line.get(4..)?;
    let field = 1 + rest.iter().filter(|&&c| c == fs).count();
    // The first component of a repetition: no `^` since the field or repetition began.
    let since = rest.iter().rposition(|&c| c == fs || c == b'~').map_or(rest, |j| rest.get(j + 1..).unwrap_or(&[]));
    if since.contains(&b'^') {
        return None;
    }
    match (seg, field) {
        (b"PID", 13 | 14) | (b"NK1", 5 | 6) => Some(Named::Phone),
        (b"PID", 19) => Some(Named::Ssn),
        _ => None,
    }
}

/// The `"value"` of a FHIR ContactPoint or Identifier object whose `"system"` comes before it.
fn fhir(b: &[u8], lo: usize, i: usize) -> Option<Named> {
    // Back over the value's own leading punctuation to its opening quote, then `"value"\s*:\s*`.
    let mut j = i;
    while j > lo && matches!(before(b, j), b'+' | b'(' | b' ') {
        j -= 1;
    }
    if before(b, j) != b'"' {
        return None;
    }
    j -= 1;
    while j > lo && matches!(before(b, j), b' ' | b'\t' | b'\n' | b'\r') {
        j -= 1;
    }
    if before(b, j) != b':' {
        return None;
    }
    j -= 1;
    while j > lo && matches!(before(b, j), b' ' | b'\t') {
        j -= 1;
    }
    if !b.get(..j)?.ends_with(b"\"value\"") {
        return None;
    }
    // The object holding it: back to its `{`, not past a `}` (another object).
    let w = b.get(lo..j)?;
    let open = w.iter().rposition(|&c| c == b'{' || c == b'}')?;
    if w.get(open) != Some(&b'{') {
        return None;
    }
    let obj = w.get(open..)?;
    let k = find(obj, b"\"system\"")?;
    let after = obj.get(k + 8..)?;
    let q = after.iter().position(|&c| c == b'"')?;
    let sys = after.get(q + 1..)?;
    let sys = sys.get(..sys.iter().position(|&c| c == b'"')?)?;
    if !after.get(..q)?.iter().all(|&c| matches!(c, b' ' | b':' | b'\t')) {
        return None;
    }
    match sys {
        b"phone" | b"fax" | b"sms" => Some(Named::Phone),
        b"http://hl7.org/fhir/sid/us-ssn" | b"urn:oid:2.16.840.1.113883.4.1" => Some(Named::Ssn),
        _ => None,
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str, v: &str) -> Option<Named> {
        named(t.as_bytes(), t.find(v)?)
    }

    #[test]
    fn a_vcard_tel_property_names_its_value() {
        let card = "BEGIN:VCARD\r\nitem1.TEL;type=WORK:5064893194\r\nTEL;type=CELL;type=pref:0450.37.13.00\r\n\
                    NOTE:call 0612345678\r\nX-TEL-NOTE:0612345678\r\nEND:VCARD";
        assert_eq!(at(card, "5064893194"), Some(Named::Phone));
        assert_eq!(at(card, "0450.37.13.00"), Some(Named::Phone));
        assert_eq!(at(card, "0612345678"), None);
        assert_eq!(at("TEL 0612345678", "0612345678"), None);
    }

    #[test]
    fn hl7_pid_and_nk1_fields_name_phones_and_the_ssn() {
        let msg = "MSH|^~\\&|EPIC|UMC|LAB|UMC|20250824111207||ADT^A04|MSG47379781|P|2.5.1\r\
                   PID|1||90175438^^^MRN||Patterson^Ellen||19730112|M|||37282 Jeffrey Burg^^Cooktown^^83393||\
                   021 219 65 72^PRN^PH~^NET^Internet^e@x.com|212050523^WPN^PH||||454648730|146803509\r\
                   NK1|1|Wilson^Whitney|SPO|||40 60 29 55\r\
                   OBX|1|NM|2345-7^Glucose^LN||191|mg/dL|70-99|N|||F|||20250824111207";
        assert_eq!(at(msg, "021 219"), Some(Named::Phone));
        assert_eq!(at(msg, "212050523"), Some(Named::Phone));
        assert_eq!(at(msg, "146803509"), Some(Named::Ssn));
        assert_eq!(at(msg, "40 60 29 55"), Some(Named::Phone));
        // PID-18 (the account number), PID-3, a later component, other segments: nothing.
        assert_eq!(at(msg, "454648730"), None);
        assert_eq!(at(msg, "90175438"), None);
        assert_eq!(at(msg, "37282"), None);
        assert_eq!(at(msg, "20250824111207"), None);
    }

    #[test]
    fn fhir_system_names_the_value_of_its_object() {
        let j = r#"{"identifier": [
    {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "808907811"},
    {"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "853828312"}
  ],
  "telecom": [{"system": "phone", "value": "(022) 31660", "use": "home"},
    {"system": "email", "value": "x@y.z"}], "value": "0612345678"}"#;
        assert_eq!(at(j, "808907811"), Some(Named::Ssn));
        assert_eq!(at(j, "853828312"), None);
        assert_eq!(at(j, "022) 31660"), Some(Named::Phone));
        assert_eq!(at(j, "0612345678"), None);
    }
}
