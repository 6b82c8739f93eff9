//! The rules for each value (role ARNs, external IDs, session names, durations, policies,
//! regions, endpoints, ...), below the modules that apply them ([`super::identity`] and resolution).

use std::time::Duration;

use crate::error::{Error, Result};

use super::FailureMode;

pub const DEFAULT_SESSION_DURATION: Duration = Duration::from_secs(3600);
pub const MIN_SESSION_DURATION: Duration = Duration::from_secs(900);
pub const MAX_SESSION_DURATION: Duration = Duration::from_secs(12 * 3600);
/// STS's limit for a session made by role chaining.
pub const MAX_CHAINED_SESSION_DURATION: Duration = Duration::from_secs(3600);
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(300);
/// Credentials this close to expiry are never handed out.
pub const MIN_REMAINING_VALIDITY: Duration = Duration::from_secs(60);
pub const DEFAULT_STS_TIMEOUT: Duration = Duration::from_secs(30);
pub const MIN_STS_TIMEOUT: Duration = Duration::from_secs(1);
pub const MAX_STS_TIMEOUT: Duration = Duration::from_secs(300);
/// How long an STS refusal is remembered by default: as long as the S3 Access Grants plugin keeps
/// such answers.
pub const DEFAULT_REFUSAL_TTL: Duration = Duration::from_secs(300);
pub const MAX_REFUSAL_TTL: Duration = Duration::from_secs(3600);
pub const MAX_POLICY_CHARS: usize = 2048;
pub const MAX_POLICY_ARNS: usize = 10;
/// The `sts.region` value that asks for the global endpoint `sts.amazonaws.com`.
pub const GLOBAL_REGION: &str = "aws-global";
pub(super) const GLOBAL_ENDPOINT: &str = "https://sts.amazonaws.com";

/// Shortens a value for an error message.
pub(crate) fn shown(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        format!("\"{value}\"")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("\"{head}...\" ({} characters)", value.chars().count())
    }
}

/// What a template under `deploy/` writes where the user must put a value of their own
/// (`REPLACE-WITH-ROLE-ARN`, `REPLACE-WITH-EXTERNAL-ID`, `REPLACE-WITH-BUCKET`, ...).
pub const TEMPLATE_PLACEHOLDER: &str = "REPLACE-WITH-";

/// Every placeholder the templates under `deploy/` hold (tests/deploy_configs.rs checks the list).
pub const TEMPLATE_PLACEHOLDERS: [&str; 11] = [
    "REPLACE-WITH-ROLE-ARN",
    "REPLACE-WITH-EXTERNAL-ID",
    "REPLACE-WITH-BUCKET",
    "REPLACE-WITH-REGION",
    "REPLACE-WITH-USER",
    "REPLACE-WITH-GROUP",
    "REPLACE-WITH-USER-ROLE-ARN",
    "REPLACE-WITH-GROUP-ROLE-ARN",
    "REPLACE-WITH-SECOND-BUCKET",
    "REPLACE-WITH-SECOND-ROLE-ARN",
    "REPLACE-WITH-SECOND-EXTERNAL-ID",
];

/// A key or value that still holds a template placeholder is refused, naming the key and the
/// placeholder: a template deployed without editing must fail at construction, not assume a role
/// named `REPLACE-WITH-ROLE-ARN` or send it as the external ID. Any case matches (bucket names
/// are lower case, so `replace-with-bucket` is what an edited-by-half key may hold). Only the
/// placeholder is shown, never the rest of the value (it may be an external ID).
pub fn check_template_placeholder(key: &str, value: &str) -> Result<()> {
    // The placeholder's own name if it is one of the templates' (the longest that fits), else its
    // fixed part: what follows may be the user's own value, half typed over the placeholder.
    let find = |text: &str| -> Option<String> {
        let upper = text.to_ascii_uppercase();
        let at = upper.find(TEMPLATE_PLACEHOLDER)?;
        let name = TEMPLATE_PLACEHOLDERS
            .iter()
            .filter(|p| upper[at..].starts_with(*p))
            .max_by_key(|p| p.len())
            .map_or_else(|| format!("{TEMPLATE_PLACEHOLDER}..."), |p| (*p).to_owned());
        Some(name)
    };
    let (placeholder, place) = match (find(key), find(value)) {
        (Some(p), _) => (p, "the key itself holds"),
        (None, Some(p)) => (p, "its value holds"),
        (None, None) => return Ok(()),
    };
    Err(Error::setting(
        key,
        format!(
            "{place} {placeholder}, a placeholder of a rolebridge template (deploy/) that was not \
             replaced"
        ),
        format!(
            "Replace {placeholder} with your own value (the role ARN, external ID, bucket name, \
             ... it names) in the configuration before deploying it"
        ),
    ))
}

/// The `rolebridge.cache.dir` value that picks the per-user tmpfs directory (see
/// `shared_cache`, which depends on this module, not the other way round).
pub const CACHE_DIR_AUTO: &str = "auto";

/// The settings whose values may hold `{user}`.
pub const PLACEHOLDER_SETTINGS: &str = "rolebridge.role.arn, rolebridge.role.chain, \
     rolebridge.session.name, rolebridge.source.identity and rolebridge.session.tags";

/// A value of a setting that takes no placeholder must hold no brace: `{user}` there would be
/// used literally (a cache directory named `{user}`, an endpoint with a brace in its path).
pub fn no_placeholder(key: &str, value: &str) -> Result<()> {
    if value.contains(['{', '}']) {
        return Err(Error::setting(
            key,
            format!(
                "{} holds a brace, but this setting takes no placeholder ({{user}} is replaced \
                 only in {PLACEHOLDER_SETTINGS})",
                shown(value)
            ),
            "Write the value itself; for a value per user, set it with \
             rolebridge.user.<USER>.<setting>",
        ));
    }
    Ok(())
}

/// `auto`, or an absolute path of a directory for node-wide session sharing.
pub fn validate_cache_dir(key: &str, value: &str) -> Result<String> {
    no_placeholder(key, value)?;
    if value == CACHE_DIR_AUTO
        || (value.starts_with('/')
            && value.len() <= 1024
            && !value.contains('\0')
            && !value.split('/').any(|p| p == ".."))
    {
        return Ok(value.to_owned());
    }
    Err(Error::setting(
        key,
        format!("{} is neither auto nor an absolute path", shown(value)),
        "Use auto (a per-user directory on tmpfs, /dev/shm/rolebridge-<uid>) or an absolute path \
         without .. of a directory only this user can enter, or remove the key to keep sessions \
         per process",
    ))
}

/// The bound on one STS call, retries included: 1s to 5m.
pub fn validate_sts_timeout(key: &str, value: &str) -> Result<Duration> {
    let d = parse_time_duration(key, value)?;
    if d < MIN_STS_TIMEOUT || d > MAX_STS_TIMEOUT {
        return Err(Error::setting(
            key,
            format!("{} is outside 1s to 5m", shown(value)),
            "Choose how long one STS call may take, retries included, from 1s to 5m (default 30s)",
        ));
    }
    Ok(d)
}

/// How long a refusal by STS is remembered: 0 (never) to 1h.
pub fn validate_refusal_ttl(key: &str, value: &str) -> Result<Duration> {
    let d = parse_time_duration(key, value)?;
    if d > MAX_REFUSAL_TTL {
        return Err(Error::setting(
            key,
            format!("{} is outside 0 to 1h", shown(value)),
            "Choose how long a refusal by STS (AccessDenied, a missing role, a wrong external ID) \
             is remembered before STS is asked again, from 0 (never remembered) to 1h (default \
             5m): a fixed trust policy is seen at most this long after the fix",
        ));
    }
    Ok(d)
}

/// `closed` or `open` (any case).
pub fn validate_failure_mode(key: &str, value: &str) -> Result<FailureMode> {
    match value.to_ascii_lowercase().as_str() {
        "closed" => Ok(FailureMode::Closed),
        "open" => Ok(FailureMode::Open),
        _ => Err(Error::setting(
            key,
            format!("{} is neither closed nor open", shown(value)),
            "Use closed (the default: never let a credential provider chain fall back to another \
             identity) or open (throw an exception, which a chain may answer with its next provider)",
        )),
    }
}

/// What signs a bucket no role applies to (`rolebridge.unmapped.buckets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmapped {
    /// The provider is refused at construction (the default).
    Refuse,
    /// The source credentials (the node's own identity) sign, on purpose.
    Source,
}

/// `refuse` or `source` (any case).
pub fn validate_unmapped_buckets(key: &str, value: &str) -> Result<Unmapped> {
    match value.to_ascii_lowercase().as_str() {
        "refuse" => Ok(Unmapped::Refuse),
        "source" => Ok(Unmapped::Source),
        _ => Err(Error::setting(
            key,
            format!("{} is neither refuse nor source", shown(value)),
            "Use refuse (the default: a bucket no role applies to is refused when its file system \
             is made) or source (such a bucket is signed with the source credentials, the node's \
             own identity, as it would be without rolebridge)",
        )),
    }
}

pub(super) fn check_refresh_ahead(
    key: &str,
    r: Duration,
    duration_key: Option<&str>,
    duration: Duration,
) -> Result<Duration> {
    if r < MIN_REMAINING_VALIDITY {
        return Err(Error::setting(
            key,
            format!("is {}s, below the minimum of 60s", r.as_secs()),
            "Credentials within one minute of expiry are never handed out, so refreshing later \
             than that would make callers wait; set it to at least 1m (default 5m)",
        ));
    }
    if r >= duration {
        let dkey = duration_key.unwrap_or("rolebridge.session.duration (default 1h)");
        return Err(Error::setting(
            key,
            format!(
                "is {}s, not shorter than the session duration {}s set by {dkey}",
                r.as_secs(),
                duration.as_secs()
            ),
            "A session would be refreshed as soon as it arrives; make it shorter than the \
             session duration (default 5m), or raise the session duration",
        ));
    }
    Ok(r)
}

/// The partitions STS runs in, and the region-name prefixes that belong to each.
const PARTITIONS: &[(&str, &[&str])] = &[
    ("aws-cn", &["cn-"]),
    ("aws-us-gov", &["us-gov-"]),
    ("aws-iso", &["us-iso-"]),
    ("aws-iso-b", &["us-isob-"]),
    ("aws-iso-e", &["eu-isoe-"]),
    ("aws-iso-f", &["us-isof-"]),
    ("aws-eusc", &["eusc-"]),
    ("aws", &[]),
];

/// The partition a region belongs to.
pub fn partition_of_region(region: &str) -> &'static str {
    if region == GLOBAL_REGION {
        return "aws";
    }
    PARTITIONS
        .iter()
        .find(|(_, prefixes)| prefixes.iter().any(|p| region.starts_with(p)))
        .map(|(p, _)| *p)
        .unwrap_or("aws")
}

fn is_known_partition(p: &str) -> bool {
    PARTITIONS.iter().any(|(name, _)| *name == p)
}

/// `[\w+=,.@-]` (ASCII): the characters of role names, session names and SourceIdentity.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// `arn:<partition>:iam::<12-digit account>:role/<path/><name>`, as IAM defines role ARNs.
pub fn validate_role_arn(key: &str, value: &str) -> Result<String> {
    let fix = "Set it to the ARN of the role to assume in the destination account, \
               e.g. arn:aws:iam::222222222222:role/etl-writer";
    let bad = |why: &str| {
        Error::setting(
            key,
            format!("{} is not an IAM role ARN: {why}", shown(value)),
            fix,
        )
    };
    if value.len() > 2048 {
        return Err(bad("longer than 2048 characters"));
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(bad("expected arn:<partition>:iam::<account>:role/<name>"));
    }
    let (partition, service, region, account, resource) =
        (parts[1], parts[2], parts[3], parts[4], parts[5]);
    if !is_known_partition(partition) {
        return Err(bad(&format!(
            "unknown partition \"{partition}\" (known: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc)"
        )));
    }
    if service != "iam" {
        return Err(bad(&format!("the service is \"{service}\", not iam")));
    }
    if !region.is_empty() {
        return Err(bad(
            "IAM ARNs have no region (arn:aws:iam::<account>:role/...)",
        ));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the account must be 12 digits"));
    }
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err(bad("the resource must start with role/"));
    };
    let (path, name) = match path_and_name.rfind('/') {
        Some(i) => (&path_and_name[..=i], &path_and_name[i + 1..]),
        None => ("", path_and_name),
    };
    if name.is_empty() || name.len() > 64 || !name.chars().all(is_name_char) {
        return Err(bad(
            "the role name must be 1-64 characters of letters, digits and _+=,.@-",
        ));
    }
    if path.len() > 512 || !path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)) {
        return Err(bad(
            "the role path must be printable ASCII without spaces, at most 512 characters",
        ));
    }
    Ok(value.to_owned())
}

/// 2-1224 characters of `[\w+=,.@:/-]`, as STS requires.
pub fn validate_external_id(key: &str, value: &str) -> Result<String> {
    no_placeholder(key, value)?;
    let n = value.chars().count();
    if !(2..=1224).contains(&n)
        || !value
            .chars()
            .all(|c| is_name_char(c) || c == ':' || c == '/')
    {
        return Err(Error::setting(
            key,
            format!(
                "{} ({n} characters) is not a valid external ID: STS takes 2-1224 characters of \
                 letters, digits and _+=,.@:/-",
                shown(value)
            ),
            "Set it to the exact value of the sts:ExternalId condition in the role's trust policy",
        ));
    }
    Ok(value.to_owned())
}

/// 2-64 characters of `[\w+=,.@-]`, as STS requires.
pub fn validate_session_name(key: &str, value: &str) -> Result<String> {
    let n = value.chars().count();
    if !(2..=64).contains(&n) || !value.chars().all(is_name_char) {
        return Err(Error::setting(
            key,
            format!(
                "{} ({n} characters) is not a valid session name: STS takes 2-64 characters of \
                 letters, digits and _+=,.@-",
                shown(value)
            ),
            "Shorten it or replace the other characters, or remove the key to use \
             rolebridge-<hadoop user>",
        ));
    }
    Ok(value.to_owned())
}

/// The default session name: `rolebridge-<user>` when the Hadoop user name is already a valid
/// part of a session name and fits; otherwise `rolebridge+<hash>-<user>`, with characters STS does
/// not take replaced by `-` and cut to 64, where `<hash>` is 12 hex digits of a hash of the raw
/// name. So two distinct users never get one name (and so never one session or one CloudTrail
/// identity): `jürgen` and `jörgen`, `DOM\alice` and `DOM-alice`, or two long names with a common
/// prefix differ in the hash, and a changed name (`rolebridge+`) never equals a kept one
/// (`rolebridge-`), whatever the other user is called.
pub fn default_session_name(hadoop_user: Option<&str>) -> String {
    const PLAIN: &str = "rolebridge-";
    let raw = hadoop_user.unwrap_or("");
    if raw.is_empty() {
        return "rolebridge".to_owned();
    }
    if raw.chars().all(is_name_char) && PLAIN.len() + raw.len() <= 64 {
        return format!("{PLAIN}{raw}");
    }
    let kept: String = raw
        .chars()
        .map(|c| if is_name_char(c) { c } else { '-' })
        .collect();
    let name = format!("rolebridge+{:012x}-{kept}", fnv1a(raw.as_bytes()) >> 16);
    name.chars().take(64).collect()
}

/// FNV-1a, 64 bits: a hash that every build and every process computes alike (the session name
/// must be the same on the driver, every executor and the command).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Hadoop time-duration syntax: a whole number with an optional unit among ns, us, ms, s, m, h, d
/// (any case); a bare number is seconds, as `Configuration.getTimeDuration(key, d, SECONDS)` reads.
pub fn parse_time_duration(key: &str, value: &str) -> Result<Duration> {
    let fix = "Write a whole number with a unit: 900s, 45m, 1h (a bare number is seconds)";
    let digits_end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(digits_end);
    if number.is_empty() {
        return Err(Error::setting(
            key,
            format!("{} is not a duration", shown(value)),
            fix,
        ));
    }
    let n: u64 = number
        .parse()
        .map_err(|_| Error::setting(key, format!("{} is too large", shown(value)), fix))?;
    let nanos_per: u128 = match unit.to_ascii_lowercase().as_str() {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "" | "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => {
            return Err(Error::setting(
                key,
                format!(
                    "{} has an unknown unit \"{unit}\" (known: ns, us, ms, s, m, h, d)",
                    shown(value)
                ),
                fix,
            ))
        }
    };
    let nanos = n as u128 * nanos_per;
    let secs = u64::try_from(nanos / 1_000_000_000)
        .map_err(|_| Error::setting(key, format!("{} is too large", shown(value)), fix))?;
    Ok(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// A session duration: whole seconds from 900 s to 12 h.
pub fn validate_session_duration(key: &str, value: &str) -> Result<Duration> {
    let d = parse_time_duration(key, value)?;
    if d.subsec_nanos() != 0 || d < MIN_SESSION_DURATION || d > MAX_SESSION_DURATION {
        return Err(Error::setting(
            key,
            format!("{} is outside what STS accepts: whole seconds from 900s (15m) to 12h", shown(value)),
            "Choose a value from 15m to 12h, and no longer than the role's MaxSessionDuration (default 1h)",
        ));
    }
    Ok(d)
}

/// An inline session policy: a JSON object of at most 2048 characters.
pub fn validate_policy(key: &str, value: &str) -> Result<String> {
    let fix = "Give an IAM policy document as one JSON object, e.g. \
               {\"Version\":\"2012-10-17\",\"Statement\":[...]}, of at most 2048 characters";
    let n = value.chars().count();
    if n > MAX_POLICY_CHARS {
        return Err(Error::setting(
            key,
            format!("is {n} characters, over STS's limit of 2048"),
            fix,
        ));
    }
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(_)) => Ok(value.to_owned()),
        Ok(_) => Err(Error::setting(key, "is JSON but not an object", fix)),
        Err(e) => Err(Error::setting(key, format!("is not valid JSON ({e})"), fix)),
    }
}

/// A comma-separated list of managed policy ARNs (at most 10).
pub fn validate_policy_arns(key: &str, value: &str) -> Result<Vec<String>> {
    no_placeholder(key, value)?;
    let fix = "Give a comma-separated list of up to 10 managed policy ARNs, \
               e.g. arn:aws:iam::222222222222:policy/etl-write-only";
    let arns: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
    if arns.len() > MAX_POLICY_ARNS {
        return Err(Error::setting(
            key,
            format!("lists {} ARNs; STS takes at most 10", arns.len()),
            fix,
        ));
    }
    for arn in &arns {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ok = arn.len() >= 20
            && arn.len() <= 2048
            && parts.len() == 6
            && parts[0] == "arn"
            && is_known_partition(parts[1])
            && parts[2] == "iam"
            && parts[3].is_empty()
            && (parts[4] == "aws"
                || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
            && parts[5].strip_prefix("policy/").is_some_and(|p| {
                !p.is_empty()
                    && !p.ends_with('/')
                    && p.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c))
            });
        if !ok {
            return Err(Error::setting(
                key,
                format!(
                    "{} is not a managed policy ARN (arn:<partition>:iam::<account>:policy/<name>)",
                    shown(arn)
                ),
                fix,
            ));
        }
    }
    Ok(arns)
}

/// A region name such as `us-east-1`, `us-gov-west-1`, `cn-north-1`, or `aws-global`.
pub fn validate_region(key: &str, value: &str) -> Result<String> {
    no_placeholder(key, value)?;
    if value == GLOBAL_REGION {
        return Ok(value.to_owned());
    }
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && value.len() <= 32
        && (2..=5).contains(&parts[0].len())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 2
        && !parts[parts.len() - 1].is_empty()
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(Error::setting(
            key,
            format!("{} is not an AWS region name", shown(value)),
            "Use a region name such as us-east-1 or eu-west-2 (lower case), or aws-global for the \
             global endpoint sts.amazonaws.com",
        ));
    }
    Ok(value.to_owned())
}

/// An endpoint: `http(s)://host[:port][/path]`, or a bare host (https is assumed, as in S3A).
pub fn validate_endpoint(key: &str, value: &str) -> Result<String> {
    no_placeholder(key, value)?;
    let fix = "Give a URL such as https://sts.eu-west-1.amazonaws.com or \
               https://vpce-0123-abcd.sts.eu-west-1.vpce.amazonaws.com, or remove the key to use \
               the regional endpoint";
    let bad = |why: &str| {
        Error::setting(
            key,
            format!("{} is not an endpoint URL: {why}", shown(value)),
            fix,
        )
    };
    let (scheme, rest) = match value.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("https".to_owned(), value),
    };
    if scheme != "http" && scheme != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if path.contains(['?', '#']) || !path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)) {
        return Err(bad(
            "it must not have a query, fragment, spaces or non-ASCII characters",
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p))
                if !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') =>
            {
                (h, p.strip_prefix(':'))
            }
            _ => return Err(bad("malformed IPv6 address")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty()
        || host.len() > 253
        || !(authority.starts_with('[')
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return Err(bad("the host must be a DNS name or an IP address"));
    }
    if let Some(p) = port {
        if !p.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(bad("the port must be a number from 1 to 65535"));
        }
    }
    if scheme == "http" && !is_loopback(host) {
        // STS answers with the role's secret key and session token: never in clear text.
        return Err(Error::setting(
            key,
            format!(
                "{} is a plain http:// endpoint on a host that is not this machine, so STS's \
                 answer (the role's secret key and session token) would cross the network \
                 unencrypted",
                shown(value)
            ),
            "Use https:// (http:// is accepted only for loopback addresses: 127.0.0.0/8, ::1 \
             and localhost, as in tests)",
        ));
    }
    Ok(format!("{scheme}://{rest}"))
}

/// Whether `host` (a DNS name or an IP address, IPv6 without brackets) is this machine's loopback.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The partition an STS endpoint belongs to, from the region in its host name or its domain;
/// `None` for a host of no AWS domain and no region (loopback, a proxy).
pub fn partition_of_endpoint(endpoint: &str) -> Option<&'static str> {
    if let Some(r) = region_of_endpoint(endpoint) {
        return Some(partition_of_region(&r));
    }
    let host = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let host = host.split(['/', ':']).next()?.to_ascii_lowercase();
    const DOMAINS: [(&str, &str); 4] = [
        (".amazonaws.com.cn", "aws-cn"),
        (".c2s.ic.gov", "aws-iso"),
        (".sc2s.sgov.gov", "aws-iso-b"),
        (".amazonaws.com", "aws"),
    ];
    DOMAINS
        .iter()
        .find(|(d, _)| host.ends_with(d))
        .map(|(_, p)| *p)
}

/// The region named by an endpoint host of the form `sts.<region>.amazonaws.com[.cn]`
/// or a VPC endpoint `*.sts.<region>.vpce.amazonaws.com`.
pub fn region_of_endpoint(endpoint: &str) -> Option<String> {
    let host = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let host = host.split(['/', ':']).next()?;
    let labels: Vec<&str> = host.split('.').collect();
    let i = labels.iter().position(|l| *l == "sts")?;
    let region = *labels.get(i + 1)?;
    (region.contains('-') && validate_region("", region).is_ok()).then(|| region.to_owned())
}
