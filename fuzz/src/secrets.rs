//! Valid-shaped PII and credentials to plant in fuzzed text. Built at run time, so no key-shaped
//! literal sits in the repository for secret scanners to trip on.

/// One plantable value: the entity that must detect it and the text itself.
#[derive(Debug, Clone)]
pub struct Planted {
    /// Built-in entity name (`EMAIL`, `OPENROUTER_KEY`, …).
    pub entity: &'static str,
    /// The value.
    pub value: String,
}

/// Every plantable value. Each one, alone between spaces, is detected by the default engine
/// (checked by `tests/replay.rs`).
pub fn catalogue() -> Vec<Planted> {
    let p = |entity, value: String| Planted { entity, value };
    vec![
        p("EMAIL", "jane.doe+fuzz@example-corp.com".into()),
        p("EMAIL", ["priya", "@", "mail.example.co.uk"].concat()),
        p("CREDIT_CARD", ["4111", "1111", "1111", "1111"].join(" ")),
        p("CREDIT_CARD", ["5555", "5555", "5555", "4444"].concat()),
        p("US_SSN", ["219", "09", "9999"].join("-")),
        p("IBAN", ["DE89", "3704", "0044", "0532", "0130", "00"].concat()),
        p("PHONE", "+44 20 7946 0958".into()),
        p("IP_ADDRESS", "203.0.113.77".into()),
        p("OPENROUTER_KEY", format!("sk-or-v1-{}", "0f9e".repeat(16))),
        p("ANTHROPIC_KEY", format!("sk-ant-api03-{}", "Zq7Xw2Lm9Kp4Rt6Yv3Nb8Hc5".repeat(2))),
        p("OPENAI_KEY", format!("sk-proj-{}", "a1B2c3D4e5F6g7H8".repeat(3))),
        p("AWS_ACCESS_KEY", ["AKIA", "Z7Q3", "X9W2", "L5M8", "N4P6"].concat()),
        p("GITHUB_TOKEN", format!("{}_{}", "ghp", "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCb")),
        p("SLACK_TOKEN", format!("{}-{}", "xoxb", "1234567890-abcdefghijkl")),
        p("GOOGLE_API_KEY", format!("AIza{}", "Sy9-Zx8_Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0Gfe")),
        p("STRIPE_KEY", format!("{}_{}_{}", "sk", "test", "Zx9Yw8Vu7Ts6Rq5Po4Nm")),
    ]
}

/// Every substring of `secret` of `len` bytes (on char boundaries).
pub fn windows(secret: &str, len: usize) -> Vec<&str> {
    let b: Vec<usize> = secret.char_indices().map(|(i, _)| i).chain([secret.len()]).collect();
    let mut out = Vec::new();
    for (k, &s) in b.iter().enumerate() {
        if let Some(&e) = b.iter().skip(k).find(|&&e| e - s >= len) {
            out.push(&secret[s..e]);
        }
    }
    out
}
