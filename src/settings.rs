//! Settings: from Hadoop-style `key -> value` pairs to a validated [`Settings`], before any
//! network call.
//!
//! Each setting `rolebridge.<rest>` may also be given per Hadoop user as
//! `rolebridge.user.<USER>.<rest>`, per group as `rolebridge.group.<GROUP>.<rest>` and per bucket
//! as `rolebridge.bucket.<BUCKET>.<rest>`; for each setting the user's key wins, then the first of
//! the user's groups (in Hadoop's order) that has one, then the bucket's, then the global one.
//! Where no `rolebridge.*` key is present, S3A's `fs.s3a.bucket.<BUCKET>.assumed.role.*` and
//! `fs.s3a.assumed.role.*` keys are read, in that order, so users of S3A's
//! `AssumedRoleCredentialProvider` can switch without renaming. Every error names the key the
//! value came from, the rule it broke and the fix.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::identity::{self, Hop};

/// Prefix of every rolebridge key.
pub const PREFIX: &str = "rolebridge.";
/// Prefix of per-bucket rolebridge keys: `rolebridge.bucket.<BUCKET>.<rest>`.
pub const BUCKET_PREFIX: &str = "rolebridge.bucket.";
/// Prefix of per-user rolebridge keys: `rolebridge.user.<USER>.<rest>`.
pub const USER_PREFIX: &str = "rolebridge.user.";
/// Prefix of per-group rolebridge keys: `rolebridge.group.<GROUP>.<rest>`.
pub const GROUP_PREFIX: &str = "rolebridge.group.";
/// The scopes a setting may be given in besides the global one, most specific first.
const SCOPE_PREFIXES: [&str; 3] = [USER_PREFIX, GROUP_PREFIX, BUCKET_PREFIX];

/// One logical setting: its name after `rolebridge.` and the S3A key it falls back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    /// The part after `fs.s3a.assumed.role.` in S3A's equivalent key, if it has one.
    pub s3a: Option<&'static str>,
}

pub const ROLE_ARN: Key = Key {
    name: "role.arn",
    s3a: Some("arn"),
};
pub const EXTERNAL_ID: Key = Key {
    name: "external.id",
    s3a: Some("external.id"),
};
pub const SESSION_NAME: Key = Key {
    name: "session.name",
    s3a: Some("session.name"),
};
pub const SESSION_DURATION: Key = Key {
    name: "session.duration",
    s3a: Some("session.duration"),
};
pub const SESSION_POLICY: Key = Key {
    name: "session.policy",
    s3a: Some("policy"),
};
pub const SESSION_POLICY_ARNS: Key = Key {
    name: "session.policy.arns",
    s3a: None,
};
pub const STS_REGION: Key = Key {
    name: "sts.region",
    s3a: Some("sts.endpoint.region"),
};
pub const STS_ENDPOINT: Key = Key {
    name: "sts.endpoint",
    s3a: Some("sts.endpoint"),
};
pub const REFRESH_AHEAD: Key = Key {
    name: "refresh.ahead",
    s3a: None,
};

pub const STS_TIMEOUT: Key = Key {
    name: "sts.timeout",
    s3a: None,
};
pub const FAILURE_MODE: Key = Key {
    name: "failure.mode",
    s3a: None,
};
pub const CACHE_DIR: Key = Key {
    name: "cache.dir",
    s3a: None,
};
pub const SOURCE_IDENTITY: Key = Key {
    name: "source.identity",
    s3a: None,
};
pub const SESSION_TAGS: Key = Key {
    name: "session.tags",
    s3a: None,
};
pub const SESSION_TAGS_TRANSITIVE: Key = Key {
    name: "session.tags.transitive",
    s3a: None,
};
pub const ROLE_CHAIN: Key = Key {
    name: "role.chain",
    s3a: None,
};

/// Every setting, for documentation and for the Java side's key collection. Besides these, hop
/// N of `role.chain` takes `role.chain.<N>.external.id` (see [`identity::hop_external_id_name`]).
pub const ALL_KEYS: [Key; 16] = [
    ROLE_ARN,
    EXTERNAL_ID,
    SESSION_NAME,
    SESSION_DURATION,
    SESSION_POLICY,
    SESSION_POLICY_ARNS,
    STS_REGION,
    STS_ENDPOINT,
    REFRESH_AHEAD,
    STS_TIMEOUT,
    FAILURE_MODE,
    CACHE_DIR,
    SOURCE_IDENTITY,
    SESSION_TAGS,
    SESSION_TAGS_TRANSITIVE,
    ROLE_CHAIN,
];

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
pub const MAX_POLICY_CHARS: usize = 2048;
pub const MAX_POLICY_ARNS: usize = 10;
/// The `sts.region` value that asks for the global endpoint `sts.amazonaws.com`.
pub const GLOBAL_REGION: &str = "aws-global";
const GLOBAL_ENDPOINT: &str = "https://sts.amazonaws.com";

/// What the Hadoop side hands over: the bucket of the file system URI (if any), the Hadoop user
/// and its groups, and the configuration keys that may matter.
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    pub bucket: Option<String>,
    pub hadoop_user: Option<String>,
    /// The user's groups in Hadoop's order; `None` if they were not looked up (the Java side looks
    /// them up only when some `rolebridge.group.*` key is set).
    pub groups: Option<Vec<String>>,
    pub values: BTreeMap<String, String>,
}

impl RawSettings {
    pub fn new(bucket: Option<&str>, hadoop_user: Option<&str>) -> Self {
        RawSettings {
            bucket: bucket.filter(|b| !b.is_empty()).map(str::to_owned),
            hadoop_user: hadoop_user.filter(|u| !u.is_empty()).map(str::to_owned),
            groups: None,
            values: BTreeMap::new(),
        }
    }

    pub fn with_groups(mut self, groups: Vec<String>) -> Self {
        self.groups = Some(groups);
        self
    }

    /// Whether any `rolebridge.group.*` key is set (only then do the groups matter).
    pub fn has_group_settings(&self) -> bool {
        self.values.keys().any(|k| k.starts_with(GROUP_PREFIX))
    }

    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.values.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// The shim's JVM system properties (`-Drolebridge.native.path`), which are not Hadoop settings.
const SYSTEM_PROPERTIES: [&str; 2] = ["native.path", "native.tmpdir"];

/// Every `rolebridge.*` key must be one the provider reads, globally or per bucket: an unknown key
/// is ignored, and a misspelt one (`rolebridge.extrenal.id`, `rolebridge.bucket.lake.rol.arn`)
/// would quietly leave a bucket on the global role or send no external ID.
fn check_known_keys(raw: &RawSettings) -> Result<()> {
    for key in raw.values.keys().filter(|k| k.starts_with(PREFIX)) {
        let rest = &key[PREFIX.len()..];
        if SYSTEM_PROPERTIES.contains(&rest) {
            return Err(Error::setting(
                key,
                "is a JVM system property of the rolebridge jar, not a Hadoop setting, so it has \
                 no effect here",
                format!(
                    "Set it with -D{key}=... in the JVM's options (e.g. \
                     spark.driver.extraJavaOptions and spark.executor.extraJavaOptions), and \
                     remove the key"
                ),
            ));
        }
        if let Some(nearest) = nearest_known_key(key) {
            return Err(Error::setting(
                key,
                "is not a setting of rolebridge, so it would be ignored (a misspelt key can leave \
                 a bucket on the global role, or send no external ID)",
                format!("Did you mean {nearest}? Rename the key, or remove it"),
            ));
        }
    }
    Ok(())
}

/// Whether `key` (a `rolebridge.` key) is a setting, globally or per user, group or bucket.
pub fn is_known_key(key: &str) -> bool {
    key.starts_with(PREFIX) && readings(key).iter().any(|(_, name)| is_setting_name(name))
}

/// Whether `name` (a key without its scope prefix) is a setting.
fn is_setting_name(name: &str) -> bool {
    ALL_KEYS.iter().any(|k| k.name == name) || identity::hop_of_external_id_name(name).is_some()
}

/// The ways to read `key` (which starts with `rolebridge.`): `(scope prefix with its name, setting
/// name)`. The global reading, and for `rolebridge.{user,group,bucket}.<NAME>.<setting>` every
/// split after the scope, as user, group and bucket names may hold dots.
fn readings(key: &str) -> Vec<(&str, &str)> {
    let mut out = vec![(PREFIX, &key[PREFIX.len()..])];
    for scope in SCOPE_PREFIXES {
        if let Some(tail) = key.strip_prefix(scope) {
            for (i, _) in tail.match_indices('.').filter(|(i, _)| *i > 0) {
                let cut = scope.len() + i + 1;
                out.push((&key[..cut], &key[cut..]));
            }
        }
    }
    out
}

/// `None` if `key` (which starts with `rolebridge.`) is a setting, globally or in a user's,
/// group's or bucket's form; else the setting nearest to it in edit distance.
fn nearest_known_key(key: &str) -> Option<String> {
    if is_known_key(key) {
        return None;
    }
    let readings = readings(key);
    let mut best: Option<(usize, String)> = None;
    for (scope, name) in readings {
        let hop_name = name
            .strip_prefix("role.chain.")
            .and_then(|r| r.split_once('.'))
            .map(|(n, _)| {
                let n = n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=identity::MAX_CHAIN_HOPS).contains(n))
                    .unwrap_or(1);
                identity::hop_external_id_name(n)
            });
        let candidates = ALL_KEYS.iter().map(|k| k.name.to_owned()).chain(hop_name);
        for candidate in candidates {
            let distance = edit_distance(name, &candidate);
            // (0: a hop number out of range, which is no setting either)
            if distance > 0 && best.as_ref().is_none_or(|(d, _)| distance < *d) {
                best = Some((distance, format!("{scope}{candidate}")));
            }
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Levenshtein distance: the fewest one-character insertions, deletions and substitutions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Where STS is (a region's regional endpoint, an explicit endpoint, or both), and how long one
/// call to it may take, retries included.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StsTarget {
    /// Signing region; `None` means the AWS SDK's default region chain decides.
    pub region: Option<String>,
    /// Endpoint URL; `None` means the regional endpoint of `region`.
    pub endpoint: Option<String>,
    pub timeout: Duration,
}

/// What the Java side does when no credentials can be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureMode {
    /// Throw a `java.lang.Error`, which credential provider chains (EMRFS's, the SDKs') do not
    /// catch, so they cannot fall back to another identity.
    Closed,
    /// Throw an exception as usual; a chain may then try its next provider.
    Open,
}

impl StsTarget {
    /// A human-readable name of the endpoint for messages.
    pub fn describe(&self) -> String {
        match (&self.endpoint, &self.region) {
            (Some(e), _) => e.clone(),
            (None, Some(r)) => format!("the regional STS endpoint of {r}"),
            (None, None) => "the regional STS endpoint of the default region".to_owned(),
        }
    }
}

/// Validated settings of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The Hadoop user the provider is made for (for messages; it decides the values, not the
    /// cache entry: users whose settings come out identical share a session).
    pub user: Option<String>,
    pub role_arn: String,
    /// `rolebridge.role.chain`: roles assumed in order before `role_arn`.
    pub chain: Vec<Hop>,
    pub external_id: Option<String>,
    /// `rolebridge.source.identity`, `{user}` replaced.
    pub source_identity: Option<String>,
    /// `rolebridge.session.tags`, `{user}` replaced, in the order given.
    pub tags: Vec<(String, String)>,
    /// `rolebridge.session.tags.transitive`: keys of `tags`.
    pub transitive_tag_keys: Vec<String>,
    pub session_name: String,
    pub duration: Duration,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub sts: StsTarget,
    pub refresh_ahead: Duration,
    pub failure_mode: FailureMode,
    /// `rolebridge.cache.dir`: `auto` or an absolute path; `None`: no node-wide sharing.
    pub cache_dir: Option<String>,
}

/// A value and the key it was read from.
struct Found {
    key: String,
    value: String,
}

/// The keys one setting may be read from for this provider, in precedence order, each with
/// whether it is a rolebridge key: the user's, each group's (in Hadoop's order), the bucket's,
/// the global one, then S3A's per-bucket and global keys.
fn candidates(raw: &RawSettings, name: &str, s3a: Option<&str>) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::with_capacity(8);
    if let Some(u) = &raw.hadoop_user {
        out.push((format!("{USER_PREFIX}{u}.{name}"), true));
    }
    for g in raw.groups.iter().flatten() {
        out.push((format!("{GROUP_PREFIX}{g}.{name}"), true));
    }
    if let Some(b) = &raw.bucket {
        out.push((format!("{BUCKET_PREFIX}{b}.{name}"), true));
    }
    out.push((format!("{PREFIX}{name}"), true));
    if let Some(s3a) = s3a {
        if let Some(b) = &raw.bucket {
            out.push((format!("fs.s3a.bucket.{b}.assumed.role.{s3a}"), false));
        }
        out.push((format!("fs.s3a.assumed.role.{s3a}"), false));
    }
    out
}

/// Looks up one setting in precedence order. `rolebridge.*` keys that are present but empty are
/// an error (a silent fallback to a default would hide a templating mistake); empty S3A keys are
/// treated as absent, as S3A itself does.
fn lookup(raw: &RawSettings, key: Key) -> Result<Option<Found>> {
    lookup_name(raw, key.name, key.s3a)
}

fn lookup_name(raw: &RawSettings, name: &str, s3a: Option<&str>) -> Result<Option<Found>> {
    for (candidate, ours) in candidates(raw, name, s3a) {
        if let Some(v) = raw.values.get(&candidate) {
            let value = v.trim();
            if value.is_empty() {
                if ours {
                    return Err(Error::setting(
                        candidate,
                        "is set but empty (or only white space)",
                        "Give it a value, or remove the key to use the default",
                    ));
                }
                continue;
            }
            return Ok(Some(Found {
                key: candidate,
                value: value.to_owned(),
            }));
        }
    }
    Ok(None)
}

/// The error for a provider with no role: it names the user, the groups looked at and every key
/// that would have applied. rolebridge never falls back to another identity.
fn no_role(raw: &RawSettings) -> Error {
    let keys: Vec<String> = candidates(raw, ROLE_ARN.name, ROLE_ARN.s3a)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let whose = match (&raw.hadoop_user, &raw.groups) {
        (Some(u), Some(g)) if g.is_empty() => format!(" for Hadoop user {u} (who has no groups)"),
        (Some(u), Some(g)) => format!(
            " for Hadoop user {u} (groups looked at, in order: {})",
            g.join(", ")
        ),
        (Some(u), None) => {
            format!(" for Hadoop user {u} (groups not looked up: no rolebridge.group.* key is set)")
        }
        (None, _) => String::new(),
    };
    let fix = "Set one of them to the ARN of the role to assume, e.g. \
               arn:aws:iam::222222222222:role/etl-writer; rolebridge never falls back to another \
               identity, such as the instance role";
    let key = match &raw.bucket {
        Some(b) => format!("{PREFIX}role.arn (or {BUCKET_PREFIX}{b}.role.arn)"),
        None => format!("{PREFIX}role.arn"),
    };
    Error::setting(
        key,
        format!(
            "no role is set{whose}; it is required, and none of these keys is set: {}",
            keys.join(", ")
        ),
        fix,
    )
}

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

/// A hop's external ID for a hop the chain does not have would be ignored: refuse it.
fn check_hop_keys(raw: &RawSettings, hops: usize, chain_key: Option<&str>) -> Result<()> {
    for n in hops + 1..=identity::MAX_CHAIN_HOPS {
        let name = identity::hop_external_id_name(n);
        if let Some((key, _)) = candidates(raw, &name, None)
            .into_iter()
            .find(|(k, _)| raw.values.contains_key(k))
        {
            let chain = match chain_key {
                Some(k) => format!("{k} lists {hops} role(s)"),
                None => "rolebridge.role.chain is not set".to_owned(),
            };
            return Err(Error::setting(
                key,
                format!("is the external ID of hop {n} of the role chain, but {chain}"),
                "Use hop numbers from 1 in the order of rolebridge.role.chain (the external ID of \
                 rolebridge.role.arn itself is rolebridge.external.id), or remove the key",
            ));
        }
    }
    Ok(())
}

/// Resolves and validates every setting. Nothing is fetched; the first broken rule is returned.
pub fn resolve(raw: &RawSettings) -> Result<Settings> {
    check_known_keys(raw)?;
    let user = raw.hadoop_user.as_deref();
    let role = lookup(raw, ROLE_ARN)?.ok_or_else(|| no_role(raw))?;
    let role_arn = validate_role_arn(&role.key, &role.value)?;

    let chain_found = lookup(raw, ROLE_CHAIN)?;
    let chain = match &chain_found {
        Some(f) => identity::parse_chain(&f.key, &f.value)?,
        None => Vec::new(),
    };
    let mut hops = Vec::with_capacity(chain.len());
    for (i, role_arn) in chain.into_iter().enumerate() {
        let external_id = match lookup_name(raw, &identity::hop_external_id_name(i + 1), None)? {
            Some(f) => Some(validate_external_id(&f.key, &f.value)?),
            None => None,
        };
        hops.push(Hop {
            role_arn,
            external_id,
        });
    }
    check_hop_keys(
        raw,
        hops.len(),
        chain_found.as_ref().map(|f| f.key.as_str()),
    )?;

    let external_id = match lookup(raw, EXTERNAL_ID)? {
        Some(f) => Some(validate_external_id(&f.key, &f.value)?),
        None => None,
    };

    let session_name = match lookup(raw, SESSION_NAME)? {
        Some(f) => {
            let name = identity::substitute(&f.key, &f.value, user)?;
            validate_session_name(&f.key, &name)
                .map_err(|e| identity::with_user_cause(e, &f.value, user, SESSION_NAME.name))?
        }
        None => default_session_name(user),
    };

    let duration_found = lookup(raw, SESSION_DURATION)?;
    let duration = match &duration_found {
        Some(f) => validate_session_duration(&f.key, &f.value)?,
        None => DEFAULT_SESSION_DURATION,
    };
    if let (Some(chain), Some(d)) = (&chain_found, &duration_found) {
        if duration > MAX_CHAINED_SESSION_DURATION {
            return Err(Error::setting(
                d.key.clone(),
                format!(
                    "is {}, but {} is set, and STS limits a session made by role chaining to 1h",
                    shown(&d.value),
                    chain.key
                ),
                "Set it to 1h or less, or assume the role without a chain",
            ));
        }
    }

    let source_identity = match lookup(raw, SOURCE_IDENTITY)? {
        Some(f) => Some(identity::validate_source_identity(
            &f.key,
            &f.value,
            user,
            SOURCE_IDENTITY.name,
        )?),
        None => None,
    };
    let tags_found = lookup(raw, SESSION_TAGS)?;
    let tags = match &tags_found {
        Some(f) => identity::parse_tags(&f.key, &f.value, user, SESSION_TAGS.name)?,
        None => Vec::new(),
    };
    let transitive_tag_keys = match lookup(raw, SESSION_TAGS_TRANSITIVE)? {
        Some(f) => identity::parse_transitive_keys(
            &f.key,
            &f.value,
            &tags,
            tags_found.as_ref().map(|t| t.key.as_str()),
        )?,
        None => Vec::new(),
    };

    let policy = match lookup(raw, SESSION_POLICY)? {
        Some(f) => Some(validate_policy(&f.key, &f.value)?),
        None => None,
    };
    let policy_arns = match lookup(raw, SESSION_POLICY_ARNS)? {
        Some(f) => validate_policy_arns(&f.key, &f.value)?,
        None => Vec::new(),
    };

    let region = match lookup(raw, STS_REGION)? {
        Some(f) => Some((validate_region(&f.key, &f.value)?, f.key)),
        None => None,
    };
    let endpoint = match lookup(raw, STS_ENDPOINT)? {
        Some(f) => Some((validate_endpoint(&f.key, &f.value)?, f.key)),
        None => None,
    };
    let timeout = match lookup(raw, STS_TIMEOUT)? {
        Some(f) => validate_sts_timeout(&f.key, &f.value)?,
        None => DEFAULT_STS_TIMEOUT,
    };
    let sts = sts_target(&role_arn, &role.key, region, endpoint, timeout)?;

    let refresh_ahead = match lookup(raw, REFRESH_AHEAD)? {
        Some(f) => {
            let r = parse_time_duration(&f.key, &f.value)?;
            check_refresh_ahead(
                &f.key,
                r,
                duration_found.as_ref().map(|d| d.key.as_str()),
                duration,
            )?
        }
        None => DEFAULT_REFRESH_AHEAD.min(duration / 2),
    };

    let failure_mode = match lookup(raw, FAILURE_MODE)? {
        Some(f) => validate_failure_mode(&f.key, &f.value)?,
        None => FailureMode::Closed,
    };

    let cache_dir = match lookup(raw, CACHE_DIR)? {
        Some(f) => Some(validate_cache_dir(&f.key, &f.value)?),
        None => None,
    };

    Ok(Settings {
        user: raw.hadoop_user.clone(),
        role_arn,
        chain: hops,
        external_id,
        source_identity,
        tags,
        transitive_tag_keys,
        session_name,
        duration,
        policy,
        policy_arns,
        sts,
        refresh_ahead,
        failure_mode,
        cache_dir,
    })
}

/// The `rolebridge.cache.dir` value that picks the per-user tmpfs directory (see
/// `shared_cache`, which depends on this module, not the other way round).
pub const CACHE_DIR_AUTO: &str = "auto";

/// `auto`, or an absolute path of a directory for node-wide session sharing.
pub fn validate_cache_dir(key: &str, value: &str) -> Result<String> {
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

fn check_refresh_ahead(
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

/// `rolebridge-<user>`, with characters STS does not take replaced by `-`, cut to 64.
pub fn default_session_name(hadoop_user: Option<&str>) -> String {
    let user: String = hadoop_user
        .unwrap_or("")
        .trim()
        .chars()
        .map(|c| if is_name_char(c) { c } else { '-' })
        .collect();
    let name = if user.is_empty() {
        "rolebridge".to_owned()
    } else {
        format!("rolebridge-{user}")
    };
    name.chars().take(64).collect()
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

fn sts_target(
    role_arn: &str,
    role_key: &str,
    region: Option<(String, String)>,
    endpoint: Option<(String, String)>,
    timeout: Duration,
) -> Result<StsTarget> {
    let role_partition = role_arn.split(':').nth(1).unwrap_or("aws");
    let (region, region_key) = match region {
        Some((r, k)) => (Some(r), Some(k)),
        None => (
            endpoint.as_ref().and_then(|(e, _)| region_of_endpoint(e)),
            None,
        ),
    };
    if let (Some(r), Some(k)) = (&region, &region_key) {
        let p = partition_of_region(r);
        if p != role_partition {
            return Err(Error::setting(
                k.clone(),
                format!(
                    "region \"{r}\" is in partition {p}, but the role {role_arn} (from {role_key}) is in partition {role_partition}"
                ),
                "STS in one partition cannot assume a role of another; use a region of the role's partition",
            ));
        }
    }
    match (region, endpoint) {
        (Some(r), None) if r == GLOBAL_REGION => Ok(StsTarget {
            region: Some("us-east-1".to_owned()),
            endpoint: Some(GLOBAL_ENDPOINT.to_owned()),
            timeout,
        }),
        (Some(r), Some((_, ek))) if r == GLOBAL_REGION => Err(Error::setting(
            ek,
            format!(
                "contradicts {}=aws-global, which already picks the global endpoint",
                region_key.unwrap_or_default()
            ),
            "Remove one of the two",
        )),
        (region, endpoint) => Ok(StsTarget {
            region,
            endpoint: endpoint.map(|(e, _)| e),
            timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSettings {
        RawSettings::new(Some("dest-a"), Some("alice")).set(
            "rolebridge.role.arn",
            "arn:aws:iam::222222222222:role/writer",
        )
    }

    fn err_key(r: Result<Settings>) -> String {
        match r {
            Err(Error::Setting { key, .. }) => key,
            other => panic!("expected a setting error, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let s = resolve(&raw()).unwrap();
        assert_eq!(s.role_arn, "arn:aws:iam::222222222222:role/writer");
        assert_eq!(s.session_name, "rolebridge-alice");
        assert_eq!(s.duration, Duration::from_secs(3600));
        assert_eq!(s.refresh_ahead, Duration::from_secs(300));
        assert_eq!(s.external_id, None);
        assert_eq!(
            s.sts,
            StsTarget {
                region: None,
                endpoint: None,
                timeout: Duration::from_secs(30)
            }
        );
        assert_eq!(s.failure_mode, FailureMode::Closed);
    }

    #[test]
    fn missing_role_names_both_keys() {
        let r = resolve(&RawSettings::new(Some("b1"), None));
        let msg = r.unwrap_err().to_string();
        assert!(
            msg.contains("rolebridge.role.arn") && msg.contains("rolebridge.bucket.b1.role.arn"),
            "{msg}"
        );
        assert!(msg.contains("required"), "{msg}");
    }

    #[test]
    fn per_bucket_wins_and_is_named_in_errors() {
        let s = resolve(&raw().set(
            "rolebridge.bucket.dest-a.role.arn",
            "arn:aws:iam::333333333333:role/b",
        ))
        .unwrap();
        assert_eq!(s.role_arn, "arn:aws:iam::333333333333:role/b");
        let other = RawSettings {
            bucket: Some("other".into()),
            ..raw().set(
                "rolebridge.bucket.dest-a.role.arn",
                "arn:aws:iam::333333333333:role/b",
            )
        };
        assert_eq!(
            resolve(&other).unwrap().role_arn,
            "arn:aws:iam::222222222222:role/writer"
        );
        let key = err_key(resolve(
            &raw().set("rolebridge.bucket.dest-a.external.id", "x"),
        ));
        assert_eq!(key, "rolebridge.bucket.dest-a.external.id");
    }

    #[test]
    fn s3a_keys_are_read_where_ours_are_absent() {
        let r = RawSettings::new(Some("dest-a"), None)
            .set(
                "fs.s3a.assumed.role.arn",
                "arn:aws:iam::222222222222:role/from-s3a",
            )
            .set("fs.s3a.bucket.dest-a.assumed.role.session.duration", "30m")
            .set("fs.s3a.assumed.role.session.duration", "2h")
            .set("fs.s3a.assumed.role.policy", "{\"Version\":\"2012-10-17\"}")
            .set("fs.s3a.assumed.role.sts.endpoint", "")
            .set("fs.s3a.assumed.role.sts.endpoint.region", "eu-west-1")
            .set("fs.s3a.assumed.role.external.id", "ext-123");
        let s = resolve(&r).unwrap();
        assert_eq!(s.role_arn, "arn:aws:iam::222222222222:role/from-s3a");
        assert_eq!(s.duration, Duration::from_secs(1800));
        assert_eq!(s.policy.as_deref(), Some("{\"Version\":\"2012-10-17\"}"));
        assert_eq!(s.external_id.as_deref(), Some("ext-123"));
        assert_eq!(s.sts.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.sts.endpoint, None, "empty S3A keys count as absent");
        let ours = r
            .clone()
            .set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/ours");
        assert_eq!(
            resolve(&ours).unwrap().role_arn,
            "arn:aws:iam::222222222222:role/ours"
        );
        assert_eq!(
            err_key(resolve(
                &r.set("fs.s3a.assumed.role.session.duration", "1s")
                    .set("fs.s3a.bucket.dest-a.assumed.role.session.duration", "5s")
            )),
            "fs.s3a.bucket.dest-a.assumed.role.session.duration"
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_the_nearest_known_key() {
        // Issue 9, hole 2: typos used to be ignored.
        for (typo, nearest) in [
            ("rolebridge.extrenal.id", "rolebridge.external.id"),
            ("rolebridge.rol.arn", "rolebridge.role.arn"),
            (
                "rolebridge.session.durations",
                "rolebridge.session.duration",
            ),
            (
                "rolebridge.bucket.lake.rol.arn",
                "rolebridge.bucket.lake.role.arn",
            ),
            (
                "rolebridge.bucket.logs.eu.example.extrenal.id",
                "rolebridge.bucket.logs.eu.example.external.id",
            ),
            ("rolebridge.bucket.lake", "rolebridge.role.arn"),
        ] {
            let e = resolve(&raw().set(typo, "x")).unwrap_err();
            assert_eq!(err_key(Err(e.clone())), typo);
            let text = e.to_string();
            assert!(
                text.contains("is not a setting of rolebridge")
                    && text.contains(&format!("Did you mean {nearest}?")),
                "{typo}: {text}"
            );
        }
        // Known keys, per bucket too (bucket names may hold dots), are accepted.
        resolve(
            &raw()
                .set("rolebridge.bucket.logs.eu.example.external.id", "abcdef")
                .set(
                    "rolebridge.bucket.lake.session.policy.arns",
                    "arn:aws:iam::aws:policy/P",
                )
                .set("rolebridge.cache.dir", "auto"),
        )
        .unwrap();
        // The jar's system properties are named as such.
        let e = resolve(&raw().set("rolebridge.native.path", "/opt/l.so")).unwrap_err();
        assert!(
            e.to_string().contains("is a JVM system property")
                && e.to_string().contains("-Drolebridge.native.path="),
            "{e}"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    fn tenant(user: &str, groups: &[&str]) -> RawSettings {
        RawSettings::new(Some("lake"), Some(user))
            .with_groups(groups.iter().map(|g| g.to_string()).collect())
    }

    #[test]
    fn user_then_groups_in_order_then_bucket_then_global() {
        let conf = |r: RawSettings| {
            r.set(
                "rolebridge.role.arn",
                "arn:aws:iam::222222222222:role/global",
            )
            .set(
                "rolebridge.bucket.lake.role.arn",
                "arn:aws:iam::222222222222:role/bucket",
            )
            .set(
                "rolebridge.group.staff.role.arn",
                "arn:aws:iam::222222222222:role/staff",
            )
            .set(
                "rolebridge.group.analysts.role.arn",
                "arn:aws:iam::222222222222:role/analysts",
            )
            .set(
                "rolebridge.user.alice.role.arn",
                "arn:aws:iam::222222222222:role/alice",
            )
            .set("rolebridge.group.analysts.external.id", "ext-analysts")
            .set("rolebridge.user.first.last.session.name", "dotted")
        };
        let role = |r: RawSettings| resolve(&conf(r)).unwrap().role_arn;
        assert!(role(tenant("alice", &["analysts"])).ends_with("/alice"));
        assert!(role(tenant("bob", &["analysts", "staff"])).ends_with("/analysts"));
        assert!(role(tenant("bob", &["staff", "analysts"])).ends_with("/staff"));
        assert!(role(tenant("dave", &["other"])).ends_with("/bucket"));
        let mut no_bucket = tenant("dave", &[]);
        no_bucket.bucket = None;
        assert!(role(no_bucket).ends_with("/global"));
        // Each setting on its own: alice's role, her group's external ID.
        let s = resolve(&conf(tenant("alice", &["analysts"]))).unwrap();
        assert_eq!(s.external_id.as_deref(), Some("ext-analysts"));
        assert_eq!(s.user.as_deref(), Some("alice"));
        // User names with dots.
        assert_eq!(
            resolve(&conf(tenant("first.last", &[])))
                .unwrap()
                .session_name,
            "dotted"
        );
        // Groups not looked up: group keys do not apply.
        let unlooked = RawSettings::new(Some("other"), Some("bob"));
        assert!(role(unlooked).ends_with("/global"));
    }

    #[test]
    fn a_user_without_a_role_is_refused_naming_user_groups_and_keys() {
        let r = tenant("carol", &["interns", "staff"]).set(
            "rolebridge.user.alice.role.arn",
            "arn:aws:iam::222222222222:role/alice",
        );
        let msg = resolve(&r).unwrap_err().to_string();
        for part in [
            "Hadoop user carol",
            "groups looked at, in order: interns, staff",
            "rolebridge.user.carol.role.arn, rolebridge.group.interns.role.arn, \
             rolebridge.group.staff.role.arn, rolebridge.bucket.lake.role.arn, rolebridge.role.arn, \
             fs.s3a.bucket.lake.assumed.role.arn, fs.s3a.assumed.role.arn",
            "never falls back",
        ] {
            assert!(msg.contains(part), "{part}: {msg}");
        }
        let msg = resolve(&RawSettings::new(None, Some("carol")))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("groups not looked up"), "{msg}");
    }

    #[test]
    fn unknown_keys_under_users_and_groups_are_refused() {
        let base =
            || tenant("alice", &[]).set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/r");
        for (typo, nearest) in [
            (
                "rolebridge.user.alice.rol.arn",
                "rolebridge.user.alice.role.arn",
            ),
            (
                "rolebridge.user.bob.sourse.identity",
                "rolebridge.user.bob.source.identity",
            ),
            (
                "rolebridge.group.data.eng.session.tag",
                "rolebridge.group.data.eng.session.tags",
            ),
            (
                "rolebridge.role.chain.2.externl.id",
                "rolebridge.role.chain.2.external.id",
            ),
        ] {
            let e = resolve(&base().set(typo, "x")).unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("{typo}: "))
                    && text.contains(&format!("Did you mean {nearest}?")),
                "{typo}: {text}"
            );
        }
        // Another user's keys are checked too (a typo is a typo whoever runs the job), but only
        // for their names: their values are validated when that user's provider is made.
        resolve(
            &base()
                .set("rolebridge.user.bob.role.arn", "not an arn")
                .set("rolebridge.group.x.y.session.tags", "k=v"),
        )
        .unwrap();
    }

    #[test]
    fn identity_values_take_the_user() {
        let s = resolve(
            &tenant("alice", &[])
                .set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/r")
                .set("rolebridge.session.name", "etl-{user}")
                .set("rolebridge.source.identity", "{user}")
                .set("rolebridge.session.tags", "user={user}, team=data")
                .set("rolebridge.session.tags.transitive", "user"),
        )
        .unwrap();
        assert_eq!(s.session_name, "etl-alice");
        assert_eq!(s.source_identity.as_deref(), Some("alice"));
        assert_eq!(
            s.tags,
            vec![
                ("user".into(), "alice".into()),
                ("team".into(), "data".into())
            ]
        );
        assert_eq!(s.transitive_tag_keys, vec!["user".to_owned()]);
        let spec = crate::cache::SessionSpec::from_settings(&s);
        assert_eq!(spec.source_identity.as_deref(), Some("alice"));
        // A name that cannot be a session name is an error naming the user.
        let e = resolve(
            &tenant("a/b", &[])
                .set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/r")
                .set("rolebridge.session.name", "etl-{user}"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("rolebridge.session.name: ") && e.contains("\"a/b\""),
            "{e}"
        );
        assert_eq!(
            err_key(resolve(
                &raw().set("rolebridge.session.tags.transitive", "user")
            )),
            "rolebridge.session.tags.transitive"
        );
        assert_eq!(
            err_key(resolve(
                &raw().set("rolebridge.user.alice.source.identity", "aws:me")
            )),
            "rolebridge.user.alice.source.identity"
        );
    }

    #[test]
    fn chains_with_per_hop_external_ids() {
        let chained = || {
            raw()
                .set(
                    "rolebridge.role.chain",
                    "arn:aws:iam::333333333333:role/hub, arn:aws:iam::444444444444:role/spoke",
                )
                .set("rolebridge.role.chain.1.external.id", "ext-hub")
                .set("rolebridge.external.id", "ext-final")
        };
        let s = resolve(&chained()).unwrap();
        assert_eq!(
            s.chain,
            vec![
                Hop {
                    role_arn: "arn:aws:iam::333333333333:role/hub".into(),
                    external_id: Some("ext-hub".into())
                },
                Hop {
                    role_arn: "arn:aws:iam::444444444444:role/spoke".into(),
                    external_id: None
                },
            ]
        );
        assert_eq!(s.external_id.as_deref(), Some("ext-final"));
        // The chain is part of the cache key.
        assert_ne!(
            crate::cache::SessionSpec::from_settings(&s),
            crate::cache::SessionSpec::from_settings(&resolve(&raw()).unwrap())
        );
        let e = resolve(&chained().set("rolebridge.session.duration", "2h")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("rolebridge.session.duration: ")
                && text.contains("rolebridge.role.chain")
                && text.contains("1h"),
            "{text}"
        );
        resolve(&chained().set("rolebridge.session.duration", "1h")).unwrap();
        resolve(&raw().set("rolebridge.session.duration", "2h")).unwrap();
        let e = resolve(&chained().set("rolebridge.role.chain.3.external.id", "x")).unwrap_err();
        assert!(e.to_string().contains("lists 2 role(s)"), "{e}");
        assert_eq!(
            err_key(resolve(
                &raw().set("rolebridge.role.chain.1.external.id", "abc")
            )),
            "rolebridge.role.chain.1.external.id"
        );
        assert_eq!(
            err_key(resolve(&raw().set(
                "rolebridge.role.chain",
                "arn:aws:iam::333333333333:user/x"
            ))),
            "rolebridge.role.chain"
        );
    }

    #[test]
    fn empty_rolebridge_value_is_an_error() {
        assert_eq!(
            err_key(resolve(&raw().set("rolebridge.session.name", "  "))),
            "rolebridge.session.name"
        );
    }

    #[test]
    fn role_arns() {
        for ok in [
            "arn:aws:iam::222222222222:role/writer",
            "arn:aws-cn:iam::222222222222:role/a/b/c/writer+x=y,z.q@w-1",
            "arn:aws-us-gov:iam::000000000000:role/service-role/x",
        ] {
            validate_role_arn("k", ok).unwrap();
        }
        for bad in [
            "writer",
            "arn:aws:iam::22222222222:role/writer",
            "arn:aws:iam::2222222222222:role/writer",
            "arn:aws:iam::22222222222a:role/writer",
            "arn:aws:iam:us-east-1:222222222222:role/writer",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::222222222222:user/writer",
            "arn:aws:iam::222222222222:role/",
            "arn:aws:iam::222222222222:role/has space",
            "arn:awz:iam::222222222222:role/writer",
            "arn:aws:iam::222222222222:role/é",
        ] {
            assert!(validate_role_arn("k", bad).is_err(), "{bad}");
        }
        let long = format!("arn:aws:iam::222222222222:role/{}", "a".repeat(65));
        assert!(validate_role_arn("k", &long).is_err());
    }

    #[test]
    fn external_ids_and_session_names() {
        validate_external_id("k", "ab").unwrap();
        validate_external_id("k", "a:b/c=d,e.f@g-h_i+j").unwrap();
        validate_external_id("k", &"x".repeat(1224)).unwrap();
        for bad in ["a", "has space", "semi;colon", "ünï", &"x".repeat(1225)] {
            assert!(validate_external_id("k", bad).is_err(), "{bad}");
        }
        validate_session_name("k", "ab").unwrap();
        validate_session_name("k", &"s".repeat(64)).unwrap();
        for bad in ["a", "a:b", "a/b", &"s".repeat(65)] {
            assert!(validate_session_name("k", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_session_names_fit_sts() {
        assert_eq!(default_session_name(Some("alice")), "rolebridge-alice");
        assert_eq!(
            default_session_name(Some("alice/host@EXAMPLE.COM")),
            "rolebridge-alice-host@EXAMPLE.COM"
        );
        assert_eq!(
            default_session_name(Some("Jürgen Müller")),
            "rolebridge-J-rgen-M-ller"
        );
        assert_eq!(default_session_name(None), "rolebridge");
        assert_eq!(default_session_name(Some(&"u".repeat(100))).len(), 64);
        validate_session_name("k", &default_session_name(Some(&"ü".repeat(100)))).unwrap();
    }

    #[test]
    fn durations() {
        let d = |v| parse_time_duration("k", v);
        assert_eq!(d("900").unwrap(), Duration::from_secs(900));
        assert_eq!(d("900s").unwrap(), Duration::from_secs(900));
        assert_eq!(d("45m").unwrap(), Duration::from_secs(2700));
        assert_eq!(d("1H").unwrap(), Duration::from_secs(3600));
        assert_eq!(d("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(d("1500ms").unwrap(), Duration::from_millis(1500));
        for bad in [
            "",
            "m",
            "-5m",
            "5 m",
            "5min",
            "1.5h",
            "99999999999999999999999s",
        ] {
            assert!(d(bad).is_err(), "{bad}");
        }
        validate_session_duration("k", "15m").unwrap();
        validate_session_duration("k", "12h").unwrap();
        for bad in ["899s", "12h1s", "900500ms", "1d"] {
            assert!(validate_session_duration("k", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refresh_ahead_must_fit_in_the_session() {
        let s = resolve(
            &raw()
                .set("rolebridge.session.duration", "15m")
                .set("rolebridge.refresh.ahead", "14m"),
        )
        .unwrap();
        assert_eq!(s.refresh_ahead, Duration::from_secs(840));
        let e = resolve(
            &raw()
                .set("rolebridge.session.duration", "15m")
                .set("rolebridge.refresh.ahead", "15m"),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("rolebridge.refresh.ahead:")
                && msg.contains("rolebridge.session.duration"),
            "{msg}"
        );
        assert_eq!(
            err_key(resolve(&raw().set("rolebridge.refresh.ahead", "30s"))),
            "rolebridge.refresh.ahead"
        );
    }

    #[test]
    fn policies() {
        validate_policy("k", r#"{"Version":"2012-10-17","Statement":[]}"#).unwrap();
        assert!(validate_policy("k", "{not json").is_err());
        assert!(validate_policy("k", "[1,2]").is_err());
        let big = format!(r#"{{"Sid":"{}"}}"#, "x".repeat(2048));
        assert!(validate_policy("k", &big)
            .unwrap_err()
            .to_string()
            .contains("2048"));
        let arns = validate_policy_arns(
            "k",
            "arn:aws:iam::aws:policy/ReadOnlyAccess, arn:aws:iam::222222222222:policy/x/y",
        )
        .unwrap();
        assert_eq!(arns.len(), 2);
        for bad in [
            "arn:aws:iam::aws:policy/",
            "ReadOnlyAccess",
            "arn:aws:iam::aws:policy/a,,",
            "arn:aws:iam::aws:role/x",
        ] {
            assert!(validate_policy_arns("k", bad).is_err(), "{bad}");
        }
        let eleven = ["arn:aws:iam::aws:policy/A"; 11].join(",");
        assert!(validate_policy_arns("k", &eleven).is_err());
    }

    #[test]
    fn regions_and_endpoints() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "us-isob-east-1",
            "eusc-de-east-1",
            "aws-global",
        ] {
            validate_region("k", ok).unwrap();
        }
        for bad in [
            "US-EAST-1",
            "useast1",
            "us-east",
            "us-east-1 ",
            "us_east_1",
            "x-y-1",
            "us-east-100",
        ] {
            assert!(validate_region("k", bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_endpoint("k", "sts.eu-west-1.amazonaws.com").unwrap(),
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            validate_endpoint("k", "http://127.0.0.1:5000").unwrap(),
            "http://127.0.0.1:5000"
        );
        // Plain http only to this machine: the answer carries the role's secret key and token.
        for loopback in [
            "http://127.0.0.1",
            "http://127.8.9.10:80/",
            "http://localhost:4566",
            "HTTP://LOCALHOST",
            "http://[::1]:5000",
        ] {
            validate_endpoint("k", loopback).unwrap();
        }
        for remote in [
            "http://sts.eu-west-1.amazonaws.com",
            "http://10.0.0.5:8080",
            "http://[2001:db8::1]",
            "http://128.0.0.1",
            "http://localhost.example.com",
        ] {
            let e = validate_endpoint("fs.s3a.assumed.role.sts.endpoint", remote).unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with("fs.s3a.assumed.role.sts.endpoint: ")
                    && text.contains("unencrypted")
                    && text.contains("Use https://"),
                "{text}"
            );
        }
        validate_endpoint("k", "https://[::1]:443/").unwrap();
        for bad in [
            "ftp://x",
            "http://",
            "http://a b",
            "http://h:0",
            "http://h:99999",
            "http://h/?q=1",
            "http://hö",
        ] {
            assert!(validate_endpoint("k", bad).is_err(), "{bad}");
        }
        assert_eq!(
            region_of_endpoint("https://sts.eu-west-1.amazonaws.com").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of_endpoint("https://vpce-1-a.sts.ap-south-1.vpce.amazonaws.com").as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(region_of_endpoint("http://127.0.0.1:5000"), None);
        assert_eq!(region_of_endpoint("https://sts.amazonaws.com"), None);
    }

    #[test]
    fn timeouts_and_failure_modes() {
        let s = resolve(
            &raw()
                .set("rolebridge.sts.timeout", "5s")
                .set("rolebridge.failure.mode", "OPEN"),
        )
        .unwrap();
        assert_eq!(s.sts.timeout, Duration::from_secs(5));
        assert_eq!(s.failure_mode, FailureMode::Open);
        for bad in ["0s", "999ms", "6m", "soon"] {
            assert_eq!(
                err_key(resolve(&raw().set("rolebridge.sts.timeout", bad))),
                "rolebridge.sts.timeout",
                "{bad}"
            );
        }
        let s = resolve(&raw().set("rolebridge.cache.dir", "auto")).unwrap();
        assert_eq!(s.cache_dir.as_deref(), Some("auto"));
        for bad in ["relative/dir", "/a/../b", "AUTO"] {
            assert_eq!(
                err_key(resolve(&raw().set("rolebridge.cache.dir", bad))),
                "rolebridge.cache.dir",
                "{bad}"
            );
        }
        for bad in ["fail-closed", "true", "0"] {
            assert_eq!(
                err_key(resolve(&raw().set("rolebridge.failure.mode", bad))),
                "rolebridge.failure.mode",
                "{bad}"
            );
        }
    }

    #[test]
    fn sts_targets() {
        let s = resolve(&raw().set("rolebridge.sts.region", "aws-global")).unwrap();
        assert_eq!(s.sts.endpoint.as_deref(), Some("https://sts.amazonaws.com"));
        assert_eq!(s.sts.region.as_deref(), Some("us-east-1"));
        let s =
            resolve(&raw().set("rolebridge.sts.endpoint", "sts.eu-west-1.amazonaws.com")).unwrap();
        assert_eq!(s.sts.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            err_key(resolve(&raw().set("rolebridge.sts.region", "cn-north-1"))),
            "rolebridge.sts.region"
        );
        assert_eq!(
            err_key(resolve(
                &raw()
                    .set("rolebridge.sts.region", "aws-global")
                    .set("rolebridge.sts.endpoint", "http://x")
            )),
            "rolebridge.sts.endpoint"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// STS's own patterns, written independently of the validators above.
    fn sts_accepts_session_name(s: &str) -> bool {
        (2..=64).contains(&s.chars().count())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    }

    fn sts_accepts_external_id(s: &str) -> bool {
        (2..=1224).contains(&s.chars().count())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
    }

    proptest! {
        #[test]
        fn resolve_never_panics(key in prop::sample::select(ALL_KEYS.to_vec()), value in ".{0,300}", bucket in "[a-z0-9.-]{0,20}") {
            let raw = RawSettings::new(Some(&bucket), Some("u"))
                .set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/r")
                .set(&format!("{PREFIX}{}", key.name), &value);
            let _ = resolve(&raw);
        }

        #[test]
        fn accepted_session_names_are_what_sts_accepts(s in "[ -~\u{80}-\u{3000}]{0,80}") {
            prop_assert_eq!(validate_session_name("k", &s).is_ok(), sts_accepts_session_name(&s));
        }

        #[test]
        fn accepted_external_ids_are_what_sts_accepts(s in "[ -~\u{80}-\u{3000}]{0,40}") {
            prop_assert_eq!(validate_external_id("k", &s).is_ok(), sts_accepts_external_id(&s));
        }

        #[test]
        fn accepted_role_arns_are_what_iam_allows(
            // weighted towards valid parts, so that both answers come up often
            partition in prop::sample::select(vec!["aws", "aws", "aws", "aws-cn", "aws-us-gov", "awz", "AWS", ""]),
            service in prop::sample::select(vec!["iam", "iam", "iam", "sts", "s3"]),
            account in prop_oneof!["[0-9]{12}", "[0-9a]{11,13}"],
            kind in prop::sample::select(vec!["role/", "role/", "role/", "user/", "role", ""]),
            path in prop::sample::select(vec!["", "service-role/", "a/b/", "a b/"]),
            // '/' left out: it would move characters from the name into the path
            name in prop_oneof!["[A-Za-z0-9_+=,.@-]{0,66}", "[ -.0-~\u{e0}]{0,70}"],
        ) {
            let arn = format!("arn:{partition}:{service}::{account}:{kind}{path}{name}");
            let iam_allows = ["aws", "aws-cn", "aws-us-gov"].contains(&partition)
                && service == "iam"
                && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
                && kind == "role/"
                && !path.contains(' ')
                && (1..=64).contains(&name.chars().count())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
            prop_assert_eq!(validate_role_arn("k", &arn).is_ok(), iam_allows, "{}", arn);
        }

        #[test]
        fn default_session_names_are_always_accepted(user in ".{0,200}") {
            prop_assert!(sts_accepts_session_name(&default_session_name(Some(&user))));
        }

        #[test]
        fn accepted_durations_are_in_range(v in "[0-9]{0,8}(ns|us|ms|s|m|h|d|S|M|H|x|)") {
            if let Ok(d) = validate_session_duration("k", &v) {
                prop_assert!(d >= MIN_SESSION_DURATION && d <= MAX_SESSION_DURATION && d.subsec_nanos() == 0);
            }
        }

        #[test]
        fn errors_name_the_key_used(v in "[^ ]{1,30}") {
            let raw = RawSettings::new(Some("b"), None)
                .set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/r")
                .set("rolebridge.bucket.b.session.duration", &v);
            if let Err(e) = resolve(&raw) {
                prop_assert!(e.to_string().starts_with("rolebridge.bucket.b.session.duration: "), "{}", e);
            }
        }
    }
}
