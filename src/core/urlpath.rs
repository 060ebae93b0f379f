//! The request path as the upstream will read it: percent-decoded, backslashes as slashes, empty
//! and dot segments removed (RFC 3986 §5.2.4), so the path the filter classifies is the path it
//! forwards. Anything that would still be ambiguous after that is refused, never guessed at.

/// A normalised request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NormalPath {
    /// The normalised path (starts with `/`; no `%`, `;`, `\`, empty or dot segments).
    pub path: String,
    /// The query string including its `?`, exactly as sent (empty when there is none).
    pub(crate) query: String,
}

impl NormalPath {
    /// The `:path` to forward: the normalised path and the original query.
    pub(crate) fn target(&self) -> String {
        format!("{}{}", self.path, self.query)
    }
}

/// Why a path cannot be classified safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// Not an origin-form path (`*`, absolute URL, empty).
    NotOriginForm,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// After decoding, a byte that has no single meaning in a path: `%` (double encoding), `?`,
    /// `#`, `;` (path parameters), spaces, controls, non-ASCII and other non-`pchar` bytes.
    AmbiguousByte,
    /// A `..` segment above the root.
    AboveRoot,
}

impl PathError {
    /// Client-facing explanation (never echoes the path).
    pub(crate) fn message(self) -> &'static str {
        match self {
            PathError::NotOriginForm => "the request path must start with `/`",
            PathError::BadEscape => "the request path has a `%` that is not followed by two hex digits",
            PathError::AmbiguousByte => {
                "the request path has a character that is not accepted through the gateway (e.g. `;`, an encoded `%`, `?` or `#`, a space, a control or non-ASCII byte)"
            }
            PathError::AboveRoot => "the request path climbs above the root with `..`",
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Bytes a decoded path may hold: RFC 3986 `pchar` without `%` and `;`, plus `/`.
fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@/".contains(&b)
}

/// Decodes every `%XX` escape of `s` once; `None` when a `%` is not followed by two hex digits.
pub(crate) fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let h = b.get(i + 1).and_then(|x| hex(*x))?;
            let l = b.get(i + 2).and_then(|x| hex(*x))?;
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Some(out)
}

/// Normalises a `:path` header value.
pub(crate) fn normalize(raw: &str) -> Result<NormalPath, PathError> {
    let (path, query) = match raw.find('?') {
        Some(i) => (raw.get(..i).unwrap_or_default(), raw.get(i..).unwrap_or_default()),
        None => (raw, ""),
    };
    if !path.starts_with('/') {
        return Err(PathError::NotOriginForm);
    }
    // Decode every escape once; `\` is `/` to WHATWG-style servers, so it is one here too.
    let mut decoded = percent_decode(path).ok_or(PathError::BadEscape)?;
    for b in &mut decoded {
        if *b == b'\\' {
            *b = b'/';
        }
        if !plain(*b) {
            return Err(PathError::AmbiguousByte);
        }
    }
    // Every byte is ASCII here, so this cannot fail.
    let decoded = String::from_utf8(decoded).map_err(|_| PathError::AmbiguousByte)?;
    let mut out: Vec<&str> = Vec::new();
    let mut trailing = false;
    for seg in decoded.split('/').skip(1) {
        trailing = true;
        match seg {
            "" | "." => {}
            ".." => {
                out.pop().ok_or(PathError::AboveRoot)?;
            }
            s => {
                out.push(s);
                trailing = false;
            }
        }
    }
    let mut p = String::with_capacity(decoded.len());
    for s in &out {
        p.push('/');
        p.push_str(s);
    }
    if trailing || out.is_empty() {
        p.push('/');
    }
    Ok(NormalPath { path: p, query: query.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(raw: &str) -> Result<String, PathError> {
        normalize(raw).map(|p| p.target())
    }

    #[test]
    fn dot_segments_escapes_backslashes_and_empty_segments_are_resolved() {
        for (raw, want) in [
            ("/api/v1/chat/completions", "/api/v1/chat/completions"),
            ("/api/v1/chat/completions?x=%2e%2e/y", "/api/v1/chat/completions?x=%2e%2e/y"),
            ("/api/v1/x/../chat/completions", "/api/v1/chat/completions"),
            ("/api/v1/x/%2e%2e/chat/completions", "/api/v1/chat/completions"),
            ("/api/v1/x/%2E%2e/chat/completions", "/api/v1/chat/completions"),
            ("/api/v1/x/.%2E/chat/completions", "/api/v1/chat/completions"),
            ("/api/v1/x/..\\chat/completions", "/api/v1/chat/completions"),
            ("/api/v1\\chat\\completions", "/api/v1/chat/completions"),
            ("/api/v1/x%5c..%5cchat/completions", "/api/v1/chat/completions"),
            ("/api/v1/x%2f..%2fchat%2Fcompletions", "/api/v1/chat/completions"),
            ("//api//v1///chat/completions", "/api/v1/chat/completions"),
            ("/api/./v1/./chat/completions/.", "/api/v1/chat/completions/"),
            ("/api/v1/chat/completions/", "/api/v1/chat/completions/"),
            ("/api/v1/chat/x/..", "/api/v1/chat/"),
            ("/api/v1/%63hat/%43ompletions", "/api/v1/chat/Completions"),
            ("/", "/"),
            ("/..a/...", "/..a/..."),
            ("/api/v1/models/openai/gpt-4o:free/endpoints", "/api/v1/models/openai/gpt-4o:free/endpoints"),
        ] {
            assert_eq!(n(raw), Ok(want.to_string()), "{raw}");
        }
    }

    #[test]
    fn what_cannot_be_classified_safely_is_refused() {
        for (raw, e) in [
            ("api/v1/chat/completions", PathError::NotOriginForm),
            ("*", PathError::NotOriginForm),
            ("http://openrouter.ai/api/v1/chat/completions", PathError::NotOriginForm),
            ("", PathError::NotOriginForm),
            ("/api/v1/chat/completions%", PathError::BadEscape),
            ("/api/v1/chat/completions%2", PathError::BadEscape),
            ("/api/v1/chat/completions%zz", PathError::BadEscape),
            ("/api/v1/chat/completions;x", PathError::AmbiguousByte),
            ("/api/v1/x;/../chat/completions", PathError::AmbiguousByte),
            ("/api/v1/chat/completions%3bx", PathError::AmbiguousByte),
            ("/api/v1/x/%252e%252e/chat/completions", PathError::AmbiguousByte),
            ("/api/v1/chat/completions%3F", PathError::AmbiguousByte),
            ("/api/v1/chat/completions%23", PathError::AmbiguousByte),
            ("/api/v1/chat/completions#x", PathError::AmbiguousByte),
            ("/api/v1/chat completions", PathError::AmbiguousByte),
            ("/api/v1/chat%20completions", PathError::AmbiguousByte),
            ("/api/v1/chat/completions%00", PathError::AmbiguousByte),
            ("/api/v1/chat/complétions", PathError::AmbiguousByte),
            ("/api/v1/chat/compl%C3%A9tions", PathError::AmbiguousByte),
            ("/../api/v1/chat/completions", PathError::AboveRoot),
            ("/api/../../v1/chat/completions", PathError::AboveRoot),
            ("/%2e%2e/api/v1/chat/completions", PathError::AboveRoot),
        ] {
            assert_eq!(normalize(raw), Err(e), "{raw}");
        }
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for raw in ["/api/v1/x/%2e%2e/chat/completions?q=1", "//a/./b/../c/", "/a\\b%2fc"] {
            let once = n(raw).unwrap();
            assert_eq!(n(&once).unwrap(), once);
        }
    }
}
