//! Where `http.request` may connect: the host allow-list, every resolved address checked before it is connected to, same-origin redirects only, URLs redacted.
//!
//! The policy (`http:` of stave.yaml) is enforced at three points of one reqwest client:
//!
//! - **before sending**: the URL's scheme, its host against `allow_hosts`, and a host that is
//!   an IP address against the address rules (no DNS lookup happens for those);
//! - **in the DNS resolver** the client connects through: the host is resolved here, *every*
//!   address is checked, and the client connects only to the addresses returned — the ones
//!   checked — so a name cannot answer a public address to the check and a private one to
//!   the connection (DNS rebinding);
//! - **in the redirect policy**: a redirect must keep scheme, host and port (so `https` never
//!   becomes `http`, and headers never travel to another host), at most [`MAX_REDIRECTS`].
//!
//! Proxies from the environment (`HTTP_PROXY`…) are not used: a proxy would resolve the
//! destination itself, out of the resolver's sight.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

use crate::ir::HttpSettings;

/// Redirects followed at most; one more is an error.
pub const MAX_REDIRECTS: usize = 5;

/// The stave.yaml keys that lift a denial, named in every [`Denied`].
const FIX_HOST: &str = "http.allow_hosts";
const FIX_PRIVATE: &str = "http.allow_private";

/// Why a request was refused: the host, what it was refused for, and the key that allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub host: String,
    pub reason: String,
    pub fix: String,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "request to `{}` denied: {}; {}",
            self.host, self.reason, self.fix
        )
    }
}

impl std::error::Error for Denied {}

/// The rules, shared by the policy and the resolver inside its client.
#[derive(Debug, Default)]
struct Rules {
    /// Lower-case host names, `*.suffix` patterns and IP addresses (no brackets).
    allow_hosts: Vec<String>,
    allow_private: bool,
}

/// The egress policy of one worker, with the HTTP client that enforces it.
pub struct HttpPolicy {
    rules: Arc<Rules>,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl fmt::Debug for HttpPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpPolicy")
            .field("allow_hosts", &self.rules.allow_hosts)
            .field("allow_private", &self.rules.allow_private)
            .finish()
    }
}

impl HttpPolicy {
    /// The policy of `http:` in stave.yaml.
    pub fn new(settings: &HttpSettings) -> Arc<HttpPolicy> {
        let allow_hosts = settings
            .allow_hosts
            .iter()
            .map(|h| bare_host(&h.trim().to_ascii_lowercase()).to_owned())
            .collect();
        Arc::new(HttpPolicy {
            rules: Arc::new(Rules {
                allow_hosts,
                allow_private: settings.allow_private,
            }),
            client: OnceLock::new(),
        })
    }

    /// The policy of a project without `http:` (any public host, no private address), shared
    /// so its client and connection pool are too.
    pub fn shared_default() -> Arc<HttpPolicy> {
        static DEFAULT: OnceLock<Arc<HttpPolicy>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| HttpPolicy::new(&HttpSettings::default()))
            .clone()
    }

    /// Checks what can be checked before connecting: the scheme, the host against the
    /// allow-list, and a host that is an IP address against the address rules.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Denied> {
        let host = url.host_str().unwrap_or_default();
        let host = bare_host(host);
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Denied {
                host: host.to_owned(),
                reason: format!("the scheme `{}` is not http or https", url.scheme()),
                fix: "call an http:// or https:// URL".into(),
            });
        }
        self.rules.check_host(host)?;
        if let Ok(ip) = host.parse::<IpAddr>() {
            self.rules.check_addr(host, ip)?;
        }
        Ok(())
    }

    /// The client enforcing this policy (built once).
    pub fn client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(|| build_client(self.rules.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Rules {
    /// Whether `host` is named by `allow_hosts` (exactly, or under a `*.` pattern).
    fn listed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allow_hosts
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(suffix) => host
                    .strip_suffix(suffix)
                    .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
                None => *pattern == host,
            })
    }

    fn check_host(&self, host: &str) -> Result<(), Denied> {
        if self.allow_hosts.is_empty() || self.listed(host) {
            return Ok(());
        }
        Err(Denied {
            host: host.to_owned(),
            reason: "the host is not in the project's allow-list".into(),
            fix: format!("add it to `{FIX_HOST}` in stave.yaml"),
        })
    }

    /// A private address is allowed when the host is listed by name or `allow_private` is set.
    fn check_addr(&self, host: &str, ip: IpAddr) -> Result<(), Denied> {
        match non_public(ip) {
            None => Ok(()),
            Some(_) if self.allow_private || self.listed(host) => Ok(()),
            Some(class) => Err(Denied {
                host: host.to_owned(),
                reason: format!("it resolves to {ip}, a {class} address"),
                fix: format!(
                    "list the host in `{FIX_HOST}` (or set `{FIX_PRIVATE}: true`) in stave.yaml if the worker should reach it"
                ),
            }),
        }
    }
}

/// `[::1]` → `::1`; other hosts unchanged.
fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_link_local() {
        // 169.254.0.0/16, where cloud metadata services answer.
        Some("link-local")
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        // RFC 1918, and the carrier-grade NAT range 100.64.0.0/10.
        Some("private")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast()
        || a >= 240
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        Some("reserved")
    } else {
        None
    }
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if let Some(v4) = ip.to_ipv4_mapped() {
        non_public_v4(v4)
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        // NAT64: the IPv4 address is the last 32 bits.
        non_public_v4(Ipv4Addr::from(u128::from(ip) as u32))
    } else if s[0] == 0x2002 {
        // 6to4: the IPv4 address follows the prefix.
        non_public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ))
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfec0 {
        // Unique local, and the deprecated site-local range.
        Some("private")
    } else if (s[0] & 0xff00) == 0xff00 {
        Some("multicast")
    } else if s[0] == 0 || (s[0] == 0x2001 && (s[1] == 0 || s[1] == 0xdb8)) {
        // IPv4-compatible and other ::/16 forms, Teredo, documentation.
        Some("reserved")
    } else {
        None
    }
}

/// `url` for an error message or a log line: no user name or password, every query value
/// `REDACTED` (names are kept: they say what was sent), no fragment.
pub fn redact_url(url: &url::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    if url.query().is_some_and(|q| !q.is_empty()) {
        let names: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for name in &names {
            query.append_pair(name, "REDACTED");
        }
        url.set_query(Some(&query.finish()));
    }
    url.to_string()
}

/// [`redact_url`] for text that may not parse as a URL: everything from the first `?` or `#`
/// and any `user:password@` are cut.
pub fn redact_text(text: &str) -> String {
    if let Ok(url) = url::Url::parse(text) {
        return redact_url(&url);
    }
    let cut = text.find(['?', '#']).unwrap_or(text.len());
    let text = &text[..cut];
    let authority_start = text.find("://").map_or(0, |i| i + 3);
    let authority_end = text[authority_start..]
        .find('/')
        .map_or(text.len(), |i| authority_start + i);
    match text[authority_start..authority_end].rfind('@') {
        Some(at) => format!(
            "{}{}",
            &text[..authority_start],
            &text[authority_start + at + 1..]
        ),
        None => text.to_owned(),
    }
}

/// The DNS resolver of the client: resolves, then refuses the host unless every address
/// passes; the client connects to exactly the addresses returned.
struct CheckingResolver(Arc<Rules>);

impl reqwest::dns::Resolve for CheckingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            rules.check_host(&host)?;
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                rules.check_addr(&host, addr.ip())?;
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

fn build_client(rules: Arc<Rules>) -> Result<reqwest::Client, String> {
    // reqwest is built without a default crypto provider; ring is the one the Temporal
    // client already links. Installing twice is harmless (the first one stays).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(TooManyRedirects);
        }
        let to = attempt.url();
        let same_origin = attempt
            .previous()
            .last()
            .is_some_and(|from| from.origin() == to.origin());
        if same_origin {
            attempt.follow()
        } else {
            let from = attempt
                .previous()
                .last()
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default();
            let denied = Denied {
                host: bare_host(to.host_str().unwrap_or_default()).to_owned(),
                reason: format!(
                    "a redirect from {from} to {} leaves the origin (scheme, host and port must stay the same)",
                    to.origin().ascii_serialization()
                ),
                fix: "call the final URL directly, and allow its host if it is not".into(),
            };
            attempt.error(denied)
        }
    });
    reqwest::Client::builder()
        .user_agent(concat!("stave/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .redirect(redirects)
        .dns_resolver(Arc::new(CheckingResolver(rules)))
        .build()
        .map_err(|e| e.to_string())
}

/// More than [`MAX_REDIRECTS`] redirects.
#[derive(Debug)]
pub struct TooManyRedirects;

impl fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "more than {MAX_REDIRECTS} redirects")
    }
}

impl std::error::Error for TooManyRedirects {}

/// The [`Denied`] somewhere in `error`'s chain of causes, if any.
pub fn denied_in(error: &(dyn std::error::Error + 'static)) -> Option<Denied> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(denied) = e.downcast_ref::<Denied>() {
            return Some(denied.clone());
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str], allow_private: bool) -> Arc<HttpPolicy> {
        HttpPolicy::new(&HttpSettings {
            allow_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            allow_private,
        })
    }

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    #[test]
    fn non_public_addresses_are_classified() {
        for (ip, class) in [
            ("127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            ("100.64.0.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("0.0.0.0", Some("unspecified")),
            ("224.0.0.1", Some("multicast")),
            ("255.255.255.255", Some("reserved")),
            ("::1", Some("loopback")),
            ("::", Some("unspecified")),
            ("fe80::1", Some("link-local")),
            ("fd00::1", Some("private")),
            ("ff02::1", Some("multicast")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("64:ff9b::a00:1", Some("private")),
            ("2002:7f00:1::", Some("loopback")),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
            ("2606:4700::1111", None),
        ] {
            assert_eq!(non_public(ip.parse().unwrap()), class, "{ip}");
        }
    }

    #[test]
    fn allow_list_and_private_addresses() {
        let open = policy(&[], false);
        assert!(open.check_url(&url("https://example.com/")).is_ok());
        let denied = open.check_url(&url("http://127.0.0.1:8080/")).unwrap_err();
        assert_eq!(denied.host, "127.0.0.1");
        assert!(denied.to_string().contains("http.allow_hosts"), "{denied}");
        assert!(open.check_url(&url("http://[::1]/")).is_err());
        assert!(
            open.check_url(&url("http://169.254.169.254/latest"))
                .is_err()
        );

        let listed = policy(
            &["api.example.com", "*.internal.example", "127.0.0.1"],
            false,
        );
        assert!(listed.check_url(&url("https://API.example.com/")).is_ok());
        assert!(
            listed
                .check_url(&url("https://a.b.internal.example/"))
                .is_ok()
        );
        assert!(listed.check_url(&url("https://internal.example/")).is_err());
        assert!(
            listed
                .check_url(&url("https://evilinternal.example/"))
                .is_err()
        );
        assert!(listed.check_url(&url("https://example.com/")).is_err());
        assert!(listed.check_url(&url("http://127.0.0.1:9/")).is_ok());
        assert!(listed.check_url(&url("http://10.0.0.1/")).is_err());

        let private = policy(&[], true);
        assert!(private.check_url(&url("http://10.0.0.1/")).is_ok());
        assert!(private.check_url(&url("ftp://example.com/")).is_err());
    }

    #[test]
    fn listed_names_may_resolve_privately_others_may_not() {
        let rules = Rules {
            allow_hosts: vec!["db.internal".into()],
            allow_private: false,
        };
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        assert!(rules.check_addr("db.internal", ip).is_ok());
        let denied = rules.check_addr("other.example", ip).unwrap_err();
        assert!(
            denied.reason.contains("10.0.0.5, a private address"),
            "{denied}"
        );
        assert!(denied.fix.contains("http.allow_private"), "{denied}");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url(&url("https://user:pw@h.example/p?token=abc&x=1#frag")),
            "https://h.example/p?token=REDACTED&x=REDACTED"
        );
        assert_eq!(
            redact_url(&url("https://h.example/p")),
            "https://h.example/p"
        );
        assert_eq!(
            redact_text("http://u:secret@host:99999/a?k=v"),
            "http://host:99999/a"
        );
        assert_eq!(redact_text("not a url?token=1"), "not a url");
    }
}
