//! Scopes and their precedence: which key of the user's, a group's, the bucket's, the global and
//! S3A's applies to one setting, and the errors that name them.

use crate::error::{Error, Result};

use super::identity;
use super::keys::{Key, BUCKET_PREFIX, GROUP_PREFIX, PREFIX, ROLE_ARN, USER_PREFIX};
use super::RawSettings;

/// A value and the key it was read from.
pub(super) struct Found {
    pub key: String,
    pub value: String,
}

/// The keys one setting may be read from for this provider, in precedence order, each with
/// whether it is a rolebridge key: the user's, each group's (in Hadoop's order), the bucket's,
/// the global one, then S3A's per-bucket and global keys.
pub(super) fn candidates(raw: &RawSettings, name: &str, s3a: Option<&str>) -> Vec<(String, bool)> {
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
pub(super) fn lookup(raw: &RawSettings, key: Key) -> Result<Option<Found>> {
    lookup_name(raw, key.name, key.s3a)
}

pub(super) fn lookup_name(
    raw: &RawSettings,
    name: &str,
    s3a: Option<&str>,
) -> Result<Option<Found>> {
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
pub(super) fn no_role(raw: &RawSettings) -> Error {
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
