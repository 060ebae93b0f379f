//! PII and secret detection and redaction.
//!
//! [`Redactor::compile`] turns a profile's [`PiiConfig`] into a ready-to-run engine once, at
//! configuration load; [`Redactor::scan`] then handles one decoded JSON string value per call:
//!
//! 1. [`normalize`]: a folded view when the string holds invisible, fullwidth or other-script
//!    characters (none is made for plain text);
//! 2. [`engine`]: one pass with byte anchors dispatching to [`detectors`], then dictionaries and
//!    custom patterns through one multi-pattern [`dictionary`] automaton;
//! 3. allow-list, overlap resolution, then per-entity actions: `redact` → `[EMAIL]`, `hash` →
//!    `[EMAIL:1a2b3c4d5e6f]` (HMAC-SHA-256, [`hmac`]), `mask` → `[EMAIL_1]` ([`mask`]), `block` → [`PiiTally::blocked`], `flag` →
//!    counted only.
//!
//! Nothing here logs or returns matched values; only the redacted text leaves.

pub(crate) mod custom;
pub(crate) mod detectors;
pub(crate) mod dictionary;
pub(crate) mod engine;
pub(crate) mod entity;
mod fields;
mod fold_table;
pub(crate) mod hmac;
pub(crate) mod mask;
pub(crate) mod normalize;
pub(crate) mod text;
pub(crate) mod validate;

#[cfg(test)]
mod accuracy_tests;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

pub use crate::core::config::{Action, PiiConfig};
pub use entity::Entity;

use crate::core::config::ConfigError;
use custom::CustomPattern;
use detectors::{Enabled, Finding, Kind, Sink};
use dictionary::Automaton;
use engine::{Plan, Target};
use entity::{ENTITY_COUNT, SECRETS_GROUP};
use hmac::HmacSha256;
use normalize::View;
use text::{at, before};

/// Shortest accepted `pseudonym_key`, in bytes.
pub(crate) const MIN_KEY_BYTES: usize = 16;

/// The `pseudonym_key` rule (the policy checks the configured key with it whether or not a
/// profile hashes; [`Redactor::compile`] again for callers that skip the policy).
pub(crate) fn pseudonym_key(key: &[u8]) -> Result<&[u8], ConfigError> {
    if key.len() < MIN_KEY_BYTES {
        return Err(ConfigError::new("pseudonym_key", format!("must be at least {MIN_KEY_BYTES} bytes")));
    }
    Ok(key)
}
/// Longest dictionary term, in bytes.
const MAX_TERM_BYTES: usize = 256;
/// Most custom patterns per profile.
const MAX_CUSTOM: usize = 200;

/// Most passes [`Redactor::scan`] makes over one string (the first plus rescans of its output).
const MAX_PASSES: usize = 4;

/// What one pass of [`Redactor::scan`] did.
enum Pass {
    /// Nothing to rewrite.
    Unchanged,
    /// A `block` finding.
    Blocked,
    /// The rewritten text; `glued` when a placeholder touches [`glue`] (see [`glued_at`]).
    Changed { text: String, glued: bool },
}

/// Whether `x`, a neighbour of a redacted value, may have steered what the detectors decided about
/// the text on its other side, `beyond` being the next byte out. Word characters and non-ASCII
/// always may. Punctuation may when the detectors read it as joining text to the value: `.-+/@%`
/// (e-mail, key and digit-group characters) unless `beyond` ends the run (whitespace, a quote or
/// bracket, `;!?*`, the end of the text), so a sentence's `.` is not glue; `,()` only before a
/// digit (a number's neighbour); `:` only before a hex digit or `:` (a number, an IPv6 address), so
/// `mailto:` is not glue. Nothing else is: `=`, `$` or a space leave the other side's decision as it
/// was.
fn glue(x: u8, beyond: u8) -> bool {
    let ends_run = beyond == 0 || beyond.is_ascii_whitespace() || b"\"'`<>[]{};!?*".contains(&beyond);
    match x {
        b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'_' | 0x80..=0xff => true,
        b'.' | b'-' | b'+' | b'/' | b'@' | b'%' => !ends_run,
        b',' | b'(' | b')' => beyond.is_ascii_digit(),
        b':' => beyond.is_ascii_hexdigit() || beyond == b':',
        _ => false,
    }
}

/// Whether the value `start..end` of `t` touches [`glue`], or starts (ends) with a digit and has
/// another within the three separator bytes a digit cluster may span before (after) it:
/// `1111 1111 [EMAIL]` ended a card-shaped cluster that the value `1111x@ex.com` had continued.
fn glued_at(t: &[u8], start: usize, end: usize) -> bool {
    let digit = |i: usize| at(t, i).is_ascii_digit();
    let left = start.checked_sub(1).map_or(0, |p| before(t, p));
    glue(before(t, start), left)
        || glue(at(t, end), at(t, end + 1))
        || (digit(start) && (2..=4).any(|k| start.checked_sub(k).is_some_and(digit)))
        || (end > start && digit(end - 1) && (1..4).any(|k| digit(end + k)))
}

/// A loopback address (the whole of `127.0.0.0/8`: `127.0.0.1`, systemd-resolved's `127.0.0.53`) or
/// the unspecified `0.0.0.0`: it names the machine the text was written on, so it identifies nobody.
/// (`::1` is never an IPv6 finding: it has too few digits.)
fn local_address(v: &str) -> bool {
    v == "0.0.0.0" || v.strip_prefix("127.").is_some_and(|rest| rest.split('.').count() == 3)
}

/// Counts of findings per entity type and action for one request; never values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PiiTally {
    /// (entity, action, count), in first-seen order.
    pub counts: Vec<(String, &'static str, u64)>,
    /// The first entity whose action is `block`, if any.
    pub blocked: Option<String>,
    /// The request's `mask` placeholders (values: kept in memory only, never printed).
    pub(crate) masks: mask::Masks,
}

impl PiiTally {
    /// Adds one finding of `entity` handled with `action`.
    pub fn add(&mut self, entity: &str, action: &'static str) {
        match self.counts.iter_mut().find(|(e, a, _)| e == entity && *a == action) {
            Some(entry) => entry.2 += 1,
            None => self.counts.push((entity.to_owned(), action, 1)),
        }
    }

    /// Iterates (entity, action, count).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'static str, u64)> {
        self.counts.iter().map(|(e, a, n)| (e.as_str(), *a, *n))
    }

    /// Total findings counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.2).sum()
    }
}

/// One finding of [`Redactor::detect`]: a byte span of the original text and its entity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection<'a> {
    /// Start byte in the original text.
    pub start: usize,
    /// End byte (exclusive) in the original text.
    pub end: usize,
    /// Entity name (`EMAIL`, a custom pattern or dictionary name).
    pub entity: &'a str,
    /// Configured action.
    pub action: Action,
}

/// A compiled, ready-to-run redaction engine for one profile. Cheap to share behind an `Rc`;
/// `Clone` copies the compiled tables.
#[derive(Debug, Clone)]
pub struct Redactor {
    active: bool,
    on: Enabled,
    actions: [Action; ENTITY_COUNT],
    custom: Vec<CustomPattern>,
    fallback: Vec<u16>,
    dicts: Vec<(String, Action)>,
    automaton: Option<Automaton>,
    targets: Vec<Target>,
    allow: HashSet<String>,
    /// See [`PiiConfig::keep_local_addresses`].
    keep_local: bool,
    hmac: Option<HmacSha256>,
    /// Longest dictionary term holding whitespace, in bytes (0: none).
    spaced_term_max: usize,
}

/// Which kinds of finding a profile can report that contain whitespace (or are joined across it),
/// for the streaming output scanner's holdback ([`crate::core::response::outscan`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// Digit clusters with separators: PHONE, US_SSN, CREDIT_CARD, IBAN.
    pub digits: bool,
    /// ADDRESS (starts with a street number).
    pub(crate) address: bool,
    /// PERSON (capitalised words after a cue).
    pub(crate) person: bool,
    /// PRIVATE_KEY (PEM block, BEGIN to END).
    pub(crate) pem: bool,
    /// Keys wrapped across a space or line break (see `secrets::wrapped`).
    pub(crate) wrapped_keys: bool,
    /// Longest dictionary term holding whitespace, in bytes (0: none).
    pub(crate) spaced_term: usize,
    /// Whether custom patterns are configured (a regex may span whitespace).
    pub custom: bool,
}

impl Default for Redactor {
    /// The built-in defaults (same as compiling an absent `pii` object).
    fn default() -> Self {
        let actions = Entity::ALL.map(Entity::default_action);
        Self::from_actions(actions)
    }
}

fn names_list() -> String {
    let mut v: Vec<&str> = Entity::ALL.iter().map(|e| e.name()).collect();
    v.push(SECRETS_GROUP);
    v.join(", ")
}

impl Redactor {
    fn from_actions(actions: [Action; ENTITY_COUNT]) -> Self {
        let flags = actions.map(|a| a != Action::Off);
        Self {
            active: flags.iter().any(|f| *f),
            on: Enabled::from_flags(&flags),
            actions,
            custom: Vec::new(),
            fallback: Vec::new(),
            dicts: Vec::new(),
            automaton: None,
            targets: Vec::new(),
            allow: HashSet::new(),
            keep_local: true,
            hmac: None,
            spaced_term_max: 0,
        }
    }

    /// Compiles `cfg`; `path` is the JSON path of `cfg` in the plugin configuration (e.g.
    /// `profiles.confidential.pii`), used in errors such as `profiles.confidential.pii.custom[2].pattern`.
    /// `pseudonym_key` is the top-level key for the `hash` action.
    pub fn compile(cfg: &PiiConfig, pseudonym_key: Option<&[u8]>, path: &str) -> Result<Self, ConfigError> {
        let mut actions =
            if cfg.builtin_defaults { Entity::ALL.map(Entity::default_action) } else { [Action::Off; ENTITY_COUNT] };
        if let Some(&a) = cfg.entities.get(SECRETS_GROUP) {
            for e in Entity::ALL.iter().filter(|e| e.is_secret()) {
                if let Some(slot) = actions.get_mut(e.index()) {
                    *slot = a;
                }
            }
        }
        for (name, &a) in &cfg.entities {
            if name == SECRETS_GROUP {
                continue;
            }
            let e = Entity::from_name(name).ok_or_else(|| {
                ConfigError::new(
                    format!("{path}.entities.{name}"),
                    format!("unknown entity; expected one of {}", names_list()),
                )
            })?;
            if let Some(slot) = actions.get_mut(e.index()) {
                *slot = a;
            }
        }
        if !cfg.enabled {
            actions = [Action::Off; ENTITY_COUNT];
        }
        let mut r = Self::from_actions(actions);
        if !cfg.enabled {
            return Ok(r);
        }
        let mut hash_users: Vec<String> = Vec::new();
        for (name, &a) in &cfg.entities {
            if a == Action::Hash {
                hash_users.push(format!("{path}.entities.{name}"));
            }
        }
        let mut taken: HashSet<String> = Entity::ALL.iter().map(|e| e.name().to_owned()).collect();
        if cfg.custom.len() > MAX_CUSTOM {
            return Err(ConfigError::new(format!("{path}.custom"), format!("at most {MAX_CUSTOM} patterns")));
        }
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        for (i, c) in cfg.custom.iter().enumerate() {
            let cpath = format!("{path}.custom[{i}]");
            if c.action == Action::Off {
                continue;
            }
            let p = CustomPattern::compile(c, &cpath)?;
            if !taken.insert(p.name.clone()) {
                return Err(ConfigError::new(format!("{cpath}.name"), "name already used by another entity"));
            }
            if c.action == Action::Hash {
                hash_users.push(format!("{cpath}.action"));
            }
            let k = r.custom.len() as u16;
            match &p.prefix {
                Some(prefix) => {
                    patterns.push(prefix.folded.clone());
                    r.targets.push(Target::Prefix(k));
                }
                None => r.fallback.push(k),
            }
            r.custom.push(p);
        }
        for (i, d) in cfg.dictionaries.iter().enumerate() {
            let dpath = format!("{path}.dictionaries[{i}]");
            if !custom::valid_name(&d.name) {
                return Err(ConfigError::new(
                    format!("{dpath}.name"),
                    "must match [A-Z][A-Z0-9_]* and be at most 64 characters",
                ));
            }
            if d.action == Action::Off {
                continue;
            }
            if !taken.insert(d.name.clone()) {
                return Err(ConfigError::new(format!("{dpath}.name"), "name already used by another entity"));
            }
            if d.action == Action::Hash {
                hash_users.push(format!("{dpath}.action"));
            }
            let k = r.dicts.len() as u16;
            for (j, t) in d.terms.iter().enumerate() {
                let term = t.trim();
                if term.is_empty() || term.len() > MAX_TERM_BYTES {
                    return Err(ConfigError::new(
                        format!("{dpath}.terms[{j}]"),
                        format!("terms must be 1 to {MAX_TERM_BYTES} bytes after trimming"),
                    ));
                }
                if term.bytes().any(|c| c.is_ascii_whitespace()) {
                    r.spaced_term_max = r.spaced_term_max.max(term.len());
                }
                // Terms are matched in the normalised view; fold them the same way.
                patterns.push(View::new(term).text().as_bytes().to_ascii_lowercase());
                r.targets.push(Target::Dict(k));
            }
            r.dicts.push((d.name.clone(), d.action));
        }
        if !patterns.is_empty() {
            r.automaton =
                Some(Automaton::build(&patterns).map_err(|m| ConfigError::new(format!("{path}.dictionaries"), m))?);
        }
        r.keep_local = cfg.keep_local_addresses;
        r.allow =
            cfg.allow.iter().map(|a| View::new(a.trim()).text().to_lowercase()).filter(|a| !a.is_empty()).collect();
        if let Some(first) = hash_users.first() {
            match pseudonym_key {
                None => {
                    return Err(ConfigError::new(first, "action `hash` needs a top-level `pseudonym_key`"));
                }
                Some(k) => r.hmac = Some(HmacSha256::new(self::pseudonym_key(k)?)),
            }
        }
        r.active = r.active || !r.custom.is_empty() || !r.dicts.is_empty();
        Ok(r)
    }

    /// Whether any entity's action is `mask`.
    pub fn masks_any(&self) -> bool {
        self.actions.contains(&Action::Mask)
            || self.custom.iter().any(|c| c.action == Action::Mask)
            || self.dicts.iter().any(|d| d.1 == Action::Mask)
    }

    /// Names of the entities (built-in, custom, dictionary) whose action is `mask`.
    pub fn masked_names(&self) -> Vec<String> {
        let builtin = Entity::ALL.iter().filter(|e| self.action(**e) == Action::Mask).map(|e| e.name().to_owned());
        let custom = self.custom.iter().filter(|c| c.action == Action::Mask).map(|c| c.name.clone());
        let dicts = self.dicts.iter().filter(|d| d.1 == Action::Mask).map(|d| d.0.clone());
        builtin.chain(custom).chain(dicts).collect()
    }

    /// Whether any detector is enabled (when false, callers may skip walking text fields).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// What the streaming output scanner must allow for (see [`Reach`]).
    pub fn reach(&self) -> Reach {
        let on = self.on;
        Reach {
            digits: on.any(&[Entity::Phone, Entity::UsSsn, Entity::CreditCard, Entity::Iban]),
            address: on.has(Entity::Address),
            person: on.has(Entity::Person),
            pem: on.has(Entity::PrivateKey),
            wrapped_keys: on.any(&[
                Entity::OpenrouterKey,
                Entity::AnthropicKey,
                Entity::OpenaiKey,
                Entity::GoogleApiKey,
                Entity::GithubToken,
                Entity::SlackToken,
            ]),
            spaced_term: self.spaced_term_max,
            custom: !self.custom.is_empty(),
        }
    }

    /// The action configured for a built-in entity.
    pub fn action(&self, e: Entity) -> Action {
        self.actions.get(e.index()).copied().unwrap_or(Action::Off)
    }

    fn kind_info(&self, k: Kind) -> (&str, Action) {
        match k {
            Kind::Builtin(e) => (e.name(), self.action(e)),
            Kind::Custom(i) => {
                self.custom.get(usize::from(i)).map_or(("CUSTOM", Action::Flag), |c| (c.name.as_str(), c.action))
            }
            Kind::Dict(i) => {
                self.dicts.get(usize::from(i)).map_or(("DICTIONARY", Action::Flag), |d| (d.0.as_str(), d.1))
            }
        }
    }

    /// Detected, allowed-filtered, non-overlapping findings in view coordinates.
    fn findings(&self, view: &View) -> Vec<Finding> {
        self.findings_and_near_miss(view, self.on).0
    }

    /// [`findings`](Self::findings), and whether a candidate was turned down only for want of a
    /// context word ([`Sink::near_miss`]).
    fn findings_and_near_miss(&self, view: &View, on: Enabled) -> (Vec<Finding>, bool) {
        let mut sink = Sink { on, out: Vec::new(), near_miss: false, digits_left: false, quads: false };
        let plan = Plan {
            custom: &self.custom,
            fallback: &self.fallback,
            automaton: self.automaton.as_ref(),
            targets: &self.targets,
        };
        let t = view.text();
        engine::detect(t, &plan, &mut sink);
        let mut found = sink.out;
        if self.keep_local && !found.is_empty() {
            found.retain(|f| {
                f.kind != Kind::Builtin(Entity::IpAddress) || !t.get(f.start..f.end).is_some_and(local_address)
            });
        }
        if !self.allow.is_empty() && !found.is_empty() {
            found.retain(|f| t.get(f.start..f.end).is_none_or(|v| !self.allow.contains(&v.to_lowercase())));
        }
        (self.merge_overlaps(found), sink.near_miss)
    }

    /// Severity of a finding's action: a span that two findings claim gets the stricter one.
    fn severity(&self, k: Kind) -> u8 {
        match self.kind_info(k).1 {
            Action::Block => 4,
            Action::Hash | Action::Redact | Action::Mask => 3,
            Action::Flag => 1,
            Action::Off => 0,
        }
    }

    /// Orders findings and folds overlapping ones into one span with the stricter action (ties:
    /// the more specific entity). Keeping only the leftmost-longest and dropping the rest let a
    /// value leak past its neighbour — a `Bearer` value running into a PEM header hid the whole
    /// private-key block (fuzz finding F7).
    fn merge_overlaps(&self, mut found: Vec<Finding>) -> Vec<Finding> {
        found.sort_unstable_by(|a, b| {
            a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(engine::rank(a.kind).cmp(&engine::rank(b.kind)))
        });
        let mut merged: Vec<Finding> = Vec::with_capacity(found.len());
        for f in found {
            match merged.last_mut() {
                Some(last) if f.start < last.end => {
                    last.end = last.end.max(f.end);
                    let (sf, sl) = (self.severity(f.kind), self.severity(last.kind));
                    if sf > sl || (sf == sl && engine::rank(f.kind) < engine::rank(last.kind)) {
                        last.kind = f.kind;
                    }
                }
                _ => merged.push(f),
            }
        }
        merged
    }

    /// Findings as spans of the original `text` (for tests, benchmarks and accuracy reports).
    pub fn detect(&self, text: &str) -> Vec<Detection<'_>> {
        if !self.active || text.is_empty() {
            return Vec::new();
        }
        let view = View::new(text);
        self.findings(&view)
            .into_iter()
            .map(|f| {
                let (start, end) = view.original_span(f.start, f.end);
                let (entity, action) = self.kind_info(f.kind);
                Detection { start, end, entity, action }
            })
            .collect()
    }

    /// Scans one decoded string. Returns the replacement text when something must change; counts
    /// every finding in `tally`; on a `block` finding sets `tally.blocked` and returns `None`.
    ///
    /// Detectors look at a value's neighbours (a number glued to a word or to more digits is not
    /// a phone number, a word inside a longer word is not a dictionary term). A placeholder
    /// replaces a neighbour with `[…]`, which can turn a rest that was glued to it into a value of
    /// its own: `50364555-5555my` with a custom pattern taking `64555-5555` left `503[ZIPPY]`, and
    /// `004 503644 503` was a PHONE on a second scan (fuzz finding F6). So when a placeholder
    /// lands next to such glue (see [`glue`]), the output is scanned again, up to
    /// [`MAX_PASSES`] times in all; text whose findings are set apart by spaces or brackets, the
    /// usual case, is scanned once.
    pub fn scan(&self, text: &str, tally: &mut PiiTally) -> Option<String> {
        self.scan_with(text, tally, self.on)
    }

    /// [`Redactor::scan`] with the built-in entity `skip` (if any) left out (a header whose
    /// software versions read as IPv4 addresses is scanned without `IP_ADDRESS`, core/head_pii.rs).
    pub(crate) fn scan_without(&self, text: &str, tally: &mut PiiTally, skip: Option<Entity>) -> Option<String> {
        self.scan_with(text, tally, skip.map_or(self.on, |e| self.on.without(e)))
    }

    fn scan_with(&self, text: &str, tally: &mut PiiTally, on: Enabled) -> Option<String> {
        if !self.active || text.is_empty() {
            return None;
        }
        let mut out: Option<String> = None;
        for pass in 0..MAX_PASSES {
            let current = out.as_deref().unwrap_or(text);
            match self.scan_pass(current, tally, pass == 0, on) {
                Pass::Blocked => return None,
                Pass::Unchanged => break,
                Pass::Changed { text, glued } => {
                    out = Some(text);
                    if !glued {
                        break;
                    }
                }
            }
        }
        out
    }

    /// One pass of [`Redactor::scan`]. Findings whose action only counts (`flag`) are still in
    /// the text on a later pass, so they are counted on the first pass only.
    fn scan_pass(&self, text: &str, tally: &mut PiiTally, first: bool, on: Enabled) -> Pass {
        let view = View::new(text);
        let (found, near_miss) = self.findings_and_near_miss(&view, on);
        if found.is_empty() {
            return Pass::Unchanged;
        }
        let vt = view.text().as_bytes();
        let mut out: Option<String> = None;
        let mut glued = false;
        let mut copied = 0usize;
        for f in &found {
            let (name, action) = self.kind_info(f.kind);
            if first || matches!(action, Action::Block | Action::Redact | Action::Hash | Action::Mask) {
                tally.add(name, action.as_str());
            }
            match action {
                Action::Block => {
                    if tally.blocked.is_none() {
                        tally.blocked = Some(name.to_owned());
                    }
                    return Pass::Blocked;
                }
                Action::Flag | Action::Off => continue,
                Action::Redact | Action::Hash | Action::Mask => {}
            }
            glued |= glued_at(vt, f.start, f.end);
            let (s, e) = view.original_span(f.start, f.end);
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(text.get(copied..s).unwrap_or(""));
            if action == Action::Mask {
                // The value as the user wrote it (not the folded view): that is what comes back.
                buf.push_str(&tally.masks.placeholder(name, text.get(s..e).unwrap_or("")));
                copied = e;
                continue;
            }
            buf.push('[');
            buf.push_str(name);
            if action == Action::Hash {
                buf.push(':');
                let value = view.text().get(f.start..f.end).unwrap_or("");
                self.push_pseudonym(buf, f.kind, name, value);
            }
            buf.push(']');
            copied = e;
        }
        match out {
            Some(mut buf) => {
                buf.push_str(text.get(copied..).unwrap_or(""));
                // A placeholder changes distances, so a candidate turned down for a context word out
                // of range may be in range now (F8): scan again, as for glue.
                Pass::Changed { text: buf, glued: glued || near_miss }
            }
            None => Pass::Unchanged,
        }
    }

    /// Appends the 12-hex-digit keyed pseudonym of `value` (canonicalised per entity type, so
    /// `415-555-0132` and `(415) 555 0132` share a token).
    fn push_pseudonym(&self, buf: &mut String, kind: Kind, name: &str, value: &str) {
        let canonical: String = match kind {
            Kind::Builtin(Entity::Phone | Entity::UsSsn | Entity::CreditCard) => {
                value.chars().filter(char::is_ascii_digit).collect()
            }
            Kind::Builtin(Entity::Iban) => {
                value.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
            }
            Kind::Builtin(Entity::Email | Entity::IpAddress | Entity::Person | Entity::Address) | Kind::Dict(_) => {
                value.to_lowercase()
            }
            _ => value.to_owned(),
        };
        let Some(h) = &self.hmac else {
            buf.push_str("000000000000");
            return;
        };
        let mac = h.mac(&[name.as_bytes(), &[0], canonical.as_bytes()]);
        crate::core::hex::push_hex(buf, mac.get(..6).unwrap_or(&[]));
    }
}
