//! Tamper-evident hash chain over audit records (see `docs/audit-chain.md`).
//!
//! Each worker VM owns one [`AuditChain`] with a random id. Sealing a record puts three fields
//! first in the JSON object, `{"chain":"<id>","seq":<n>,"prev":"<hex>",...}`, where `seq` counts
//! 1, 2, 3… per chain and `prev` is the hex BLAKE2b-256 (`line_hash`) of the previous sealed line of the same chain,
//! exactly as returned (and, if the access log prints it verbatim, as written), without a newline.
//! The first record's `prev` is [`GENESIS_PREV`]. The hashed form is the printed line itself, so a
//! verifier recomputes it from the file with no canonicalisation (`tools/verify_audit.py`).
//!
//! With an audit key ([`AuditChain::with_key`]) every line also ends with `"mac":"<hex>"`, the
//! HMAC-SHA-256 under that key of the line without its `,"mac":"…"` member: without the key nobody
//! can write a line the verifier accepts (a forged record, an appended tail, an invented chain).

use std::fmt;

use crate::core::audit::AuditRecord;
use crate::core::hex::to_hex;
use crate::core::json_value::str_lit;
use crate::core::pii::hmac::HmacSha256;

/// Environment variable that carries the audit key into the VM (Envoy's `vm_config.environment_variables.
/// host_env_keys`, read through WASI; never in the plugin configuration, so never in `/config_dump`).
pub const AUDIT_KEY_ENV: &str = "OPENROUTER_GUARD_AUDIT_KEY";

/// Shortest audit key accepted, in bytes.
pub(crate) const MIN_KEY_LEN: usize = 32;

/// `prev` of the first record of every chain: 64 zeros.
pub(crate) const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why a record could not be sealed. The chain is unchanged when sealing fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// The record is not one JSON object.
    NotAnObject,
    /// The record already has `chain`, `seq` or `prev`.
    ReservedField(&'static str),
    /// No randomness for a chain id.
    Random,
    /// The audit key is shorter than [`MIN_KEY_LEN`].
    ShortKey,
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnObject => f.write_str("audit record is not a JSON object"),
            Self::ReservedField(name) => write!(f, "audit record already has field `{name}`"),
            Self::Random => f.write_str("no randomness for the audit chain id"),
            Self::ShortKey => write!(f, "the audit key must be at least {MIN_KEY_LEN} bytes"),
        }
    }
}

impl std::error::Error for ChainError {}

/// The fields a record must not carry before sealing: the chain puts them first itself.
const RESERVED: [&str; 4] = ["chain", "seq", "prev", "mac"];

/// Nesting accepted in a record (far more than an audit record has).
const MAX_DEPTH: u32 = 64;

/// Checks that `record` is one JSON object (strictly: valid UTF-8, no duplicate keys) without
/// a reserved field at its top level.
fn check_record(record: &str) -> Result<(), ChainError> {
    let root = crate::core::json::parse(record.as_bytes(), MAX_DEPTH).map_err(|_| ChainError::NotAnObject)?;
    let crate::core::json::Kind::Object(members) = &root.kind else {
        return Err(ChainError::NotAnObject);
    };
    match RESERVED.iter().find(|name| members.iter().any(|m| m.key == **name)) {
        Some(name) => Err(ChainError::ReservedField(name)),
        None => Ok(()),
    }
}

/// One chain of sealed audit records. Seal in the order the lines are written.
#[derive(Debug, Clone)]
pub struct AuditChain {
    /// The chain id as a JSON string literal, quotes included.
    id_json: String,
    chain_id: String,
    seq: u64,
    prev: String,
    /// Keyed MAC over each line, when an audit key is configured.
    mac: Option<HmacSha256>,
}

impl AuditChain {
    /// A new chain; the first sealed record gets `seq` 1 and `prev` [`GENESIS_PREV`].
    pub fn new(chain_id: String) -> Self {
        Self {
            id_json: {
                let mut lit = String::new();
                str_lit(&mut lit, &chain_id);
                lit
            },
            chain_id,
            seq: 0,
            prev: GENESIS_PREV.to_owned(),
            mac: None,
        }
    }

    /// A new chain whose lines carry a `mac` under `key` (at least [`MIN_KEY_LEN`] bytes).
    pub fn with_key(chain_id: String, key: &[u8]) -> Result<Self, ChainError> {
        if key.len() < MIN_KEY_LEN {
            return Err(ChainError::ShortKey);
        }
        Ok(Self { mac: Some(HmacSha256::new(key)), ..Self::new(chain_id) })
    }

    /// Whether lines carry a `mac`.
    pub fn is_keyed(&self) -> bool {
        self.mac.is_some()
    }

    /// The chain id.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// `seq` of the last sealed record (0 before the first); also the number sealed.
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// Seals a serialised JSON object (without `chain`, `seq`, `prev`): returns the line to write,
    /// without a trailing newline, and remembers its hash for the next record.
    pub fn seal_object(&mut self, record: &str) -> Result<String, ChainError> {
        let record = record.trim();
        let inner = record.strip_prefix('{').and_then(|r| r.strip_suffix('}')).ok_or(ChainError::NotAnObject)?;
        check_record(record)?;
        Ok(self.seal_members(inner.trim()))
    }

    /// Seals the filter's own audit record. Its serialised form is one JSON object whose top-level
    /// names are `AuditRecord`'s fields, none of them reserved (a unit test checks it), so the
    /// re-parse [`seal_object`](Self::seal_object) does on text from elsewhere is skipped: it was
    /// about 15 % of a 1 KB request's instructions (a 50-member object through the parser's
    /// duplicate-key set, bench/RESULTS.md). Its members are written straight into the line after the
    /// chain's fields (`audit_json`, no serde, no intermediate string).
    pub fn seal_record(&mut self, record: &AuditRecord) -> Result<String, ChainError> {
        let mut line = self.line_head(0);
        line.push(',');
        crate::core::audit_json::write_members(record, &mut line);
        line.push('}');
        Ok(self.seal_line(line))
    }

    /// Seals the members of a checked object (`inner`: its text without the braces).
    fn seal_members(&mut self, inner: &str) -> String {
        let mut line = self.line_head(inner.len() + 2);
        if !inner.is_empty() {
            line.push(',');
            line.push_str(inner);
        }
        line.push('}');
        self.seal_line(line)
    }

    /// `{"chain":…,"seq":…,"prev":"…"` of the next line, with room for `more` bytes.
    fn line_head(&self, more: usize) -> String {
        use std::fmt::Write as _;
        let mut line = String::with_capacity(more + self.id_json.len() + self.prev.len() + 64);
        line.push_str("{\"chain\":");
        line.push_str(&self.id_json);
        let _ = write!(line, ",\"seq\":{}", self.seq.saturating_add(1));
        line.push_str(",\"prev\":\"");
        line.push_str(&self.prev);
        line.push('"');
        line
    }

    /// Adds the `mac` (keyed chains) to a complete line that [`line_head`](Self::line_head) began, and
    /// makes it the chain's last: the next line's `seq` and `prev` follow from it.
    fn seal_line(&mut self, mut line: String) -> String {
        let seq = self.seq.saturating_add(1);
        if let Some(mac) = &self.mac {
            let tag = to_hex(&mac.mac(&[line.as_bytes()]));
            line.pop();
            line.push_str(",\"mac\":\"");
            line.push_str(&tag);
            line.push_str("\"}");
        }
        self.seq = seq;
        self.prev = line_hash(line.as_bytes());
        line
    }
}

/// `prev` of the next record: lower-case hex BLAKE2b-256 (RFC 7693, 32-byte digest, no key; Python's
/// `hashlib.blake2b(line, digest_size=32)`) of a sealed line. A cryptographic hash like the SHA-256 it
/// replaced (same 256-bit output, same 128-bit collision resistance), at about a quarter of its work per byte
/// in wasm (64-bit words, 12 rounds per 128-byte block): hashing the ~1.5 KB line was a quarter of a
/// 1 KB request's instructions with SHA-256 (docs/benchmarks.md, issue 17).
pub(crate) fn line_hash(line: &[u8]) -> String {
    use blake2::{digest::consts::U32, Blake2b, Digest};
    to_hex(&Blake2b::<U32>::digest(line))
}

/// A fresh random chain id: 16 lowercase hex characters from the host's randomness.
pub fn random_chain_id() -> Result<String, ChainError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|_| ChainError::Random)?;
    Ok(to_hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    fn parse(line: &str) -> Map<String, Value> {
        match serde_json::from_str(line).unwrap() {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn it_starts_at_seq_one_with_the_genesis_prev() {
        let mut chain = AuditChain::new("abcd".into());
        let line = chain.seal_object(r#"{"status":200}"#).unwrap();
        assert_eq!(line, format!(r#"{{"chain":"abcd","seq":1,"prev":"{GENESIS_PREV}","status":200}}"#));
        assert_eq!(chain.last_seq(), 1);
    }

    #[test]
    fn it_links_each_record_to_the_hash_of_the_previous_line() {
        let mut chain = AuditChain::new("c1".into());
        let first = chain.seal_object(r#"{"a":1}"#).unwrap();
        let second = chain.seal_object(r#"{ "b" : [1, 2] }"#).unwrap();
        let third = chain.seal_object("{}").unwrap();
        let (second_m, third_m) = (parse(&second), parse(&third));
        assert_eq!(second_m["seq"], 2);
        assert_eq!(second_m["prev"], line_hash(first.as_bytes()));
        assert_eq!(third_m["seq"], 3);
        assert_eq!(third_m["prev"], line_hash(second.as_bytes()));
        assert_eq!(third, format!(r#"{{"chain":"c1","seq":3,"prev":"{}"}}"#, third_m["prev"].as_str().unwrap()));
    }

    #[test]
    fn it_refuses_records_with_reserved_fields_and_leaves_the_chain_unchanged() {
        let mut chain = AuditChain::new("c".into());
        assert_eq!(chain.seal_object(r#"{"seq":9}"#), Err(ChainError::ReservedField("seq")));
        assert_eq!(chain.seal_object(r#"{"x":{"chain":1},"prev":"p"}"#), Err(ChainError::ReservedField("prev")));
        assert_eq!(chain.last_seq(), 0);
        let line = chain.seal_object(r#"{"x":{"chain":1}}"#).unwrap();
        assert_eq!(parse(&line)["seq"], 1);
    }

    #[test]
    fn an_audit_record_seals_like_its_serialised_form_and_never_has_a_reserved_field() {
        let mut full = AuditRecord::new();
        full.request_id = Some("r".into());
        full.spend = Some(crate::core::audit::SpendAudit::default());
        full.response.summary = Some(crate::core::response::ResponseSummary {
            usage_suspect: vec![("cost", "1e999".into())],
            ..Default::default()
        });
        for record in [AuditRecord::new(), full] {
            let json = record.to_json();
            assert_eq!(check_record(&json), Ok(()), "{json}");
            let (mut a, mut b) = (AuditChain::new("r".into()), AuditChain::new("r".into()));
            for _ in 0..2 {
                assert_eq!(a.seal_record(&record).unwrap(), b.seal_object(&json).unwrap());
            }
        }
    }

    #[test]
    fn it_refuses_anything_but_one_json_object() {
        let mut chain = AuditChain::new("c".into());
        for bad in ["", "[]", "-", r#"{"a":}"#, r#"{"a":1}{"b":2}"#, "{\"a\":1} x"] {
            assert_eq!(chain.seal_object(bad), Err(ChainError::NotAnObject), "{bad}");
        }
        assert_eq!(chain.last_seq(), 0);
    }

    #[test]
    fn it_escapes_a_chain_id_into_valid_json() {
        let mut chain = AuditChain::new("we\"ird\n".into());
        let line = chain.seal_object("{}").unwrap();
        assert_eq!(parse(&line)["chain"], "we\"ird\n");
    }

    #[test]
    fn the_chain_id_is_written_as_serde_json_writes_a_string() {
        let id: String = (0u8..0x80).map(char::from).chain("zoë".chars()).collect();
        assert_eq!(AuditChain::new(id.clone()).id_json, serde_json::to_string(&id).unwrap());
    }

    #[test]
    fn a_keyed_chain_ends_every_line_with_the_hmac_of_the_rest() {
        let key = b"0123456789abcdef0123456789abcdef";
        assert!(matches!(AuditChain::with_key("k".into(), &key[..31]), Err(ChainError::ShortKey)));
        let mut chain = AuditChain::with_key("k".into(), key).unwrap();
        assert!(chain.is_keyed());
        let first = chain.seal_object(r#"{"status":200}"#).unwrap();
        let second = chain.seal_object("{}").unwrap();
        for line in [&first, &second] {
            let (body, tag) = line.rsplit_once(",\"mac\":\"").unwrap();
            let unsigned = format!("{body}}}");
            assert_eq!(tag, format!("{}\"}}", to_hex(&HmacSha256::new(key).mac(&[unsigned.as_bytes()]))));
        }
        // The unsigned part is exactly what an unkeyed chain would write; prev hashes the whole line.
        let mut plain = AuditChain::new("k".into());
        assert!(first.starts_with(plain.seal_object(r#"{"status":200}"#).unwrap().trim_end_matches('}')));
        assert_eq!(parse(&second)["prev"], line_hash(first.as_bytes()));
        assert_eq!(chain.seal_object(r#"{"mac":"x"}"#), Err(ChainError::ReservedField("mac")));
        // Another key gives another tag.
        let mut other = AuditChain::with_key("k".into(), b"another key, 32 bytes or more....").unwrap();
        assert_ne!(other.seal_object(r#"{"status":200}"#).unwrap(), first);
    }

    #[test]
    fn it_hashes_lines_with_blake2b_256() {
        // RFC 7693 BLAKE2b with a 32-byte digest (hashlib.blake2b(b"abc", digest_size=32).hexdigest()).
        assert_eq!(line_hash(b"abc"), "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
        assert_eq!(line_hash(b""), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
        let id = random_chain_id().unwrap();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
