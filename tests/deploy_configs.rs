//! The EMR configuration classifications under deploy/: each parses, has EMR's
//! `[{"Classification", "Properties"}]` shape, sets only keys the provider reads (or the
//! provider-class property of its host, naming a class the shim has), and its rolebridge settings
//! pass the same validation the provider applies at construction.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rolebridge::settings::{self, RawSettings, ALL_KEYS, BUCKET_PREFIX, PREFIX};

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

/// Whether `key` (without any spark.hadoop. prefix) is a rolebridge setting the provider reads.
fn is_rolebridge_key(key: &str) -> bool {
    let rest = if let Some(r) = key.strip_prefix(BUCKET_PREFIX) {
        // BUCKET.<name>: the bucket may contain dots, so match the known names at the end
        return ALL_KEYS
            .iter()
            .any(|k| r.ends_with(&format!(".{}", k.name)) && r.len() > k.name.len() + 1);
    } else if let Some(r) = key.strip_prefix(PREFIX) {
        r
    } else {
        return false;
    };
    ALL_KEYS.iter().any(|k| k.name == rest)
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
    assert_eq!(files.len(), 4, "{files:?}");
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
            // for the bucket with its own keys.
            settings::resolve(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
            let other = RawSettings {
                bucket: Some("some-other-bucket".into()),
                ..raw.clone()
            };
            settings::resolve(&other).unwrap_or_else(|e| panic!("{name}: {e}"));
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
    assert!(!is_rolebridge_key("fs.s3a.endpoint"));
}
