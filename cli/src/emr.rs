//! EMR: which release serves `s3://` with which file system, and the configuration
//! classifications (`aws emr create-cluster --configurations`) that install rolebridge there.
//!
//! EMR before 7.10 serves `s3://` with EMRFS, which takes an AWS SDK v1 provider in
//! `fs.s3.customAWSCredentialsProvider` (emrfs-site); 7.10 and later with S3A on SDK v2, which
//! takes `fs.s3a.aws.credentials.provider` (core-site). One output never configures both.
//! EMRFS has one provider slot for every bucket (the job's own scripts and logs too), so the role
//! settings are given per bucket and `rolebridge.unmapped.buckets=source` leaves every other bucket
//! to the node's own identity, as without rolebridge.

use std::collections::BTreeMap;
use std::fmt;

use rolebridge::settings::{
    hop_of_external_id_name, Key, ALL_KEYS, BUCKET_PREFIX, CACHE_DIR, FAILURE_MODE, PREFIX,
    REFUSAL_TTL, STS_ENDPOINT, STS_REGION, STS_TIMEOUT, UNMAPPED_BUCKETS,
};
use serde_json::{json, Value};

/// The SDK v1 provider class: EMRFS, S3A 3.3.
pub const V1_CLASS: &str = "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider";
/// The SDK v2 provider class: S3A 3.4+ (EMR 7.10+).
pub const V2_CLASS: &str = "dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2";
/// EMRFS's provider key (emrfs-site).
pub const EMRFS_PROVIDER_KEY: &str = "fs.s3.customAWSCredentialsProvider";
/// S3A's provider key (core-site); per bucket `fs.s3a.bucket.<B>.aws.credentials.provider`.
pub const S3A_PROVIDER_KEY: &str = "fs.s3a.aws.credentials.provider";

/// An EMR release label, `emr-MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Release {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "emr-{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The file system that serves `s3://` on a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3FileSystem {
    /// EMRFS (EMR before 7.10): the SDK v1 class in `fs.s3.customAWSCredentialsProvider`.
    Emrfs,
    /// S3A with SDK v2 (EMR 7.10+): the V2 class in `fs.s3a.aws.credentials.provider`.
    S3a,
}

/// The first release whose `s3://` is S3A.
const FIRST_S3A: Release = Release {
    major: 7,
    minor: 10,
    patch: 0,
};

impl Release {
    pub fn file_system(self) -> S3FileSystem {
        if self >= FIRST_S3A {
            S3FileSystem::S3a
        } else {
            S3FileSystem::Emrfs
        }
    }
}

/// Parses `--emr-release`: `emr-6.15.0` or `6.15.0`. A malformed label, or one before EMR 5.0.0,
/// is an error naming the flag, the rule and the fix.
pub fn parse_release(label: &str) -> Result<Release, String> {
    let version = label.strip_prefix("emr-").unwrap_or(label);
    let parts: Vec<&str> = version.split('.').collect();
    let number = |p: &str| -> Option<u32> {
        (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let parsed = match parts.as_slice() {
        [a, b, c] => match (number(a), number(b), number(c)) {
            (Some(major), Some(minor), Some(patch)) => Some(Release {
                major,
                minor,
                patch,
            }),
            _ => None,
        },
        _ => None,
    };
    let Some(release) = parsed else {
        return Err(format!(
            "--emr-release {label:?}: not an EMR release label. Give the cluster's release label \
             as `aws emr create-cluster --release-label` takes it, emr-MAJOR.MINOR.PATCH (e.g. \
             emr-6.15.0, emr-7.10.0; the emr- prefix may be left out)"
        ));
    };
    if release.major < 5 {
        return Err(format!(
            "--emr-release {label:?}: releases before EMR 5.0.0 are not supported (rolebridge's \
             classifications are for EMRFS on EMR 5.x to 7.9 and S3A on EMR 7.10 and later). Give \
             a release label of emr-5.0.0 or later, e.g. emr-6.15.0"
        ));
    }
    Ok(release)
}

/// Settings of the node rather than of a role: where STS is, how failures go, where sessions are
/// kept. They stay global, so they serve the buckets left to the source credentials too.
const NODE_SETTINGS: [Key; 6] = [
    STS_REGION,
    STS_ENDPOINT,
    STS_TIMEOUT,
    FAILURE_MODE,
    CACHE_DIR,
    REFUSAL_TTL,
];

/// The setting name of a global key (`rolebridge.<name>`), if it is one.
fn global_name(key: &str) -> Option<&str> {
    let name = key.strip_prefix(PREFIX)?;
    (ALL_KEYS.iter().any(|k| k.name == name) || hop_of_external_id_name(name).is_some())
        .then_some(name)
}

/// The rolebridge properties an EMR classification carries for `bucket`, from the settings as
/// given (`{user}` kept, so each user gets their own value on the cluster):
/// - S3A's `fs.s3a.[bucket.<B>.]assumed.role.*` keys become rolebridge's (where rolebridge's own
///   key is not set);
/// - a global setting of the role (ARN, external ID, session name and duration, SourceIdentity,
///   tags, chain and its hops' external IDs, session policies, refresh) becomes the bucket's own
///   `rolebridge.bucket.<B>.*` key, unless the bucket already has that key (which is then the
///   one that applies);
/// - settings of the node ([`NODE_SETTINGS`]) stay global;
/// - keys of a user, a group or another bucket are kept as given;
/// - `rolebridge.unmapped.buckets` is `source` unless given: every bucket without a role (the
///   job's own) is signed by the node's own identity, as without rolebridge.
pub fn properties(values: &BTreeMap<String, String>, bucket: &str) -> BTreeMap<String, String> {
    let mut given: BTreeMap<String, String> = values
        .iter()
        .filter(|(k, _)| k.starts_with(PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for key in ALL_KEYS {
        let Some(s3a) = key.s3a else { continue };
        for (from, to) in [
            (
                format!("fs.s3a.bucket.{bucket}.assumed.role.{s3a}"),
                format!("{BUCKET_PREFIX}{bucket}.{}", key.name),
            ),
            (
                format!("fs.s3a.assumed.role.{s3a}"),
                format!("{PREFIX}{}", key.name),
            ),
        ] {
            // S3A's keys rank below every rolebridge key of the bucket and the global one (as
            // resolve reads them): taken only where neither is set.
            let ours = [
                format!("{BUCKET_PREFIX}{bucket}.{}", key.name),
                format!("{PREFIX}{}", key.name),
            ];
            if ours.iter().any(|k| values.contains_key(k)) {
                continue;
            }
            if let Some(v) = values.get(&from).filter(|v| !v.trim().is_empty()) {
                given.entry(to).or_insert_with(|| v.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut moved = Vec::new();
    for (k, v) in given {
        match global_name(&k) {
            Some(name)
                if !NODE_SETTINGS.iter().any(|n| n.name == name)
                    && name != UNMAPPED_BUCKETS.name =>
            {
                moved.push((format!("{BUCKET_PREFIX}{bucket}.{name}"), v))
            }
            _ => {
                out.insert(k, v);
            }
        }
    }
    for (k, v) in moved {
        out.entry(k).or_insert(v);
    }
    out.entry(format!("{PREFIX}{}", UNMAPPED_BUCKETS.name))
        .or_insert_with(|| "source".to_owned());
    out
}

/// The classifications for `release`: emrfs-site with the V1 class in EMRFS's slot before 7.10;
/// core-site with the V2 class in S3A's slot for every bucket from 7.10.
pub fn classifications(release: Release, values: &BTreeMap<String, String>, bucket: &str) -> Value {
    let mut props = serde_json::Map::new();
    let classification = match release.file_system() {
        S3FileSystem::Emrfs => {
            props.insert(EMRFS_PROVIDER_KEY.into(), json!(V1_CLASS));
            "emrfs-site"
        }
        S3FileSystem::S3a => {
            // S3A's slot for every bucket, like EMRFS's: each S3A file system then makes the
            // provider, which validates the whole configuration (a placeholder or a misspelt
            // bucket is refused), and leaves the buckets without a role to the source. A
            // per-bucket slot would leave a misspelt bucket to S3A's default chain, unchecked.
            props.insert(S3A_PROVIDER_KEY.into(), json!(V2_CLASS));
            "core-site"
        }
    };
    for (k, v) in properties(values, bucket) {
        props.insert(k, json!(v));
    }
    json!([{ "Classification": classification, "Properties": props }])
}

/// What the classifications are, for the labelled output.
pub fn describe(release: Release) -> String {
    match release.file_system() {
        S3FileSystem::Emrfs => format!(
            "EMR configuration classifications for {release} (EMRFS serves s3://: emrfs-site, the \
             SDK v1 class)"
        ),
        S3FileSystem::S3a => format!(
            "EMR configuration classifications for {release} (S3A serves s3://: core-site, the \
             SDK v2 class)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rolebridge::settings::{resolve, resolve_signer, RawSettings, Signer};

    #[test]
    fn release_labels_with_or_without_the_prefix() {
        let r = |major, minor, patch| Release {
            major,
            minor,
            patch,
        };
        assert_eq!(parse_release("emr-6.15.0"), Ok(r(6, 15, 0)));
        assert_eq!(parse_release("7.9.0"), Ok(r(7, 9, 0)));
        assert_eq!(parse_release("emr-7.10.0"), Ok(r(7, 10, 0)));
        assert_eq!(parse_release("emr-5.0.0"), Ok(r(5, 0, 0)));
        assert_eq!(
            parse_release("emr-7.10.0").unwrap().to_string(),
            "emr-7.10.0"
        );
        // 7.10 comes after 7.9 (numbers, not strings)
        assert_eq!(
            parse_release("emr-7.9.0").unwrap().file_system(),
            S3FileSystem::Emrfs
        );
        assert_eq!(
            parse_release("emr-7.10.0").unwrap().file_system(),
            S3FileSystem::S3a
        );
        assert_eq!(
            parse_release("emr-7.12.1").unwrap().file_system(),
            S3FileSystem::S3a
        );
        assert_eq!(
            parse_release("8.0.0").unwrap().file_system(),
            S3FileSystem::S3a
        );
        assert_eq!(
            parse_release("emr-5.36.2").unwrap().file_system(),
            S3FileSystem::Emrfs
        );
    }

    #[test]
    fn malformed_and_old_labels_are_refused_naming_the_flag() {
        for bad in [
            "",
            "emr-",
            "emr-7.10",
            "7",
            "emr-7.10.0.1",
            "emr-7.x.0",
            "EMR-7.10.0",
            "emr-7.-1.0",
            "emr-+7.1.0",
            "emr-7.10.0 ",
            "v7.10.0",
            "emr-99999.0.0",
        ] {
            let e = parse_release(bad).unwrap_err();
            assert!(e.starts_with("--emr-release "), "{bad}: {e}");
            assert!(e.contains("not an EMR release label"), "{bad}: {e}");
            assert!(e.contains("emr-MAJOR.MINOR.PATCH"), "{bad}: {e}");
        }
        for old in ["emr-4.9.6", "emr-3.11.0", "0.1.0"] {
            let e = parse_release(old).unwrap_err();
            assert!(
                e.contains("releases before EMR 5.0.0 are not supported"),
                "{old}: {e}"
            );
            assert!(e.contains("emr-5.0.0 or later"), "{old}: {e}");
        }
    }

    fn given() -> BTreeMap<String, String> {
        [
            (
                "rolebridge.role.arn",
                "arn:aws:iam::222222222222:role/etl-writer",
            ),
            ("rolebridge.external.id", "x-1"),
            ("rolebridge.session.name", "emr-{user}"),
            ("rolebridge.session.duration", "45m"),
            ("rolebridge.source.identity", "{user}"),
            ("rolebridge.session.tags", "user={user},team=data"),
            ("rolebridge.session.tags.transitive", "user"),
            (
                "rolebridge.role.chain",
                "arn:aws:iam::333333333333:role/hub",
            ),
            ("rolebridge.role.chain.1.external.id", "hub-1"),
            ("rolebridge.sts.region", "eu-west-1"),
            (
                "rolebridge.sts.endpoint",
                "https://sts.eu-west-1.amazonaws.com",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn props_of(doc: &Value) -> (String, BTreeMap<String, String>) {
        let c = &doc.as_array().unwrap()[0];
        let props = c["Properties"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        (c["Classification"].as_str().unwrap().to_owned(), props)
    }

    fn raw_for(values: &BTreeMap<String, String>, bucket: &str, user: &str) -> RawSettings {
        let mut raw = RawSettings::new(Some(bucket), Some(user));
        raw.values = values.clone();
        raw
    }

    #[test]
    fn emrfs_up_to_7_9_and_s3a_from_7_10_never_both() {
        let emrfs = classifications(parse_release("emr-7.9.0").unwrap(), &given(), "lake");
        assert_eq!(emrfs.as_array().unwrap().len(), 1);
        let (class, props) = props_of(&emrfs);
        assert_eq!(class, "emrfs-site");
        assert_eq!(props[EMRFS_PROVIDER_KEY], V1_CLASS);
        assert!(!props.keys().any(|k| k.starts_with("fs.s3a.")), "{props:?}");

        let s3a = classifications(parse_release("7.10.0").unwrap(), &given(), "lake");
        assert_eq!(s3a.as_array().unwrap().len(), 1);
        let (class, props) = props_of(&s3a);
        assert_eq!(class, "core-site");
        assert_eq!(props[S3A_PROVIDER_KEY], V2_CLASS);
        assert!(
            !props.keys().any(
                |k| k.ends_with(".aws.credentials.provider") && k.starts_with("fs.s3a.bucket.")
            ),
            "one slot for every bucket: {props:?}"
        );
        assert!(!props.keys().any(|k| k.starts_with("fs.s3.")), "{props:?}");
        assert!(!props.values().any(|v| v == V1_CLASS), "{props:?}");
    }

    #[test]
    fn every_setting_given_is_carried_per_bucket_and_other_buckets_are_the_sources() {
        let (_, props) = props_of(&classifications(
            parse_release("emr-6.15.0").unwrap(),
            &given(),
            "lake",
        ));
        for (k, v) in given() {
            let name = &k["rolebridge.".len()..];
            let expected = if name.starts_with("sts.") {
                k.clone()
            } else {
                format!("rolebridge.bucket.lake.{name}")
            };
            assert_eq!(props.get(&expected), Some(&v), "{expected} in {props:?}");
            if expected != k {
                assert!(!props.contains_key(&k), "{k} is not global any more");
            }
        }
        assert_eq!(props["rolebridge.unmapped.buckets"], "source");
        let rolebridge: BTreeMap<String, String> = props
            .into_iter()
            .filter(|(k, _)| k.starts_with("rolebridge."))
            .collect();
        // The bucket resolves exactly as the settings given do, for every user.
        for user in ["alice", "hadoop"] {
            assert_eq!(
                resolve(&raw_for(&rolebridge, "lake", user)).unwrap(),
                resolve(&raw_for(&given(), "lake", user)).unwrap(),
                "{user}"
            );
            // and any other bucket (the job's own) is left to the node's identity
            assert!(matches!(
                resolve_signer(&raw_for(&rolebridge, "job-scripts", user)).unwrap(),
                Signer::Source(_)
            ));
        }
    }

    #[test]
    fn s3a_keys_rank_below_rolebridge_keys_as_resolve_reads_them() {
        // The role given on the command line (the global rolebridge key), an S3A per-bucket role
        // from the node's core-site: resolve takes the former, and so must the classification.
        let mut values = given();
        values.insert(
            "fs.s3a.bucket.lake.assumed.role.arn".into(),
            "arn:aws:iam::333333333333:role/from-core-site".into(),
        );
        values.insert(
            "fs.s3a.bucket.lake.assumed.role.session.duration".into(),
            "20m".into(),
        );
        let (_, props) = props_of(&classifications(
            parse_release("emr-7.10.0").unwrap(),
            &values,
            "lake",
        ));
        let rolebridge: BTreeMap<String, String> = props
            .into_iter()
            .filter(|(k, _)| k.starts_with("rolebridge."))
            .collect();
        let all = |v: &BTreeMap<String, String>| {
            v.iter()
                .filter(|(k, _)| k.starts_with("rolebridge.") || k.starts_with("fs.s3a."))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let want = resolve(&raw_for(&all(&values), "lake", "hadoop")).unwrap();
        assert!(!want.role_arn.ends_with("from-core-site"));
        assert_eq!(
            resolve(&raw_for(&rolebridge, "lake", "hadoop")).unwrap(),
            want
        );
    }

    #[test]
    fn scoped_keys_are_kept_and_the_buckets_own_key_wins_over_a_global_one() {
        let mut values = given();
        values.insert(
            "rolebridge.bucket.lake.external.id".into(),
            "lake-own".into(),
        );
        values.insert(
            "rolebridge.user.alice.bucket.lake.session.duration".into(),
            "30m".into(),
        );
        values.insert("rolebridge.unmapped.buckets".into(), "refuse".into());
        values.remove("rolebridge.role.arn");
        values.insert(
            "fs.s3a.assumed.role.arn".into(),
            "arn:aws:iam::222222222222:role/from-s3a".into(),
        );
        let p = properties(&values, "lake");
        assert_eq!(p["rolebridge.bucket.lake.external.id"], "lake-own");
        assert_eq!(
            p["rolebridge.user.alice.bucket.lake.session.duration"],
            "30m"
        );
        assert_eq!(
            p["rolebridge.bucket.lake.role.arn"],
            "arn:aws:iam::222222222222:role/from-s3a"
        );
        assert_eq!(p["rolebridge.unmapped.buckets"], "refuse", "as given");
        assert!(!p.keys().any(|k| k.starts_with("fs.")), "{p:?}");
    }
}
