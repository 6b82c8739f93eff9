//! The key table: every setting's name, the S3A key it falls back to, the scope prefixes, and the
//! check that every `rolebridge.*` key given is one of them (with the nearest key for a typo).

use crate::error::{Error, Result};

use super::identity;
use super::values::check_template_placeholder;
use super::RawSettings;

/// Prefix of every rolebridge key.
pub const PREFIX: &str = "rolebridge.";
/// Prefix of per-bucket rolebridge keys: `rolebridge.bucket.<BUCKET>.<rest>`.
pub const BUCKET_PREFIX: &str = "rolebridge.bucket.";
/// Prefix of per-user rolebridge keys: `rolebridge.user.<USER>.<rest>`.
pub const USER_PREFIX: &str = "rolebridge.user.";
/// Inside a user's or a group's keys, the part that scopes a setting to a bucket as well:
/// `rolebridge.user.<USER>.bucket.<BUCKET>.<rest>`, `rolebridge.group.<GROUP>.bucket.<BUCKET>.<rest>`.
pub const SCOPE_BUCKET: &str = "bucket.";
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
/// How long an STS refusal (AccessDenied, a missing role, a wrong external ID) is remembered,
/// in the process and in `cache.dir`, before STS is asked again.
pub const REFUSAL_TTL: Key = Key {
    name: "refusal.ttl",
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
/// What signs a bucket that no role applies to: refused (the default), or the source credentials.
/// Global only: it says what happens where no scope gives a role.
pub const UNMAPPED_BUCKETS: Key = Key {
    name: "unmapped.buckets",
    s3a: None,
};

/// Every setting, for documentation and for the Java side's key collection. Besides these, hop
/// N of `role.chain` takes `role.chain.<N>.external.id` (see [`identity::hop_external_id_name`]).
pub const ALL_KEYS: [Key; 18] = [
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
    REFUSAL_TTL,
    SOURCE_IDENTITY,
    SESSION_TAGS,
    SESSION_TAGS_TRANSITIVE,
    ROLE_CHAIN,
    UNMAPPED_BUCKETS,
];

/// Settings that are only read globally (`rolebridge.<name>`), never per user, group or bucket.
pub const GLOBAL_ONLY: [Key; 1] = [UNMAPPED_BUCKETS];

const SYSTEM_PROPERTIES: [&str; 2] = ["native.path", "native.tmpdir"];

/// Every `rolebridge.*` key must be one the provider reads, globally or per bucket: an unknown key
/// is ignored, and a misspelt one (`rolebridge.extrenal.id`, `rolebridge.bucket.lake.rol.arn`)
/// would quietly leave a bucket on the global role or send no external ID.
pub(super) fn check_known_keys(raw: &RawSettings) -> Result<()> {
    // Every key handed over (S3A's too), before any rule that would name a lesser cause.
    for (key, value) in &raw.values {
        check_template_placeholder(key, value)?;
    }
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
        if let Some((scope_name, nearest)) = misread_scope(key) {
            return Err(Error::setting(
                key,
                format!(
                    "would be read as a setting of a user, group or bucket named \"{scope_name}\" \
                     (names may hold dots), but it looks like a misspelt {nearest}, which would \
                     then be ignored"
                ),
                format!("Did you mean {nearest}? Rename the key, or remove it"),
            ));
        }
    }
    Ok(())
}

/// The scope keywords of keys, and those that may stand inside a user's or a group's scope.
const SCOPE_WORDS: [(&str, &str); 3] = [
    (USER_PREFIX, "user"),
    (GROUP_PREFIX, "group"),
    (BUCKET_PREFIX, "bucket"),
];

/// A known key whose scope name holds what looks like a misspelt part of a setting:
/// `rolebridge.user.alice.rolechain.1.external.id` reads as the `external.id` of a user
/// `alice.rolechain.1`, and `rolebridge.user.alice.bucekt.lake.role.arn` as the `role.arn` of a
/// user `alice.bucekt.lake`. Returns the scope name it would be read with and the key meant.
fn misread_scope(key: &str) -> Option<(String, String)> {
    for (scope, setting) in readings(key) {
        if !is_setting_name(setting) || scope == PREFIX {
            continue;
        }
        let Some(&(keyword, word)) = SCOPE_WORDS.iter().find(|(p, _)| scope.starts_with(p)) else {
            continue;
        };
        let name = scope[keyword.len()..].trim_end_matches('.');
        // Skip the bucket name of a user's or group's bucket scope: only the name read as the
        // user's, group's or bucket's own can swallow part of a setting.
        let name = match word {
            "bucket" => name,
            _ => name.split_once(".bucket.").map_or(name, |(_, b)| b),
        };
        let head = &scope[..scope.len() - name.len() - 1];
        let segments: Vec<&str> = name.split('.').collect();
        for i in 1..segments.len() {
            let (kept, swallowed) = (segments[..i].join("."), segments[i..].join("."));
            // Part of the name then the setting: a longer setting ending in this one, misspelt.
            let read = format!("{swallowed}.{setting}");
            let suffix = format!(".{setting}");
            let nearest = ALL_KEYS
                .iter()
                .map(|k| k.name.to_owned())
                .chain((1..=identity::MAX_CHAIN_HOPS).map(identity::hop_external_id_name))
                .filter(|k| k.ends_with(&suffix))
                .map(|k| (edit_distance(&read, &k), k))
                .min();
            match nearest {
                // A shorter scope name reads the key as a setting exactly: that is the reading.
                Some((0, _)) => return None,
                Some((1..=2, k)) => return Some((name.to_owned(), format!("{head}{kept}.{k}"))),
                _ => {}
            }
            // A misspelt `bucket` inside a user's or group's name, followed by a bucket name.
            if word != "bucket" && !name.contains(".bucket.") {
                let seg = segments[i];
                if i + 1 < segments.len()
                    && seg.len() >= 4
                    && (1..=2).contains(&edit_distance(seg, "bucket"))
                {
                    let rest = segments[i + 1..].join(".");
                    return Some((
                        name.to_owned(),
                        format!("{head}{kept}.{SCOPE_BUCKET}{rest}.{setting}"),
                    ));
                }
            }
        }
    }
    None
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
/// split after the scope, as user, group and bucket names may hold dots (a user's or group's key
/// for a bucket, `rolebridge.user.<USER>.bucket.<BUCKET>.<setting>`, is one of these splits).
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
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
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
