//! The host of an `https://` URL as the WHATWG URL standard reads it — the parser Forge's Node
//! runtime (`fetch`, `new URL`) uses. Anything deciding *where a request goes* (webhook and HTTP
//! step targets, the relay URL) must agree with that parser, or a URL such as
//! `https://evil.com\@hooks.ardsaor.io/` passes a check as one host and is sent to another.
//!
//! Only what the app needs: the special scheme `https`, a domain host (IP literals, non-ASCII
//! and percent-encoded hosts are refused rather than normalised), an optional port. host-sim
//! checks this module against the `url` crate (a full WHATWG implementation) on a hostile corpus.

/// The Forge variable naming the ArdSaor Core relay (connected provisioning).
pub const ENV_CORE_URL: &str = "ARDSAOR_CORE_URL";

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    NotHttps,
    NoHost,
    /// Credentials in the URL (`user:pass@`): never sent to customer endpoints.
    Userinfo,
    /// An IP literal, a non-ASCII or percent-encoded host, or a forbidden code point.
    BadHost(String),
    BadPort,
}

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlError::NotHttps => write!(f, "an https:// URL is required"),
            UrlError::NoHost => write!(f, "the URL has no host"),
            UrlError::Userinfo => write!(f, "credentials in the URL are not allowed"),
            UrlError::BadHost(h) => write!(f, "{h:?} is not a host name the app can reach"),
            UrlError::BadPort => write!(f, "the port is not a number 1-65535"),
        }
    }
}

/// A parsed `https` URL: the lower-case host, the port if one was written (443 is dropped, as
/// WHATWG does), and everything after the authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl {
    pub host: String,
    pub port: Option<u16>,
    pub rest: String,
}

/// Parses `input` the way WHATWG does for the parts that pick the destination.
pub fn parse(input: &str) -> Result<HttpsUrl, UrlError> {
    // Leading/trailing C0 controls and spaces are stripped; ASCII tab and newline are removed
    // everywhere (WHATWG "basic URL parser", before any state runs).
    let trimmed = input.trim_matches(|c: char| c <= ' ');
    let cleaned: String = trimmed
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let (scheme, after) = cleaned.split_once(':').ok_or(UrlError::NotHttps)?;
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(UrlError::NotHttps);
    }
    // Special schemes: any run of `/` and `\` before the authority is skipped.
    let after = after.trim_start_matches(['/', '\\']);
    // The authority ends at the first `/`, `\` (special schemes), `?` or `#`.
    let end = after.find(['/', '\\', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    // The *last* `@` ends the userinfo.
    if authority.contains('@') {
        return Err(UrlError::Userinfo);
    }
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority.starts_with('[') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 5 => {
            match p.parse::<u32>() {
                Ok(443) => None,
                Ok(n @ 1..=65535) => Some(n as u16),
                _ => return Err(UrlError::BadPort),
            }
        }
        Some(_) => return Err(UrlError::BadPort),
    };
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let bad = || UrlError::BadHost(host.to_string());
    if !host.is_ascii() || host.starts_with('[') {
        return Err(bad());
    }
    const FORBIDDEN: &[u8] = b" #%/:<>?@[\\]^|\x7f";
    if host
        .bytes()
        .any(|b| b < 0x20 || FORBIDDEN.contains(&b) || b == b'*')
    {
        return Err(bad());
    }
    let host = host.to_ascii_lowercase();
    // Empty labels (`a..b`, a trailing dot) and labels WHATWG would read as IPv4 numbers
    // (`127.1`, `0x7f`, `2130706433`) are refused: customer endpoints are named hosts.
    let labels: Vec<&str> = host.split('.').collect();
    if labels.iter().any(|l| l.is_empty() || l.len() > 63) || host.len() > 253 {
        return Err(bad());
    }
    let last = labels.last().copied().unwrap_or("");
    let numeric = |l: &str| {
        !l.is_empty()
            && (l.bytes().all(|b| b.is_ascii_digit())
                || ((l.starts_with("0x") || l.starts_with("0X"))
                    && l[2..].bytes().all(|b| b.is_ascii_hexdigit())))
    };
    if numeric(last) {
        return Err(bad());
    }
    if !labels.iter().all(|l| {
        l.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return Err(bad());
    }
    Ok(HttpsUrl {
        host,
        port,
        rest: rest.to_string(),
    })
}

/// Does `host` match an egress-style pattern (`api.openai.com`, `*.ardsaor.io`)? A wildcard
/// covers subdomains only, never the bare parent.
pub fn host_matches(host: &str, pattern: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(parent) => host.len() > parent.len() + 1 && host.ends_with(&format!(".{parent}")),
        None => host == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backslash_ends_the_authority_like_node() {
        // Node sends this to evil.com: the backslash ends the authority before the `@`.
        assert_eq!(
            parse("https://evil.com\\@hooks.ardsaor.io/").unwrap().host,
            "evil.com"
        );
        assert_eq!(
            parse("https://evil.com\\hooks.ardsaor.io/").unwrap().host,
            "evil.com"
        );
    }

    #[test]
    fn hosts_are_read_as_whatwg_does() {
        let h = |u: &str| parse(u).map(|x| x.host);
        assert_eq!(h("HTTPS://Hooks.ArdSaor.IO/x").unwrap(), "hooks.ardsaor.io");
        assert_eq!(h("https:\\\\hooks.ardsaor.io").unwrap(), "hooks.ardsaor.io");
        assert_eq!(h("  https://a.ardsaor.io/\t").unwrap(), "a.ardsaor.io");
        assert_eq!(h("https://a.ard\nsaor.io/").unwrap(), "a.ardsaor.io");
        assert_eq!(
            h("https://a.ardsaor.io?x=@evil.com").unwrap(),
            "a.ardsaor.io"
        );
        assert_eq!(h("https://a.ardsaor.io#@evil.com").unwrap(), "a.ardsaor.io");
        assert_eq!(parse("https://a.ardsaor.io:443/").unwrap().port, None);
        assert_eq!(
            parse("https://a.ardsaor.io:8443/").unwrap().port,
            Some(8443)
        );
        for bad in [
            "http://a.ardsaor.io/",
            "https://user:pw@a.ardsaor.io/",
            "https://a.ardsaor.io@evil.com/",
            "https://127.0.0.1/",
            "https://0x7f.1/",
            "https://[::1]/",
            "https://a.ardsaor.io./",
            "https://a%2eardsaor.io/",
            "https://hööks.ardsaor.io/",
            "https://a.ardsaor.io:99999/",
            "https:///",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        assert!(host_matches("hooks.ardsaor.io", "*.ardsaor.io"));
        assert!(!host_matches("ardsaor.io", "*.ardsaor.io"));
        assert!(!host_matches("evilardsaor.io", "*.ardsaor.io"));
        assert!(host_matches("api.openai.com", "api.openai.com"));
    }
}
