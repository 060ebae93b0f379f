//! Labeled test-data generator for the PII engine (fixed seed, no dependencies).
//!
//! Shared by `src/core/pii/accuracy_tests.rs` (a `cargo test` floor), `examples/pii_accuracy.rs`
//! (the full report) and `examples/pii_bench.rs` (throughput corpora). Each case is one string
//! with planted entities (labels = byte spans and entity names) or a decoy sentence that must
//! produce no finding.
#![allow(clippy::indexing_slicing, reason = "offline generator: every index comes from Rng::below(len)")]
#![allow(dead_code, reason = "each includer uses a different subset")]

/// SplitMix64: small, fast, deterministic.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    pub(crate) fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
    pub(crate) fn digits_between(&mut self, lo: u64, hi: u64) -> String {
        let n = self.range(lo, hi) as usize;
        self.digits(n)
    }
    pub(crate) fn set_between(&mut self, set: &[u8], lo: u64, hi: u64) -> String {
        let n = self.range(lo, hi) as usize;
        self.chars_from(set, n)
    }
    pub(crate) fn chars_from(&mut self, set: &[u8], n: usize) -> String {
        (0..n).map(|_| char::from(set[self.below(set.len())])).collect()
    }
}

pub(crate) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";
pub(crate) const UPPER_DIGIT: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub(crate) const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub(crate) const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Entities the generator plants (PERSON and ADDRESS are opt-in in the engine).
pub(crate) const ENTITIES: [&str; 20] = [
    "EMAIL",
    "PHONE",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN",
    "IP_ADDRESS",
    "OPENROUTER_KEY",
    "OPENAI_KEY",
    "ANTHROPIC_KEY",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "GITHUB_TOKEN",
    "SLACK_TOKEN",
    "GOOGLE_API_KEY",
    "STRIPE_KEY",
    "JWT",
    "PRIVATE_KEY",
    "BEARER_TOKEN",
    "PERSON",
    "ADDRESS",
];

#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub start: usize,
    pub end: usize,
    pub entity: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub text: String,
    pub labels: Vec<Label>,
    /// The decoy family for decoy cases ("" for entity cases).
    pub decoy: &'static str,
    /// Whether an evasion transform was applied to the planted value.
    pub evasive: bool,
}

const FIRST: [&str; 24] = [
    "John", "Maria", "Wei", "Aisha", "Liam", "Sofia", "Kenji", "Olga", "Carlos", "Priya", "Noah", "Fatima", "Lucas",
    "Chloe", "Mateo", "Hana", "Omar", "Elena", "Jack", "Ines", "Arjun", "Zoe", "Ravi", "Anna",
];
const LAST: [&str; 24] = [
    "Smith", "Garcia", "Zhang", "Khan", "Murphy", "Rossi", "Tanaka", "Ivanova", "Silva", "Patel", "Brown", "Haddad",
    "Muller", "Martin", "Lopez", "Kim", "Nasser", "Popescu", "Wilson", "Costa", "Sharma", "Dubois", "Okafor", "Novak",
];
const DOMAINS: [&str; 12] = [
    "example",
    "acme-corp",
    "mail",
    "contoso",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "piedpiper",
    "wayne",
    "stark",
    "vandelay",
];
const TLDS: [&str; 14] =
    ["com", "org", "net", "io", "co.uk", "de", "fr", "ai", "dev", "app", "edu", "com.au", "info", "tech"];

/// Neutral sentence frames; `{}` is the value.
const FRAMES: [&str; 16] = [
    "Please use {} for this.",
    "{}",
    "Here it is: {}\nThanks!",
    "Can you check {} and get back to me?",
    "The value is {}.",
    "- item: {}\n- status: pending",
    "{\"note\": \"see {}\"}",
    "I copied {} from the old ticket, is that right?",
    "Summary of the call ({}) attached.",
    "FYI {} -- let me know",
    "Reminder: {}, then the rest of the steps follow as usual.",
    "\t{}\t",
    "Row 7 | {} | ok",
    "Record updated: {}; previous value removed.",
    "Could you rewrite this paragraph? It mentions {} in passing.",
    "'{}'",
];

fn fill(frame: &str, value: &str) -> (String, usize) {
    let at = frame.find("{}").unwrap_or(0);
    let mut s = String::with_capacity(frame.len() + value.len());
    s.push_str(&frame[..at]);
    s.push_str(value);
    s.push_str(&frame[at + 2..]);
    (s, at)
}

fn email(r: &mut Rng) -> String {
    let f = r.pick(&FIRST).to_lowercase();
    let l = r.pick(&LAST).to_lowercase();
    let local = match r.below(6) {
        0 => format!("{f}.{l}"),
        1 => format!("{f}{}", r.digits(2)),
        2 => format!("{f}.{l}+{}", r.pick(&["billing", "news", "git", "x1"])),
        3 => format!("{}{l}", &f[..1]),
        4 => format!("{f}_{l}{}", r.digits(3)),
        _ => f.clone(),
    };
    let sub = if r.chance(0.25) { format!("{}.", r.pick(&["mail", "eu", "corp", "us-west"])) } else { String::new() };
    format!("{local}@{sub}{}.{}", r.pick(&DOMAINS), r.pick(&TLDS))
}

fn nxx(r: &mut Rng) -> String {
    format!("{}{}", r.range(2, 9), r.digits(2))
}

fn phone(r: &mut Rng) -> (String, &'static str) {
    let (a, e, l) = (nxx(r), nxx(r), r.digits(4));
    let v = match r.below(30) {
        22 => format!("+44 (0) 20 {} {}", r.digits(4), r.digits(4)),
        23 => format!("{a} {e}{l}"),
        24 => format!("+1.{a}.{e}.{l}"),
        25 => format!("+1 {a}-{e}-{l}"),
        26 => format!("+49 (0)30 {}", r.digits(6)),
        27 => format!("{a}-{e}-{l} ext. {}", r.range(1, 999)),
        28 => format!("(+1) {a} {e} {l}"),
        29 => format!("+1 ({a}){e}-{l}"),
        0 => format!("({a}) {e}-{l}"),
        1 => format!("{a}-{e}-{l}"),
        2 => format!("{a}.{e}.{l}"),
        3 => format!("{a} {e} {l}"),
        4 => format!("+1 {a} {e} {l}"),
        5 => format!("+1 ({a}) {e}-{l}"),
        6 => format!("+1-{a}-{e}-{l}"),
        7 => format!("1-{a}-{e}-{l}"),
        8 => format!("+1{a}{e}{l}"),
        9 => format!("+44 20 {} {}", r.digits(4), r.digits(4)),
        10 => format!("+44 7{} {}", r.digits(3), r.digits(6)),
        11 => format!("+49 30 {}", r.digits_between(6, 8)),
        12 => format!("+49 1{} {}", r.digits(2), r.digits(8)),
        13 => format!("+33 {} {} {} {} {}", r.range(1, 9), r.digits(2), r.digits(2), r.digits(2), r.digits(2)),
        14 => format!("+91 {}{} {}", r.range(6, 9), r.digits(4), r.digits(5)),
        15 => format!("+81 3-{}-{}", r.digits(4), r.digits(4)),
        16 => format!("+61 4{} {} {}", r.digits(2), r.digits(3), r.digits(3)),
        17 => format!("+55 11 9{}-{}", r.digits(4), r.digits(4)),
        18 => format!("020 {} {}", r.digits(4), r.digits(4)),
        19 => format!("07{} {}", r.digits(3), r.digits(6)),
        20 => format!("0{} {} {} {} {}", r.range(1, 9), r.digits(2), r.digits(2), r.digits(2), r.digits(2)),
        _ => return (format!("{a}{e}{l}"), "bare"),
    };
    (v, "")
}

fn ssn_parts(r: &mut Rng) -> (String, String, String) {
    let mut area = r.range(1, 899);
    if area == 666 {
        area = 665;
    }
    (format!("{area:03}"), format!("{:02}", r.range(1, 99)), format!("{:04}", r.range(1, 9999)))
}

pub(crate) fn luhn_digit(body: &str) -> char {
    let mut sum = 0u32;
    for (i, c) in body.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// A Luhn-valid card number with a real issuer prefix.
pub(crate) fn card_number(r: &mut Rng) -> String {
    let (prefix, len) = match r.below(7) {
        0 => ("4".to_string(), 16),
        1 => (format!("5{}", r.range(1, 5)), 16),
        2 => (format!("2{}", r.range(221, 720)), 16),
        3 => (r.pick(&["34", "37"]).to_string(), 15),
        4 => ("6011".to_string(), 16),
        5 => (format!("35{}", r.range(28, 89)), 16),
        _ => ("36".to_string(), 14),
    };
    let body = format!("{prefix}{}", r.digits(len - 1 - prefix.len()));
    let check = luhn_digit(&body);
    format!("{body}{check}")
}

fn group(n: &str, sizes: &[usize], sep: &str) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    for &s in sizes {
        if i >= n.len() {
            break;
        }
        let e = (i + s).min(n.len());
        out.push(&n[i..e]);
        i = e;
    }
    if i < n.len() {
        out.push(&n[i..]);
    }
    out.join(sep)
}

fn format_card(r: &mut Rng, n: &str) -> String {
    let sep = *r.pick(&[" ", "-", "", " ", "-"]);
    if n.len() == 15 && !sep.is_empty() {
        return group(n, &[4, 6, 5], sep);
    }
    if sep.is_empty() {
        n.to_string()
    } else {
        group(n, &[4, 4, 4, 4, 4], sep)
    }
}

fn mod97(s: &str) -> u32 {
    let mut rem = 0u32;
    for c in s.bytes() {
        rem = if c.is_ascii_digit() {
            (rem * 10 + u32::from(c - b'0')) % 97
        } else {
            (rem * 100 + u32::from(c.to_ascii_uppercase() - b'A') + 10) % 97
        };
    }
    rem
}

/// A valid IBAN (compact form) for one of several countries.
pub(crate) fn iban(r: &mut Rng) -> String {
    let (cc, bban) = match r.below(12) {
        0 => ("DE", r.digits(18)),
        1 => ("GB", format!("{}{}", r.chars_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4), r.digits(14))),
        2 => ("FR", r.digits(23)),
        3 => ("NL", format!("{}{}", r.chars_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4), r.digits(10))),
        4 => ("ES", r.digits(20)),
        5 => ("IT", format!("{}{}", r.chars_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1), r.digits(22))),
        6 => ("CH", r.digits(17)),
        7 => ("BE", r.digits(12)),
        8 => ("PL", r.digits(24)),
        9 => ("NO", r.digits(11)),
        10 => ("SE", r.digits(20)),
        _ => ("AT", r.digits(16)),
    };
    let check = 98 - mod97(&format!("{bban}{cc}00"));
    format!("{cc}{check:02}{bban}")
}

fn ipv4(r: &mut Rng) -> String {
    // 127.0.0.0/8 is loopback: it identifies nobody and is kept by default (`keep_local_addresses`).
    let first = match r.range(1, 254) {
        127 => 128,
        a => a,
    };
    format!("{first}.{}.{}.{}", r.range(0, 255), r.range(0, 255), r.range(1, 254))
}

fn ipv6(r: &mut Rng) -> String {
    let g: Vec<String> = (0..8).map(|_| format!("{:x}", r.range(0, 0xffff))).collect();
    match r.below(4) {
        0 => g.join(":"),
        1 => format!("2001:db8:{}::{}", g[2], g[7]),
        2 => format!("fe80::{}:{}:{}:{}", g[4], g[5], g[6], g[7]),
        _ => format!("{}:{}:{}::{}:{}", g[0], g[1], g[2], g[6], g[7]),
    }
}

fn b64url(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(B64URL[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn jwt(r: &mut Rng) -> String {
    let alg = r.pick(&["HS256", "RS256", "ES256", "none"]);
    let header = if r.chance(0.5) {
        format!("{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}")
    } else {
        format!("{{\"typ\":\"JWT\",\"alg\":\"{alg}\"}}")
    };
    let payload = format!("{{\"sub\":\"{}\",\"iat\":{}}}", r.digits(8), r.range(1_500_000_000, 1_800_000_000));
    let sig = if *alg == "none" { String::new() } else { r.chars_from(B64URL, 43) };
    format!("{}.{}.{}", b64url(header.as_bytes()), b64url(payload.as_bytes()), sig)
}

fn pem(r: &mut Rng) -> String {
    let kind = r.pick(&["RSA ", "EC ", "", "OPENSSH ", "ENCRYPTED "]);
    let lines: Vec<String> = (0..r.range(2, 6)).map(|_| r.chars_from(B64, 64)).collect();
    format!("-----BEGIN {kind}PRIVATE KEY-----\n{}\n-----END {kind}PRIVATE KEY-----", lines.join("\n"))
}

fn mixed40(r: &mut Rng) -> String {
    loop {
        let s = r.chars_from(B64, 40);
        if s.bytes().any(|c| c.is_ascii_uppercase())
            && s.bytes().any(|c| c.is_ascii_lowercase())
            && s.bytes().any(|c| c.is_ascii_digit())
        {
            return s;
        }
    }
}

fn secret_value(r: &mut Rng, entity: &str) -> String {
    match entity {
        "OPENROUTER_KEY" => format!("sk-or-v1-{}", r.chars_from(HEX, 64)),
        "OPENAI_KEY" => match r.below(3) {
            0 => format!("sk-proj-{}", r.set_between(B64URL, 48, 120)),
            1 => format!("sk-{}T3BlbkFJ{}", r.chars_from(ALNUM, 20), r.chars_from(ALNUM, 20)),
            _ => format!("sk-svcacct-{}", r.chars_from(B64URL, 64)),
        },
        "ANTHROPIC_KEY" => format!("sk-ant-api03-{}AA", r.chars_from(B64URL, 93)),
        "AWS_ACCESS_KEY" => format!("{}{}", r.pick(&["AKIA", "ASIA"]), r.chars_from(UPPER_DIGIT, 16)),
        "AWS_SECRET_KEY" => mixed40(r),
        "GITHUB_TOKEN" => {
            if r.chance(0.2) {
                format!("github_pat_{}_{}", r.chars_from(ALNUM, 22), r.chars_from(ALNUM, 59))
            } else {
                format!("gh{}_{}", r.pick(&["p", "o", "u", "s", "r"]), r.chars_from(ALNUM, 36))
            }
        }
        "SLACK_TOKEN" => format!(
            "xox{}-{}-{}-{}",
            r.pick(&["b", "p", "a", "r"]),
            r.digits(12),
            r.digits(13),
            r.chars_from(ALNUM, 24)
        ),
        "GOOGLE_API_KEY" => format!("AIza{}", r.chars_from(B64URL, 35)),
        "STRIPE_KEY" => {
            format!("{}_{}_{}", r.pick(&["sk", "rk"]), r.pick(&["live", "test"]), r.set_between(ALNUM, 24, 99))
        }
        "JWT" => jwt(r),
        "PRIVATE_KEY" => pem(r),
        _ => r.set_between(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~", 24, 64),
    }
}

fn address(r: &mut Rng) -> String {
    let street = r.pick(&[
        "Maple",
        "Oak",
        "Evergreen",
        "Baker",
        "Sunset",
        "Main",
        "Pine",
        "Lakeview",
        "Cedar Hill",
        "Martin Luther King",
    ]);
    let kind = r.pick(&[
        "Street",
        "St",
        "Avenue",
        "Ave",
        "Road",
        "Rd",
        "Boulevard",
        "Blvd",
        "Lane",
        "Drive",
        "Court",
        "Way",
        "Terrace",
    ]);
    let base = format!("{} {street} {kind}", r.range(1, 9999));
    match r.below(3) {
        0 => base,
        1 => format!("{base}, Apt {}{}", r.range(1, 40), r.pick(&["A", "B", ""])),
        _ => format!(
            "{base}, {}, {} {}",
            r.pick(&["Springfield", "Austin", "Portland", "San Jose", "New York"]),
            r.pick(&["IL", "TX", "OR", "CA", "NY"]),
            r.digits(5)
        ),
    }
}

/// Inserts invisible characters, folds to fullwidth, or adds soft hyphens.
fn evade(r: &mut Rng, v: &str) -> String {
    match r.below(4) {
        0 | 1 => {
            let inv = ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{ad}'];
            let mut chars: Vec<char> = v.chars().collect();
            for _ in 0..r.range(1, 3) {
                let at = 1 + r.below(chars.len().saturating_sub(1).max(1));
                let c = *r.pick(&inv);
                chars.insert(at.min(chars.len()), c);
            }
            chars.into_iter().collect()
        }
        2 => v
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '@' || c == '.' {
                    char::from_u32(c as u32 + 0xfee0).unwrap_or(c)
                } else {
                    c
                }
            })
            .collect(),
        _ => v
            .chars()
            .map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 - 0x30 + 0x0660).unwrap_or(c) } else { c })
            .collect(),
    }
}

/// One sentence with one planted `entity`.
pub(crate) fn entity_case(r: &mut Rng, entity: &'static str, evasion_rate: f64) -> Case {
    let (value, frame): (String, String) = match entity {
        "EMAIL" => {
            let e = email(r);
            match r.below(5) {
                0 => (e.clone(), "<mailto:{}>".to_string()),
                1 => (e, "Contact: support desk <{}>".into()),
                _ => (e, r.pick(&FRAMES).to_string()),
            }
        }
        "PHONE" => match phone(r) {
            (v, "bare") => (v, r.pick(&["call me at {} tomorrow", "Phone: {}", "mobile {}", "tel {}"]).to_string()),
            (v, _) => {
                if r.chance(0.1) {
                    (v, "[call](tel:{})".into())
                } else {
                    (v, r.pick(&FRAMES).to_string())
                }
            }
        },
        "US_SSN" => {
            let (a, g, s) = ssn_parts(r);
            match r.below(4) {
                0 => (
                    format!("{a}{g}{s}"),
                    r.pick(&["SSN: {}", "my social security number is {}", "ssn {}"]).to_string(),
                ),
                1 => (format!("{a} {g} {s}"), r.pick(&FRAMES).to_string()),
                _ => (format!("{a}-{g}-{s}"), r.pick(&FRAMES).to_string()),
            }
        }
        "CREDIT_CARD" => {
            let n = card_number(r);
            let v = format_card(r, &n);
            if r.chance(0.05) && v.contains(' ') {
                let i = v.find(' ').unwrap_or(0);
                (format!("{}\n{}", &v[..i], &v[i + 1..]), r.pick(&FRAMES).to_string())
            } else {
                (v, r.pick(&FRAMES).to_string())
            }
        }
        "IBAN" => {
            let v = iban(r);
            let v = if r.chance(0.5) { group(&v, &[4; 9], " ") } else { v };
            (v, r.pick(&FRAMES).to_string())
        }
        "IP_ADDRESS" => {
            let v = if r.chance(0.5) { ipv4(r) } else { ipv6(r) };
            (v, r.pick(&FRAMES).to_string())
        }
        "AWS_SECRET_KEY" => (
            secret_value(r, entity),
            r.pick(&[
                "aws_secret_access_key = {}",
                "AWS secret key: {}",
                "\"SecretAccessKey\": \"{}\"",
                "export AWS_SECRET_ACCESS_KEY={}",
            ])
            .to_string(),
        ),
        "BEARER_TOKEN" => (
            secret_value(r, entity),
            r.pick(&[
                "Authorization: Bearer {}",
                "curl -H 'Authorization: Bearer {}' https://api.x.io",
                "\"authorization\": \"Bearer {}\"",
            ])
            .to_string(),
        ),
        "PERSON" => {
            let name = format!("{} {}", r.pick(&FIRST), r.pick(&LAST));
            (
                name,
                r.pick(&[
                    "Hi, my name is {} and I need help.",
                    "Dear {},",
                    "Name: {}\nRole: admin",
                    "Best regards,\n{}",
                    "Please ask Dr. {} about it.",
                ])
                .to_string(),
            )
        }
        "ADDRESS" => {
            (address(r), r.pick(&["Ship it to {} please.", "Address: {}\n", "I moved to {} last year."]).to_string())
        }
        _ => (secret_value(r, entity), r.pick(&FRAMES).to_string()),
    };
    let evasive =
        evasion_rate > 0.0 && r.chance(evasion_rate) && !matches!(entity, "PRIVATE_KEY" | "PERSON" | "ADDRESS");
    let value = if evasive { evade(r, &value) } else { value };
    let (text, at) = fill(&frame, &value);
    Case { labels: vec![Label { start: at, end: at + value.len(), entity }], text, decoy: "", evasive }
}

/// A sentence that looks number- or key-like but holds no PII.
pub(crate) fn decoy_case(r: &mut Rng) -> Case {
    let (family, v): (&'static str, String) = match r.below(38) {
        30 => (
            "room_and_floor",
            format!("room {} on floor {}, building {}", r.range(100, 999), r.range(1, 40), r.range(1, 9)),
        ),
        31 => ("serial", format!("serial no. {}", r.digits_between(9, 11))),
        32 => ("dimensions", format!("{} x {} x {} mm", r.range(10, 999), r.range(10, 999), r.range(10, 999))),
        33 => ("math", format!("{} + {} = {}", r.digits(4), r.digits(4), r.digits(5))),
        34 => (
            "list_of_years",
            format!(
                "{}, {}, {} and {}",
                r.range(1990, 2030),
                r.range(1990, 2030),
                r.range(1990, 2030),
                r.range(1990, 2030)
            ),
        ),
        35 => (
            "version_triplet_build",
            format!("{}.{}.{} build {}", r.range(0, 20), r.range(0, 99), r.range(0, 99), r.digits(5)),
        ),
        36 => (
            "time_range",
            format!("{:02}:{:02}-{:02}:{:02}", r.range(0, 23), r.range(0, 59), r.range(0, 23), r.range(0, 59)),
        ),
        37 => ("amount_list", format!("{} {} {} and {}", r.digits(4), r.digits(4), r.digits(4), r.digits(4))),
        0 => {
            let mut n = card_number(r).into_bytes();
            let last = n.len() - 1;
            n[last] = b'0' + ((n[last] - b'0' + 1 + r.below(9) as u8) % 10);
            let s = String::from_utf8(n).unwrap_or_default();
            ("luhn_invalid_card", format_card(r, &s))
        }
        1 => ("order_id", format!("Order #{}-{}", r.digits(5), r.pick(&["A", "B", "X"]))),
        2 => ("invoice_id", format!("INV-{}-{}", r.range(2015, 2026), r.digits(5))),
        3 => ("order_number", format!("order {}", r.digits_between(6, 12))),
        4 => ("date", format!("{}-{:02}-{:02}", r.range(1990, 2030), r.range(1, 12), r.range(1, 28))),
        5 => ("date", format!("{:02}/{:02}/{}", r.range(1, 12), r.range(1, 28), r.range(1990, 2030))),
        6 => ("date", format!("{:02}.{:02}.{}", r.range(1, 28), r.range(1, 12), r.range(1990, 2030))),
        7 => ("time", format!("{:02}:{:02}:{:02}", r.range(0, 23), r.range(0, 59), r.range(0, 59))),
        8 => (
            "timestamp",
            format!(
                "{}-{:02}-{:02}T{:02}:{:02}:00Z",
                r.range(2000, 2030),
                r.range(1, 12),
                r.range(1, 28),
                r.range(0, 23),
                r.range(0, 59)
            ),
        ),
        9 => ("version", format!("v{}.{}.{}.{}", r.range(0, 20), r.range(0, 99), r.range(0, 99), r.range(0, 999))),
        10 => {
            ("version", format!("version {}.{}.{}.{}", r.range(0, 20), r.range(0, 99), r.range(0, 99), r.range(0, 255)))
        }
        11 => ("semver", format!("{}.{}.{}", r.range(0, 20), r.range(0, 99), r.range(0, 99))),
        12 => {
            let h = r.chars_from(HEX, 32);
            ("uuid", format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
        }
        13 => ("git_sha", {
            let n = if r.chance(0.5) { 40 } else { 7 };
            r.chars_from(HEX, n)
        }),
        14 => ("sha256", r.chars_from(HEX, 64)),
        15 => ("price", format!("${},{:03}.{:02}", r.range(1, 99), r.range(0, 999), r.range(0, 99))),
        16 => ("price", format!("EUR {}.{:02}", r.range(1, 99999), r.range(0, 99))),
        17 => ("year_range", format!("{}-{}", r.range(1950, 2010), r.range(2011, 2030))),
        18 => {
            let (_, g, s) = ssn_parts(r);
            let area = r.pick(&["000", "666", "900", "987", "999"]).to_string();
            (
                "invalid_ssn",
                match r.below(3) {
                    0 => format!("{area}-{g}-{s}"),
                    1 => format!("{:03}-00-{s}", r.range(1, 665)),
                    _ => format!("{:03}-{g}-0000", r.range(1, 665)),
                },
            )
        }
        19 => {
            let mut v = iban(r).into_bytes();
            v[2] = b'0' + ((v[2] - b'0' + 1) % 10);
            ("invalid_iban", group(&String::from_utf8(v).unwrap_or_default(), &[4; 9], " "))
        }
        20 => (
            "model_id",
            r.pick(&[
                "openai/gpt-4o-2024-08-06",
                "anthropic/claude-3.5-sonnet-20240620",
                "meta-llama/llama-3.1-405b-instruct",
                "google/gemini-2.0-flash-001",
                "mistralai/mixtral-8x7b-instruct:free",
                "openai/gpt-4o-mini-2024-07-18",
            ])
            .to_string(),
        ),
        21 => ("number", format!("{}.{}", r.range(0, 999), r.digits_between(2, 9))),
        22 => ("number", format!("{},{:03},{:03}", r.range(1, 999), r.range(0, 999), r.range(0, 999))),
        23 => ("coordinates", format!("{}.{}, -{}.{}", r.range(10, 60), r.digits(4), r.range(70, 130), r.digits(4))),
        24 => ("isbn", format!("978-{}-{}-{}-{}", r.range(0, 9), r.digits(2), r.digits(6), r.range(0, 9))),
        25 => (
            "code_like",
            r.pick(&[
                "icon@2x.png",
                "lodash@4.17.21",
                "@types/node",
                "std::vec::Vec",
                "#ff00aa",
                "user@localhost",
                "sk-learn",
                "a::b",
                "12:30",
                "00:1a:2b:3c:4d:5e",
            ])
            .to_string(),
        ),
        26 => ("unix_time", r.digits(10).replacen(|_: char| true, "1", 1)),
        27 => ("zip_and_percent", format!("ZIP {} grew {}%", r.digits(5), r.range(1, 99))),
        28 => ("phone_like_id", format!("ticket {}-{}", r.digits(3), r.digits(4))),
        _ => ("hex_id", format!("req_{}", r.chars_from(ALNUM, 24))),
    };
    let frame = r.pick(&FRAMES);
    let (text, _) = fill(frame, &v);
    Case { text, labels: Vec::new(), decoy: family, evasive: false }
}

/// A deterministic labeled set: `per_entity` cases for each entity in `entities`, and `decoys`
/// decoy cases, interleaved.
pub(crate) fn cases(
    seed: u64,
    entities: &[&'static str],
    per_entity: usize,
    decoys: usize,
    evasion_rate: f64,
) -> Vec<Case> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(entities.len() * per_entity + decoys);
    for _ in 0..per_entity {
        for e in entities {
            out.push(entity_case(&mut r, e, evasion_rate));
        }
    }
    for _ in 0..decoys {
        out.push(decoy_case(&mut r));
    }
    out
}

const WORDS: [&str; 64] = [
    "the",
    "model",
    "should",
    "summarize",
    "report",
    "quarterly",
    "results",
    "and",
    "explain",
    "why",
    "revenue",
    "changed",
    "in",
    "each",
    "region",
    "please",
    "keep",
    "it",
    "short",
    "use",
    "bullet",
    "points",
    "where",
    "helpful",
    "our",
    "team",
    "reviewed",
    "proposal",
    "last",
    "week",
    "considered",
    "risks",
    "customer",
    "feedback",
    "was",
    "mostly",
    "positive",
    "but",
    "some",
    "users",
    "asked",
    "for",
    "clearer",
    "documentation",
    "about",
    "setup",
    "process",
    "We",
    "The",
    "However",
    "Meanwhile",
    "analysis",
    "suggests",
    "that",
    "latency",
    "improved",
    "after",
    "migration",
    "to",
    "new",
    "infrastructure",
    "although",
    "costs",
    "rose",
];

/// PII-free prose (with ordinary numbers and capitals), about `bytes` long.
pub(crate) fn prose(r: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 64);
    while s.len() < bytes {
        let n = r.range(8, 20);
        for i in 0..n {
            let w = r.pick(&WORDS);
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    s.extend(f.to_uppercase());
                    s.push_str(c.as_str());
                }
            } else {
                s.push_str(w);
            }
            if r.chance(0.03) {
                s.push_str(&format!(" {}", r.range(2, 2030)));
            }
            s.push(if i + 1 == n { '.' } else { ' ' });
        }
        s.push(if r.chance(0.2) { '\n' } else { ' ' });
    }
    s
}

/// Text where most sentences carry an entity (every built-in type except PERSON/ADDRESS).
pub(crate) fn dense(r: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 256);
    while s.len() < bytes {
        let e = ENTITIES[r.below(18)];
        s.push_str(&entity_case(r, e, 0.0).text);
        s.push(' ');
        let n = r.range(3, 12);
        for _ in 0..n {
            let w: &&str = r.pick(&WORDS[..]);
            s.push_str(w);
            s.push(' ');
        }
    }
    s
}

/// Code / JSON-ish text: braces, colons, numbers, hex ids, paths.
pub(crate) fn code(r: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 256);
    while s.len() < bytes {
        match r.below(6) {
            0 => s.push_str(&format!(
                "{{\"id\": \"{}\", \"count\": {}, \"ok\": true}},\n",
                r.chars_from(HEX, 24),
                r.range(0, 100000)
            )),
            1 => s.push_str(&format!(
                "fn handle_{}(req: &Request) -> Result<Response, Error> {{\n    let x = req.body.len() * {};\n",
                r.below(100),
                r.range(1, 64)
            )),
            2 => s.push_str(&format!(
                "    if value > {} && flags & 0x{:x} != 0 {{ return Err(Error::Invalid); }}\n",
                r.range(0, 9999),
                r.range(0, 255)
            )),
            3 => s.push_str(&format!(
                "import {{ {} }} from \"./lib/{}\";\nconst url = \"https://api.example.com/v1/items/{}\";\n",
                r.pick(&WORDS),
                r.pick(&WORDS),
                r.range(1, 99999)
            )),
            4 => s.push_str(&format!(
                "# commit {} on 2024-0{}-1{} by ci\n",
                r.chars_from(HEX, 40),
                r.range(1, 9),
                r.range(0, 9)
            )),
            _ => s.push_str(&format!("    std::collections::HashMap::<String, u32>::new(); // {}\n", r.pick(&WORDS))),
        }
    }
    s
}

/// Per-entity counts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stat {
    pub labels: usize,
    pub found: usize,
    pub exact: usize,
    pub detections: usize,
    pub true_detections: usize,
}

impl Stat {
    pub(crate) fn recall(&self) -> f64 {
        if self.labels == 0 {
            1.0
        } else {
            self.found as f64 / self.labels as f64
        }
    }
    pub(crate) fn precision(&self) -> f64 {
        if self.detections == 0 {
            1.0
        } else {
            self.true_detections as f64 / self.detections as f64
        }
    }
}

/// Accuracy over a case set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub stats: Vec<(&'static str, Stat)>,
    pub decoys: usize,
    pub decoys_hit: usize,
    /// Decoy families that produced findings, with counts (for diagnosis).
    pub decoy_families_hit: Vec<(&'static str, usize)>,
    pub evasive_labels: usize,
    pub evasive_found: usize,
    /// Examples of missed labels: (entity, case text).
    pub misses: Vec<(&'static str, String)>,
    /// Examples of false detections: (entity, detected text, case text).
    pub false_hits: Vec<(String, String, String)>,
}

impl Report {
    pub(crate) fn stat(&self, e: &str) -> Option<&Stat> {
        self.stats.iter().find(|(n, _)| *n == e).map(|(_, s)| s)
    }
    pub(crate) fn decoy_fp_rate(&self) -> f64 {
        if self.decoys == 0 {
            0.0
        } else {
            self.decoys_hit as f64 / self.decoys as f64
        }
    }
    /// A fixed-width table.
    pub(crate) fn table(&self) -> String {
        let mut s =
            format!("{:<16} {:>7} {:>8} {:>10} {:>11}\n", "entity", "labels", "recall", "precision", "exact-span");
        for (e, st) in &self.stats {
            if st.labels == 0 && st.detections == 0 {
                continue;
            }
            let exact = if st.found == 0 { 0.0 } else { st.exact as f64 / st.found as f64 };
            s.push_str(&format!(
                "{:<16} {:>7} {:>8.4} {:>10.4} {:>11.4}\n",
                e,
                st.labels,
                st.recall(),
                st.precision(),
                exact
            ));
        }
        s.push_str(&format!(
            "decoys: {} cases, {} with a finding -> false-positive rate {:.4}\n",
            self.decoys,
            self.decoys_hit,
            self.decoy_fp_rate()
        ));
        if self.evasive_labels > 0 {
            s.push_str(&format!(
                "evasion subset (zero-width/soft hyphen/fullwidth/Arabic-Indic digits): recall {:.4} of {}\n",
                self.evasive_found as f64 / self.evasive_labels as f64,
                self.evasive_labels
            ));
        }
        for (f, n) in &self.decoy_families_hit {
            s.push_str(&format!("  decoy family hit: {f} x{n}\n"));
        }
        s
    }
}

/// Scores `detect` (which returns (start, end, entity) spans of the original text) on `cases`.
/// A label counts as found when a detection of the same entity overlaps it; a detection is true
/// when it overlaps a label of its entity.
pub(crate) fn score(cases: &[Case], mut detect: impl FnMut(&str) -> Vec<(usize, usize, String)>) -> Report {
    let mut rep = Report::default();
    let idx = |rep: &mut Report, e: &str| -> usize {
        match rep.stats.iter().position(|(n, _)| *n == e) {
            Some(i) => i,
            None => {
                let name: &'static str = ENTITIES.iter().copied().find(|n| *n == e).unwrap_or("OTHER");
                rep.stats.push((name, Stat::default()));
                rep.stats.len() - 1
            }
        }
    };
    for e in ENTITIES {
        idx(&mut rep, e);
    }
    for c in cases {
        let dets = detect(&c.text);
        let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
        for l in &c.labels {
            let i = idx(&mut rep, l.entity);
            rep.stats[i].1.labels += 1;
            let hit = dets.iter().find(|d| d.2 == l.entity && overlaps((d.0, d.1), (l.start, l.end)));
            if c.evasive {
                rep.evasive_labels += 1;
            }
            if hit.is_none() && rep.misses.len() < 200 {
                rep.misses.push((l.entity, c.text.clone()));
            }
            if let Some(d) = hit {
                rep.stats[i].1.found += 1;
                if c.evasive {
                    rep.evasive_found += 1;
                }
                if d.0 == l.start && d.1 == l.end {
                    rep.stats[i].1.exact += 1;
                }
            }
        }
        for d in &dets {
            let i = idx(&mut rep, &d.2);
            rep.stats[i].1.detections += 1;
            if c.labels.iter().any(|l| l.entity == d.2 && overlaps((d.0, d.1), (l.start, l.end))) {
                rep.stats[i].1.true_detections += 1;
            } else if rep.false_hits.len() < 200 {
                rep.false_hits.push((d.2.clone(), c.text.get(d.0..d.1).unwrap_or("").to_string(), c.text.clone()));
            }
        }
        if c.labels.is_empty() {
            rep.decoys += 1;
            if !dets.is_empty() {
                rep.decoys_hit += 1;
                match rep.decoy_families_hit.iter_mut().find(|(f, _)| *f == c.decoy) {
                    Some(x) => x.1 += 1,
                    None => rep.decoy_families_hit.push((c.decoy, 1)),
                }
            }
        }
    }
    rep
}

/// Short words for building dictionary terms.
pub(crate) const WORDS_SHORT: [&str; 8] = ["blue", "red", "nova", "iron", "sky", "delta", "echo", "jade"];
