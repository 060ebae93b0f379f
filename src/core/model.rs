//! Model policy: the model id grammar (base + variant set), ordered allow/deny rules, and the
//! rule semantics for routers, presets and aliases.
//!
//! Grammar (after trimming and lower-casing):
//!
//! ```text
//! id      = author "/" slug *( ":" variant )
//! author  = [ "~" ] name  |  "@preset"
//! name    = 1*( a-z 0-9 - _ . )          slug = 1*( a-z 0-9 - _ . + )
//! variant = free | extended | exacto | thinking | online | nitro | floor   (each at most once)
//! ```
//!
//! A rule is `base-glob *( ":" variant )`: the base glob (`*` any run, `?` one character, no `:`)
//! is matched against the id's base (`author/slug`), and the rule's variants must all be among the
//! id's. Variants the rule does not name are allowed only when the base glob ends with `*`, so
//! `anthropic/*` covers `anthropic/x:nitro` while `anthropic/x` and `anthropic/x:thinking` are
//! exact. `*:free` therefore matches `a/b:free`, `a/b:free:nitro` and `a/b:nitro:free` alike.
//!
//! Routers (`openrouter/…`), presets (`@preset/…`) and aliases (`~author/…`) resolve server-side to
//! models the filter cannot see: an allow rule matches them only when its pattern names them
//! (starts with `openrouter/`, `@preset/` or `~`). Deny rules match them like any id, so a
//! catch-all `{"deny": "*"}` still denies them.

use crate::core::config::{ConfigError, ModelRuleConfig};
use crate::core::glob::Glob;

/// Longest model id accepted.
const MAX_MODEL_ID: usize = 200;

/// Variant suffixes OpenRouter accepts after a model id, in bit order of [`Variants`].
pub(crate) const VARIANTS: [&str; 7] = ["free", "extended", "exacto", "thinking", "online", "nitro", "floor"];

/// A set of variants (bit `i` = `VARIANTS[i]`).
type Variants = u8;

fn variant_bit(name: &str) -> Option<Variants> {
    VARIANTS.iter().position(|v| *v == name).and_then(|i| 1u8.checked_shl(u32::try_from(i).ok()?))
}

/// Parses `:v1:v2…` parts into a set; `None` on an unknown or repeated variant.
fn variant_set<'a>(parts: impl Iterator<Item = &'a str>) -> Option<Variants> {
    let mut set: Variants = 0;
    for p in parts {
        let bit = variant_bit(p)?;
        if set & bit != 0 {
            return None;
        }
        set |= bit;
    }
    Some(set)
}

/// What an id names: a model, or something resolved server-side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdKind {
    /// An ordinary `author/slug`.
    Model,
    /// `openrouter/…`: a router (auto, free, …) choosing a model itself.
    Router,
    /// `@preset/slug`: server-side settings that can pick any model.
    Preset,
    /// `~author/family-latest`: an alias resolving to the newest model of a family.
    Alias,
}

impl IdKind {
    fn of_base(base: &str) -> Self {
        if base.starts_with("@preset/") {
            IdKind::Preset
        } else if base.starts_with('~') {
            IdKind::Alias
        } else if base.starts_with("openrouter/") {
            IdKind::Router
        } else {
            IdKind::Model
        }
    }

    fn noun(self) -> &'static str {
        match self {
            IdKind::Model => "model",
            IdKind::Router => "router",
            IdKind::Preset => "preset",
            IdKind::Alias => "alias",
        }
    }
}

/// A parsed canonical id: base `author/slug` and its variant set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ModelId<'a> {
    base: &'a str,
    variants: Variants,
    kind: IdKind,
}

fn name_ok(s: &str, extra: &[u8]) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
}

/// Parses a canonical (already lower-cased, trimmed) id; `None` unless it follows the grammar.
fn parse_id(c: &str) -> Option<ModelId<'_>> {
    let mut parts = c.split(':');
    let base = parts.next()?;
    let variants = variant_set(parts)?;
    let (author, slug) = base.split_once('/')?;
    let author_ok = match author.strip_prefix('@') {
        Some(rest) => rest == "preset",
        None => name_ok(author.strip_prefix('~').unwrap_or(author), b"-_."),
    };
    (author_ok && name_ok(slug, b"-_.+")).then(|| ModelId { base, variants, kind: IdKind::of_base(base) })
}

/// Canonical form of a model id: trimmed and lower-cased; `None` unless it follows the grammar in
/// the module docs (one `/`, known variants, each at most once). Refusing anything else
/// (zero-width characters, confusables, spaces, e-mail addresses, bare API keys, unknown or
/// repeated variants) means a spelling trick can never make a denied model look like an allowed
/// one, and keeps stray secrets out of the audit record.
pub(crate) fn canonical_model(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() || t.len() > MAX_MODEL_ID {
        return None;
    }
    let c = t.to_ascii_lowercase();
    parse_id(&c).is_some().then_some(c)
}

/// What kind of id a canonical model id is (`None` if it is not one).
pub(crate) fn id_kind(canonical: &str) -> Option<IdKind> {
    parse_id(canonical).map(|m| m.kind)
}

/// Effect of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Allow the model.
    Allow,
    /// Deny the model.
    Deny,
}

/// One compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    effect: Effect,
    /// Glob over the id's base (`author/slug`).
    base: Glob,
    /// Variants the id must carry.
    variants: Variants,
    /// The base glob ends with `*`: other variants may be present too.
    open: bool,
    /// The special kind this pattern names literally (routers, presets, aliases), if any.
    names: IdKind,
    /// The pattern as configured (normalised), for messages.
    source: String,
}

impl Rule {
    fn matches(&self, id: &ModelId<'_>) -> bool {
        let required = self.variants & !id.variants == 0;
        let extra_ok = self.open || id.variants & !self.variants == 0;
        let named = self.effect == Effect::Deny || id.kind == IdKind::Model || id.kind == self.names;
        required && extra_ok && named && self.base.matches(id.base)
    }
}

/// Ordered, compiled model rules of one profile.
#[derive(Debug, Clone, Default)]
pub struct ModelRules {
    rules: Vec<Rule>,
}

/// The verdict for one model id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVerdict {
    /// Whether the model is allowed.
    pub allowed: bool,
    /// 1-based index of the rule that matched; `None` when no rule matched (default deny).
    pub(crate) rule: Option<usize>,
}

/// Compiles one pattern at JSON path `at`.
fn compile_rule(effect: Effect, raw: &str, at: &str) -> Result<Rule, ConfigError> {
    let p = raw.trim().to_ascii_lowercase();
    if p.is_empty() {
        return Err(ConfigError::new(at, "empty model pattern"));
    }
    if !p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_./:@~+*?".contains(&b)) {
        return Err(ConfigError::new(
            at,
            "model pattern may only contain a-z 0-9 - _ . / : @ ~ + and the wildcards * ?",
        ));
    }
    let mut parts = p.split(':');
    let base_src = parts.next().unwrap_or_default();
    let variants = variant_set(parts).ok_or_else(|| {
        ConfigError::new(
            at,
            format!(
                "after `:` a model pattern names variants, each at most once, from: {} (no wildcards)",
                VARIANTS.join(", ")
            ),
        )
    })?;
    let base = Glob::new(base_src).ok_or_else(|| ConfigError::new(at, "model pattern has no base before `:`"))?;
    let literal_head = base_src.split(['*', '?']).next().unwrap_or_default();
    let names = if literal_head.starts_with("@preset/") {
        IdKind::Preset
    } else if literal_head.starts_with('~') {
        IdKind::Alias
    } else if literal_head.starts_with("openrouter/") {
        IdKind::Router
    } else {
        IdKind::Model
    };
    Ok(Rule { effect, open: base_src.ends_with('*'), base, variants, names, source: p })
}

impl ModelRules {
    /// Compiles the rules at JSON path `path` (e.g. `profiles.x.models`).
    pub fn compile(cfg: &[ModelRuleConfig], path: &str) -> Result<Self, ConfigError> {
        let mut rules = Vec::with_capacity(cfg.len());
        for (i, r) in cfg.iter().enumerate() {
            let (effect, pat, key) = match r {
                ModelRuleConfig::Allow(p) => (Effect::Allow, p, "allow"),
                ModelRuleConfig::Deny(p) => (Effect::Deny, p, "deny"),
            };
            rules.push(compile_rule(effect, pat, &format!("{path}[{i}].{key}"))?);
        }
        Ok(Self { rules })
    }

    /// First matching rule decides; no match (or an id outside the grammar) denies.
    pub fn check(&self, canonical: &str) -> ModelVerdict {
        let Some(id) = parse_id(canonical) else {
            return ModelVerdict { allowed: false, rule: None };
        };
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.matches(&id) {
                return ModelVerdict { allowed: rule.effect == Effect::Allow, rule: Some(i + 1) };
            }
        }
        ModelVerdict { allowed: false, rule: None }
    }

    /// Human description of rule `n` (1-based) for error messages: `deny "*:free"`.
    pub fn describe(&self, n: usize) -> String {
        match n.checked_sub(1).and_then(|i| self.rules.get(i)) {
            Some(Rule { effect: Effect::Allow, source, .. }) => format!("allow \"{source}\""),
            Some(Rule { effect: Effect::Deny, source, .. }) => format!("deny \"{source}\""),
            None => String::new(),
        }
    }

    /// Why `canonical` was denied when no rule matched it.
    pub fn why_unmatched(canonical: &str) -> String {
        match id_kind(canonical) {
            Some(k @ (IdKind::Router | IdKind::Preset | IdKind::Alias)) => format!(
                "no rule matched (default deny; a {} is allowed only by a rule that names it, wildcards do not)",
                k.noun()
            ),
            _ => "no rule matched (default deny)".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(spec: &[(&str, &str)]) -> ModelRules {
        let cfg: Vec<ModelRuleConfig> = spec
            .iter()
            .map(|(k, p)| {
                if *k == "allow" {
                    ModelRuleConfig::Allow(p.to_string())
                } else {
                    ModelRuleConfig::Deny(p.to_string())
                }
            })
            .collect();
        ModelRules::compile(&cfg, "models").unwrap()
    }

    fn allowed(r: &ModelRules, id: &str) -> bool {
        r.check(&canonical_model(id).unwrap()).allowed
    }

    #[test]
    fn first_match_wins_and_no_match_denies() {
        let r = rules(&[("deny", "*:free"), ("allow", "anthropic/*"), ("allow", "openai/gpt-4o*")]);
        assert_eq!(r.check("anthropic/claude-3.5-sonnet"), ModelVerdict { allowed: true, rule: Some(2) });
        assert_eq!(r.check("anthropic/claude-3.5-sonnet:free"), ModelVerdict { allowed: false, rule: Some(1) });
        assert_eq!(r.check("openai/gpt-4o-mini"), ModelVerdict { allowed: true, rule: Some(3) });
        assert_eq!(r.check("openai/o1"), ModelVerdict { allowed: false, rule: None });
        assert_eq!(r.check("openrouter/auto"), ModelVerdict { allowed: false, rule: None });
        assert_eq!(r.describe(1), "deny \"*:free\"");
    }

    #[test]
    fn stacked_variants_match_a_variant_rule_in_any_position() {
        let r = rules(&[("deny", "*:free"), ("allow", "openai/*")]);
        for id in [
            "openai/gpt-oss-20b:free",
            "openai/gpt-oss-20b:free:nitro",
            "openai/gpt-oss-20b:nitro:free",
            "openai/x:online:free:floor",
        ] {
            assert_eq!(r.check(id), ModelVerdict { allowed: false, rule: Some(1) }, "{id}");
        }
        assert!(allowed(&r, "openai/gpt-oss-20b:nitro:online"));
        assert!(allowed(&r, "OpenAI/GPT-OSS-20B:Nitro"));
    }

    #[test]
    fn exact_patterns_are_exact_about_variants_and_open_ones_are_not() {
        let r = rules(&[
            ("allow", "anthropic/claude-3.7-sonnet"),
            ("allow", "anthropic/claude-3.7-sonnet:thinking"),
            ("allow", "openai/gpt-4o*"),
            ("allow", "google/*:nitro"),
        ]);
        assert!(allowed(&r, "anthropic/claude-3.7-sonnet"));
        assert!(allowed(&r, "anthropic/claude-3.7-sonnet:thinking"));
        assert!(!allowed(&r, "anthropic/claude-3.7-sonnet:free"));
        assert!(!allowed(&r, "anthropic/claude-3.7-sonnet:thinking:free"));
        assert!(!allowed(&r, "anthropic/claude-3.7-sonnet:free:thinking"));
        assert!(allowed(&r, "openai/gpt-4o:extended"));
        assert!(allowed(&r, "openai/gpt-4o-mini:nitro:floor"));
        assert!(allowed(&r, "google/gemini:nitro"));
        assert!(allowed(&r, "google/gemini:free:nitro"));
        assert!(!allowed(&r, "google/gemini"));
        assert!(!allowed(&r, "google/gemini:free"));
    }

    #[test]
    fn wildcards_never_allow_routers_presets_or_aliases() {
        let r = rules(&[("allow", "*/claude-*"), ("allow", "*"), ("allow", "?preset/*"), ("allow", "openrouter*")]);
        for id in [
            "@preset/claude-anything",
            "~anthropic/claude-latest",
            "openrouter/auto",
            "openrouter/free",
            "openrouter/claude-x",
        ] {
            assert_eq!(r.check(id), ModelVerdict { allowed: false, rule: None }, "{id}");
        }
        assert!(allowed(&r, "anthropic/claude-3"));
        assert!(ModelRules::why_unmatched("@preset/x").contains("preset is allowed only by a rule that names it"));
        assert!(ModelRules::why_unmatched("openrouter/auto").contains("router"));
        assert_eq!(ModelRules::why_unmatched("a/b"), "no rule matched (default deny)");
        let named = rules(&[("allow", "@preset/support-*"), ("allow", "~anthropic/*"), ("allow", "openrouter/auto")]);
        assert!(allowed(&named, "@preset/support-bot"));
        assert!(!allowed(&named, "@preset/other"));
        assert!(allowed(&named, "~anthropic/claude-latest"));
        assert!(allowed(&named, "openrouter/auto"));
        assert!(!allowed(&named, "openrouter/free"));
    }

    #[test]
    fn deny_wildcards_still_catch_routers_presets_and_aliases() {
        let r = rules(&[("deny", "*"), ("allow", "@preset/x"), ("allow", "openrouter/auto")]);
        assert_eq!(r.check("@preset/x"), ModelVerdict { allowed: false, rule: Some(1) });
        assert_eq!(r.check("openrouter/auto"), ModelVerdict { allowed: false, rule: Some(1) });
        assert_eq!(r.check("~a/b"), ModelVerdict { allowed: false, rule: Some(1) });
    }

    #[test]
    fn empty_rule_list_denies_everything() {
        assert!(!rules(&[]).check("anthropic/claude").allowed);
    }

    #[test]
    fn canonical_model_folds_case_and_whitespace_and_refuses_odd_characters() {
        assert_eq!(canonical_model(" Anthropic/Claude-3.5-Sonnet \n").as_deref(), Some("anthropic/claude-3.5-sonnet"));
        assert_eq!(canonical_model("@preset/My-Preset").as_deref(), Some("@preset/my-preset"));
        assert_eq!(canonical_model("~anthropic/claude-latest").as_deref(), Some("~anthropic/claude-latest"));
        assert_eq!(canonical_model("openai/gpt-oss-20b:free:nitro").as_deref(), Some("openai/gpt-oss-20b:free:nitro"));
        let long = "x/".to_string() + &"x".repeat(199);
        for bad in [
            "",
            "   ",
            "anthropic/\u{200b}claude",
            "anthropic /claude",
            "ａnthropic/claude",
            "a\"b/c",
            &long,
            "claude",
            "john.doe@example.com/x",
            "sk-or-v1-0123456789abcdef",
            "a/b/c",
            "/claude",
            "anthropic/",
            "@other/x",
            "@preset",
            "~/x",
            "a/b:",
            "a/b::free",
            "a/b:free:free",
            "a/b:free:nitro:free",
            "a/b:beta",
            "a/b:fre",
            "a:free/b",
            "a/b:free/c",
        ] {
            assert_eq!(canonical_model(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_patterns_fail_compilation_with_their_path() {
        let e = ModelRules::compile(
            &[ModelRuleConfig::Allow("x".into()), ModelRuleConfig::Deny(" ".into())],
            "profiles.p.models",
        )
        .unwrap_err();
        assert_eq!(e.path, "profiles.p.models[1].deny");
        let e = ModelRules::compile(&[ModelRuleConfig::Allow("anthropic/ claude".into())], "m").unwrap_err();
        assert_eq!(e.path, "m[0].allow");
        for bad in ["*:fre*", "*:*", "*:beta", "*:free:free", ":free", "a/b:", "*:free*"] {
            let e = ModelRules::compile(&[ModelRuleConfig::Deny(bad.into())], "m").unwrap_err();
            assert_eq!(e.path, "m[0].deny", "{bad}");
        }
    }
}
