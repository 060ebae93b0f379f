//! The closed list of structural body fields: the only places of a governed request body that
//! the PII walker does not scan, each with the grammar its values must fit to be left alone.
//!
//! Everything else — every other string value and every object key, at any depth — is scanned.
//! A structural field's strings (and, for object values such as `provider`, every string and key
//! inside) are skipped only when they fit the field's grammar; a value that does not fit (an
//! e-mail in `id`, a sentence in `role`) is scanned like text. Grammars are deliberately narrow:
//! none admits `@`, spaces inside identifiers, or a value made only of digits and punctuation,
//! so the shapes of e-mails, phone numbers, SSNs and cards never pass as structure.

/// What a structural value must look like to be skipped. Credentials are identifier-shaped, so
/// the grammars refuse their marks where the field's values never have them (long unbroken
/// alphanumeric runs, upper-case runs, many digits, the `_`/`-` of prefixed keys). `Id` and
/// `Base64` cannot (a random id or blob may hold anything), so a value that fits them but holds a
/// credential's prefix is scanned in pieces ([`credential_cuts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grammar {
    /// A model id or preset: `[~@]?seg(/seg)*(:variant)?`, lower-case segments of `[a-z0-9._-]`,
    /// no alphanumeric run longer than 24, ≤ 128 (`openai/gpt-4o-2024-08-06`, `@preset/team-a`).
    ModelId,
    /// A provider slug or name (`openai`, `deepinfra/fp8`, `Google AI Studio`, `DeepInfra`):
    /// letters, digits and ` ._/-`, at least one letter, ≤ 64, ≤ 4 digits, no run of three
    /// upper-case letters, ≤ 6 upper-case letters in all.
    Slug,
    /// An enumeration word (`user`, `image_url`, `json_schema`, `date-time`, `high`):
    /// `[a-z][a-z0-9_.-]*`, ≤ 64, ≤ 4 digits.
    Enum,
    /// A provider-issued identifier: a known id prefix (`call_`, `toolu_`, `chatcmpl-`, `file-`,
    /// `msg_`, `fc_`, `rs_`, `resp_` …) followed by `[A-Za-z0-9_.:-]`, ≤ 256; or nine
    /// alphanumerics (Mistral's tool-call ids).
    Id,
    /// A media type (`image/png`, `text/plain; charset=utf-8`).
    MediaType,
    /// An opaque blob a provider produced and the client returns as received (reasoning
    /// signatures, encrypted reasoning): ≥ 64 characters of standard base64, or a Fernet token
    /// (`gAAAAA…`, URL-safe base64).
    Base64,
}

/// Prefixes of provider-issued ids (OpenAI, Anthropic, OpenRouter, Google via OpenRouter).
const ID_PREFIXES: &[&str] = &[
    "call_",
    "toolu_",
    "srvtoolu_",
    "chatcmpl-",
    "gen-",
    "file-",
    "file_",
    "msg_",
    "fc_",
    "rs_",
    "resp_",
    "ws_",
    "ci_",
    "mcp_",
    "item_",
    "tool_",
    "run_",
    "asst_",
    "thread_",
    "cmpl-",
    "req_",
    "ig_",
    "lsh_",
];

/// Prefixes that announce a credential (the secret detectors' shapes, `src/core/pii/detectors/
/// secrets.rs`): a structural value holding one is not taken as structure on its grammar alone.
const CREDENTIAL_MARKS: &[&str] = &[
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "xapp-",
    "AIza",
    "eyJ",
    "-----BEGIN",
    "AKIA",
    "ASIA",
    "AGPA",
    "AIDA",
    "AROA",
    "AIPA",
    "ANPA",
    "ANVA",
    "ABIA",
    "ACCA",
];

/// Length of an AWS access key id (`AKIA` + 16 of `[A-Z0-9]`): its end is cut off too, since the
/// bytes after it in an id or a blob would glue to it.
const AWS_KEY_ID_LEN: usize = 20;

/// Where a value that fits a structural grammar must be cut for its pieces to be scanned: the
/// start of every credential mark (`call_` | `sk-or-v1-…`, `msg_` | `ghp_…`), and the end of an
/// AWS access key id (`AKIA…` 20 characters | the rest of a signature blob). Empty for almost every
/// real id and signature (a random 24-character id holds a mark about once in 10,000), which are
/// then skipped unscanned; a piece that starts with a mark but is no credential is scanned and
/// left as it is.
pub(crate) fn credential_cuts(s: &str) -> Vec<usize> {
    let b = s.as_bytes();
    let mut cuts = Vec::new();
    for (i, c) in b.iter().enumerate() {
        if !matches!(c, b's' | b'r' | b'g' | b'x' | b'A' | b'e' | b'-') {
            continue;
        }
        let Some(rest) = s.get(i..) else { continue };
        let Some(mark) = CREDENTIAL_MARKS.iter().find(|m| rest.starts_with(**m)) else { continue };
        if cuts.last() != Some(&i) && i > 0 {
            cuts.push(i);
        }
        let aws_end = i + AWS_KEY_ID_LEN;
        let aws = mark.len() == 4
            && mark.starts_with('A')
            && *mark != "AIza"
            && b.get(i..aws_end).is_some_and(|k| k.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        if aws && aws_end < b.len() {
            cuts.push(aws_end);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Where a structural key counts: only as a key of the body's top-level object, or at any depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Top,
    Any,
}

/// The list, defined once: (key, scope, grammar).
const FIELDS: &[(&str, Scope, Grammar)] = &[
    // Routing: checked by the model policy and the provider merge.
    ("model", Scope::Top, Grammar::ModelId),
    ("models", Scope::Top, Grammar::ModelId),
    ("preset", Scope::Top, Grammar::ModelId),
    ("provider", Scope::Top, Grammar::Slug),
    ("route", Scope::Top, Grammar::Enum),
    ("transforms", Scope::Top, Grammar::Enum),
    ("modalities", Scope::Top, Grammar::Enum),
    ("service_tier", Scope::Top, Grammar::Enum),
    ("encoding_format", Scope::Top, Grammar::Enum),
    ("previous_response_id", Scope::Top, Grammar::Id),
    // Enumerations of the message and tool grammar.
    ("role", Scope::Any, Grammar::Enum),
    ("type", Scope::Any, Grammar::Enum),
    ("detail", Scope::Any, Grammar::Enum),
    ("status", Scope::Any, Grammar::Enum),
    ("format", Scope::Any, Grammar::Enum),
    ("effort", Scope::Any, Grammar::Enum),
    ("tool_choice", Scope::Any, Grammar::Enum),
    ("media_type", Scope::Any, Grammar::MediaType),
    ("mime_type", Scope::Any, Grammar::MediaType),
    // Identifiers.
    ("id", Scope::Any, Grammar::Id),
    ("tool_call_id", Scope::Any, Grammar::Id),
    ("call_id", Scope::Any, Grammar::Id),
    ("tool_use_id", Scope::Any, Grammar::Id),
    ("file_id", Scope::Any, Grammar::Id),
    ("item_id", Scope::Any, Grammar::Id),
    // Provider-produced opaque blobs, returned as received.
    ("signature", Scope::Any, Grammar::Base64),
    ("encrypted_content", Scope::Any, Grammar::Base64),
];

/// The grammar of `key` when it is structural at this depth (`top`: a key of the top-level object).
pub(crate) fn lookup(key: &str, top: bool) -> Option<Grammar> {
    FIELDS.iter().find(|(k, scope, _)| *k == key && (top || *scope == Scope::Any)).map(|(_, _, g)| *g)
}

fn has_letter(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_alphabetic())
}

fn digits(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// Length of the longest run of bytes satisfying `f`.
fn longest_run(s: &str, f: impl Fn(u8) -> bool) -> usize {
    let (mut best, mut cur) = (0, 0);
    for b in s.bytes() {
        cur = if f(b) { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best
}

impl Grammar {
    /// Whether `s` fits: then it is structure and is not scanned.
    pub(crate) fn fits(self, s: &str) -> bool {
        let b = s.as_bytes();
        match self {
            Grammar::ModelId => {
                let body = s.strip_prefix(['~', '@']).unwrap_or(s);
                let (path, variant) = body.split_once(':').unwrap_or((body, ""));
                let seg = |t: &str| {
                    !t.is_empty()
                        && t.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(&c))
                };
                s.len() <= 128
                    && has_letter(s)
                    && path.split('/').all(seg)
                    && (variant.is_empty() || seg(variant))
                    && longest_run(s, |c| c.is_ascii_alphanumeric()) <= 24
            }
            Grammar::Slug => {
                s.len() <= 64
                    && has_letter(s)
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || b" ._/-".contains(c))
                    && digits(s) <= 4
                    && longest_run(s, |c| c.is_ascii_uppercase()) <= 2
                    && b.iter().filter(|c| c.is_ascii_uppercase()).count() <= 6
            }
            Grammar::Enum => {
                s.len() <= 64
                    && b.first().is_some_and(u8::is_ascii_lowercase)
                    && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_.-".contains(c))
                    && digits(s) <= 4
            }
            Grammar::Id => {
                let tail_ok =
                    |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_alphanumeric() || b"_.:-".contains(&c));
                s.len() <= 256
                    && (ID_PREFIXES.iter().any(|p| s.strip_prefix(p).is_some_and(tail_ok))
                        || (s.len() == 9 && b.iter().all(u8::is_ascii_alphanumeric) && has_letter(s)))
            }
            Grammar::MediaType => {
                let (mt, params) = s.split_once(';').unwrap_or((s, ""));
                let tok = |t: &str| {
                    !t.is_empty() && t.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&c))
                };
                let param_ok = |p: &str| p.trim().split_once('=').is_some_and(|(k, v)| tok(k) && tok(v));
                s.len() <= 128
                    && mt.split_once('/').is_some_and(|(t, st)| tok(t) && tok(st))
                    && (params.is_empty() || params.split(';').all(param_ok))
            }
            Grammar::Base64 => {
                let std = b.iter().all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(c));
                let fernet =
                    s.starts_with("gAAAAA") && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_=".contains(c));
                s.len() >= 64 && (std || fernet)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammars_admit_structure_and_refuse_personal_data() {
        let cases: &[(Grammar, &[&str], &[&str])] = &[
            (
                Grammar::ModelId,
                &[
                    "openai/gpt-4o",
                    "anthropic/claude-3.5-sonnet:beta",
                    "~openai/gpt-latest",
                    "@preset/team-a",
                    "openrouter/auto",
                    "cognitivecomputations/dolphin-mixtral-8x22b",
                ],
                &[
                    "bob@example.com",
                    "a b",
                    "",
                    "415-555-0132",
                    "openai/",
                    "x/y z",
                    "AKIAIOSFODNN7EXAMPLE",
                    "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                ],
            ),
            (
                Grammar::Slug,
                &["openai", "Google AI Studio", "deepinfra/fp8", "Together", "DeepInfra", "price"],
                &[
                    "bob@example.com",
                    "+1 415 555 0132",
                    "123-45-6789",
                    "4111 1111 1111 1111",
                    "AKIAIOSFODNN7EXAMPLE",
                    "ghp_R2d9XkPqLmZ7vBnW3sYtUaCe8HfGjK4oIxQ1",
                    "de89 3704 0044 0532 0130 00",
                ],
            ),
            (
                Grammar::Enum,
                &["user", "image_url", "json_schema", "date-time", "ephemeral", "high"],
                &[
                    "bob@example.com",
                    "123-45-6789",
                    "5m",
                    "My name is Bob",
                    "",
                    "+14155550132",
                    "de89370400440532013000",
                    "AKIAIOSFODNN7EXAMPLE",
                    "10.0.0.1",
                ],
            ),
            (
                Grammar::Id,
                &["call_abc123", "toolu_01A09q90qw90lq917835lq9", "chatcmpl-9x", "file-abc", "D681PevKs"],
                &[
                    "bob@example.com",
                    "123-45-6789",
                    "4111111111111111",
                    "+14155550132",
                    "a b",
                    "",
                    "AKIAIOSFODNN7EXAMPLE",
                    "ghp_R2d9XkPqLmZ7vBnW3sYtUaCe8HfGjK4oIxQ1",
                    "call_",
                    "123456789",
                ],
            ),
            (
                Grammar::MediaType,
                &["image/png", "text/plain; charset=utf-8", "application/vnd.api+json"],
                &["bob@example.com", "text", "image/png; x"],
            ),
            (
                Grammar::Base64,
                &[
                    "EqQBCkgIARABGAIiQL2/xz+yEqQBCkgIARABGAIiQL2/xz+yEqQBCkgIARABGAIiQL2/xz+y",
                    "gAAAAABoK-_xyzgAAAAABoK-_xyzgAAAAABoK-_xyzgAAAAABoK-_xyzgAAAAABoK-_xyz=",
                ],
                &[
                    "4111111111111111",
                    "bob@example.com x",
                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                    "ghp_R2d9XkPqLmZ7vBnW3sYtUaCe8HfGjK4oIxQ1R2d9XkPqLmZ7vBnW3sYtUaCe8HfGjK4oIxQ1",
                ],
            ),
        ];
        for (g, good, bad) in cases {
            for s in *good {
                assert!(g.fits(s), "{g:?} should admit {s:?}");
            }
            for s in *bad {
                assert!(!g.fits(s), "{g:?} should refuse {s:?}");
            }
        }
    }

    #[test]
    fn real_ids_and_signatures_carry_no_credential_mark() {
        // Shapes of ids and blobs OpenAI, Anthropic, OpenRouter and Mistral issue.
        for s in [
            "call_Lz9dKf3QX7aYp2vB8nR1sT0w",
            "call_abc123",
            "toolu_01A09q90qw90lq917835lq9",
            "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE",
            "msg_01XFDUDYJgAACzvnptvVoYEL",
            "msg_67ccd3acc8d48190a77525dc6de64b4104becb25c1e2acd7",
            "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
            "rs_67ccd2bf8c4c8190b14f964abc0542670bb6a6b452d3795b",
            "fc_67ccd3acc8d48190a77525dc6de64b4104becb25c1e2acd7",
            "chatcmpl-9x8YzAbCdEfGhIjKlMnOpQrStUvWx",
            "gen-1744130000-AbCdEfGhIjKlMnOpQrSt",
            "file-BK7bzQj3FfZFXr7DbL6xJwfo",
            "D681PevKs",
            "EqQBCkgIARABGAIiQL2/xz+yEqQBCkgIARABGAIiQL2/xz+yEqQBCkgIARABGAIiQL2/xz+y",
            "gAAAAABoK-_xyzgAAAAABoK-_xyzgAAAAABoK-_xyzgAAAAABoK-_xyzgAAAAABoK-_xyz=",
        ] {
            assert_eq!(credential_cuts(s), Vec::<usize>::new(), "{s}");
        }
    }

    #[test]
    fn credentials_behind_an_id_prefix_or_inside_a_blob_are_cut_out() {
        assert_eq!(credential_cuts("call_AKIAIOSFODNN7EXAMPLE"), [5]);
        assert_eq!(credential_cuts("call_sk-or-v1-0123"), [5]);
        assert_eq!(credential_cuts("msg_ghp_R2d9XkPqLmZ7vBnW3sYtUaCe8HfGjK4oIxQ1"), [4]);
        assert_eq!(credential_cuts("AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI/K7MDENG"), [20]);
        assert_eq!(credential_cuts("abcdAKIAIOSFODNN7EXAMPLE"), [4]);
        assert_eq!(credential_cuts("xAKIAlower"), [1]);
    }

    #[test]
    fn lookup_respects_scope() {
        assert_eq!(lookup("model", true), Some(Grammar::ModelId));
        assert_eq!(lookup("model", false), None);
        assert_eq!(lookup("provider", false), None);
        assert_eq!(lookup("role", false), Some(Grammar::Enum));
        assert_eq!(lookup("metadata", true), None);
        assert_eq!(lookup("user", true), None);
    }
}
