//! The proxy of a provider's STS calls: S3A's `fs.s3a.proxy.*` keys (each one's per-bucket form
//! `fs.s3a.bucket.<BUCKET>.proxy.*` first, as S3A itself propagates them), else the environment's
//! `HTTP(S)_PROXY`. `NO_PROXY` applies to both. The rules follow S3A's (Hadoop 3.4
//! `AWSClientConfig`): a host without a port means 80 (443 with `fs.s3a.proxy.secured`), a port
//! without a host and a user name without a password (or the reverse) are errors.

use crate::error::{Error, Result};
use crate::proxy::{NoProxy, Proxies, Proxy, ProxyUrl};

use super::RawSettings;

/// The key and value of one part: the bucket's key if set, else the global one.
fn part(raw: &RawSettings, name: &str) -> Option<(String, String)> {
    let mut keys = Vec::with_capacity(2);
    if let Some(b) = &raw.bucket {
        keys.push(format!("fs.s3a.bucket.{b}.proxy.{name}"));
    }
    keys.push(format!("fs.s3a.proxy.{name}"));
    keys.into_iter().find_map(|k| {
        raw.values
            .get(&k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .map(|v| (k, v))
    })
}

pub(super) fn proxies(raw: &RawSettings) -> Result<Proxies> {
    let env = |k: &str| raw.proxy_env.get(k).cloned();
    let host = part(raw, "host");
    let port = part(raw, "port");
    let Some((host_key, host)) = host else {
        if let Some((port_key, _)) = port {
            return Err(Error::setting(
                port_key,
                "is set without fs.s3a.proxy.host",
                "Set fs.s3a.proxy.host to the proxy's host name, or remove the port",
            ));
        }
        return Proxies::from_env(env);
    };
    if !crate::proxy::is_host(&host) {
        return Err(Error::setting(
            host_key,
            format!("\"{host}\" is not a host name or IP address"),
            "Give the proxy's host alone (proxy.example.com, 10.0.0.5), its port in \
             fs.s3a.proxy.port and fs.s3a.proxy.secured=true for TLS to the proxy",
        ));
    }
    for ntlm in ["domain", "workstation"] {
        if let Some((k, _)) = part(raw, ntlm) {
            return Err(Error::setting(
                k,
                "is set: rolebridge does not speak NTLM to a proxy (basic authentication only)",
                "Use a proxy that takes basic authentication (fs.s3a.proxy.username and \
                 fs.s3a.proxy.password), or remove the key",
            ));
        }
    }
    let secure = match part(raw, "secured") {
        None => false,
        Some((k, v)) => match v.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(Error::setting(
                k,
                format!("\"{v}\" is not true or false"),
                "Set it to true (TLS to the proxy) or false (plain HTTP to the proxy, the default)",
            )),
        },
    };
    let port =
        match port {
            // S3A reads a negative port as "not set".
            None => None,
            Some((k, v)) => match v.parse::<i64>() {
                Ok(n) if n < 0 => None,
                Ok(n @ 1..=65535) => Some(n as u16),
                _ => return Err(Error::setting(
                    k,
                    format!("\"{v}\" is not a port number (1 to 65535)"),
                    "Set it to the proxy's port, for example 3128, or remove it for 80 (443 with \
                     fs.s3a.proxy.secured=true)",
                )),
            },
        };
    let port = port.unwrap_or(if secure { 443 } else { 80 });
    let mut url = ProxyUrl::new(secure, &host, port);
    match (part(raw, "username"), part(raw, "password")) {
        (Some((_, user)), Some((_, password))) => url = url.with_basic_auth(&user, &password),
        (None, None) => {}
        (Some((k, _)), None) => {
            return Err(Error::setting(
                k,
                "is set without fs.s3a.proxy.password",
                "Set both fs.s3a.proxy.username and fs.s3a.proxy.password, or neither",
            ))
        }
        (None, Some((k, _))) => {
            return Err(Error::setting(
                k,
                "is set without fs.s3a.proxy.username",
                "Set both fs.s3a.proxy.username and fs.s3a.proxy.password, or neither",
            ))
        }
    }
    let no_proxy = match ["no_proxy", "NO_PROXY"]
        .into_iter()
        .find_map(|n| env(n).filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
    {
        Some((n, v)) => NoProxy::parse(n, &v),
        None => NoProxy::default(),
    };
    Ok(Proxies::one(
        Proxy {
            url,
            from: host_key,
        },
        no_proxy,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::Route;
    use crate::settings::resolve;

    fn raw() -> RawSettings {
        RawSettings::new(Some("lake"), Some("alice")).set(
            "rolebridge.role.arn",
            "arn:aws:iam::222222222222:role/writer",
        )
    }

    fn err(raw: RawSettings) -> (String, String) {
        match resolve(&raw) {
            Err(Error::Setting { key, problem, fix }) => (key, format!("{problem}. {fix}")),
            other => panic!("expected a setting error, got {other:?}"),
        }
    }

    #[test]
    fn s3a_keys_make_one_proxy_for_every_url() {
        let s = resolve(
            &raw()
                .set("fs.s3a.proxy.host", "proxy.corp")
                .set("fs.s3a.proxy.port", "3128")
                .set("fs.s3a.proxy.username", "svc")
                .set("fs.s3a.proxy.password", "pw-secret")
                .with_proxy_env("HTTPS_PROXY", "http://other:1"),
        )
        .unwrap();
        let p = &s.sts.proxies;
        let r = p.route("https://sts.us-east-1.amazonaws.com/");
        assert_eq!(
            r.to_string(),
            "via proxy http://svc:****@proxy.corp:3128 (fs.s3a.proxy.host set and no NO_PROXY)"
        );
        assert!(matches!(p.route("http://127.0.0.1:5000/"), Route::Via(..)));
        assert!(!format!("{s:?}").contains("pw-secret"));
    }

    #[test]
    fn the_buckets_keys_win_one_by_one() {
        let s = resolve(
            &raw()
                .set("fs.s3a.proxy.host", "global")
                .set("fs.s3a.proxy.port", "1")
                .set("fs.s3a.bucket.lake.proxy.host", "lakeproxy")
                .set("fs.s3a.bucket.other.proxy.port", "9"),
        )
        .unwrap();
        let p = s.sts.proxies.https.clone().unwrap();
        assert_eq!((p.url.host.as_str(), p.url.port), ("lakeproxy", 1));
        assert_eq!(p.from, "fs.s3a.bucket.lake.proxy.host");
    }

    #[test]
    fn defaults_follow_s3a() {
        let p = |r: RawSettings| resolve(&r).unwrap().sts.proxies.https.clone().unwrap().url;
        let u = p(raw().set("fs.s3a.proxy.host", "h"));
        assert_eq!((u.secure, u.port), (false, 80));
        let u = p(raw()
            .set("fs.s3a.proxy.host", "h")
            .set("fs.s3a.proxy.secured", "TRUE"));
        assert_eq!((u.secure, u.port), (true, 443));
        let u = p(raw()
            .set("fs.s3a.proxy.host", "h")
            .set("fs.s3a.proxy.port", "-1"));
        assert_eq!(u.port, 80);
    }

    #[test]
    fn no_proxy_applies_to_the_s3a_proxy() {
        let s = resolve(
            &raw()
                .set("fs.s3a.proxy.host", "h")
                .with_proxy_env("NO_PROXY", "127.0.0.1"),
        )
        .unwrap();
        assert!(matches!(
            s.sts.proxies.route("http://127.0.0.1:5000/"),
            Route::Direct(_)
        ));
    }

    #[test]
    fn without_s3a_keys_the_environment_decides() {
        let s = resolve(&raw().with_proxy_env("HTTP_PROXY", "http://127.0.0.1:3128")).unwrap();
        assert_eq!(s.sts.proxies.http.clone().unwrap().from, "HTTP_PROXY");
        let s = resolve(&raw()).unwrap();
        assert!(!s.sts.proxies.any());
    }

    #[test]
    fn bad_values_name_the_key_and_hide_the_password() {
        let cases: Vec<(RawSettings, &str, &str)> = vec![
            (
                raw()
                    .set("fs.s3a.proxy.host", "h")
                    .set("fs.s3a.proxy.port", "eighty"),
                "fs.s3a.proxy.port",
                "not a port number",
            ),
            (
                raw()
                    .set("fs.s3a.proxy.host", "h")
                    .set("fs.s3a.proxy.port", "70000"),
                "fs.s3a.proxy.port",
                "not a port number",
            ),
            (
                raw().set("fs.s3a.bucket.lake.proxy.port", "3128"),
                "fs.s3a.bucket.lake.proxy.port",
                "without fs.s3a.proxy.host",
            ),
            (
                raw()
                    .set("fs.s3a.proxy.host", "h")
                    .set("fs.s3a.proxy.username", "u"),
                "fs.s3a.proxy.username",
                "without fs.s3a.proxy.password",
            ),
            (
                raw()
                    .set("fs.s3a.proxy.host", "h")
                    .set("fs.s3a.bucket.lake.proxy.password", "pw-secret"),
                "fs.s3a.bucket.lake.proxy.password",
                "without fs.s3a.proxy.username",
            ),
            (
                raw().set("fs.s3a.proxy.host", "http://h:3128"),
                "fs.s3a.proxy.host",
                "not a host name",
            ),
            (
                raw()
                    .set("fs.s3a.proxy.host", "h")
                    .set("fs.s3a.proxy.secured", "yes"),
                "fs.s3a.proxy.secured",
                "not true or false",
            ),
            (
                raw()
                    .set("fs.s3a.proxy.host", "h")
                    .set("fs.s3a.proxy.domain", "CORP"),
                "fs.s3a.proxy.domain",
                "NTLM",
            ),
            (
                raw().with_proxy_env("HTTPS_PROXY", "socks5://u:pw-secret@h:1080"),
                "HTTPS_PROXY",
                "socks5",
            ),
            (
                raw().with_proxy_env("HTTP_PROXY", "http://u:pw-secret@h:port"),
                "HTTP_PROXY",
                "port",
            ),
        ];
        for (raw, key, rule) in cases {
            let (k, msg) = err(raw);
            assert_eq!(k, key, "{msg}");
            assert!(msg.contains(rule), "{key}: {msg}");
            assert!(!msg.contains("pw-secret"), "{msg}");
        }
    }
}
