//! Deciding whether a request is bound for OpenRouter from its authority or its target cluster,
//! and validating the configured host names (a name that can never match governs nothing).

use crate::core::config::ConfigError;
use crate::core::urlpath::percent_decode;

/// Longest DNS name.
const MAX_HOST: usize = 253;

/// Canonical host of an authority for comparison: lower case, no userinfo, no port, no trailing
/// dot, `%XX` escapes decoded, brackets removed unless they hold an IPv6 address.
/// Any port counts: `openrouter.ai:8443` is still bound for OpenRouter, and failing closed means
/// governing it rather than letting it pass — so every odd spelling Envoy accepts
/// (`openrouter.ai:`, `openrouter.ai:443:443`, `user@openrouter.ai`, `[openrouter.ai]`,
/// `openrouter%2eai`) compares as `openrouter.ai`.
pub(crate) fn canonical_authority(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    let a = a.rsplit_once('@').map_or(a.as_str(), |(_userinfo, h)| h);
    let host = match a.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((inner, _port)) if is_ipv6_literal(&format!("[{inner}]")) => return format!("[{inner}]"),
        Some((inner, _port)) => inner,
        None => a.split(':').next().unwrap_or_default(),
    };
    let host = match percent_decode(host) {
        Some(bytes) if host.contains('%') => String::from_utf8_lossy(&bytes).to_ascii_lowercase(),
        _ => host.to_string(),
    };
    host.trim_end_matches('.').to_string()
}

/// A DNS name: labels of `a-z 0-9 -` (1–63 bytes, no leading or trailing `-`), at most 253 bytes.
fn is_dns_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= MAX_HOST
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// An IPv6 literal in brackets, as an authority carries it.
fn is_ipv6_literal(h: &str) -> bool {
    h.strip_prefix('[').and_then(|r| r.strip_suffix(']')).is_some_and(|inner| {
        inner.contains(':') && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    })
}

/// One configured host: an exact name, or `*.domain` (any name below `domain`, not `domain` itself).
enum HostPattern {
    Exact(String),
    /// `.domain`, the suffix a matching name ends with.
    Below(String),
}

fn host_pattern(raw: &str) -> Result<HostPattern, &'static str> {
    if raw.is_empty() || raw.trim() != raw {
        return Err("not a host name (empty or surrounding spaces)");
    }
    let h = raw.to_ascii_lowercase();
    let h = h.strip_suffix('.').unwrap_or(&h);
    if is_ipv6_literal(h) {
        return Ok(HostPattern::Exact(h.to_string()));
    }
    if h.contains("://") || h.contains('/') {
        return Err("a host name, not a URL (no scheme or path)");
    }
    if h.contains(':') {
        return Err("a host name without a port (every port of a governed host is governed)");
    }
    if let Some(domain) = h.strip_prefix("*.") {
        if !is_dns_name(domain) || !domain.contains('.') {
            return Err("a wildcard must be `*.` followed by a domain of at least two labels, e.g. `*.openrouter.ai`");
        }
        return Ok(HostPattern::Below(format!(".{domain}")));
    }
    if h.contains('*') {
        return Err("a wildcard is allowed only as a leading `*.` (e.g. `*.openrouter.ai`)");
    }
    if !is_dns_name(h) {
        return Err(
            "not a host name: labels of a-z 0-9 - (at most 63 bytes each, 253 in all), or a bracketed IPv6 address",
        );
    }
    Ok(HostPattern::Exact(h.to_string()))
}

/// Compiled matcher for OpenRouter hosts and clusters.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrafficMatcher {
    hosts: Vec<String>,
    /// `.domain` suffixes from `*.domain` entries.
    below: Vec<String>,
    clusters: Vec<String>,
}

impl TrafficMatcher {
    /// Validates and compiles the configured `hosts` and `clusters`; errors name `hosts[i]` /
    /// `clusters[i]`.
    pub(crate) fn compile(hosts: &[String], clusters: &[String]) -> Result<Self, ConfigError> {
        let mut m = Self { clusters: clusters.to_vec(), ..Self::default() };
        for (i, raw) in hosts.iter().enumerate() {
            match host_pattern(raw).map_err(|why| ConfigError::new(format!("hosts[{i}]"), why))? {
                HostPattern::Exact(h) => m.hosts.push(h),
                HostPattern::Below(s) => m.below.push(s),
            }
        }
        for (i, c) in clusters.iter().enumerate() {
            if c.is_empty() || c.trim() != c {
                return Err(ConfigError::new(format!("clusters[{i}]"), "empty cluster name or surrounding spaces"));
            }
        }
        Ok(m)
    }

    /// Whether a request with this authority, routed to this cluster, is bound for OpenRouter (the
    /// adapter asks [`Self::host_is_governed`] and [`Self::cluster_is_governed`] apart).
    #[cfg(test)]
    pub(crate) fn is_governed(&self, authority: Option<&str>, cluster: Option<&str>) -> bool {
        self.host_is_governed(authority) || self.cluster_is_governed(cluster)
    }

    /// Whether this authority alone makes a request governed.
    pub(crate) fn host_is_governed(&self, authority: Option<&str>) -> bool {
        authority.is_some_and(|a| {
            let h = canonical_authority(a);
            self.hosts.contains(&h) || self.below.iter().any(|s| h.len() > s.len() && h.ends_with(s.as_str()))
        })
    }

    /// Whether this upstream cluster alone makes a request governed.
    pub(crate) fn cluster_is_governed(&self, cluster: Option<&str>) -> bool {
        cluster.is_some_and(|c| self.clusters.iter().any(|k| k == c))
    }

    /// Whether any cluster is configured (else the cluster need not be looked up).
    pub(crate) fn has_clusters(&self) -> bool {
        !self.clusters.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn m() -> TrafficMatcher {
        TrafficMatcher::compile(&strings(&["openrouter.ai", "eu.openrouter.ai"]), &strings(&["openrouter"])).unwrap()
    }

    #[test]
    fn host_spellings_are_all_governed() {
        for a in [
            "openrouter.ai",
            "OpenRouter.AI",
            "openrouter.ai:443",
            "openrouter.ai.",
            "OPENROUTER.AI.:443",
            " openrouter.ai ",
            "eu.openrouter.ai:80",
            "openrouter.ai:8443",
            "openrouter.ai:",
            "openrouter.ai:443:443",
            "user@openrouter.ai",
            "a@b@openrouter.ai:443",
            "[openrouter.ai]",
            "[OpenRouter.ai]:443",
            "openrouter%2eai",
            "openrouter%2Eai.:443",
        ] {
            assert!(m().is_governed(Some(a), None), "{a}");
        }
    }

    #[test]
    fn other_hosts_and_ports_pass() {
        for a in [
            "example.com",
            "openrouter.ai.evil.com",
            "evilopenrouter.ai",
            "openrouter.ai-x",
            "us.openrouter.ai",
            "openrouter.ai@example.com",
            "[::1]:443",
        ] {
            assert!(!m().is_governed(Some(a), None), "{a}");
        }
    }

    #[test]
    fn cluster_governs_local_listener_traffic() {
        assert!(m().is_governed(Some("127.0.0.1:10000"), Some("openrouter")));
        assert!(!m().is_governed(Some("127.0.0.1:10000"), Some("other")));
        assert!(!m().is_governed(None, None));
    }

    #[test]
    fn leading_wildcard_governs_every_name_below_the_domain_only() {
        let w = TrafficMatcher::compile(&strings(&["*.OpenRouter.ai."]), &[]).unwrap();
        for a in ["eu.openrouter.ai", "us.openrouter.ai:443", "a.b.openrouter.ai.", "US.OPENROUTER.AI"] {
            assert!(w.host_is_governed(Some(a)), "{a}");
        }
        for a in ["openrouter.ai", "evilopenrouter.ai", "openrouter.ai.evil.com", ".openrouter.ai"] {
            assert!(!w.host_is_governed(Some(a)), "{a}");
        }
    }

    #[test]
    fn host_names_that_could_never_match_are_refused_with_their_path() {
        for (bad, why) in [
            ("openrouter.ai:https", "port"),
            ("openrouter.ai:443", "port"),
            ("https://openrouter.ai", "URL"),
            ("openrouter.ai/api", "URL"),
            ("*openrouter.ai", "wildcard"),
            ("open*.ai", "wildcard"),
            ("*.ai", "two labels"),
            ("*", "wildcard"),
            ("", "empty"),
            (" openrouter.ai", "spaces"),
            ("open router.ai", "not a host name"),
            ("-openrouter.ai", "not a host name"),
            ("openrouter..ai", "not a host name"),
            ("openrouter_ai", "not a host name"),
            ("ópenrouter.ai", "not a host name"),
            ("[::1", "port"),
        ] {
            let e = TrafficMatcher::compile(&strings(&["openrouter.ai", bad]), &[]).unwrap_err();
            assert_eq!(e.path, "hosts[1]", "{bad:?}");
            assert!(e.message.contains(why), "{bad:?}: {}", e.message);
        }
        let e = TrafficMatcher::compile(&[], &strings(&["openrouter", ""])).unwrap_err();
        assert_eq!(e.path, "clusters[1]");
        assert!(TrafficMatcher::compile(&strings(&["[::1]", "127.0.0.1", "OpenRouter.AI."]), &[]).is_ok());
    }
}
