//! Deciding whether a request is bound for OpenRouter from its authority or its target cluster.

/// Canonical host of an authority for comparison: lower case, no trailing dot, no port.
/// Any port counts: `openrouter.ai:8443` is still bound for OpenRouter, and failing closed means
/// governing it rather than letting it pass.
pub fn canonical_authority(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    let (host, _port) = split_port(&a);
    host.trim_end_matches('.').to_string()
}

fn split_port(a: &str) -> (&str, Option<&str>) {
    // IPv6 literal: [::1]:443
    if a.starts_with('[') {
        return match a.rfind("]:") {
            Some(i) => (a.get(..=i).unwrap_or(a), a.get(i + 2..)),
            None => (a, None),
        };
    }
    match a.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (a, None),
    }
}

/// Compiled matcher for OpenRouter hosts and clusters.
#[derive(Debug, Clone, Default)]
pub struct TrafficMatcher {
    hosts: Vec<String>,
    clusters: Vec<String>,
}

impl TrafficMatcher {
    /// Builds a matcher from configured host names and cluster names.
    pub fn new(hosts: &[String], clusters: &[String]) -> Self {
        Self { hosts: hosts.iter().map(|h| canonical_authority(h)).collect(), clusters: clusters.to_vec() }
    }

    /// Whether a request with this authority, routed to this cluster, is bound for OpenRouter.
    pub fn is_governed(&self, authority: Option<&str>, cluster: Option<&str>) -> bool {
        self.host_is_governed(authority) || self.cluster_is_governed(cluster)
    }

    /// Whether this authority alone makes a request governed.
    pub fn host_is_governed(&self, authority: Option<&str>) -> bool {
        authority.is_some_and(|a| self.hosts.contains(&canonical_authority(a)))
    }

    /// Whether this upstream cluster alone makes a request governed.
    pub fn cluster_is_governed(&self, cluster: Option<&str>) -> bool {
        cluster.is_some_and(|c| self.clusters.iter().any(|k| k == c))
    }

    /// Whether any cluster is configured (else the cluster need not be looked up).
    pub fn has_clusters(&self) -> bool {
        !self.clusters.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> TrafficMatcher {
        TrafficMatcher::new(&["openrouter.ai".into(), "eu.openrouter.ai".into()], &["openrouter".into()])
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
        ] {
            assert!(m().is_governed(Some(a), None), "{a}");
        }
    }

    #[test]
    fn other_hosts_and_ports_pass() {
        for a in ["example.com", "openrouter.ai.evil.com", "evilopenrouter.ai", "openrouter.ai-x"] {
            assert!(!m().is_governed(Some(a), None), "{a}");
        }
    }

    #[test]
    fn cluster_governs_local_listener_traffic() {
        assert!(m().is_governed(Some("127.0.0.1:10000"), Some("openrouter")));
        assert!(!m().is_governed(Some("127.0.0.1:10000"), Some("other")));
        assert!(!m().is_governed(None, None));
    }
}
