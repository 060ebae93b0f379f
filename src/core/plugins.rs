//! OpenRouter plugins a request uses (`plugins[]`, and the `:online` variant, which is the `web`
//! plugin), and the per-profile policy on them (docs/configuration.md). A plugin sends prompt
//! content to a processor no `provider` field governs (Exa for web search, Mistral for OCR), so a
//! profile that restricts where prompts go allows only the plugins it lists.

use crate::core::config::{ConfigError, PluginRuleConfig, ProviderConfig};
use crate::core::json::{Kind, Node};

/// Search results the `web` plugin fetches when `max_results` is absent (OpenRouter's default).
pub(crate) const DEFAULT_WEB_RESULTS: u64 = 5;

/// One plugin use: its id, the engine it names, and (web search) how many results it fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PluginUse {
    /// Plugin id, lower-cased.
    pub(crate) id: String,
    /// Engine named (`engine`, or `pdf.engine` for `file-parser`), lower-cased; `None`: OpenRouter's default.
    pub(crate) engine: Option<String>,
    /// `max_results` (web search), [`DEFAULT_WEB_RESULTS`] when absent.
    pub(crate) results: u64,
}

/// The plugins a request uses: its `plugins[]`, plus a `web` use for each reachable model with the
/// `:online` variant. `Err` when `plugins` is not a list of objects with a string `id`.
pub(crate) fn uses(root: &Node<'_>, models: &[String]) -> Result<Vec<PluginUse>, ()> {
    let mut out = Vec::new();
    match root.get("plugins").map(|n| &n.kind) {
        None | Some(Kind::Null) => {}
        Some(Kind::Array(items)) => {
            for p in items {
                let id = p.get("id").and_then(Node::as_str).ok_or(())?.trim().to_ascii_lowercase();
                let engine = p
                    .get("engine")
                    .or_else(|| p.get("pdf").and_then(|pdf| pdf.get("engine")))
                    .filter(|e| !matches!(e.kind, Kind::Null));
                let engine = match engine {
                    None => None,
                    Some(e) => Some(e.as_str().ok_or(())?.trim().to_ascii_lowercase()),
                };
                let results = match p.get("max_results").map(|n| &n.kind) {
                    None | Some(Kind::Null) => DEFAULT_WEB_RESULTS,
                    Some(Kind::Number(t)) => t.parse::<u64>().unwrap_or(u64::MAX),
                    Some(_) => return Err(()),
                };
                out.push(PluginUse { id, engine, results });
            }
        }
        Some(_) => return Err(()),
    }
    for m in models {
        if m.split(':').skip(1).any(|v| v == "online") {
            out.push(PluginUse { id: "web".into(), engine: None, results: DEFAULT_WEB_RESULTS });
        }
    }
    Ok(out)
}

/// A profile's compiled `plugins` policy.
#[derive(Debug, Clone, Default)]
pub(crate) struct PluginPolicy {
    /// Allowed (id, engine) pairs, lower-cased; `None`: every plugin.
    allow: Option<Vec<(String, Option<String>)>>,
}

impl PluginPolicy {
    /// Compiles `profiles.<name>.plugins`; without it, a profile whose `provider` restricts where
    /// prompts go allows no plugin and any other profile allows every plugin.
    pub(crate) fn compile(
        cfg: Option<&[PluginRuleConfig]>,
        provider: Option<&ProviderConfig>,
        path: &str,
    ) -> Result<Self, ConfigError> {
        let Some(rules) = cfg else {
            return Ok(Self { allow: restricts_prompts(provider).then(Vec::new) });
        };
        let mut allow = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            allow.push(rule_key(&r.id, r.engine.as_deref(), &format!("{path}[{i}]"))?);
        }
        Ok(Self { allow: Some(allow) })
    }

    /// The first plugin use the policy does not allow; `None` when all are allowed.
    pub(crate) fn denied<'u>(&self, uses: &'u [PluginUse]) -> Option<&'u PluginUse> {
        let allow = self.allow.as_ref()?;
        uses.iter().find(|u| {
            !allow
                .iter()
                .any(|(id, engine)| *id == u.id && engine.as_ref().is_none_or(|e| u.engine.as_ref() == Some(e)))
        })
    }

    /// Whether any plugin may be used (a malformed `plugins` is then refused, not forwarded).
    pub(crate) fn restricted(&self) -> bool {
        self.allow.is_some()
    }
}

/// The `(id, engine)` a configured plugin rule or price names, spelt as [`uses`] reads a request's plugins (trimmed,
/// lower case); an empty id or engine is refused at `at`.
pub(crate) fn rule_key(id: &str, engine: Option<&str>, at: &str) -> Result<(String, Option<String>), ConfigError> {
    let id = id.trim().to_ascii_lowercase();
    if id.is_empty() {
        return Err(ConfigError::new(format!("{at}.id"), "must not be empty"));
    }
    let engine = engine.map(|e| e.trim().to_ascii_lowercase());
    if engine.as_deref() == Some("") {
        return Err(ConfigError::new(format!("{at}.engine"), "must not be empty"));
    }
    Ok((id, engine))
}

/// Whether a profile's `provider` restricts where prompts go: named providers only, zero data
/// retention, no data collection, or a fixed order without fallbacks.
fn restricts_prompts(provider: Option<&ProviderConfig>) -> bool {
    use crate::core::config::DataCollection;
    provider.is_some_and(|p| {
        p.only.is_some()
            || p.zdr == Some(true)
            || p.data_collection == Some(DataCollection::Deny)
            || (p.order.is_some() && p.allow_fallbacks == Some(false))
    })
}

#[cfg(test)]
#[path = "plugins_tests.rs"]
mod tests;
