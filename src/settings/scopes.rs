//! Scopes and their precedence: which key of the user's, a group's, the bucket's, the global and
//! S3A's applies to one setting, and the errors that name them.
//!
//! Precedence, most specific first: the user's for the bucket (`rolebridge.user.<U>.bucket.<B>.*`),
//! the user's, the user's groups' for the bucket (`rolebridge.group.<G>.bucket.<B>.*`), the
//! groups', the bucket's, the global key, then S3A's per-bucket and global keys. The groups of one
//! level have no order among themselves: group mappings (LDAP above all) list groups in no
//! guaranteed order, and the driver's node and an executor's may list them differently. Where two
//! of the user's groups set one setting to different values, the provider is refused.

use crate::error::{Error, Result};

use super::identity;
use super::keys::{Key, BUCKET_PREFIX, GROUP_PREFIX, PREFIX, ROLE_ARN, SCOPE_BUCKET, USER_PREFIX};
use super::RawSettings;

/// A value and the key it was read from.
pub(super) struct Found {
    pub key: String,
    pub value: String,
}

/// One level of precedence: the keys of one scope that apply to this provider (several for the
/// groups' levels, one otherwise), and whether they are rolebridge keys (not S3A's).
struct Level {
    keys: Vec<String>,
    ours: bool,
}

/// The groups of the user, in a fixed order (sorted, without repeats): the order a group mapping
/// lists them in decides nothing.
fn sorted_groups(raw: &RawSettings) -> Vec<&str> {
    let mut groups: Vec<&str> = raw.groups.iter().flatten().map(String::as_str).collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// The levels one setting may be read from for this provider, in precedence order.
fn levels(raw: &RawSettings, name: &str, s3a: Option<&str>) -> Vec<Level> {
    let ours = |keys: Vec<String>| Level { keys, ours: true };
    let groups = sorted_groups(raw);
    let mut out: Vec<Level> = Vec::with_capacity(8);
    let user = raw.hadoop_user.as_deref();
    let bucket = raw.bucket.as_deref();
    if let (Some(u), Some(b)) = (user, bucket) {
        out.push(ours(vec![format!(
            "{USER_PREFIX}{u}.{SCOPE_BUCKET}{b}.{name}"
        )]));
    }
    if let Some(u) = user {
        out.push(ours(vec![format!("{USER_PREFIX}{u}.{name}")]));
    }
    if let Some(b) = bucket {
        out.push(ours(
            groups
                .iter()
                .map(|g| format!("{GROUP_PREFIX}{g}.{SCOPE_BUCKET}{b}.{name}"))
                .collect(),
        ));
    }
    out.push(ours(
        groups
            .iter()
            .map(|g| format!("{GROUP_PREFIX}{g}.{name}"))
            .collect(),
    ));
    if let Some(b) = bucket {
        out.push(ours(vec![format!("{BUCKET_PREFIX}{b}.{name}")]));
    }
    out.push(ours(vec![format!("{PREFIX}{name}")]));
    if let Some(s3a) = s3a {
        if let Some(b) = bucket {
            out.push(Level {
                keys: vec![format!("fs.s3a.bucket.{b}.assumed.role.{s3a}")],
                ours: false,
            });
        }
        out.push(Level {
            keys: vec![format!("fs.s3a.assumed.role.{s3a}")],
            ours: false,
        });
    }
    out.retain(|l| !l.keys.is_empty());
    out
}

/// The keys one setting may be read from for this provider, in precedence order, each with
/// whether it is a rolebridge key (see [`levels`]).
pub(super) fn candidates(raw: &RawSettings, name: &str, s3a: Option<&str>) -> Vec<(String, bool)> {
    levels(raw, name, s3a)
        .into_iter()
        .flat_map(|l| l.keys.into_iter().map(move |k| (k, l.ours)))
        .collect()
}

/// Looks up one setting in precedence order. `rolebridge.*` keys that are present but empty are
/// an error (a silent fallback to a default would hide a templating mistake); empty S3A keys are
/// treated as absent, as S3A itself does.
pub(super) fn lookup(raw: &RawSettings, key: Key) -> Result<Option<Found>> {
    lookup_name(raw, key.name, key.s3a)
}

pub(super) fn lookup_name(
    raw: &RawSettings,
    name: &str,
    s3a: Option<&str>,
) -> Result<Option<Found>> {
    for level in levels(raw, name, s3a) {
        let mut found: Vec<Found> = Vec::new();
        for candidate in level.keys {
            let Some(v) = raw.values.get(&candidate) else {
                continue;
            };
            let value = v.trim();
            if value.is_empty() {
                if level.ours {
                    return Err(Error::setting(
                        candidate,
                        "is set but empty (or only white space)",
                        "Give it a value, or remove the key to use the default",
                    ));
                }
                continue;
            }
            found.push(Found {
                key: candidate,
                value: value.to_owned(),
            });
        }
        if let Some(other) = found.iter().find(|f| f.value != found[0].value) {
            return Err(disagreeing_groups(raw, name, &found[0], other));
        }
        if let Some(first) = found.into_iter().next() {
            return Ok(Some(first));
        }
    }
    Ok(None)
}

/// Two of the user's groups set one setting to different values: which applies must not depend on
/// the order a group mapping lists groups in, so neither does.
fn disagreeing_groups(raw: &RawSettings, name: &str, a: &Found, b: &Found) -> Error {
    let user = raw.hadoop_user.as_deref().unwrap_or("(none)");
    Error::setting(
        a.key.clone(),
        format!(
            "and {} set different values for Hadoop user {user}, who is in both groups; \
             rolebridge does not choose between groups by the order a group mapping lists them \
             (it is not guaranteed, and can differ between the driver's node and an executor's)",
            b.key
        ),
        format!(
            "Set {USER_PREFIX}{user}.{name} to the value this user should have, or give both \
             groups the same value"
        ),
    )
}

/// A provider made without a bucket cannot apply this user's or its groups' settings for a
/// bucket: refuse rather than ignore them (they would leave the user on another role).
pub(super) fn check_bucket_scopes(raw: &RawSettings) -> Result<()> {
    if raw.bucket.is_some() {
        return Ok(());
    }
    let mut scopes: Vec<String> = sorted_groups(raw)
        .iter()
        .map(|g| format!("{GROUP_PREFIX}{g}.{SCOPE_BUCKET}"))
        .collect();
    if let Some(u) = &raw.hadoop_user {
        scopes.insert(0, format!("{USER_PREFIX}{u}.{SCOPE_BUCKET}"));
    }
    for scope in scopes {
        if let Some(key) = raw.values.keys().find(|k| k.starts_with(&scope)) {
            return Err(Error::setting(
                key.clone(),
                "is a setting for one bucket, but this provider was made with no bucket (no file \
                 system URI), so it would be ignored and every bucket's requests signed with the \
                 settings without a bucket",
                "Have the host construct the provider with (URI, Configuration), as S3A and \
                 EMRFS do (the command: --bucket), or set the value without the bucket part",
            ));
        }
    }
    Ok(())
}

/// The error for a provider with no role: it names the user, the groups looked at and every key
/// that would have applied. rolebridge never falls back to another identity.
pub(super) fn no_role(raw: &RawSettings) -> Error {
    let keys: Vec<String> = candidates(raw, ROLE_ARN.name, ROLE_ARN.s3a)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let whose = match (&raw.hadoop_user, &raw.groups) {
        (Some(u), Some(g)) if g.is_empty() => format!(" for Hadoop user {u} (who has no groups)"),
        (Some(u), Some(_)) => format!(
            " for Hadoop user {u} (groups looked at: {})",
            sorted_groups(raw).join(", ")
        ),
        (Some(u), None) => {
            format!(" for Hadoop user {u} (groups not looked up: no rolebridge.group.* key is set)")
        }
        (None, _) => String::new(),
    };
    let fix =
        "Set one of them to the role's ARN (e.g. arn:aws:iam::222222222222:role/etl-writer); \
               rolebridge never falls back to another identity unless \
               rolebridge.unmapped.buckets=source (buckets the node's own identity should sign: \
               EMRFS sends every s3:// bucket through one provider)";
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

/// A hop's external ID for a hop the chain does not have would be ignored: refuse it.
pub(super) fn check_hop_keys(
    raw: &RawSettings,
    hops: usize,
    chain_key: Option<&str>,
) -> Result<()> {
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
