//! Behaviour of the whole redactor: configuration compilation, actions, evasion handling.

use super::*;

fn cfg(json: &str) -> PiiConfig {
    PiiConfig::from_json(json).unwrap()
}

fn redactor(json: &str) -> Redactor {
    Redactor::compile(&cfg(json), Some(b"0123456789abcdef0123"), "profiles.p.pii").unwrap()
}

fn scan(r: &Redactor, t: &str) -> (String, PiiTally) {
    let mut tally = PiiTally::default();
    let out = r.scan(t, &mut tally).unwrap_or_else(|| t.to_owned());
    (out, tally)
}

#[test]
fn defaults_redact_high_confidence_entities_and_secrets() {
    let r = Redactor::compile(&PiiConfig::default(), None, "p").unwrap();
    assert!(r.is_active());
    let (out, tally) = scan(&r, "Email jane@corp.io or call 415-555-0132; key AKIAIOSFODNN7EXAMPLE.");
    assert_eq!(out, "Email [EMAIL] or call [PHONE]; key [AWS_ACCESS_KEY].");
    assert_eq!(tally.total(), 3);
    assert!(tally.iter().all(|(_, a, _)| a == "redact"));
}

#[test]
fn default_redactor_equals_compiled_defaults() {
    let r = Redactor::default();
    assert_eq!(r.action(Entity::Email), Action::Redact);
    assert_eq!(r.action(Entity::Person), Action::Off);
}

#[test]
fn clean_text_is_not_rewritten() {
    let r = Redactor::default();
    let mut tally = PiiTally::default();
    assert_eq!(r.scan("Nothing to see here, version 1.2.3.4 released 2024-08-06.", &mut tally), None);
    assert_eq!(tally, PiiTally::default());
}

#[test]
fn hash_gives_stable_keyed_pseudonyms_that_ignore_formatting() {
    let r = redactor(r#"{"entities": {"PHONE": "hash", "EMAIL": "hash"}}"#);
    let (a, _) = scan(&r, "call 415-555-0132");
    let (b, _) = scan(&r, "call (415) 555-0132");
    assert_eq!(a, b);
    assert!(a.starts_with("call [PHONE:") && a.len() == "call [PHONE:".len() + 13, "{a}");
    let (e1, _) = scan(&r, "JANE@corp.io");
    let (e2, _) = scan(&r, "jane@corp.io");
    assert_eq!(e1, e2);
    let other =
        Redactor::compile(&cfg(r#"{"entities": {"PHONE": "hash"}}"#), Some(b"another-key-0123456"), "p").unwrap();
    assert_ne!(scan(&other, "call 415-555-0132").0, a);
}

#[test]
fn hash_without_a_key_is_a_config_error_naming_the_field() {
    let e = Redactor::compile(&cfg(r#"{"entities": {"EMAIL": "hash"}}"#), None, "profiles.c.pii").unwrap_err();
    assert_eq!(e.path, "profiles.c.pii.entities.EMAIL");
    let e = Redactor::compile(
        &cfg(r#"{"custom": [{"name": "X", "pattern": "X-[0-9]+"}, {"name": "Y", "pattern": "Y-[0-9]+", "action": "hash"}]}"#),
        None,
        "profiles.c.pii",
    )
    .unwrap_err();
    assert_eq!(e.path, "profiles.c.pii.custom[1].action");
    let e = Redactor::compile(&cfg(r#"{"entities": {"EMAIL": "hash"}}"#), Some(b"short"), "p").unwrap_err();
    assert_eq!(e.path, "pseudonym_key");
}

#[test]
fn unknown_entities_are_config_errors_with_their_path() {
    let e = Redactor::compile(&cfg(r#"{"entities": {"EMAILS": "redact"}}"#), None, "profiles.c.pii").unwrap_err();
    assert_eq!(e.path, "profiles.c.pii.entities.EMAILS");
    assert!(e.message.contains("CREDIT_CARD"));
}

#[test]
fn custom_pattern_errors_name_the_exact_index() {
    let e = Redactor::compile(
        &cfg(r#"{"custom": [{"name": "A", "pattern": "A-\\d+"}, {"name": "B", "pattern": "B-\\d+"}, {"name": "C", "pattern": "(unclosed"}]}"#),
        None,
        "profiles.confidential.pii",
    )
    .unwrap_err();
    assert_eq!(e.path, "profiles.confidential.pii.custom[2].pattern");
    let e = Redactor::compile(&cfg(r#"{"custom": [{"name": "EMAIL", "pattern": "x+"}]}"#), None, "p").unwrap_err();
    assert_eq!(e.path, "p.custom[0].name");
    let e =
        Redactor::compile(&cfg(r#"{"dictionaries": [{"name": "D", "terms": ["ok", "  "]}]}"#), None, "p").unwrap_err();
    assert_eq!(e.path, "p.dictionaries[0].terms[1]");
}

#[test]
fn block_sets_the_entity_type_only() {
    let r = redactor(r#"{"entities": {"US_SSN": "block"}}"#);
    let mut tally = PiiTally::default();
    assert_eq!(r.scan("mail a@b.co, ssn 123-45-6789", &mut tally), None);
    assert_eq!(tally.blocked.as_deref(), Some("US_SSN"));
}

#[test]
fn secrets_group_sets_every_credential_and_entities_override_it() {
    let r = redactor(r#"{"entities": {"SECRETS": "block", "JWT": "flag"}}"#);
    assert_eq!(r.action(Entity::GithubToken), Action::Block);
    assert_eq!(r.action(Entity::Jwt), Action::Flag);
    assert_eq!(r.action(Entity::Email), Action::Redact);
}

#[test]
fn flag_counts_without_changing_text() {
    let r = redactor(r#"{"entities": {"EMAIL": "flag"}}"#);
    let mut tally = PiiTally::default();
    assert_eq!(r.scan("a jane@corp.io b", &mut tally), None);
    assert_eq!(tally.counts, vec![("EMAIL".to_owned(), "flag", 1)]);
}

#[test]
fn builtin_defaults_false_starts_from_nothing() {
    let r = redactor(r#"{"builtin_defaults": false, "entities": {"EMAIL": "redact"}}"#);
    assert_eq!(scan(&r, "jane@corp.io 415-555-0132").0, "[EMAIL] 415-555-0132");
    let off = redactor(r#"{"enabled": false, "custom": [{"name": "X", "pattern": "X-1+"}]}"#);
    assert!(!off.is_active());
}

#[test]
fn allow_listed_values_are_left_alone() {
    let r = redactor(r#"{"allow": ["Support@Example.com"]}"#);
    assert_eq!(scan(&r, "write support@example.com or jane@example.com").0, "write support@example.com or [EMAIL]");
}

#[test]
fn custom_patterns_and_dictionaries_use_their_names_and_actions() {
    let r = redactor(
        r#"{"custom": [{"name": "EMPLOYEE_ID", "pattern": "EMP-[0-9]{6}"}, {"name": "TICKET", "pattern": "[A-Z]{3}-[0-9]{4}", "action": "flag"}],
            "dictionaries": [{"name": "CODENAME", "terms": ["Blue Heron", "nightjar"]}]}"#,
    );
    let (out, tally) = scan(&r, "EMP-123456 on project blue heron (NIGHTJAR), not nightjars; ABC-1234");
    assert_eq!(out, "[EMPLOYEE_ID] on project [CODENAME] ([CODENAME]), not nightjars; ABC-1234");
    assert_eq!(tally.iter().find(|c| c.0 == "TICKET").map(|c| c.2), Some(1));
}

#[test]
fn zero_width_and_soft_hyphen_inside_an_email_are_redacted_with_it() {
    let r = Redactor::default();
    assert_eq!(scan(&r, "mail j\u{200b}ohn@ex\u{ad}ample.com now").0, "mail [EMAIL] now");
}

#[test]
fn fullwidth_digits_and_at_signs_are_detected() {
    let r = Redactor::default();
    assert_eq!(scan(&r, "card ４１１１ １１１１ １１１１ １１１１ ok").0, "card [CREDIT_CARD] ok");
    assert_eq!(scan(&r, "ｊａｎｅ＠ｃｏｒｐ．ｉｏ").0, "[EMAIL]");
    assert_eq!(scan(&r, "ssn ١٢٣-٤٥-٦٧٨٩").0, "ssn [US_SSN]");
}

#[test]
fn line_breaks_inside_a_card_number_do_not_hide_it() {
    let r = Redactor::default();
    assert_eq!(scan(&r, "4111 1111\n1111 1111").0, "[CREDIT_CARD]");
    assert_eq!(scan(&r, "4111-1111-\r\n1111-1111").0, "[CREDIT_CARD]");
}

#[test]
fn a_key_split_by_zero_width_characters_is_redacted_whole() {
    let r = Redactor::default();
    let key = format!("sk-or-v1-{}", "ab12".repeat(16));
    let split: String = key.chars().flat_map(|c| [c, '\u{200d}']).collect();
    assert_eq!(scan(&r, &format!("use {split}!")).0, "use [OPENROUTER_KEY]!");
    let bom = format!("\u{feff}{}\u{2060}{}", &key[..10], &key[10..]);
    assert_eq!(scan(&r, &bom).0, "\u{feff}[OPENROUTER_KEY]");
    assert_eq!(scan(&r, "x AKIAIOSFODNN7EXAMPLE\u{200b}\u{200b} y").0, "x [AWS_ACCESS_KEY] y");
}

#[test]
fn mailto_tel_and_angle_brackets_are_unwrapped() {
    let r = Redactor::default();
    assert_eq!(scan(&r, "<mailto:jane@corp.io>").0, "<mailto:[EMAIL]>");
    assert_eq!(scan(&r, "[call](tel:+14155550132)").0, "[call](tel:[PHONE])");
    assert_eq!(scan(&r, "Jane <jane@corp.io>").0, "Jane <[EMAIL]>");
}

#[test]
fn other_evasions_are_folded() {
    let r = Redactor::default();
    // Non-breaking hyphens, NBSP, bidi controls, tag characters.
    assert_eq!(scan(&r, "call 415\u{2011}555\u{2011}0132").0, "call [PHONE]");
    assert_eq!(scan(&r, "ssn 123\u{a0}45\u{a0}6789").0, "ssn [US_SSN]");
    assert_eq!(scan(&r, "jane\u{202e}@corp.io").0, "[EMAIL]");
    assert_eq!(scan(&r, "AKIA\u{e0041}IOSFODNN7EXAMPLE").0, "[AWS_ACCESS_KEY]");
    assert_eq!(scan(&r, "41\u{0}11 1111 11\u{7}11 1111").0, "[CREDIT_CARD]");
}

#[test]
fn redaction_is_idempotent_on_a_glued_international_number() {
    // fuzz F6: the national reading of the tail used to win and leave "+44 20 7946" behind.
    let r = Redactor::default();
    let (once, _) = scan(&r, "call +44 20 7946 09581-2345 now");
    assert_eq!(once, "call [PHONE] now");
    assert_eq!(scan(&r, &once).0, once);
}

#[test]
fn redaction_is_idempotent_when_a_custom_pattern_cuts_a_digit_cluster() {
    // fuzz F6 (fuzz/regressions/pii_scan/f6-second-scan-finds-more, config 1): `[0-9]{5}-[0-9]{4}`
    // took `64555-5555` out of `…503644 50364555-5555my`; the rest `004 503644 503` was glued to
    // more digits before and became a PHONE on a second scan.
    let r = redactor(r#"{"custom": [{"name": "ZIPPY", "pattern": "[0-9]{5}-[0-9]{4}"}]}"#);
    let t = "to\u{1}\0\0\0\0\0\0\u{0}04 004 50364\u{0}4 50364\0\0\u{0}555-5555my name is ";
    let (once, _) = scan(&r, t);
    assert_eq!(scan(&r, &once).0, once);
    // Same shape in plain text, and an e-mail that ends a card-shaped cluster.
    for t in ["call 004 503644 50364555-5555my", "+4111 1111 1111 1111x@ex.com ok"] {
        let (once, _) = scan(&r, t);
        assert_eq!(scan(&r, &once).0, once, "{t}");
    }
}

#[test]
fn a_placeholder_is_not_a_context_word_on_a_second_scan() {
    // `[US_SSN]` must not make the next bare nine digits an SSN on a rescan.
    let r = Redactor::default();
    let (once, _) = scan(&r, "my name is 219-09-9999  \u{e9}123452345");
    assert_eq!(once, "my name is [US_SSN]  \u{e9}123452345");
    assert_eq!(scan(&r, &once).0, once);
}

#[test]
fn a_rescan_counts_flagged_findings_once() {
    let r =
        redactor(r#"{"entities": {"EMAIL": "flag"}, "custom": [{"name": "ZIPPY", "pattern": "[0-9]{5}-[0-9]{4}"}]}"#);
    let (_, tally) = scan(&r, "a@b.io 503644 50364555-5555my");
    assert_eq!(tally.iter().find(|c| c.0 == "EMAIL").map(|c| c.2), Some(1));
}

#[test]
fn person_and_address_are_opt_in() {
    let r = redactor(r#"{"entities": {"PERSON": "redact", "ADDRESS": "redact"}}"#);
    assert_eq!(
        scan(&r, "Hi, my name is Maria Lopez and I live at 742 Evergreen Terrace, Springfield, IL 62704.").0,
        "Hi, my name is [PERSON] and I live at [ADDRESS]."
    );
    assert_eq!(scan(&Redactor::default(), "my name is Maria Lopez").0, "my name is Maria Lopez");
}

#[test]
fn multibyte_text_around_findings_is_kept_intact() {
    let r = Redactor::default();
    assert_eq!(scan(&r, "Grüße an jane@corp.io — danke ✓").0, "Grüße an [EMAIL] — danke ✓");
}

#[test]
fn a_thousand_term_dictionary_matches_whole_words_only() {
    let terms: Vec<String> = (0..1000).map(|i| format!("\"Codename{i}\"")).collect();
    let r = redactor(&format!(r#"{{"dictionaries": [{{"name": "CODE", "terms": [{}]}}]}}"#, terms.join(",")));
    assert_eq!(scan(&r, "see codename999, Codename12x and xCodename5").0, "see [CODE], Codename12x and xCodename5");
}

#[test]
fn tally_accumulates_across_strings() {
    let r = Redactor::default();
    let mut tally = PiiTally::default();
    let _ = r.scan("a@b.io c@d.io", &mut tally);
    let _ = r.scan("e@f.io", &mut tally);
    assert_eq!(tally.counts, vec![("EMAIL".to_owned(), "redact", 3)]);
}

#[test]
fn a_bearer_value_running_into_a_pem_header_does_not_hide_the_key() {
    let r = Redactor::default();
    let key = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCAb3dEf6hIj9kLm2n";
    let (out, _) = scan(&r, &format!("Bearer ......-----BEGIN PRIVATE KEY-----\n{key}\n-----END PRIVATE KEY-----"));
    assert!(!out.contains(key), "{out}");
}

#[test]
fn a_card_or_ssn_after_many_short_digit_groups_is_still_redacted() {
    let r = Redactor::default();
    let card = "4111 1111 1111 1111";
    assert!(!scan(&r, &format!("{} {card} ok", "1 ".repeat(21).trim())).0.contains(card));
    let ssn = "219-09-9999";
    assert!(!scan(&r, &format!("{} {ssn} ok", "1 ".repeat(22).trim())).0.contains(ssn));
}

#[test]
fn redaction_is_idempotent_when_a_placeholder_brings_a_context_word_into_range() {
    // Fuzz finding F8: `secret` is more than 96 bytes before the AWS-secret-shaped token, so the
    // token alone is no finding; hashing the Anthropic key in between shortens the text and brings
    // the word into range. The first scan must already give what a second scan would.
    let r = redactor(r#"{"entities": {"SECRETS": "hash"}}"#);
    let t = "aws_secret_access_kn ; sk-ant-api03-Zq7Xw2Lm9Kp4Rt6Yv3Nb8Hc5Zq7Xw2Lm9Kp4Rt6Yv3Nb8Hc5 ; nnnn \
             Stnnnney = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let (once, _) = scan(&r, t);
    let (twice, t2) = scan(&r, &once);
    assert_eq!(twice, once, "second scan changed it: {:?}", t2.counts);
    // Likewise a bare 9-digit number whose SSN context word a shorter placeholder brings into range.
    let r = redactor("{}");
    let t = format!("ssn on file {} then 123456789 here", "jane.doe.long.local.part@example-corporation.com");
    let (once, _) = scan(&r, &t);
    let (twice, _) = scan(&r, &once);
    assert_eq!(twice, once);
}

#[test]
fn redaction_is_idempotent_when_a_version_word_inside_a_finding_disappears() {
    // Fuzz finding F8, negative-context variant: `ver` at the end of an e-mail's domain made the
    // next dotted quad a version number; once the e-mail is a placeholder, a second scan took it
    // for an IP address. The first scan must already give what a second scan would.
    let r = redactor("{}");
    let t = "o 9mver  47.0.0.19m@example.comver  47.0.0.1,\u{1e}0.0.1,\u{1e} om 12.0.0.1, 44.";
    let (once, _) = scan(&r, t);
    let (twice, t2) = scan(&r, &once);
    assert_eq!(twice, once, "second scan changed it: {:?}", t2.counts);
}

#[test]
fn redaction_is_idempotent_when_a_placeholder_brings_a_pem_header_end_into_range() {
    // Fuzz finding F9: the header's closing dashes were more than 80 bytes after `-----BEGIN`
    // until the e-mail in between became `[EMAIL]`; a second scan then took the block.
    let r = redactor("{}");
    let t = "War@-----BEGIN PRIVATE KEY- ; jane.doe+fuzz@example-corp.com ; ----++++++++++++i,4EY-----+++++4333333";
    let (once, _) = scan(&r, t);
    let (twice, t2) = scan(&r, &once);
    assert_eq!(twice, once, "second scan changed it: {:?}", t2.counts);
}

fn redact_default(t: &str) -> String {
    scan(&redactor("{}"), t).0
}

#[test]
fn field_separators_are_not_glue_in_csv_tsv_tables_and_logs() {
    let cases = [
        ("jo@example.com,4111 1111 1111 1111,3510.50,806464757", "[EMAIL],[CREDIT_CARD],3510.50,806464757"),
        ("\"Ruiz\",207-96-8696,+1 (503) 805-2707,08:40:40", "\"Ruiz\",[US_SSN],[PHONE],08:40:40"),
        ("Ruiz\t207-96-8696\t4111111111111111\t10.1.2.3\t12", "Ruiz\t[US_SSN]\t[CREDIT_CARD]\t[IP_ADDRESS]\t12"),
        ("| Ruiz | 207-96-8696 | 415-555-0132 |", "| Ruiz | [US_SSN] | [PHONE] |"),
        ("ssn=207-96-8696;phone=415-555-0132;ip=10.1.2.3", "ssn=[US_SSN];phone=[PHONE];ip=[IP_ADDRESS]"),
        ("a;4111111111111111;b", "a;[CREDIT_CARD];b"),
        ("{\"phone\":\"+1-415-555-0132\",\"n\":2}", "{\"phone\":\"[PHONE]\",\"n\":2}"),
        ("+1.415.555.0132, +1-415-555-0132, +14155550132", "[PHONE], [PHONE], [PHONE]"),
    ];
    for (t, want) in cases {
        assert_eq!(redact_default(t), want, "{t}");
    }
    // A thousands separator still joins: no value inside 1,234,567,890.
    assert_eq!(redact_default("total 1,234,567,890 units"), "total 1,234,567,890 units");
}

#[test]
fn a_value_glued_to_a_hash_is_found() {
    assert_eq!(redact_default("Card #4111-1111-1111-1111"), "Card #[CREDIT_CARD]");
    assert_eq!(redact_default("SSN #207-96-8696"), "SSN #[US_SSN]");
    assert_eq!(redact_default("Phone #415-555-0132"), "Phone #[PHONE]");
    assert_eq!(redact_default("order #4155550132"), "order #4155550132");
}

#[test]
fn a_version_cue_on_one_line_says_nothing_about_the_next() {
    assert_eq!(
        redact_default("deployed build 16.2.6.4\n10.20.30.40 - GET /"),
        "deployed build 16.2.6.4\n[IP_ADDRESS] - GET /"
    );
}

#[test]
fn four_part_versions_after_a_version_cue_are_kept() {
    for t in ["app 17.4.3.46 crashed", "Node 18.6.1.33", "pip install openai==20.5.7.98", "upgraded to 18.6.8.3 today"]
    {
        assert_eq!(redact_default(t), t, "{t}");
    }
    assert_eq!(redact_default("the app server 10.1.2.3 is up"), "the app server [IP_ADDRESS] is up");
}

#[test]
fn a_version_cue_names_its_own_value_not_the_next_key_value_pair() {
    assert_eq!(
        redact_default("payment failed build=17.7.8.20 ip=172.75.165.50 user=x"),
        "payment failed build=17.7.8.20 ip=[IP_ADDRESS] user=x"
    );
    assert_eq!(redact_default("version: 17.7.8.20, host: 10.1.2.3"), "version: 17.7.8.20, host: [IP_ADDRESS]");
    for t in [
        "app_version=17.7.8.20 ok",
        "Version: Chrome 1.2.3.4",
        "at 12:30 build 16.2.6.4",
        "versions 1.2.3.4 and 1.2.3.5",
    ] {
        assert_eq!(redact_default(t), t, "{t}");
    }
}

#[test]
fn placeholders_and_variable_references_are_kept() {
    for t in [
        "export SLACK_TOKEN=xoxb-your-token-here",
        "OPENROUTER_API_KEY=sk-or-v1-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "Authorization: Bearer process.env.OPENAI_API_KEY",
        "git clone https://%GITHUB_TOKEN%@github.com/acme/repo.git",
    ] {
        assert_eq!(redact_default(t), t, "{t}");
    }
}

#[test]
fn loopback_and_unspecified_addresses_are_kept_unless_configured() {
    let t = "bind 0.0.0.0:8080, curl 127.0.0.1 or [::1], resolver 127.0.0.53, peer 10.1.2.3, 128.0.0.53";
    assert_eq!(
        redact_default(t),
        "bind 0.0.0.0:8080, curl 127.0.0.1 or [::1], resolver 127.0.0.53, peer [IP_ADDRESS], [IP_ADDRESS]"
    );
    let strict = redactor(r#"{"keep_local_addresses": false}"#);
    assert_eq!(
        scan(&strict, t).0,
        "bind [IP_ADDRESS]:8080, curl [IP_ADDRESS] or [::1], resolver [IP_ADDRESS], peer [IP_ADDRESS], [IP_ADDRESS]"
    );
}

#[test]
fn national_phone_numbers_after_cue_words_in_other_languages() {
    for (t, want) in [
        ("Tél. : 612345678", "Tél. : [PHONE]"),
        ("Téléphone : 06 12 34 56 78", "Téléphone : [PHONE]"),
        ("Telefon: 030 1234567", "Telefon: [PHONE]"),
        ("Handy 0171 1234567", "Handy [PHONE]"),
        ("Teléfono: 612 34 56 78", "Teléfono: [PHONE]"),
        ("appelle-moi au 0612345678", "appelle-moi au [PHONE]"),
        ("Mobil: +49 171 1234567", "Mobil: [PHONE]"),
    ] {
        assert_eq!(redact_default(t), want, "{t}");
    }
}

#[test]
fn a_cell_starting_with_three_digits_after_a_number_cell_is_its_own_value() {
    // `59,090` would be a thousands number; the cells around the comma say it is not.
    for (t, want) in [
        ("GB57 LKRT 9297 6600 3755 59,090-3080-9153\n", "GB57 LKRT 9297 6600 3755 59,[PHONE]\n"),
        ("127.0.0.1,978-1-86110-422-9,082/6577606\n", "127.0.0.1,978-1-86110-422-9,[PHONE]\n"),
        ("DE05 6676 0223 1598 2213 51,177.26.87.217,x", "DE05 6676 0223 1598 2213 51,[IP_ADDRESS],x"),
        ("9400 7156 0998 1201 8847 03,320 004 6247,y", "9400 7156 0998 1201 8847 03,[PHONE],y"),
    ] {
        assert_eq!(redact_default(t), want, "{t}");
    }
    for t in ["total 1,234.56 EUR", "0,250 kg", "12,345,678 rows"] {
        assert_eq!(redact_default(t), t, "{t}");
    }
}

#[test]
fn a_redacted_row_is_no_header_on_a_rescan() {
    // Row 1001 redacted reads `[US_SSN]` (a column word) and has no digits left: it must not
    // restart the table, or the version column below it loses its meaning on the second pass.
    let t = "\"id\";\"Social Security No.\";\"slack_token\";\"app_version\";\"e-mail\"\n\
             1000;\"440-68-3152\";\"xoxp-796351008700-2564969517428-QMLNLQohW4EBYiOAZSXVNUzy\";\"26.10.6.35\";\"a@example.com\"\n\
             1001;\"430-51-1777\";\"xoxb-814192245344-2334548344504-q4Opz70bamyYT8r8qLwmSaQp\";\"1.26.7\";\"b@example.com\"\n\
             1002;\"503-68-9584\";\"xoxp-371226534227-7286942067579-pzG6gDvMLcVzenZ3XJY8yFHF\";\"13.4.8.35\";\"c@example.com\"\n";
    let out = redact_default(t);
    assert!(out.contains("\"26.10.6.35\"") && out.contains("\"13.4.8.35\""), "{out}");
    assert!(!out.contains("503-68-9584") && !out.contains("c@example.com"), "{out}");
}

#[test]
fn a_number_under_an_identifier_header_is_that_identifier_not_a_phone() {
    let t = "tracking_number;isbn;created_at;Phone\n\
             099291859815;978-1-241-11576-0;1674975574632;0612345678\n\
             022573239376;978-0-19-219677-4;1695695915000;+34 612 34 56 78\n";
    let want = "tracking_number;isbn;created_at;Phone\n\
                099291859815;978-1-241-11576-0;1674975574632;[PHONE]\n\
                022573239376;978-0-19-219677-4;1695695915000;[PHONE]\n";
    assert_eq!(redact_default(t), want);
    // Only a phone reading is dropped there: an SSN or card under "order" stays a finding, and
    // a header that is no plain row of names (JSON) drops nothing.
    assert_eq!(redact_default("order,x\n219-09-9999,y\n"), "order,x\n[US_SSN],y\n");
    assert_eq!(redact_default("{\"order\": 1, \"x\": 2}\n0612345678,y\n"), "{\"order\": 1, \"x\": 2}\n[PHONE],y\n");
}
