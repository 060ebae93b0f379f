//! Checksums and number rules that turn digit-shaped candidates into findings: Luhn and IIN
//! ranges for payment cards, mod-97 for IBANs, area/group/serial rules for SSNs.

/// Luhn checksum over ASCII digits (non-digits are ignored).
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut double = false;
    for &c in digits.iter().rev() {
        if !c.is_ascii_digit() {
            continue;
        }
        let mut d = u32::from(c - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
    }
    sum.is_multiple_of(10)
}

fn prefix_num(digits: &[u8], n: usize) -> u32 {
    digits.iter().take(n).fold(0u32, |acc, &c| acc * 10 + u32::from(c.wrapping_sub(b'0')))
}

/// Whether a card number (ASCII digits only) starts with a known issuer prefix that allows its length.
pub(crate) fn card_iin_ok(digits: &[u8]) -> bool {
    let len = digits.len();
    let p1 = prefix_num(digits, 1);
    let p2 = prefix_num(digits, 2);
    let p3 = prefix_num(digits, 3);
    let p4 = prefix_num(digits, 4);
    let p6 = prefix_num(digits, 6);
    let visa = p1 == 4 && matches!(len, 13 | 16 | 19);
    let mastercard = ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16;
    let amex = (p2 == 34 || p2 == 37) && len == 15;
    let discover = (p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) || (622126..=622925).contains(&p6))
        && (16..=19).contains(&len);
    // JCB issues from 3528–3589; the rest of its `35` block is read as JCB too (a Luhn-valid
    // 16–19-digit number there is far likelier a card than anything else: fail closed).
    let jcb = p2 == 35 && (16..=19).contains(&len);
    let diners =
        ((300..=305).contains(&p3) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&len);
    let unionpay = p2 == 62 && (16..=19).contains(&len);
    let maestro = (matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761..=6763)) && (13..=19).contains(&len)
        || maestro12(digits, false);
    let mir = (2200..=2204).contains(&p4) && (16..=19).contains(&len);
    // Brazil's domestic schemes outside the blocks above: Elo (504175, 506699–506778, 509xxx,
    // 636297, 636368) and Hipercard (606282, 637095, 637568, 637599, 637609, 637612).
    let elo = (matches!(p6, 504175 | 636297 | 636368) || (506699..=506778).contains(&p6) || p3 == 509) && len == 16;
    let hipercard = matches!(p6, 606282 | 637095 | 637568 | 637599 | 637609 | 637612) && (len == 16 || len == 19);
    visa || mastercard || amex || discover || jcb || diners || unionpay || maestro || mir || elo || hipercard
}

/// A 12-digit Maestro number: no other major scheme issues 12 digits. Maestro's whole block (50,
/// 56–69) would take one list of three 4-digit amounts in ~70 as a card, so written with spaces
/// only the prefixes Maestro is known to issue 12-digit cards under count here; `whole_block`
/// (dashes between the groups, `6390-9696-4395`: no way to write a list of amounts) takes all
/// of 50 and 56–69. The rest needs a card word.
pub(crate) fn maestro12(digits: &[u8], whole_block: bool) -> bool {
    digits.len() == 12
        && (matches!(prefix_num(digits, 4), 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761..=6763)
            || whole_block && matches!(prefix_num(digits, 2), 50 | 56..=69))
}

/// US SSN rules: area not 000, 666 or 900–999; group not 00; serial not 0000.
pub(crate) fn ssn_ok(area: u32, group: u32, serial: u32) -> bool {
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// ISO 13616 mod-97 over an IBAN given as upper-case ASCII alphanumerics (country first).
pub(crate) fn iban_mod97(iban: &[u8]) -> bool {
    if iban.len() < 5 {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem = 0u32;
    for &c in tail.iter().chain(head.iter()) {
        rem = match c {
            b'0'..=b'9' => (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (rem * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        };
    }
    rem == 1
}

/// IBAN length for a country code (ISO 13616 registry plus common national-IBAN countries).
#[rustfmt::skip]
pub(crate) fn iban_length(cc: [u8; 2]) -> Option<usize> {
    let l = match &cc {
        b"AD" => 24, b"AE" => 23, b"AL" => 28, b"AO" => 25, b"AT" => 20, b"AZ" => 28, b"BA" => 20,
        b"BE" => 16, b"BF" => 28, b"BG" => 22, b"BH" => 22, b"BI" => 27, b"BJ" => 28, b"BR" => 29,
        b"BY" => 28, b"CF" => 27, b"CG" => 27, b"CH" => 21, b"CI" => 28, b"CM" => 27, b"CR" => 22,
        b"CV" => 25, b"CY" => 28, b"CZ" => 24, b"DE" => 22, b"DJ" => 27, b"DK" => 18, b"DO" => 28,
        b"DZ" => 26, b"EE" => 20, b"EG" => 29, b"ES" => 24, b"FI" => 18, b"FK" => 18, b"FO" => 18,
        b"FR" => 27, b"GA" => 27, b"GB" => 22, b"GE" => 22, b"GI" => 23, b"GL" => 18, b"GQ" => 27,
        b"GR" => 27, b"GT" => 28, b"GW" => 25, b"HN" => 28, b"HR" => 21, b"HU" => 28, b"IE" => 22,
        b"IL" => 23, b"IQ" => 23, b"IR" => 26, b"IS" => 26, b"IT" => 27, b"JO" => 30, b"KM" => 27,
        b"KW" => 30, b"KZ" => 20, b"LB" => 28, b"LC" => 32, b"LI" => 21, b"LT" => 20, b"LU" => 20,
        b"LV" => 21, b"LY" => 25, b"MA" => 28, b"MC" => 27, b"MD" => 24, b"ME" => 22, b"MG" => 27,
        b"MK" => 19, b"ML" => 28, b"MN" => 20, b"MR" => 27, b"MT" => 31, b"MU" => 30, b"MZ" => 25,
        b"NE" => 28, b"NI" => 28, b"NL" => 18, b"NO" => 15, b"OM" => 23, b"PK" => 24, b"PL" => 28,
        b"PS" => 29, b"PT" => 25, b"QA" => 29, b"RO" => 24, b"RS" => 22, b"RU" => 33, b"SA" => 24,
        b"SC" => 31, b"SD" => 18, b"SE" => 24, b"SI" => 19, b"SK" => 24, b"SM" => 27, b"SN" => 28,
        b"SO" => 23, b"ST" => 25, b"SV" => 28, b"TD" => 27, b"TG" => 28, b"TL" => 23, b"TN" => 24,
        b"TR" => 26, b"UA" => 29, b"VA" => 22, b"VG" => 24, b"XK" => 20, b"YE" => 30,
        _ => return None,
    };
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_rejects_a_changed_digit() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"378282246310005"));
        assert!(!luhn(b"4111111111111112"));
    }

    #[test]
    fn iin_rules_know_the_major_schemes() {
        assert!(card_iin_ok(b"4111111111111111"));
        assert!(card_iin_ok(b"5555555555554444"));
        assert!(card_iin_ok(b"2223003122003222"));
        assert!(card_iin_ok(b"378282246310005"));
        assert!(card_iin_ok(b"6011111111111117"));
        assert!(card_iin_ok(b"3530111333300000"));
        assert!(card_iin_ok(b"30569309025904"));
        assert!(!card_iin_ok(b"1234567812345670"));
        assert!(!card_iin_ok(b"41111111111111")); // visa with 14 digits
                                                  // Elo and Hipercard (Brazil): not under any of the international schemes' prefixes.
        for d in [
            &b"5066991111111118"[..],
            b"5041750000000004",
            b"5090000000000000",
            b"6363680000000000",
            b"6062820000000000",
        ] {
            assert!(card_iin_ok(d), "{}", String::from_utf8_lossy(d));
        }
        assert!(!card_iin_ok(b"5066981111111111"));
        assert!(!card_iin_ok(b"6062830000000000"));
    }

    #[test]
    fn ssn_rules_reject_reserved_areas_groups_and_serials() {
        assert!(ssn_ok(123, 45, 6789));
        assert!(!ssn_ok(0, 45, 6789));
        assert!(!ssn_ok(666, 45, 6789));
        assert!(!ssn_ok(900, 45, 6789));
        assert!(!ssn_ok(123, 0, 6789));
        assert!(!ssn_ok(123, 45, 0));
    }

    #[test]
    fn mod97_accepts_registry_examples() {
        assert!(iban_mod97(b"DE89370400440532013000"));
        assert!(iban_mod97(b"GB82WEST12345698765432"));
        assert!(iban_mod97(b"NO9386011117947"));
        assert!(!iban_mod97(b"DE89370400440532013001"));
        assert_eq!(iban_length(*b"DE"), Some(22));
        assert_eq!(iban_length(*b"US"), None);
    }
}
