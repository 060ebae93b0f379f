use super::*;
use crate::core::policy::Policy;

fn output_redactor(entities: &str) -> Redactor {
    let cfg = format!(
        r#"{{"default_profile":"p","profiles":{{"p":{{"models":[{{"allow":"*"}}],
            "output_pii":{{"entities":{entities}}}}}}}}}"#
    );
    let p = Policy::from_json(cfg.as_bytes()).unwrap();
    (*p.profiles.into_iter().next().unwrap().output.unwrap()).clone()
}

fn redact_all() -> Redactor {
    output_redactor("{}")
}

/// What a stream counted and held.
struct Streamed {
    tally: PiiTally,
    max_held: usize,
}

/// Pushes `parts` through one scanner, checking the hold bound after every push.
fn stream(r: &Redactor, parts: &[&str]) -> (String, Option<String>, Streamed) {
    let mut s = StreamScanner::new();
    let mut tally = PiiTally::default();
    let mut out = StageText::default();
    let mut blocked = None;
    for p in parts {
        let res = s.push(r, p, &[], &mut tally, &mut out);
        assert!(s.held() <= MAX_HOLD, "held {} > {MAX_HOLD}", s.held());
        if let Err(e) = res {
            blocked = Some(e);
            break;
        }
    }
    if blocked.is_none() {
        blocked = s.finish(r, &mut tally, &mut out).err();
    }
    let st = Streamed { tally, max_held: s.max_held };
    (out.text, blocked, st)
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Splits `t` at random char boundaries into pieces of 1..=max bytes.
fn random_split<'a>(t: &'a str, rng: &mut Rng, max: usize) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let mut j = (i + 1 + rng.below(max)).min(t.len());
        while !t.is_char_boundary(j) {
            j += 1;
        }
        parts.push(&t[i..j]);
        i = j;
    }
    parts
}

const OR_KEY: &str = "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";

#[test]
fn hash_is_refused_on_output_with_its_path() {
    for (body, path) in [
        (r#"{"entities":{"EMAIL":"hash"}}"#, "profiles.p.output_pii.entities.EMAIL"),
        (r#"{"entities":{"PHONE":"mask"}}"#, "profiles.p.output_pii.entities.PHONE"),
        (r#"{"custom":[{"name":"X","pattern":"x[0-9]+","action":"hash"}]}"#, "profiles.p.output_pii.custom[0].action"),
        (
            r#"{"dictionaries":[{"name":"D","terms":["a"],"action":"hash"}]}"#,
            "profiles.p.output_pii.dictionaries[0].action",
        ),
    ] {
        let cfg = format!(r#"{{"default_profile":"p","profiles":{{"p":{{"models":[],"output_pii":{body}}}}}}}"#);
        let e = Policy::from_json(cfg.as_bytes()).unwrap_err();
        assert_eq!(e.path, path, "{e:?}");
    }
    let cfg = r#"{"default_profile":"p","profiles":{"p":{"models":[],"output_pii":{"entites":{}}}}}"#;
    assert_eq!(Policy::from_json(cfg.as_bytes()).unwrap_err().path, "profiles.p.output_pii.entites");
}

#[test]
fn output_inspection_is_off_unless_configured() {
    let cfg =
        r#"{"default_profile":"p","profiles":{"p":{"models":[]},"q":{"models":[],"output_pii":{"enabled":false}}}}"#;
    let p = Policy::from_json(cfg.as_bytes()).unwrap();
    assert!(p.profiles.iter().all(|p| p.output.is_none()));
}

#[test]
fn a_secret_split_at_every_byte_position_is_redacted() {
    let r = redact_all();
    let text = format!("Here is the key: {OR_KEY} — keep it safe.");
    let mut whole = PiiTally::default();
    let want = render_whole(&r, &text, &mut whole).unwrap();
    assert_eq!(want, "Here is the key: [OPENROUTER_KEY] — keep it safe.");
    for i in 1..text.len() {
        if !text.is_char_boundary(i) {
            continue;
        }
        let (got, blocked, s) = stream(&r, &[&text[..i], &text[i..]]);
        assert_eq!(got, want, "split at {i}");
        assert_eq!(blocked, None);
        assert_eq!(s.tally, whole, "split at {i}");
        // Three pieces: the secret's middle alone.
        for j in (i + 1..text.len()).step_by(7) {
            if text.is_char_boundary(j) {
                let (got, _, _) = stream(&r, &[&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(got, want, "split at {i}, {j}");
            }
        }
    }
}

#[test]
fn a_blocked_secret_never_leaves_even_in_part() {
    let r = output_redactor(r#"{"SECRETS":"block"}"#);
    let text = format!("Sure. The key is {OR_KEY} and more text follows here.");
    let at = text.find("sk-or").unwrap();
    for i in 1..text.len() {
        let (got, blocked, _) = stream(&r, &[&text[..i], &text[i..]]);
        assert_eq!(blocked.as_deref(), Some("OPENROUTER_KEY"), "split at {i}");
        assert!(text[..at].starts_with(&got), "split at {i}: released {got:?}");
        // Byte by byte too.
        let bytes: Vec<&str> = (0..text.len()).map(|k| &text[k..k + 1]).collect();
        let (got, blocked, _) = stream(&r, &bytes);
        assert!(blocked.is_some() && text[..at].starts_with(&got));
    }
}

#[test]
fn phone_and_email_split_anywhere_are_caught_and_flag_passes() {
    let r = output_redactor(r#"{"EMAIL":"flag","PHONE":"redact"}"#);
    let text = "Call me at (415) 555-0132 or write to jane.doe@example.com today.";
    let mut whole = PiiTally::default();
    let want = render_whole(&r, text, &mut whole).unwrap();
    assert_eq!(want, "Call me at [PHONE] or write to jane.doe@example.com today.");
    for i in 1..text.len() {
        for j in i + 1..text.len() {
            let (got, _, s) = stream(&r, &[&text[..i], &text[i..j], &text[j..]]);
            assert_eq!(got, want, "split at {i}, {j}");
            assert_eq!(s.tally, whole);
        }
    }
    assert_eq!(whole.counts, vec![("PHONE".into(), "redact", 1), ("EMAIL".into(), "flag", 1)]);
}

#[test]
fn random_splits_release_what_a_whole_text_scan_produces() {
    let r = output_redactor(r#"{"PERSON":"redact","ADDRESS":"flag"}"#);
    let pieces = [
        "The weather is fine and the meeting moved to Tuesday. ",
        "Mail jane.doe@example.com or bob@corp.example.org, ",
        "phone +44 20 7946 0958 or (415) 555-0132. ",
        "Card 4111 1111 1111 1111 expires soon. ",
        "IBAN DE89 3704 0044 0532 0130 00 is on file. ",
        "UK account GB82 WEST 1234 5698 7654 32 too. ",
        "SSN 123-45-6789 was provided. ",
        "Server at 10.1.2.3 and fe80::1ff:fe23:4567:890a respond. ",
        "key AKIAIOSFODNN7EXAMPLE with aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here. ",
        "Authorization: Bearer abcdefghijklmnop.qrstuvwx~yz done. ",
        "token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok. ",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy\n-----END RSA PRIVATE KEY-----\n",
        "wrapped sk-or-v1-0f9e0f9e0f9e0f9e0f9e0f9e0f9e0f9\ne0f9e0f9e0f9e0f9e0f9e0f9e0f9e0f9e end. ",
        "My name is John Smith and I live at 221B Baker Street, London. ",
        "Ünïcödé text — ✓ fine, 日本語も大丈夫です。 ",
        "Version 1.2.3 of the tool, 42 items, 2024-05-01. ",
        "Placeholders [EMAIL_1] and [PHONE_2] stay as they are. ",
        "Desk 555-0132 ext. 12 or 555 0199 x3. ",
        "token wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY = set; ",
        "mail a@b.example.com. Then b@c.example.org, ",
        "\n\n",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..120 {
        let mut text = String::new();
        for _ in 0..(3 + rng.below(12)) {
            text.push_str(pieces[rng.below(pieces.len())]);
        }
        let mut whole = PiiTally::default();
        let want = render_whole(&r, &text, &mut whole);
        let max = 1 + rng.below(40);
        let parts = random_split(&text, &mut rng, max);
        let (got, blocked, s) = stream(&r, &parts);
        match want {
            Ok(w) => {
                assert_eq!(got, w, "round {round}: {text:?}");
                assert_eq!(blocked, None);
                let mut a = s.tally.counts.clone();
                let mut b = whole.counts.clone();
                a.sort();
                b.sort();
                assert_eq!(a, b, "round {round}");
            }
            Err(e) => assert_eq!(blocked, Some(e)),
        }
    }
}

#[test]
fn prose_is_held_back_by_a_word_and_the_margin_only() {
    let r = redact_all();
    let text = "The quick brown fox jumps over the lazy dog while nobody watches the garden. ".repeat(20);
    let bytes: Vec<&str> = (0..text.len()).map(|k| &text[k..k + 1]).collect();
    let (got, _, s) = stream(&r, &bytes);
    assert_eq!(got, text);
    let longest_word = text.split(' ').map(str::len).max().unwrap();
    assert!(s.max_held <= MARGIN + longest_word + 1, "held {}", s.max_held);
}

#[test]
fn nothing_beyond_the_bound_is_held() {
    let r = redact_all();
    let bound = StreamScanner::bound(&r.reach());
    assert_eq!(bound, WRAP_SPAN);
    // Text with digits and wrappable prefixes everywhere, but whitespace every few bytes.
    let text = "ticket 4411 sk-or-v1-12 and 555 0132 AIza 7 ".repeat(100);
    let bytes: Vec<&str> = (0..text.len()).map(|k| &text[k..k + 1]).collect();
    let (got, _, s) = stream(&r, &bytes);
    let mut whole = PiiTally::default();
    assert_eq!(got, render_whole(&r, &text, &mut whole).unwrap());
    let longest_run = text.split(' ').map(str::len).max().unwrap();
    assert!(s.max_held <= bound + longest_run + 1, "held {} > {}", s.max_held, bound + longest_run + 1);
    // A single token never ends: released at MAX_HOLD, never more held.
    let token = "a".repeat(3 * MAX_HOLD);
    let parts = random_split(&token, &mut Rng(7), 64);
    let (got, _, s) = stream(&r, &parts);
    assert_eq!(got, token);
    assert!(s.max_held <= MAX_HOLD + 64);
}

#[test]
fn a_pem_block_longer_than_the_hold_is_swallowed_to_its_end() {
    let r = redact_all();
    let body: String =
        (0..120).map(|i| format!("MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn{i:04}ygWyF8PbnGyABCDEFGH\n")).collect();
    let text = format!("key:\n-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\nthat was it.");
    assert!(body.len() > MAX_HOLD);
    let parts = random_split(&text, &mut Rng(11), 30);
    let (got, blocked, _) = stream(&r, &parts);
    assert_eq!(blocked, None);
    assert_eq!(got, "key:\n[PRIVATE_KEY]\nthat was it.");
}

#[test]
fn restored_placeholders_and_plain_text_pass_untouched() {
    let r = redact_all();
    let text = "I wrote to [EMAIL_1] and called [PHONE_2]; see [US_SSN] and [EMAIL 1].";
    let parts = random_split(text, &mut Rng(3), 5);
    let (got, _, s) = stream(&r, &parts);
    assert_eq!(got, text);
    assert_eq!(s.tally.total(), 0);
}

#[test]
fn a_key_wrapped_by_a_line_break_is_caught_split_anywhere() {
    let r = redact_all();
    let hex = "0f9e".repeat(16);
    let text = format!("wrapped sk-or-v1-{}\n{} end of the answer. More prose follows.", &hex[..31], &hex[31..]);
    let mut whole = PiiTally::default();
    let want = render_whole(&r, &text, &mut whole).unwrap();
    assert_eq!(want, "wrapped [OPENROUTER_KEY] end of the answer. More prose follows.");
    for i in 1..text.len() {
        let (got, _, _) = stream(&r, &[&text[..i], &text[i..]]);
        assert_eq!(got, want, "split at {i}");
    }
}

/// Small paced deltas of `text` starting at `offset` bytes, then `size` bytes each.
fn paced(text: &str, offset: usize, size: usize) -> Vec<&str> {
    let mut parts = vec![&text[..offset]];
    let mut i = offset;
    while i < text.len() {
        let j = (i + size).min(text.len());
        parts.push(&text[i..j]);
        i = j;
    }
    parts
}

#[test]
fn a_key_after_a_run_longer_than_the_hold_is_never_released_in_part() {
    let keys = [("GITHUB_TOKEN", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"), ("OPENROUTER_KEY", OR_KEY)];
    let block = output_redactor(r#"{"SECRETS":"block"}"#);
    let redact = output_redactor(r#"{"SECRETS":"redact"}"#);
    for (entity, key) in keys {
        for run in [4025, MAX_HOLD + 3] {
            let text = format!("{},{key} tail text here", "A".repeat(run));
            let at = run + 1;
            // Deltas of 7 bytes from every offset: a delta ends at every byte of the key.
            for parts in (0..7).map(|o| paced(&text, o, 7)) {
                let parts = &parts;
                let (got, blocked, _) = stream(&block, parts);
                assert_eq!(blocked.as_deref(), Some(entity), "run {run}");
                assert!(text[..at].starts_with(&got), "run {run}: released {} bytes", got.len());
                for k in 4..=key.len() {
                    assert!(!got.contains(&key[..k]), "run {run}: {k} bytes of the key released");
                }
                let (got, blocked, _) = stream(&redact, parts);
                assert_eq!(blocked, None);
                assert_eq!(got, format!("{},[{entity}] tail text here", "A".repeat(run)), "run {run}");
            }
        }
    }
}

#[test]
fn a_forced_release_keeps_a_finding_across_its_cut_whole() {
    let r = redact_all();
    // An e-mail and a key across the forced cut (FORCED_KEEP before the end of the held text).
    for pad in [MAX_HOLD - FORCED_KEEP - 20, MAX_HOLD - FORCED_KEEP - 40, MAX_HOLD - FORCED_KEEP + 5] {
        let text = format!("{},leak@example.net,{OR_KEY},{} end", "B".repeat(pad), "C".repeat(2000));
        let want = render_whole(&r, &text, &mut PiiTally::default()).unwrap();
        assert!(want.contains("[EMAIL]") && want.contains("[OPENROUTER_KEY]"), "{want}");
        for size in [1, 5, 64] {
            let (got, _, _) = stream(&r, &paced(&text, 0, size));
            assert_eq!(got, want, "pad {pad}, size {size}");
        }
    }
}

#[test]
fn long_runs_without_a_cut_are_not_rescanned_on_every_delta() {
    // 64 KiB without a cut (one token; a PEM header whose block never ends), then a key, in 1-byte
    // deltas: the scans of the held run grow geometrically (before: one scan of up to 4 KiB per
    // byte). The text released is still the whole-text scan's, and a key after the run is blocked.
    let r = output_redactor(r#"{"SECRETS":"block"}"#);
    let key = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
    for head in ["", "-----BEGIN PRIVATE KEY----- "] {
        let text = format!("{head}{} {key} end", "a".repeat(64 << 10));
        let parts: Vec<&str> = (0..text.len()).map(|i| &text[i..i + 1]).collect();
        let mut s = StreamScanner::new();
        let mut tally = PiiTally::default();
        let mut out = StageText::default();
        let mut blocked = None;
        for p in &parts {
            if let Err(e) = s.push(&r, p, &[], &mut tally, &mut out) {
                blocked = Some(e);
                break;
            }
            assert!(s.held() <= MAX_HOLD);
        }
        let blocked = blocked.or_else(|| s.finish(&r, &mut tally, &mut out).err());
        assert!(blocked.is_some(), "{head:?}");
        assert!(!out.text.contains("ghp_"), "{head:?}");
        // Each cycle of 3 KiB (held from 1 KiB to 4 KiB) takes about 1 KiB of per-byte scans and a
        // dozen geometric ones; before, 64 Ki scans.
        assert!(s.scans < text.len() / 16, "{head:?}: {} scans for {} bytes", s.scans, text.len());
    }
    // The same in prose: every delta is still scanned (nothing is held long), the output is unchanged.
    let text = "word ".repeat(2000);
    let parts: Vec<&str> = (0..text.len()).map(|i| &text[i..i + 1]).collect();
    let (got, blocked, st) = stream(&r, &parts);
    assert_eq!((got.as_str(), blocked), (text.as_str(), None));
    assert!(st.max_held < 16, "{}", st.max_held);
}

#[test]
fn a_credential_masked_on_the_request_cannot_be_blocked_or_redacted_on_output() {
    let cfg = |pii: &str, out: &str| {
        format!(
            r#"{{"default_profile":"p","profiles":{{"p":{{"models":[{{"allow":"*"}}],
            "pii":{{"entities":{pii}}},"output_pii":{{"builtin_defaults":false,"entities":{out}}}}}}}}}"#
        )
    };
    for (pii, out, path) in [
        (r#"{"SECRETS":"mask"}"#, r#"{"SECRETS":"block"}"#, "profiles.p.output_pii.entities.OPENROUTER_KEY"),
        (r#"{"OPENAI_KEY":"mask"}"#, r#"{"SECRETS":"redact"}"#, "profiles.p.output_pii.entities.OPENAI_KEY"),
    ] {
        let e = Policy::from_json(cfg(pii, out).as_bytes()).unwrap_err();
        assert_eq!(e.path, path, "{e}");
        assert!(e.message.contains("restore"), "{e}");
    }
    // A user's own e-mail may come back masked while other e-mails are blocked; a flagged key is only counted;
    // a secret redacted (not masked) on the request is never restored.
    for (pii, out) in [
        (r#"{"EMAIL":"mask"}"#, r#"{"EMAIL":"block"}"#),
        (r#"{"SECRETS":"mask"}"#, r#"{"SECRETS":"flag"}"#),
        (r#"{"SECRETS":"redact"}"#, r#"{"SECRETS":"block"}"#),
    ] {
        assert!(Policy::from_json(cfg(pii, out).as_bytes()).is_ok(), "{pii} {out}");
    }
}
