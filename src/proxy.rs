//! Proxies: which way each HTTP request of rolebridge goes, and why.
//!
//! A proxy comes from S3A's `fs.s3a.proxy.*` keys (given to a provider in its Hadoop
//! configuration; they apply to every URL, as S3A applies them to S3) or else from the
//! environment: `https_proxy`/`HTTPS_PROXY` for `https://` URLs, `http_proxy`/`HTTP_PROXY` for
//! `http://` URLs (lower case first). `no_proxy`/`NO_PROXY` alone decides what else goes direct,
//! mostly as curl reads it ([`NoProxy::parse`]): there is no implicit bypass of `localhost` or
//! loopback.
//! Instance metadata and the ECS/EKS container endpoints never go through a proxy: their
//! clients are built without one ([`crate::sts`]), and [`Proxies::route`] sends their addresses
//! (and the hosts the environment moves them to) direct as well.
//!
//! A proxy's password is a secret: [`ProxyUrl`] prints it as `****` everywhere (Display, Debug,
//! messages); only the connector gets it.

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};

/// The addresses of instance metadata (IMDS over IPv4 and IPv6) and of the ECS and EKS Pod
/// Identity credential endpoints (over IPv4 and IPv6): always direct, whatever a proxy setting
/// or NO_PROXY says. Compared as addresses, so `[fd00:ec2::254]`, `169.254.169.254.` and
/// `::ffff:169.254.169.254` are all the same endpoint.
pub const METADATA_HOSTS: [&str; 5] = [
    "169.254.169.254",
    "fd00:ec2::254",
    "169.254.170.2",
    "169.254.170.23",
    "fd00:ec2::23",
];

/// The variables that move the metadata and container endpoints: their hosts go direct too.
pub const METADATA_ENDPOINT_VARS: [&str; 2] = [
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// `host` as a comparable name: no brackets, no trailing dot, lower case; an IPv4 address
/// written as IPv6 (`::ffff:a.b.c.d`) as the IPv4 address.
fn normal_host(host: &str) -> String {
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        Ok(ip) => ip.to_string(),
        Err(_) => bare,
    }
}

/// Whether a URL `[scheme://][user@]host[:port][/...]` is `https` (any scheme but `http://`;
/// without a scheme, `https_without_scheme`), its host and its port (the scheme's if none).
fn url_parts(url: &str, https_without_scheme: bool) -> (bool, &str, u16) {
    let (https, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (!scheme.eq_ignore_ascii_case("http"), rest),
        None => (https_without_scheme, url),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = split_host_port(authority).unwrap_or((authority, None));
    let port = port
        .and_then(|p| p.parse().ok())
        .unwrap_or(if https { 443 } else { 80 });
    (https, host, port)
}

/// Whether `host` (at `port`) is instance metadata or a container credential endpoint: one of
/// [`METADATA_HOSTS`] (any port), or the host and port of a URL in one of
/// [`METADATA_ENDPOINT_VARS`] (`get` reads a variable; the port too, since such an endpoint moved
/// to loopback shares its address with other services).
fn is_metadata(host: &str, port: u16, get: impl Fn(&str) -> Option<String>) -> bool {
    let host = normal_host(host);
    METADATA_HOSTS.iter().any(|m| normal_host(m) == host)
        || METADATA_ENDPOINT_VARS.iter().any(|var| {
            get(var).is_some_and(|url| {
                let (_, h, p) = url_parts(url.trim(), false);
                !h.is_empty() && normal_host(h) == host && p == port
            })
        })
}

/// The variables [`Proxies::from_env`] reads.
pub const ENV_VARS: [&str; 6] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Whether `s` is a host name or an IP address alone (no scheme, no port).
pub fn is_host(s: &str) -> bool {
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok()
        || (!bare.is_empty()
            && bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
}

/// What a password is printed as.
const HIDDEN: &str = "****";

/// An HTTP proxy: `http://` (plain to the proxy) or `https://` (TLS to the proxy), with basic
/// authentication if it has a user.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyUrl {
    pub secure: bool,
    pub host: String,
    pub port: u16,
    user: Option<String>,
    password: Option<String>,
}

impl ProxyUrl {
    pub fn new(secure: bool, host: &str, port: u16) -> Self {
        ProxyUrl {
            secure,
            host: host.to_owned(),
            port,
            user: None,
            password: None,
        }
    }

    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        self.user = Some(user.to_owned());
        self.password = Some(password.to_owned());
        self
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Parses a proxy URL of the environment, `[scheme://][user:password@]host[:port][/]`: the
    /// scheme `http` (the default) or `https`, the port by default 80 or 443 (curl's default is
    /// 1080; name the port to be sure). `var` names the variable in errors; the value itself is
    /// never repeated (it may hold a password).
    pub fn parse(var: &str, text: &str) -> Result<ProxyUrl> {
        let bad = |problem: String, fix: &str| Error::setting(var, problem, fix);
        let form = "Write it as http://HOST:PORT or http://USER:PASSWORD@HOST:PORT \
                    (user and password percent-encoded)";
        let text = text.trim();
        let (secure, rest) = match text.split_once("://") {
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                "http" => (false, rest),
                "https" => (true, rest),
                other => {
                    return Err(bad(
                        format!(
                            "is a proxy URL with the scheme {other}, which rolebridge does not \
                             speak (HTTP proxies only: http:// or https://)"
                        ),
                        "Use an HTTP proxy (http://HOST:PORT), or unset the variable",
                    ))
                }
            },
            None => (false, text),
        };
        let authority = match rest.find('/') {
            Some(i) if rest[i..] != *"/" => {
                return Err(bad(
                    "is a proxy URL with a path; a proxy URL names only the proxy".into(),
                    form,
                ))
            }
            Some(i) => &rest[..i],
            None => rest,
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)
            .ok_or_else(|| bad("is not a proxy URL: it has no valid host".into(), form))?;
        let port = match port {
            None => {
                if secure {
                    443
                } else {
                    80
                }
            }
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(bad(
                        "is a proxy URL whose port is not a number from 1 to 65535".into(),
                        form,
                    ))
                }
            },
        };
        let mut url = ProxyUrl::new(secure, host, port);
        if let Some(userinfo) = userinfo {
            let Some((user, password)) = userinfo.split_once(':') else {
                return Err(bad(
                    "is a proxy URL with a user but no password".into(),
                    "Give both (http://USER:PASSWORD@HOST:PORT) or neither",
                ));
            };
            let (Some(user), Some(password)) = (percent_decode(user), percent_decode(password))
            else {
                return Err(bad(
                    "is a proxy URL whose user or password has a bad percent-encoding".into(),
                    form,
                ));
            };
            if user.is_empty() {
                return Err(bad(
                    "is a proxy URL with a password but no user".into(),
                    "Give both (http://USER:PASSWORD@HOST:PORT) or neither",
                ));
            }
            url = url.with_basic_auth(&user, &password);
        }
        Ok(url)
    }

    /// The URL with the password replaced by `****`: for messages, logs and doctor.
    pub fn redacted(&self) -> String {
        self.render(false)
    }

    /// The URL with the user and password percent-encoded: for the connector only.
    pub(crate) fn with_secret(&self) -> String {
        self.render(true)
    }

    fn render(&self, secret: bool) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        let auth = match (&self.user, &self.password) {
            (Some(u), Some(p)) => {
                let p = if secret {
                    percent_encode(p)
                } else {
                    HIDDEN.to_owned()
                };
                format!("{}:{p}@", percent_encode(u))
            }
            _ => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{auth}{host}:{}", self.port)
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A proxy and where it was set: a variable (`HTTPS_PROXY`) or a key (`fs.s3a.proxy.host`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Proxy {
    pub url: ProxyUrl,
    pub from: String,
}

/// One `NO_PROXY` entry, as curl reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Bypass {
    /// `*`: every host.
    All,
    /// An IP address or a CIDR block (`10.0.0.0/8`), matched against hosts given as addresses.
    Net(IpAddr, u8),
    /// A domain (a leading `.` or `*.` dropped): the name itself and every name under it.
    Domain(String),
}

/// The `NO_PROXY` list: the variable it came from and its entries (each with its text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NoProxy {
    pub from: String,
    entries: Vec<(String, Bypass, Option<u16>)>,
    /// Entries that could not be read, each with why: skipped (curl skips them too), and said.
    pub ignored: Vec<(String, String)>,
}

impl NoProxy {
    /// Parses a `NO_PROXY` value: entries separated by commas or white space; `*` alone (the
    /// whole value) sends every host direct; an IP address or CIDR block, or a domain name
    /// (`example.com` and `.example.com` both match `example.com` and every name under it;
    /// `*.example.com` is read as `.example.com`); an entry may end in `:PORT` to match that port
    /// only. An entry that is none of these (`10.*`, `<local>`, a URL) is skipped, as curl skips
    /// what it cannot match, and kept in [`NoProxy::ignored`] with the reason, for a warning and
    /// for `doctor`: the variable is shared with every other tool of the node, so an entry only
    /// another tool reads must not stop rolebridge.
    pub fn parse(var: &str, text: &str) -> NoProxy {
        let mut no_proxy = NoProxy {
            from: var.to_owned(),
            ..NoProxy::default()
        };
        if text.trim() == "*" {
            no_proxy.entries.push(("*".to_owned(), Bypass::All, None));
            return no_proxy;
        }
        for entry in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            match parse_bypass(entry) {
                Ok((bypass, port)) => no_proxy.entries.push((entry.to_owned(), bypass, port)),
                Err(problem) => {
                    tracing::warn!(
                        "{var}: the entry \"{entry}\" is skipped: it {problem} (entries are a \
                         host or domain, optionally :PORT, an IP address or a CIDR block; * only \
                         as the whole value)"
                    );
                    no_proxy.ignored.push((entry.to_owned(), problem));
                }
            }
        }
        no_proxy
    }

    /// The entry that sends `host` (at `port`) direct, if one does.
    pub fn matching(&self, host: &str, port: u16) -> Option<&str> {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        self.entries
            .iter()
            .find(|(_, bypass, p)| {
                p.is_none_or(|p| p == port)
                    && match bypass {
                        Bypass::All => true,
                        Bypass::Net(net, bits) => ip.is_some_and(|ip| in_net(ip, *net, *bits)),
                        Bypass::Domain(d) => {
                            ip.is_none()
                                && (host == *d
                                    || (host.len() > d.len()
                                        && host.ends_with(d.as_str())
                                        && host.as_bytes()[host.len() - d.len() - 1] == b'.'))
                        }
                    }
            })
            .map(|(text, _, _)| text.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn parse_bypass(entry: &str) -> std::result::Result<(Bypass, Option<u16>), String> {
    if entry == "*" {
        return Err("is *, which sends every host direct only as the whole value".to_owned());
    }
    let lower = entry.to_ascii_lowercase();
    // An address or a block, possibly an IPv6 one in brackets.
    if let Some((net, bits)) = lower.split_once('/') {
        let net = net.trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = net
            .parse()
            .map_err(|_| "is a CIDR block whose address is not an IP address".to_owned())?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let bits: u8 = bits
            .parse()
            .ok()
            .filter(|b| *b <= max)
            .ok_or_else(|| format!("is a CIDR block whose prefix length is not 0 to {max}"))?;
        return Ok((Bypass::Net(ip, bits), None));
    }
    if let Ok(ip) = lower.trim_start_matches('[').trim_end_matches(']').parse() {
        let bits = if matches!(ip, IpAddr::V4(_)) { 32 } else { 128 };
        return Ok((Bypass::Net(ip, bits), None));
    }
    let (host, port) =
        split_host_port(&lower).ok_or_else(|| "is not a host, domain or address".to_owned())?;
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| "has a port that is not a number from 1 to 65535".to_owned())?,
        ),
    };
    if let Ok(ip) = host.parse() {
        let bits = if matches!(ip, IpAddr::V4(_)) { 32 } else { 128 };
        return Ok((Bypass::Net(ip, bits), port));
    }
    let domain = host
        .strip_prefix("*.")
        .unwrap_or(host)
        .trim_start_matches('.')
        .trim_end_matches('.');
    if domain.is_empty()
        || !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    {
        return Err("is not a host, domain or address".to_owned());
    }
    Ok((Bypass::Domain(domain.to_owned()), port))
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        // An IPv4 address written as IPv6 (::ffff:a.b.c.d) against an IPv4 entry.
        (IpAddr::V6(a), IpAddr::V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|a| in_net(IpAddr::V4(a), net, bits)),
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

/// `host[:port]` or `[v6]:port`: the host (without brackets) and the port text, if any.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        return match after {
            "" => Some((host, None)),
            a => Some((host, Some(a.strip_prefix(':')?))),
        };
    }
    let (host, port) = match s.rsplit_once(':') {
        // A bare IPv6 address has colons but no port.
        Some(_) if s.parse::<std::net::Ipv6Addr>().is_ok() => (s, None),
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '*'));
    ok.then_some((host, port))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The way one request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Direct, and why (no proxy set, a NO_PROXY entry, instance metadata).
    Direct(String),
    /// Through this proxy, and why.
    Via(Proxy, String),
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Direct(why) => write!(f, "direct ({why})"),
            Route::Via(p, why) => write!(f, "via proxy {} ({why})", p.url),
        }
    }
}

/// The proxies of one STS target (and of the command's S3 calls): for `http://` and `https://`
/// URLs, and the NO_PROXY list. Empty: every request goes direct.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Proxies {
    pub http: Option<Proxy>,
    pub https: Option<Proxy>,
    pub no_proxy: NoProxy,
}

impl Proxies {
    /// The proxies the environment names, as curl reads them (lower-case variables first; an
    /// empty variable is unset); `get` reads a variable.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Proxies> {
        let first = |names: [&str; 2]| {
            names.into_iter().find_map(|n| {
                get(n)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (n.to_owned(), v))
            })
        };
        let proxy = |names| -> Result<Option<Proxy>> {
            first(names)
                .map(|(from, v)| {
                    Ok(Proxy {
                        url: ProxyUrl::parse(&from, &v)?,
                        from,
                    })
                })
                .transpose()
        };
        let http = proxy(["http_proxy", "HTTP_PROXY"])?;
        let https = proxy(["https_proxy", "HTTPS_PROXY"])?;
        // NO_PROXY only matters beside a proxy: without one it is not read at all.
        let no_proxy = match first(["no_proxy", "NO_PROXY"]) {
            Some((from, v)) if http.is_some() || https.is_some() => NoProxy::parse(&from, &v),
            _ => NoProxy::default(),
        };
        Ok(Proxies {
            http,
            https,
            no_proxy,
        })
    }

    /// One proxy for every URL (S3A's `fs.s3a.proxy.*`), with the NO_PROXY list.
    pub fn one(proxy: Proxy, no_proxy: NoProxy) -> Proxies {
        Proxies {
            http: Some(proxy.clone()),
            https: Some(proxy),
            no_proxy,
        }
    }

    /// Whether some request may go through a proxy.
    pub fn any(&self) -> bool {
        self.http.is_some() || self.https.is_some()
    }

    /// The way a request to `url` (`scheme://host[:port]/...`) goes.
    pub fn route(&self, url: &str) -> Route {
        self.route_with(url, |k| std::env::var(k).ok())
    }

    /// [`Proxies::route`] with the metadata endpoint variables read by `get`.
    fn route_with(&self, url: &str, get: impl Fn(&str) -> Option<String>) -> Route {
        let (https, host, port) = url_parts(url, true);
        self.route_to(https, host, port, get)
    }

    /// The way a request to `host` at `port` goes (`https`: an `https://` URL).
    fn route_to(
        &self,
        https: bool,
        host: &str,
        port: u16,
        get: impl Fn(&str) -> Option<String>,
    ) -> Route {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if is_metadata(host, port, get) {
            return Route::Direct(format!(
                "{bare} is instance or container metadata, never proxied"
            ));
        }
        let (proxy, vars) = if https {
            (&self.https, "HTTPS_PROXY")
        } else {
            (&self.http, "HTTP_PROXY")
        };
        let Some(proxy) = proxy else {
            return Route::Direct(format!(
                "no proxy set: neither fs.s3a.proxy.host nor {vars}"
            ));
        };
        if let Some(entry) = self.no_proxy.matching(host, port) {
            return Route::Direct(format!(
                "{} entry \"{entry}\" matches {bare}",
                self.no_proxy.from
            ));
        }
        Route::Via(
            proxy.clone(),
            format!("{} set{}", proxy.from, self.no_proxy_note(bare)),
        )
    }

    fn no_proxy_note(&self, host: &str) -> String {
        if self.no_proxy.from.is_empty() {
            " and no NO_PROXY".to_owned()
        } else {
            format!(", and no {} entry matches {host}", self.no_proxy.from)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    fn setting_key(r: Result<impl fmt::Debug>) -> (String, String) {
        match r {
            Err(Error::Setting { key, problem, fix }) => (key, format!("{problem}. {fix}")),
            other => panic!("expected a setting error, got {other:?}"),
        }
    }

    #[test]
    fn parses_proxy_urls() {
        let u = ProxyUrl::parse("HTTP_PROXY", "http://proxy.corp:3128").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port),
            (false, "proxy.corp", 3128)
        );
        let u = ProxyUrl::parse("HTTP_PROXY", "proxy.corp:3128/").unwrap();
        assert_eq!((u.secure, u.port), (false, 3128));
        let u = ProxyUrl::parse("HTTPS_PROXY", "https://proxy.corp").unwrap();
        assert_eq!((u.secure, u.port), (true, 443));
        let u = ProxyUrl::parse("HTTP_PROXY", "HTTP://10.0.0.1").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("10.0.0.1", 80));
        let u = ProxyUrl::parse("HTTP_PROXY", "http://[fd00::1]:8080").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("fd00::1", 8080));
        assert_eq!(u.redacted(), "http://[fd00::1]:8080");
    }

    #[test]
    fn passwords_are_hidden_and_decoded() {
        let u = ProxyUrl::parse("HTTPS_PROXY", "http://al%40ice:p%3Ass%2Fw0rd@proxy:3128").unwrap();
        assert_eq!(u.user(), Some("al@ice"));
        assert_eq!(u.redacted(), "http://al%40ice:****@proxy:3128");
        assert_eq!(format!("{u}"), u.redacted());
        assert_eq!(format!("{u:?}"), u.redacted());
        assert_eq!(u.with_secret(), "http://al%40ice:p%3Ass%2Fw0rd@proxy:3128");
        let p = Proxies::from_env(env(&[("HTTPS_PROXY", "http://u:s3cr3t@proxy:3128")])).unwrap();
        let shown = format!("{p:?} {}", p.route("https://sts.amazonaws.com/"));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("u:****@proxy:3128"), "{shown}");
    }

    #[test]
    fn bad_proxy_urls_name_the_variable_and_never_repeat_the_value() {
        for (value, rule) in [
            ("socks5://proxy:1080", "scheme socks5"),
            ("http://proxy:http", "port"),
            ("http://proxy:0", "port"),
            ("http://proxy:70000", "port"),
            ("http://secretuser@proxy:3128", "no password"),
            ("http://:s3cr3t@proxy:3128", "no user"),
            ("http://u:s3cr3t%zz@proxy:3128", "percent-encoding"),
            ("http://u:s3cr3t@:3128", "no valid host"),
            ("http://u:s3cr3t@proxy:3128/pac", "path"),
            ("http://pro xy:3128", "no valid host"),
        ] {
            let (key, msg) = setting_key(Proxies::from_env(env(&[("https_proxy", value)])));
            assert_eq!(key, "https_proxy", "{value}");
            assert!(msg.contains(rule), "{value}: {msg}");
            assert!(
                !msg.contains("s3cr3t") && !msg.contains("secretuser"),
                "{msg}"
            );
        }
    }

    #[test]
    fn env_lower_case_first_and_empty_is_unset() {
        let p = Proxies::from_env(env(&[
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:2"),
            ("HTTPS_PROXY", "  "),
        ]))
        .unwrap();
        assert_eq!(p.http.as_ref().unwrap().from, "http_proxy");
        assert_eq!(p.http.unwrap().url.host, "lower");
        assert!(p.https.is_none());
        let p = Proxies::from_env(env(&[("HTTP_PROXY", "http://upper:2")])).unwrap();
        assert_eq!(p.http.unwrap().from, "HTTP_PROXY");
    }

    #[test]
    fn scheme_picks_the_variable() {
        let p = Proxies::from_env(env(&[("HTTP_PROXY", "http://127.0.0.1:3128")])).unwrap();
        assert!(matches!(p.route("http://127.0.0.1:5000/"), Route::Via(..)));
        let r = p.route("https://sts.us-east-1.amazonaws.com/");
        assert!(
            matches!(&r, Route::Direct(why) if why.contains("HTTPS_PROXY")),
            "{r}"
        );
    }

    fn no(text: &str) -> NoProxy {
        NoProxy::parse("NO_PROXY", text)
    }

    #[test]
    fn no_proxy_matches_as_curl_does() {
        let n = no("example.com, .corp.internal,*.svc.local 10.0.0.0/8 192.168.1.7,::1,[fd00::]/16,host.only:8443");
        assert_eq!(n.matching("example.com", 443), Some("example.com"));
        assert_eq!(n.matching("sts.Example.com", 443), Some("example.com"));
        assert_eq!(n.matching("example.com.", 443), Some("example.com"));
        assert_eq!(n.matching("notexample.com", 443), None);
        assert_eq!(n.matching("corp.internal", 443), Some(".corp.internal"));
        assert_eq!(n.matching("a.b.corp.internal", 80), Some(".corp.internal"));
        assert_eq!(n.matching("x.svc.local", 80), Some("*.svc.local"));
        assert_eq!(n.matching("10.1.2.3", 80), Some("10.0.0.0/8"));
        assert_eq!(n.matching("11.1.2.3", 80), None);
        assert_eq!(n.matching("192.168.1.7", 80), Some("192.168.1.7"));
        assert_eq!(n.matching("192.168.1.8", 80), None);
        assert_eq!(n.matching("[::1]", 80), Some("::1"));
        assert_eq!(n.matching("fd00::5", 80), Some("[fd00::]/16"));
        assert_eq!(n.matching("host.only", 8443), Some("host.only:8443"));
        assert_eq!(n.matching("host.only", 443), None);
        // An address entry never matches a name, nor a name entry an address.
        assert_eq!(no("10.0.0.1").matching("ten.example", 80), None);
        assert_eq!(no("example.com").matching("93.184.216.34", 80), None);
        assert_eq!(no("*").matching("anything.at.all", 1), Some("*"));
        assert_eq!(no(" * ").matching("anything.at.all", 1), Some("*"));
        // curl sends everything direct only for a lone *: in a list it is skipped.
        let n = no("*,example.com");
        assert_eq!(n.matching("anything.at.all", 1), None);
        assert_eq!(n.matching("example.com", 1), Some("example.com"));
        assert_eq!(n.ignored.len(), 1);
        assert!(no(" , ,").is_empty());
    }

    #[test]
    fn no_implicit_loopback_bypass() {
        let p = Proxies::from_env(env(&[("HTTP_PROXY", "http://127.0.0.1:3128")])).unwrap();
        for url in [
            "http://127.0.0.1:5000/",
            "http://localhost:5000/",
            "http://[::1]:5000/",
        ] {
            assert!(matches!(p.route(url), Route::Via(..)), "{url}");
        }
        let p = Proxies::from_env(env(&[
            ("HTTP_PROXY", "http://127.0.0.1:3128"),
            ("NO_PROXY", "127.0.0.1"),
        ]))
        .unwrap();
        let r = p.route("http://127.0.0.1:5000/");
        assert_eq!(
            r,
            Route::Direct("NO_PROXY entry \"127.0.0.1\" matches 127.0.0.1".into())
        );
        assert!(matches!(p.route("http://localhost:5000/"), Route::Via(..)));
    }

    #[test]
    fn metadata_is_never_proxied() {
        let p = Proxies::one(
            Proxy {
                url: ProxyUrl::new(false, "proxy", 3128),
                from: "fs.s3a.proxy.host".into(),
            },
            NoProxy::default(),
        );
        let none = |_: &str| None;
        for url in [
            "http://169.254.169.254/latest/api/token",
            "http://169.254.169.254./latest/api/token",
            "http://[::ffff:169.254.169.254]/latest/api/token",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://[FD00:EC2:0::254]/latest/meta-data/",
            "http://169.254.170.2/v2/credentials/x",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
        ] {
            assert!(matches!(p.route_with(url, none), Route::Direct(_)), "{url}");
        }
        assert!(matches!(
            p.route_with("https://sts.amazonaws.com/", none),
            Route::Via(..)
        ));
        // The endpoints the environment moves (a container's full URI, IMDS elsewhere) too.
        let moved = |k: &str| match k {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI" => Some("http://127.0.0.1:51679/creds".to_owned()),
            "AWS_EC2_METADATA_SERVICE_ENDPOINT" => Some("http://[::1]:1338/".to_owned()),
            _ => None,
        };
        for url in [
            "http://127.0.0.1:51679/creds",
            "http://[::1]:1338/latest/api/token",
        ] {
            assert!(
                matches!(p.route_with(url, moved), Route::Direct(_)),
                "{url}"
            );
            assert!(matches!(p.route_with(url, none), Route::Via(..)), "{url}");
        }
    }

    #[test]
    fn unreadable_no_proxy_entries_are_skipped_and_named() {
        let p = Proxies::from_env(env(&[
            ("HTTPS_PROXY", "http://p:1"),
            (
                "no_proxy",
                "10.0.0.0/33,example.com:port,exa$mple.com,not-an-ip/8,10.*,<local>,keep.me",
            ),
        ]))
        .unwrap();
        let ignored: Vec<_> = p.no_proxy.ignored.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(
            ignored,
            [
                "10.0.0.0/33",
                "example.com:port",
                "exa$mple.com",
                "not-an-ip/8",
                "10.*",
                "<local>"
            ]
        );
        for ((_, why), rule) in p.no_proxy.ignored.iter().zip([
            "prefix length",
            "port",
            "not a host",
            "not an IP address",
        ]) {
            assert!(why.contains(rule), "{why}");
        }
        assert_eq!(p.no_proxy.matching("keep.me", 443), Some("keep.me"));
        // Without a proxy NO_PROXY is not read: nothing to skip, nothing to say.
        let p = Proxies::from_env(env(&[("no_proxy", "10.*,<local>")])).unwrap();
        assert!(p.no_proxy.is_empty() && p.no_proxy.ignored.is_empty());
    }

    #[test]
    fn routes_say_why() {
        let p = Proxies::from_env(env(&[
            ("HTTPS_PROXY", "http://u:pw@proxy:3128"),
            ("NO_PROXY", ".internal"),
        ]))
        .unwrap();
        assert_eq!(
            p.route("https://sts.eu-west-1.amazonaws.com").to_string(),
            "via proxy http://u:****@proxy:3128 (HTTPS_PROXY set, and no NO_PROXY entry matches sts.eu-west-1.amazonaws.com)"
        );
        assert_eq!(
            p.route("https://s3.internal:9000/bucket").to_string(),
            "direct (NO_PROXY entry \".internal\" matches s3.internal)"
        );
        assert_eq!(
            Proxies::default()
                .route("https://sts.amazonaws.com")
                .to_string(),
            "direct (no proxy set: neither fs.s3a.proxy.host nor HTTPS_PROXY)"
        );
    }
}
