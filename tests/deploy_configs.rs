//! The EMR configuration classifications under deploy/: each parses, has EMR's
//! `[{"Classification", "Properties"}]` shape, sets only keys the provider reads (or the
//! provider-class property of its host, naming a class the shim has), and its rolebridge settings
//! pass the same validation the provider applies at construction.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rolebridge::settings::{self, RawSettings, GROUP_PREFIX, PREFIX, USER_PREFIX};

const V1: &str = "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider";
const V2: &str = "dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2";

fn config_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["deploy/emr", "deploy/spark"] {
        for e in fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Whether `key` (without any spark.hadoop. prefix) is a rolebridge setting the provider reads
/// (globally, or per user, group or bucket).
fn is_rolebridge_key(key: &str) -> bool {
    key.starts_with(PREFIX) && settings::is_known_key(key)
}

/// The users and groups a configuration gives a role of their own (`rolebridge.user.<U>.role.arn`,
/// `rolebridge.group.<G>.role.arn`), as (user, groups) to resolve the settings for; with a global
/// role, also a user with neither. Each has a group (`other`, with no keys): a user with no groups
/// is refused where group keys are set.
fn tenants(raw: &RawSettings) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for key in raw.values.keys() {
        if let Some(u) = key
            .strip_prefix(USER_PREFIX)
            .and_then(|r| r.strip_suffix(".role.arn"))
        {
            out.push((u.to_owned(), vec!["other".to_owned()]));
        }
        if let Some(g) = key
            .strip_prefix(GROUP_PREFIX)
            .and_then(|r| r.strip_suffix(".role.arn"))
        {
            out.push((
                "member-of-".to_owned() + g,
                vec!["other".to_owned(), g.to_owned()],
            ));
        }
    }
    if raw.values.contains_key("rolebridge.role.arn") {
        out.push(("hadoop".to_owned(), vec!["other".to_owned()]));
    }
    out
}

fn shim_has_class(class: &str) -> bool {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("java-shim/src/main/java")
        .join(class.replace('.', "/") + ".java");
    path.is_file()
}

#[test]
fn every_configuration_sets_only_keys_the_provider_reads() {
    let files = config_files();
    assert_eq!(files.len(), 5, "{files:?}");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        let classifications = json
            .as_array()
            .unwrap_or_else(|| panic!("{name}: not a JSON array"));
        assert!(!classifications.is_empty(), "{name}");
        for c in classifications {
            let obj = c
                .as_object()
                .unwrap_or_else(|| panic!("{name}: an element is not an object"));
            let mut fields: Vec<&str> = obj.keys().map(String::as_str).collect();
            fields.sort();
            assert_eq!(fields, ["Classification", "Properties"], "{name}");
            let classification = obj["Classification"].as_str().unwrap();
            let spark = classification == "spark-defaults";
            assert!(
                ["emrfs-site", "core-site", "spark-defaults"].contains(&classification),
                "{name}: {classification}"
            );

            let mut raw = RawSettings::new(Some("partner-landing-zone"), Some("hadoop"));
            let mut providers = BTreeMap::new();
            for (key, value) in obj["Properties"].as_object().unwrap() {
                let value = value
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: {key}: EMR properties are strings"));
                let hadoop_key = if spark {
                    key.strip_prefix("spark.hadoop.")
                        .unwrap_or_else(|| panic!("{name}: {key}: spark-defaults keys for Hadoop start with spark.hadoop."))
                } else {
                    key.as_str()
                };
                match hadoop_key {
                    "fs.s3.customAWSCredentialsProvider" | "fs.s3a.aws.credentials.provider" => {
                        assert!(value == V1 || value == V2, "{name}: {key}: {value}");
                        assert!(shim_has_class(value), "{name}: {value} is not a shim class");
                        providers.insert(hadoop_key.to_owned(), value.to_owned());
                    }
                    k => {
                        assert!(
                            is_rolebridge_key(k),
                            "{name}: {key} is not a key the provider reads"
                        );
                        raw.values.insert(k.to_owned(), value.to_owned());
                    }
                }
            }
            assert!(!providers.is_empty(), "{name}: sets no provider class");
            if classification == "emrfs-site" {
                assert_eq!(
                    providers
                        .get("fs.s3.customAWSCredentialsProvider")
                        .map(String::as_str),
                    Some(V1),
                    "{name}"
                );
            }
            if name.contains("emr7.10") || name.contains("hadoop3.4") {
                assert_eq!(
                    providers
                        .get("fs.s3a.aws.credentials.provider")
                        .map(String::as_str),
                    Some(V2),
                    "{name}: S3A 3.4+ takes SDK v2 providers"
                );
            }
            if name.contains("hadoop3.3") {
                assert_eq!(
                    providers
                        .get("fs.s3a.aws.credentials.provider")
                        .map(String::as_str),
                    Some(V1),
                    "{name}: S3A 3.3 takes SDK v1 providers"
                );
            }
            // The example values pass the provider's own validation, for the default bucket and
            // for the bucket with its own keys, as each user the configuration gives a role.
            let tenants = tenants(&raw);
            assert!(!tenants.is_empty(), "{name}: no role for anyone");
            for (user, groups) in tenants {
                for bucket in ["partner-landing-zone", "some-other-bucket"] {
                    let r = RawSettings::new(Some(bucket), Some(&user)).with_groups(groups.clone());
                    let r = RawSettings {
                        values: raw.values.clone(),
                        ..r
                    };
                    let s = settings::resolve(&r)
                        .unwrap_or_else(|e| panic!("{name}: as {user} {groups:?}: {e}"));
                    if let Some(g) = user.strip_prefix("member-of-") {
                        assert!(
                            Some(&s.role_arn)
                                == raw.values.get(&format!("{GROUP_PREFIX}{g}.role.arn")),
                            "{name}: a member of {g} gets its role"
                        );
                    }
                }
            }
            if raw.values.keys().any(|k| k.starts_with(USER_PREFIX))
                && !raw.values.contains_key("rolebridge.role.arn")
            {
                let nobody = RawSettings {
                    values: raw.values.clone(),
                    ..RawSettings::new(None, Some("nobody")).with_groups(vec!["other".into()])
                };
                let e = settings::resolve(&nobody).unwrap_err().to_string();
                assert!(
                    e.contains("Hadoop user nobody"),
                    "{name}: a user with no role is refused: {e}"
                );
            }
        }
    }
}

#[test]
fn the_key_check_rejects_what_the_provider_does_not_read() {
    assert!(is_rolebridge_key("rolebridge.role.arn"));
    assert!(is_rolebridge_key(
        "rolebridge.bucket.my.dotted.bucket.external.id"
    ));
    assert!(!is_rolebridge_key("rolebridge.role.ar"));
    assert!(!is_rolebridge_key("rolebridge.bucket.role.arn"));
    assert!(is_rolebridge_key(
        "rolebridge.user.first.last.source.identity"
    ));
    assert!(is_rolebridge_key(
        "rolebridge.group.etl.role.chain.2.external.id"
    ));
    // (user and group names may hold dots: rolebridge.user.a.b.role.arn is user "a.b"'s role)
    assert!(!is_rolebridge_key("rolebridge.user.alice.session.tagz"));
    assert!(!is_rolebridge_key("fs.s3a.endpoint"));
}
