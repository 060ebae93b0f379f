//! Model policy: canonical model ids, ordered allow/deny glob rules, and every model a request can reach.

use crate::core::config::{ConfigError, ModelRuleConfig};
use crate::core::glob::Glob;

/// Longest model id accepted.
const MAX_MODEL_ID: usize = 200;

/// Canonical form of a model id: trimmed and lower-cased; `None` unless it has OpenRouter's
/// `author/slug[:variant…]` shape: exactly one `/`, an author of `a-z 0-9 - _ .` optionally
/// prefixed by `~` (alias) or `@` (`@preset`), and a slug of `a-z 0-9 - _ . : +`.
/// Refusing anything else (zero-width characters, confusables, spaces, e-mail addresses, bare
/// API keys) means a spelling trick can never make a denied model look like an allowed one, and
/// keeps stray secrets out of the audit record.
pub fn canonical_model(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() || t.len() > MAX_MODEL_ID {
        return None;
    }
    let (author, slug) = t.split_once('/')?;
    let author_body = author.strip_prefix(['~', '@']).unwrap_or(author);
    let author_ok = !author_body.is_empty()
        && author_body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let slug_ok = !slug.is_empty()
        && slug.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'+'));
    (author_ok && slug_ok).then(|| t.to_ascii_lowercase())
}

/// Effect of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Allow the model.
    Allow,
    /// Deny the model.
    Deny,
}

/// Ordered, compiled model rules of one profile.
#[derive(Debug, Clone, Default)]
pub struct ModelRules {
    rules: Vec<(Effect, Glob)>,
}

/// The verdict for one model id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVerdict {
    /// Whether the model is allowed.
    pub allowed: bool,
    /// 1-based index of the rule that matched; `None` when no rule matched (default deny).
    pub rule: Option<usize>,
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
            let glob =
                Glob::new(pat).ok_or_else(|| ConfigError::new(format!("{path}[{i}].{key}"), "empty model pattern"))?;
            let valid = glob.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:@~+*?".contains(&b));
            if !valid {
                return Err(ConfigError::new(
                    format!("{path}[{i}].{key}"),
                    "model pattern may only contain a-z 0-9 - _ . / : @ ~ + and the wildcards * ?",
                ));
            }
            rules.push((effect, glob));
        }
        Ok(Self { rules })
    }

    /// First matching rule decides; no match denies.
    pub fn check(&self, canonical: &str) -> ModelVerdict {
        for (i, (effect, glob)) in self.rules.iter().enumerate() {
            if glob.matches(canonical) {
                return ModelVerdict { allowed: *effect == Effect::Allow, rule: Some(i + 1) };
            }
        }
        ModelVerdict { allowed: false, rule: None }
    }

    /// Human description of rule `n` (1-based) for error messages: `deny "*:free"`.
    pub fn describe(&self, n: usize) -> String {
        match n.checked_sub(1).and_then(|i| self.rules.get(i)) {
            Some((Effect::Allow, g)) => format!("allow \"{}\"", g.as_str()),
            Some((Effect::Deny, g)) => format!("deny \"{}\"", g.as_str()),
            None => String::new(),
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
    fn empty_rule_list_denies_everything() {
        assert!(!rules(&[]).check("anthropic/claude").allowed);
    }

    #[test]
    fn canonical_model_folds_case_and_whitespace_and_refuses_odd_characters() {
        assert_eq!(canonical_model(" Anthropic/Claude-3.5-Sonnet \n").as_deref(), Some("anthropic/claude-3.5-sonnet"));
        assert_eq!(canonical_model("@preset/My-Preset").as_deref(), Some("@preset/my-preset"));
        assert_eq!(canonical_model("~anthropic/claude-latest").as_deref(), Some("~anthropic/claude-latest"));
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
    }
}
