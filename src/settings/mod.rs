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
//!
//! Parts: `keys` (the key table and the known-key check), `scopes` (which key applies, in
//! precedence order), `values` (the rule for each value, below everything that applies one),
//! [`identity`] (the `{user}` placeholder, SourceIdentity, tags and role chains); this file holds
//! the types and [`resolve`].

pub mod identity;
mod keys;
mod proxy;
mod scopes;
mod values;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::proxy::Proxies;

pub use identity::{
    hop_external_id_name, hop_of_external_id_name, Hop, MAX_CHAIN_HOPS, MAX_TAGS, USER_PLACEHOLDER,
};
use keys::check_known_keys;
pub use keys::*;
use scopes::{check_bucket_scopes, check_hop_keys, lookup, lookup_name, no_role};
pub use values::*;
use values::{check_refresh_ahead, GLOBAL_ENDPOINT};

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
    /// The proxy variables of the environment (`HTTPS_PROXY`, `NO_PROXY`, ...), as the caller read
    /// them ([`RawSettings::with_process_proxy_env`]); empty in tests that do not set them.
    pub proxy_env: BTreeMap<String, String>,
}

impl RawSettings {
    pub fn new(bucket: Option<&str>, hadoop_user: Option<&str>) -> Self {
        RawSettings {
            bucket: bucket.filter(|b| !b.is_empty()).map(str::to_owned),
            hadoop_user: hadoop_user.filter(|u| !u.is_empty()).map(str::to_owned),
            groups: None,
            values: BTreeMap::new(),
            proxy_env: BTreeMap::new(),
        }
    }

    /// Takes the proxy variables from this process's environment.
    pub fn with_process_proxy_env(mut self) -> Self {
        self.proxy_env = crate::proxy::ENV_VARS
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        self
    }

    /// Sets a proxy variable, as if the environment had it.
    pub fn with_proxy_env(mut self, var: &str, value: &str) -> Self {
        self.proxy_env.insert(var.to_owned(), value.to_owned());
        self
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

/// call to it may take, retries included.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StsTarget {
    /// Signing region; `None` means the AWS SDK's default region chain decides.
    pub region: Option<String>,
    /// Endpoint URL; `None` means the regional endpoint of `region`.
    pub endpoint: Option<String>,
    pub timeout: Duration,
    /// The proxies STS calls go through (S3A's `fs.s3a.proxy.*` keys, else the environment's).
    /// Part of the process's STS client choice, never of the node cache's key: a route does not
    /// change the session.
    pub proxies: Arc<Proxies>,
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

    /// The URL STS calls go to: the endpoint, else the region's regional endpoint (the
    /// process's region when none is set: `us-east-1` stands in for naming the route).
    pub fn url(&self) -> String {
        match (&self.endpoint, &self.region) {
            (Some(e), _) => e.clone(),
            (None, Some(r)) if r.starts_with("cn-") => format!("https://sts.{r}.amazonaws.com.cn"),
            (None, Some(r)) => format!("https://sts.{r}.amazonaws.com"),
            (None, None) => "https://sts.us-east-1.amazonaws.com".to_owned(),
        }
    }

    /// [`Self::describe`] and, where a proxy is set, the way STS calls go (password hidden).
    pub fn describe_route(&self) -> String {
        if self.proxies.any() {
            format!("{} {}", self.describe(), self.proxies.route(&self.url()))
        } else {
            self.describe()
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
    /// `rolebridge.refusal.ttl`: how long an STS refusal is remembered (zero: not at all). Not
    /// part of the session's cache key: it changes no session.
    pub refusal_ttl: Duration,
}

/// The key `key`'s value is read from for this provider, by the precedence of [`resolve`]; `None`
/// when none is set (the default applies) or the lookup itself is refused (as `resolve` says).
pub fn key_used(raw: &RawSettings, key: Key) -> Option<String> {
    lookup(raw, key).ok().flatten().map(|f| f.key)
}

/// With a `rolebridge.group.*` key set, the user's groups must be known: without them the bucket's
/// or the global settings would apply to a member of a group with settings of its own. A lookup
/// that failed or found no groups (Hadoop answers both with an empty list) is refused.
fn check_groups_known(raw: &RawSettings) -> Result<()> {
    let Some(group_key) = raw.values.keys().find(|k| k.starts_with(GROUP_PREFIX)) else {
        return Ok(());
    };
    if raw.groups.as_ref().is_some_and(|g| !g.is_empty()) {
        return Ok(());
    }
    let user = raw.hadoop_user.as_deref().unwrap_or("(not given)");
    Err(Error::setting(
        group_key.clone(),
        format!(
            "is set, so the groups of Hadoop user {user} must be known, but the lookup of the \
             user's groups found no groups (or was not made)"
        ),
        "Make the group mapping (hadoop.security.group.mapping; for the rolebridge command, `id`, \
         or --groups) know the user on this node, or remove the rolebridge.group.* keys; rolebridge \
         never lets the bucket's or the global settings stand in for a group's",
    ))
}

/// What signs one provider's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// A role applies to the bucket (and user): its session, from AssumeRole.
    Role(Box<Settings>),
    /// No role applies and `rolebridge.unmapped.buckets` is `source`: the source credentials
    /// themselves (the node's own identity), on purpose.
    Source(SourceOnly),
}

/// The settings of a provider that hands out the source credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOnly {
    pub user: Option<String>,
    pub bucket: Option<String>,
    /// Where the source chain's own STS calls go (web identity, SSO): region and timeout only.
    pub sts: StsTarget,
    pub refresh_ahead: Duration,
    pub failure_mode: FailureMode,
}

/// Resolves and validates every setting of a provider that needs a role (the command's
/// `credential-process`, `doctor` and `policy`): a bucket that `rolebridge.unmapped.buckets=source`
/// leaves to the source credentials is an error here.
pub fn resolve(raw: &RawSettings) -> Result<Settings> {
    match resolve_signer(raw)? {
        Signer::Role(s) => Ok(*s),
        Signer::Source(_) => Err(Error::setting(
            "rolebridge.unmapped.buckets",
            format!(
                "is source, and no role applies{}, so its requests are signed with the source \
                 credentials themselves: there is no role to assume",
                raw.bucket
                    .as_deref()
                    .map(|b| format!(" to bucket {b}"))
                    .unwrap_or_default()
            ),
            "Give the bucket a role (rolebridge.bucket.<BUCKET>.role.arn), or use the source \
             credentials directly",
        )),
    }
}

/// `rolebridge.unmapped.buckets` says what happens where no scope gives a role: a value per user,
/// group or bucket is refused rather than ignored.
fn check_global_only(raw: &RawSettings) -> Result<()> {
    for key in GLOBAL_ONLY {
        let global = format!("{PREFIX}{}", key.name);
        let suffix = format!(".{}", key.name);
        let scoped = raw.values.keys().find(|k| {
            **k != global
                && k.ends_with(&suffix)
                && [USER_PREFIX, GROUP_PREFIX, BUCKET_PREFIX]
                    .iter()
                    .any(|p| k.starts_with(p))
        });
        if let Some(k) = scoped {
            return Err(Error::setting(
                k.clone(),
                format!(
                    "sets {global} for one user, group or bucket, but it is a global setting: \
                     it says what signs the buckets that no scope gives a role"
                ),
                format!(
                    "Set {global} once, and give each bucket that needs a role its own \
                     {BUCKET_PREFIX}<BUCKET>.role.arn"
                ),
            ));
        }
    }
    Ok(())
}

/// `rolebridge.unmapped.buckets`, checked against the settings that would make it unsafe or
/// meaningless: `source` needs the file system's bucket, and is refused beside a global role (no
/// bucket would be unmapped) and beside a group's role for every bucket (a group lookup that
/// missed the group on one node would hand a member the source credentials instead of the
/// group's role).
fn unmapped_buckets(raw: &RawSettings) -> Result<Unmapped> {
    let Some(found) = lookup_name(raw, UNMAPPED_BUCKETS.name, None)? else {
        return Ok(Unmapped::Refuse);
    };
    let unmapped = validate_unmapped_buckets(&found.key, &found.value)?;
    if unmapped == Unmapped::Refuse {
        return Ok(unmapped);
    }
    if raw.bucket.is_none() {
        return Err(Error::setting(
            found.key,
            "is source, but this provider was made with no bucket (no file system URI), so it \
             cannot tell a bucket that goes through a role from one that does not",
            "Have the host construct the provider with (URI, Configuration), as S3A and EMRFS do \
             (the command: --bucket), or remove the key",
        ));
    }
    let global_role = format!("{PREFIX}{}", ROLE_ARN.name);
    if raw
        .values
        .get(&global_role)
        .is_some_and(|v| !v.trim().is_empty())
    {
        return Err(Error::setting(
            found.key,
            format!(
                "is source, but {global_role} gives every bucket a role, so no bucket would ever \
                 be unmapped"
            ),
            format!(
                "Give each bucket that goes through a role its own {BUCKET_PREFIX}<BUCKET>.role.arn \
                 and remove {global_role}, or remove {PREFIX}{}",
                UNMAPPED_BUCKETS.name
            ),
        ));
    }
    let role_suffix = format!(".{}", ROLE_ARN.name);
    let bucket_part = format!(".{SCOPE_BUCKET}");
    if let Some(group_role) = raw.values.keys().find(|k| {
        k.starts_with(GROUP_PREFIX) && k.ends_with(&role_suffix) && !k.contains(&bucket_part)
    }) {
        return Err(Error::setting(
            group_role.clone(),
            format!(
                "is a group's role for every bucket, and {} is source: where a group lookup \
                 misses the group on one node, a member's requests would be signed with the \
                 source credentials instead of the group's role",
                found.key
            ),
            "Give the group its role per bucket (rolebridge.group.<GROUP>.bucket.<BUCKET>.role.arn): \
             a bucket any key names always goes through a role, whatever the lookup finds",
        ));
    }
    Ok(unmapped)
}

/// The first key that names this provider's bucket: a bucket's own keys, a user's or a group's
/// keys for it, S3A's per-bucket assumed-role keys. With `rolebridge.unmapped.buckets=source`, a
/// bucket so named goes through a role, and a user or group without one there is refused: only
/// buckets that no key names are signed with the source credentials.
fn key_naming_bucket(raw: &RawSettings) -> Option<&String> {
    let b = raw.bucket.as_deref()?;
    let own = format!("{BUCKET_PREFIX}{b}.");
    let scoped = format!(".{SCOPE_BUCKET}{b}.");
    let s3a = format!("fs.s3a.bucket.{b}.assumed.role.");
    raw.values.keys().find(|k| {
        k.starts_with(&own)
            || k.starts_with(&s3a)
            || ((k.starts_with(USER_PREFIX) || k.starts_with(GROUP_PREFIX)) && k.contains(&scoped))
    })
}

/// Resolves and validates every setting. Nothing is fetched; the first broken rule is returned.
/// Whether a role applies is decided here, from the settings alone, never on a failure.
pub fn resolve_signer(raw: &RawSettings) -> Result<Signer> {
    check_known_keys(raw)?;
    check_global_only(raw)?;
    check_bucket_scopes(raw)?;
    check_groups_known(raw)?;
    let unmapped = unmapped_buckets(raw)?;
    let user = raw.hadoop_user.as_deref();
    let role = match lookup(raw, ROLE_ARN)? {
        Some(role) => role,
        None if unmapped == Unmapped::Source => match key_naming_bucket(raw) {
            None => return source_only(raw).map(Signer::Source),
            Some(named) => {
                let no_role = match no_role(raw) {
                    Error::Setting { problem, .. } => problem,
                    other => other.to_string(),
                };
                return Err(Error::setting(
                    named.clone(),
                    format!(
                        "names bucket {}, so the bucket goes through a role, but none applies \
                         here: {}",
                        raw.bucket.as_deref().unwrap_or_default(),
                        no_role
                    ),
                    "Give this user a role for the bucket (its own, a group's, or the bucket's \
                     role.arn); rolebridge.unmapped.buckets=source signs only buckets that no \
                     key names with the source credentials",
                ));
            }
        },
        None => return Err(no_role(raw)),
    };
    let role_arn = identity::substitute_role_arn(&role.key, &role.value, user, ROLE_ARN.name)?;

    let chain_found = lookup(raw, ROLE_CHAIN)?;
    let chain = match &chain_found {
        Some(f) => identity::parse_chain(&f.key, &f.value, user, ROLE_CHAIN.name)?,
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
    let mut sts = sts_target(&role_arn, &role.key, region, endpoint, timeout)?;
    sts.proxies = Arc::new(proxy::proxies(raw)?);

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
    let refusal_ttl = match lookup(raw, REFUSAL_TTL)? {
        Some(f) => validate_refusal_ttl(&f.key, &f.value)?,
        None => DEFAULT_REFUSAL_TTL,
    };

    Ok(Signer::Role(Box::new(Settings {
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
        refusal_ttl,
    })))
}

/// The settings of a bucket no role applies to, with `rolebridge.unmapped.buckets=source`: only
/// those that still mean something (the failure mode, the STS region and timeout of the source
/// chain's own calls).
fn source_only(raw: &RawSettings) -> Result<SourceOnly> {
    let region = match lookup(raw, STS_REGION)? {
        Some(f) => Some(validate_region(&f.key, &f.value)?),
        None => None,
    };
    let timeout = match lookup(raw, STS_TIMEOUT)? {
        Some(f) => validate_sts_timeout(&f.key, &f.value)?,
        None => DEFAULT_STS_TIMEOUT,
    };
    let failure_mode = match lookup(raw, FAILURE_MODE)? {
        Some(f) => validate_failure_mode(&f.key, &f.value)?,
        None => FailureMode::Closed,
    };
    Ok(SourceOnly {
        user: raw.hadoop_user.clone(),
        bucket: raw.bucket.clone(),
        sts: StsTarget {
            region,
            endpoint: None,
            timeout,
            proxies: Arc::new(proxy::proxies(raw)?),
        },
        refresh_ahead: DEFAULT_REFRESH_AHEAD,
        failure_mode,
    })
}

/// Where STS is, from the role's partition, the region and endpoint settings, and the timeout.
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
    // An endpoint names a partition by its region or its domain (sts.cn-north-1.amazonaws.com.cn),
    // whether or not a region is set.
    if let Some((e, k)) = &endpoint {
        if let Some(p) = partition_of_endpoint(e).filter(|p| *p != role_partition) {
            return Err(Error::setting(
                k.clone(),
                format!(
                    "{} is an STS endpoint of partition {p}, but the role {role_arn} (from {role_key}) is in partition {role_partition}"
                , shown(e)),
                "STS in one partition cannot assume a role of another; use an endpoint of the role's partition, or remove the key to use the regional endpoint",
            ));
        }
    }
    match (region, endpoint) {
        (Some(r), None) if r == GLOBAL_REGION => Ok(StsTarget {
            region: Some("us-east-1".to_owned()),
            endpoint: Some(GLOBAL_ENDPOINT.to_owned()),
            timeout,
            proxies: Default::default(),
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
            proxies: Default::default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::keys::edit_distance;
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
                timeout: Duration::from_secs(30),
                proxies: Default::default(),
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

    /// Per-bucket roles with `rolebridge.unmapped.buckets` as given, for bucket `bucket`.
    fn unmapped(bucket: &str, value: Option<&str>) -> RawSettings {
        let raw = RawSettings::new(Some(bucket), Some("hadoop"))
            .set(
                "rolebridge.bucket.dest-a.role.arn",
                "arn:aws:iam::222222222222:role/writer",
            )
            .set("rolebridge.failure.mode", "open");
        match value {
            Some(v) => raw.set("rolebridge.unmapped.buckets", v),
            None => raw,
        }
    }

    #[test]
    fn unmapped_buckets_source_gives_the_source_and_mapped_buckets_their_role() {
        match resolve_signer(&unmapped("job-logs", Some("Source"))).unwrap() {
            Signer::Source(s) => {
                assert_eq!(s.bucket.as_deref(), Some("job-logs"));
                assert_eq!(s.failure_mode, FailureMode::Open);
            }
            other => panic!("expected the source, got {other:?}"),
        }
        match resolve_signer(&unmapped("dest-a", Some("source"))).unwrap() {
            Signer::Role(s) => assert!(s.role_arn.ends_with("/writer")),
            other => panic!("expected the role, got {other:?}"),
        }
        // The command's resolve needs a role, and says why there is none.
        let msg = resolve(&unmapped("job-logs", Some("source")))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("rolebridge.unmapped.buckets") && msg.contains("job-logs"),
            "{msg}"
        );
    }

    #[test]
    fn unmapped_buckets_source_never_covers_a_bucket_a_key_names() {
        // The tenants' bucket: roles for alice and the analysts group only. bob, and a member of
        // analysts whose lookup missed the group, are refused there, not given the source.
        let tenants = |user: &str, groups: &[&str]| {
            RawSettings::new(Some("tenants"), Some(user))
                .with_groups(groups.iter().map(|g| g.to_string()).collect())
                .set("rolebridge.unmapped.buckets", "source")
                .set(
                    "rolebridge.user.alice.bucket.tenants.role.arn",
                    "arn:aws:iam::222222222222:role/alice",
                )
                .set(
                    "rolebridge.group.analysts.bucket.tenants.role.arn",
                    "arn:aws:iam::222222222222:role/analysts",
                )
        };
        assert!(matches!(
            resolve_signer(&tenants("alice", &["users"])),
            Ok(Signer::Role(_))
        ));
        assert!(matches!(
            resolve_signer(&tenants("carol", &["analysts"])),
            Ok(Signer::Role(_))
        ));
        for (user, groups) in [("bob", &["users"][..]), ("carol", &["users"][..])] {
            let err = resolve_signer(&tenants(user, groups))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("names bucket tenants") && err.contains("no role is set"),
                "{err}"
            );
        }
        // Another bucket of the same configuration is the source's.
        let mut other = tenants("bob", &["users"]);
        other.bucket = Some("job-logs".into());
        assert!(matches!(resolve_signer(&other), Ok(Signer::Source(_))));
        // A bucket with settings of its own but no role (an external ID, S3A's key) is refused.
        for key in [
            "rolebridge.bucket.tenants.external.id",
            "fs.s3a.bucket.tenants.assumed.role.session.name",
        ] {
            let raw = RawSettings::new(Some("tenants"), Some("bob"))
                .set("rolebridge.unmapped.buckets", "source")
                .set(key, "x-1");
            let err = resolve_signer(&raw).unwrap_err().to_string();
            assert!(err.starts_with(key), "{err}");
        }
    }

    #[test]
    fn unmapped_buckets_refuse_is_the_default_and_the_no_role_error_names_the_key() {
        for value in [None, Some("refuse"), Some("REFUSE")] {
            let msg = resolve_signer(&unmapped("job-logs", value))
                .unwrap_err()
                .to_string();
            assert!(
                msg.contains("rolebridge.bucket.job-logs.role.arn")
                    && msg.contains("rolebridge.unmapped.buckets=source"),
                "{msg}"
            );
        }
    }

    #[test]
    fn unmapped_buckets_bad_values_scopes_and_a_global_role_are_refused() {
        let key_of = |raw: RawSettings| match resolve_signer(&raw) {
            Err(Error::Setting { key, .. }) => key,
            other => panic!("expected a setting error, got {other:?}"),
        };
        assert_eq!(
            key_of(unmapped("job-logs", Some("instance-role"))),
            "rolebridge.unmapped.buckets"
        );
        for scoped in [
            "rolebridge.bucket.job-logs.unmapped.buckets",
            "rolebridge.user.hadoop.unmapped.buckets",
            "rolebridge.group.staff.unmapped.buckets",
        ] {
            assert_eq!(
                key_of(unmapped("job-logs", None).set(scoped, "source")),
                scoped
            );
        }
        let raw = unmapped("dest-a", Some("source"))
            .set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/all");
        let err = resolve_signer(&raw).unwrap_err().to_string();
        assert!(
            err.contains("rolebridge.role.arn") && err.contains("every bucket"),
            "{err}"
        );
        // S3A's own global key is what S3A writes when it propagates a bucket's options
        // (fs.s3a.bucket.B.assumed.role.arn): it maps every bucket, which is not refused.
        let raw = unmapped("job-logs", Some("source")).set(
            "fs.s3a.assumed.role.arn",
            "arn:aws:iam::222222222222:role/all",
        );
        assert!(matches!(resolve_signer(&raw), Ok(Signer::Role(_))));
        // source needs the bucket.
        let mut raw = unmapped("job-logs", Some("source"));
        raw.bucket = None;
        raw.values.remove("rolebridge.bucket.dest-a.role.arn");
        assert_eq!(key_of(raw), "rolebridge.unmapped.buckets");
        // A group's role for every bucket: a missed group would be the source's.
        let raw = unmapped("job-logs", Some("source")).set(
            "rolebridge.group.staff.role.arn",
            "arn:aws:iam::222222222222:role/staff",
        );
        assert_eq!(key_of(raw), "rolebridge.group.staff.role.arn");
        // A user's own role for every bucket is fine: other users' unmapped buckets stay source.
        let raw = unmapped("job-logs", Some("source")).set(
            "rolebridge.user.alice.role.arn",
            "arn:aws:iam::222222222222:role/alice",
        );
        assert!(matches!(resolve_signer(&raw), Ok(Signer::Source(_))));
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
    fn user_then_groups_then_bucket_then_global() {
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
        assert!(role(tenant("bob", &["analysts", "other"])).ends_with("/analysts"));
        assert!(role(tenant("bob", &["staff"])).ends_with("/staff"));
        assert!(role(tenant("dave", &["other"])).ends_with("/bucket"));
        let mut no_bucket = tenant("dave", &["other"]);
        no_bucket.bucket = None;
        assert!(role(no_bucket).ends_with("/global"));
        // Each setting on its own: alice's role, her group's external ID.
        let s = resolve(&conf(tenant("alice", &["analysts"]))).unwrap();
        assert_eq!(s.external_id.as_deref(), Some("ext-analysts"));
        assert_eq!(s.user.as_deref(), Some("alice"));
        // User names with dots.
        assert_eq!(
            resolve(&conf(tenant("first.last", &["other"])))
                .unwrap()
                .session_name,
            "dotted"
        );
        // Groups not looked up, or none found: refused, not the global role (issue 15).
        let unlooked = RawSettings::new(Some("other"), Some("bob"));
        assert!(resolve(&conf(unlooked)).is_err());
    }

    #[test]
    fn group_settings_for_a_user_whose_groups_are_unknown_are_refused() {
        // Issue 15: a failed group lookup (Hadoop answers an empty list) must not let the bucket's
        // or the global role serve a member of a group that has a role of its own.
        let conf = |r: RawSettings| {
            r.set(
                "rolebridge.role.arn",
                "arn:aws:iam::222222222222:role/writer",
            )
            .set(
                "rolebridge.group.interns.role.arn",
                "arn:aws:iam::222222222222:role/interns-reader",
            )
        };
        for raw in [
            conf(tenant("intern", &[])),
            conf(RawSettings::new(Some("lake"), Some("intern"))),
        ] {
            let e = resolve(&raw).unwrap_err();
            let msg = e.to_string();
            assert!(
                matches!(&e, Error::Setting { key, .. } if key == "rolebridge.group.interns.role.arn"),
                "{msg}"
            );
            for part in ["Hadoop user intern", "found no groups", "never"] {
                assert!(msg.contains(part), "{part}: {msg}");
            }
        }
        assert!(resolve(&conf(tenant("intern", &["interns"])))
            .unwrap()
            .role_arn
            .ends_with("/interns-reader"));
        // Without group keys the groups do not matter.
        resolve(&tenant("intern", &[]).set(
            "rolebridge.role.arn",
            "arn:aws:iam::222222222222:role/writer",
        ))
        .unwrap();
    }

    /// Issue 15 item 2: the role does not depend on the order a group mapping lists groups in.
    #[test]
    fn groups_that_disagree_are_refused_in_any_order() {
        let conf = |r: RawSettings| {
            r.set(
                "rolebridge.role.arn",
                "arn:aws:iam::222222222222:role/global",
            )
            .set(
                "rolebridge.group.staff.role.arn",
                "arn:aws:iam::222222222222:role/staff",
            )
            .set(
                "rolebridge.group.analysts.role.arn",
                "arn:aws:iam::222222222222:role/analysts",
            )
            .set("rolebridge.group.analysts.external.id", "ext-analysts")
            .set("rolebridge.group.staff.session.duration", "2h")
            .set(
                "rolebridge.group.readers.role.arn",
                "arn:aws:iam::222222222222:role/staff",
            )
        };
        for groups in [["analysts", "staff"], ["staff", "analysts"]] {
            let e = resolve(&conf(tenant("bob", &groups)))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("rolebridge.group.analysts.role.arn: and rolebridge.group.staff.role.arn set different values for Hadoop user bob"),
                "{e}"
            );
            assert!(e.contains("Set rolebridge.user.bob.role.arn"), "{e}");
            // the user's own key decides; settings set by one group only apply from it
            let s = resolve(&conf(tenant("bob", &groups)).set(
                "rolebridge.user.bob.role.arn",
                "arn:aws:iam::222222222222:role/bob",
            ))
            .unwrap();
            assert!(s.role_arn.ends_with("/bob"));
            assert_eq!(s.external_id.as_deref(), Some("ext-analysts"));
            assert_eq!(s.duration, Duration::from_secs(7200));
        }
        // groups that agree are no conflict, in any order
        for groups in [["readers", "staff"], ["staff", "readers"]] {
            let s = resolve(&conf(tenant("carol", &groups))).unwrap();
            assert!(s.role_arn.ends_with("/staff"));
        }
    }

    /// Issue 15 item 5: a user's or a group's settings for one bucket.
    #[test]
    fn user_and_group_settings_per_bucket() {
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
                "rolebridge.group.analysts.role.arn",
                "arn:aws:iam::222222222222:role/analysts",
            )
            .set(
                "rolebridge.group.analysts.bucket.lake.role.arn",
                "arn:aws:iam::222222222222:role/analysts-lake",
            )
            .set(
                "rolebridge.user.alice.role.arn",
                "arn:aws:iam::222222222222:role/alice",
            )
            .set(
                "rolebridge.user.alice.bucket.lake.role.arn",
                "arn:aws:iam::222222222222:role/alice-lake",
            )
            .set(
                "rolebridge.user.alice.bucket.lake.external.id",
                "alice-lake",
            )
            .set(
                "rolebridge.user.alice.bucket.logs.v2.role.arn",
                "arn:aws:iam::222222222222:role/alice-logs",
            )
            .set(
                "rolebridge.user.first.last.bucket.lake.role.arn",
                "arn:aws:iam::222222222222:role/fl-lake",
            )
        };
        let on = |bucket: &str, user: &str, groups: &[&str]| {
            let mut r = tenant(user, groups);
            r.bucket = Some(bucket.to_owned());
            resolve(&conf(r)).unwrap()
        };
        let s = on("lake", "alice", &["analysts"]);
        assert!(s.role_arn.ends_with("/alice-lake"));
        assert_eq!(s.external_id.as_deref(), Some("alice-lake"));
        assert!(on("other", "alice", &["analysts"])
            .role_arn
            .ends_with("/alice"));
        assert!(on("logs.v2", "alice", &["staff"])
            .role_arn
            .ends_with("/alice-logs"));
        // user > group for the bucket > group > bucket > global
        assert!(on("lake", "bob", &["analysts"])
            .role_arn
            .ends_with("/analysts-lake"));
        assert!(on("other", "bob", &["analysts"])
            .role_arn
            .ends_with("/analysts"));
        assert!(on("lake", "bob", &["staff"]).role_arn.ends_with("/bucket"));
        assert!(on("other", "bob", &["staff"]).role_arn.ends_with("/global"));
        assert!(on("lake", "first.last", &["staff"])
            .role_arn
            .ends_with("/fl-lake"));
        // made without a bucket: this user's bucket settings are refused, not ignored
        let mut r = conf(tenant("alice", &["analysts"]));
        r.bucket = None;
        let e = resolve(&r).unwrap_err().to_string();
        assert!(e.starts_with("rolebridge.user.alice.bucket."), "{e}");
        assert!(e.contains("made with no bucket"), "{e}");
        let mut r = conf(tenant("bob", &["analysts"]));
        r.bucket = None;
        assert_eq!(
            err_key(resolve(&r)),
            "rolebridge.group.analysts.bucket.lake.role.arn"
        );
    }

    /// Issue 15 item 5: keys whose scope name swallows a misspelt part of a setting.
    #[test]
    fn scope_names_holding_a_misspelt_setting_are_refused() {
        let base =
            || tenant("alice", &[]).set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/r");
        for (key, nearest) in [
            (
                "rolebridge.user.alice.rolechain.1.external.id",
                "rolebridge.user.alice.role.chain.1.external.id",
            ),
            (
                "rolebridge.user.alice.role.chian.2.external.id",
                "rolebridge.user.alice.role.chain.2.external.id",
            ),
            (
                "rolebridge.group.data.eng.role-chain.1.external.id",
                "rolebridge.group.data.eng.role.chain.1.external.id",
            ),
            (
                "rolebridge.bucket.lake.rolechain.1.external.id",
                "rolebridge.bucket.lake.role.chain.1.external.id",
            ),
            (
                "rolebridge.user.alice.bucket.lake.rolechain.1.external.id",
                "rolebridge.user.alice.bucket.lake.role.chain.1.external.id",
            ),
            (
                "rolebridge.user.alice.bukcet.lake.role.arn",
                "rolebridge.user.alice.bucket.lake.role.arn",
            ),
            (
                "rolebridge.group.eng.buckets.lake.v2.session.name",
                "rolebridge.group.eng.bucket.lake.v2.session.name",
            ),
        ] {
            let e = resolve(&base().set(key, "arn:aws:iam::222222222222:role/x")).unwrap_err();
            let Error::Setting { key: k, fix, .. } = &e else {
                panic!("{e:?}")
            };
            assert_eq!(k, key);
            assert!(
                fix.contains(&format!("Did you mean {nearest}?")),
                "{key}: {e}"
            );
        }
        // names with dots that hold no misspelt setting are read as they are
        for key in [
            "rolebridge.user.first.last.role.arn",
            "rolebridge.group.data.eng.external.id",
            "rolebridge.user.a.b.role.arn",
            "rolebridge.bucket.logs.v2.external.id",
            "rolebridge.user.bucky.smith.session.name",
            "rolebridge.user.alice.bucket.lake.role.chain.1.external.id",
        ] {
            let r = base().set(key, "ok-value").set(
                "rolebridge.user.alice.bucket.lake.role.chain",
                "arn:aws:iam::333333333333:role/hub",
            );
            if let Err(Error::Setting {
                key: k, problem, ..
            }) = resolve(&r)
            {
                assert!(!problem.contains("misspelt"), "{key}: {k}: {problem}");
            }
        }
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
            "groups looked at: interns, staff",
            "rolebridge.user.carol.bucket.lake.role.arn, rolebridge.user.carol.role.arn, \
             rolebridge.group.interns.bucket.lake.role.arn, rolebridge.group.staff.bucket.lake.role.arn, \
             rolebridge.group.interns.role.arn, rolebridge.group.staff.role.arn, \
             rolebridge.bucket.lake.role.arn, rolebridge.role.arn, \
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
        let base = || {
            tenant("alice", &["staff"])
                .set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/r")
        };
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

    /// Issue 15 item 6: one setting for every user's own role.
    #[test]
    fn user_in_role_arns() {
        let team = |u: &str| {
            tenant(u, &[])
                .set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/team-{user}")
                .set(
                    "rolebridge.role.chain",
                    "arn:aws:iam::333333333333:role/hub, arn:aws:iam::333333333333:role/data/{user}-hop",
                )
        };
        let alice = resolve(&team("alice")).unwrap();
        assert_eq!(alice.role_arn, "arn:aws:iam::222222222222:role/team-alice");
        assert_eq!(
            alice.chain[1].role_arn,
            "arn:aws:iam::333333333333:role/data/alice-hop"
        );
        let bob = resolve(&team("bob")).unwrap();
        assert_eq!(bob.role_arn, "arn:aws:iam::222222222222:role/team-bob");
        assert_ne!(
            crate::cache::SessionSpec::from_settings(&alice),
            crate::cache::SessionSpec::from_settings(&bob)
        );
        // S3A's key takes it too
        let s = resolve(&tenant("carol", &[]).set(
            "fs.s3a.assumed.role.arn",
            "arn:aws:iam::222222222222:role/{user}",
        ))
        .unwrap();
        assert_eq!(s.role_arn, "arn:aws:iam::222222222222:role/carol");
        // A user name that is no role name, or makes the name too long, or a path: refused, naming
        // the user and the key; never another role.
        for user in ["a/b", "DOM\\alice", "jürgen", &"u".repeat(60)] {
            let e = resolve(&team(user).set(
                "rolebridge.role.chain",
                "arn:aws:iam::333333333333:role/hub",
            ))
            .unwrap_err()
            .to_string();
            assert!(e.starts_with("rolebridge.role.arn: "), "{e}");
            assert!(e.contains(&format!("\"{user}\"")), "{e}");
            assert!(
                e.contains(&format!("rolebridge.user.{user}.role.arn")),
                "{e}"
            );
        }
        let e =
            resolve(&team("a/b").set("rolebridge.role.arn", "arn:aws:iam::222222222222:role/w"))
                .unwrap_err()
                .to_string();
        assert!(
            e.starts_with("rolebridge.role.chain: role 2 of the chain"),
            "{e}"
        );
        assert!(e.contains("\"a/b\""), "{e}");
        // without a user
        let e = resolve(&RawSettings::new(None, None).set(
            "rolebridge.role.arn",
            "arn:aws:iam::222222222222:role/team-{user}",
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("no Hadoop user"), "{e}");
        // a misspelt placeholder
        assert_eq!(
            err_key(resolve(&raw().set(
                "rolebridge.role.arn",
                "arn:aws:iam::222222222222:role/team-{usr}"
            ))),
            "rolebridge.role.arn"
        );
    }

    /// Issue 15 item 6: braces in a setting that takes no placeholder are refused, not used.
    #[test]
    fn braces_where_no_placeholder_is_taken() {
        for (key, value) in [
            ("rolebridge.cache.dir", "/var/cache/{user}"),
            (
                "rolebridge.sts.endpoint",
                "https://sts.eu-west-1.amazonaws.com/{user}",
            ),
            ("rolebridge.sts.region", "{user}"),
            ("rolebridge.external.id", "ext-{user}"),
            (
                "rolebridge.session.policy.arns",
                "arn:aws:iam::222222222222:policy/{user}",
            ),
        ] {
            let e = resolve(&raw().set(key, value)).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{key}: ")), "{e}");
            assert!(e.contains("takes no placeholder"), "{e}");
        }
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
            default_session_name(Some("first.last@EXAMPLE.COM")),
            "rolebridge-first.last@EXAMPLE.COM"
        );
        let changed = default_session_name(Some("alice/host@EXAMPLE.COM"));
        assert!(changed.starts_with("rolebridge+"), "{changed}");
        assert!(changed.ends_with("-alice-host@EXAMPLE.COM"), "{changed}");
        assert_eq!(default_session_name(None), "rolebridge");
        assert_eq!(default_session_name(Some(&"u".repeat(100))).len(), 64);
        validate_session_name("k", &default_session_name(Some(&"ü".repeat(100)))).unwrap();
    }

    /// Issue 15 item 3: names that the old default mapped to one session name.
    #[test]
    fn distinct_users_never_share_a_default_session_name() {
        let long = "a".repeat(60);
        let pairs = [
            ("jürgen", "jörgen"),
            ("DOM\\alice", "DOM-alice"),
            ("DOM\\alice", "DOM/alice"),
            ("Jürgen Müller", "J-rgen-M-ller"),
            (&*format!("{long}x"), &*format!("{long}y")),
            (&*format!("{long}xyz"), &*format!("{long}xy")),
        ];
        for (a, b) in pairs {
            let (na, nb) = (default_session_name(Some(a)), default_session_name(Some(b)));
            assert_ne!(na, nb, "{a} and {b}");
            validate_session_name("k", &na).unwrap();
            validate_session_name("k", &nb).unwrap();
            // and so two providers of these users never share a session
            let s = |u| {
                resolve(&RawSettings::new(Some("dest-a"), Some(u)).set(
                    "rolebridge.role.arn",
                    "arn:aws:iam::222222222222:role/writer",
                ))
                .unwrap()
                .session_name
            };
            assert_ne!(s(a), s(b), "{a} and {b}");
        }
        // The same user gets the same name in every process (driver, executors, the command).
        assert_eq!(
            default_session_name(Some("jürgen")),
            default_session_name(Some("jürgen"))
        );
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

    /// Issue 19, item 4: how long a refusal is remembered: 5m by default, 0 turns it off, at most
    /// 1h; a bad value names the key, the rule and the fix; it changes no session.
    #[test]
    fn refusal_ttl_is_bounded_and_changes_no_session() {
        assert_eq!(
            resolve(&raw()).unwrap().refusal_ttl,
            Duration::from_secs(300)
        );
        let off = resolve(&raw().set("rolebridge.refusal.ttl", "0")).unwrap();
        assert_eq!(off.refusal_ttl, Duration::ZERO);
        let s = resolve(&raw().set("rolebridge.bucket.dest-a.refusal.ttl", "1h")).unwrap();
        assert_eq!(s.refusal_ttl, Duration::from_secs(3600));
        assert_eq!(
            crate::cache::SessionSpec::from_settings(&s),
            crate::cache::SessionSpec::from_settings(&off),
            "the TTL is not part of the session's cache key"
        );
        for bad in ["61m", "2h", "soon", "-1s"] {
            let e = resolve(&raw().set("rolebridge.refusal.ttl", bad)).unwrap_err();
            assert_eq!(err_key(Err(e.clone())), "rolebridge.refusal.ttl", "{bad}");
            if bad == "2h" {
                let text = e.to_string();
                assert!(
                    text.contains("outside 0 to 1h") && text.contains("default 5m"),
                    "{text}"
                );
            }
        }
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
        // Issue 15 item 7: a partition named only by the endpoint.
        for e in [
            "https://sts.cn-north-1.amazonaws.com.cn",
            "sts.cn-northwest-1.amazonaws.com.cn",
            "https://sts.us-gov-west-1.amazonaws.com",
            "https://vpce-1-a.sts.cn-north-1.vpce.amazonaws.com.cn",
        ] {
            let r = resolve(&raw().set("rolebridge.sts.endpoint", e));
            assert_eq!(err_key(r.clone()), "rolebridge.sts.endpoint", "{e}");
            assert!(r.unwrap_err().to_string().contains("partition"), "{e}");
        }
        let cn = || {
            RawSettings::new(None, None)
                .set("rolebridge.role.arn", "arn:aws-cn:iam::222222222222:role/w")
        };
        resolve(&cn().set(
            "rolebridge.sts.endpoint",
            "https://sts.cn-north-1.amazonaws.com.cn",
        ))
        .unwrap();
        assert_eq!(
            err_key(resolve(&cn().set(
                "rolebridge.sts.endpoint",
                "https://sts.eu-west-1.amazonaws.com"
            ))),
            "rolebridge.sts.endpoint"
        );
        // a region of the role's partition does not make an endpoint of another one right
        assert_eq!(
            err_key(resolve(
                &raw().set("rolebridge.sts.region", "eu-west-1").set(
                    "rolebridge.sts.endpoint",
                    "https://sts.cn-north-1.amazonaws.com.cn"
                )
            )),
            "rolebridge.sts.endpoint"
        );
        // endpoints of no AWS domain (loopback, a proxy) name no partition
        resolve(&raw().set("rolebridge.sts.endpoint", "http://127.0.0.1:5000")).unwrap();
        assert_eq!(
            err_key(resolve(
                &raw()
                    .set("rolebridge.sts.region", "aws-global")
                    .set("rolebridge.sts.endpoint", "http://x")
            )),
            "rolebridge.sts.endpoint"
        );
    }

    #[test]
    fn template_placeholders_are_refused_naming_the_key_and_the_placeholder() {
        // In a value: the key, the placeholder, and never the rest of the value.
        let e = resolve(&raw().set(
            "rolebridge.external.id",
            "REPLACE-WITH-EXTERNAL-ID-secret-part",
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("rolebridge.external.id: its value holds REPLACE-WITH-EXTERNAL-ID,"),
            "{e}"
        );
        assert!(e.contains("placeholder of a rolebridge template"), "{e}");
        assert!(
            e.contains("Replace REPLACE-WITH-EXTERNAL-ID with your own value"),
            "{e}"
        );
        assert!(!e.contains("secret-part"), "{e}");
        // An unknown placeholder is shown by its fixed part only.
        let e = resolve(&raw().set("rolebridge.external.id", "replace-with-my-id-123"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("holds REPLACE-WITH-..., a placeholder") && !e.contains("123"),
            "{e}"
        );
        let e = resolve(
            &RawSettings::new(Some("b"), None).set("rolebridge.role.arn", "REPLACE-WITH-ROLE-ARN"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("rolebridge.role.arn: its value holds REPLACE-WITH-ROLE-ARN,"),
            "before the ARN rule: {e}"
        );
        // Inside a longer value, in any case, and in S3A's keys too.
        let e = resolve(&raw().set(
            "rolebridge.session.tags",
            "team=replace-with-team,user={user}",
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("holds REPLACE-WITH-..., a placeholder") && !e.contains("team"),
            "an unknown placeholder by its fixed part only: {e}"
        );
        assert_eq!(
            err_key(resolve(&raw().set(
                "fs.s3a.assumed.role.external.id",
                "REPLACE-WITH-EXTERNAL-ID"
            ))),
            "fs.s3a.assumed.role.external.id"
        );
        // In a key: a bucket name, even of another bucket than this provider's.
        let e = resolve(&RawSettings::new(Some("dest-a"), None).set(
            "rolebridge.bucket.REPLACE-WITH-BUCKET.role.arn",
            "arn:aws:iam::222222222222:role/writer",
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "rolebridge.bucket.REPLACE-WITH-BUCKET.role.arn: the key itself holds REPLACE-WITH-BUCKET,"
            ),
            "{e}"
        );
        // A value with no placeholder passes.
        assert!(resolve(&raw().set("rolebridge.external.id", "replace-me-not")).is_ok());
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
