//! The EMR configuration classifications under deploy/: each parses, has EMR's
//! `[{"Classification", "Properties"}]` shape, sets only keys the provider reads (or the
//! provider-class property of its host, naming a class the shim has). As shipped, each is refused
//! by the provider's own validation naming a `REPLACE-WITH-...` placeholder, so it cannot be
//! deployed by mistake; with its placeholders replaced by the values below, it passes, and each
//! role goes to the bucket (and user or group) its keys name, every other bucket to the source.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rolebridge::settings::{
    self, resolve_signer, RawSettings, Signer, PREFIX, TEMPLATE_PLACEHOLDER, TEMPLATE_PLACEHOLDERS,
};

const V1: &str = "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider";
const V2: &str = "dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2";

/// What each placeholder of the templates stands for in these tests. A placeholder not listed
/// here fails the tests: each one a template ships must be shown to validate once replaced.
const FIXTURES: [(&str, &str); 11] = [
    (
        "REPLACE-WITH-ROLE-ARN",
        "arn:aws:iam::222222222222:role/etl-writer",
    ),
    ("REPLACE-WITH-EXTERNAL-ID", "agreed-external-id"),
    ("REPLACE-WITH-BUCKET", "partner-landing-zone"),
    (
        "REPLACE-WITH-SECOND-ROLE-ARN",
        "arn:aws:iam::333333333333:role/landing-writer",
    ),
    (
        "REPLACE-WITH-SECOND-EXTERNAL-ID",
        "other-agreed-external-id",
    ),
    ("REPLACE-WITH-SECOND-BUCKET", "second-landing-zone"),
    ("REPLACE-WITH-REGION", "eu-west-1"),
    ("REPLACE-WITH-USER", "alice"),
    ("REPLACE-WITH-GROUP", "analysts"),
    (
        "REPLACE-WITH-USER-ROLE-ARN",
        "arn:aws:iam::222222222222:role/alice-writer",
    ),
    (
        "REPLACE-WITH-GROUP-ROLE-ARN",
        "arn:aws:iam::222222222222:role/analysts-writer",
    ),
];

/// A bucket no template names: the job's own scripts and logs.
const JOB_BUCKET: &str = "job-scripts";

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

/// `text` with every placeholder replaced by its fixture value.
fn replaced(name: &str, text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(TEMPLATE_PLACEHOLDER) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(tail.len());
        let placeholder = &tail[..end];
        assert!(
            TEMPLATE_PLACEHOLDERS.contains(&placeholder),
            "{name}: {placeholder} is not in the library's TEMPLATE_PLACEHOLDERS, so its error \
             would not name it"
        );
        let value = FIXTURES
            .iter()
            .find(|(p, _)| *p == placeholder)
            .unwrap_or_else(|| panic!("{name}: {placeholder} has no fixture value in FIXTURES"))
            .1;
        out.push_str(value);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// One classification: its name, the provider classes it sets (by Hadoop key) and its
/// rolebridge settings (spark.hadoop. taken off).
struct Classification {
    classification: String,
    providers: BTreeMap<String, String>,
    values: BTreeMap<String, String>,
}

/// Whether `key` (without any spark.hadoop. prefix) is a rolebridge setting the provider reads
/// (globally, or per user, group or bucket).
fn is_rolebridge_key(key: &str) -> bool {
    key.starts_with(PREFIX) && settings::is_known_key(key)
}

/// Whether `key` is the provider slot of a file system: EMRFS's, S3A's, or S3A's for one bucket.
fn is_provider_key(key: &str) -> bool {
    key == "fs.s3.customAWSCredentialsProvider"
        || key == "fs.s3a.aws.credentials.provider"
        || key
            .strip_prefix("fs.s3a.bucket.")
            .and_then(|r| r.strip_suffix(".aws.credentials.provider"))
            .is_some_and(|b| !b.is_empty() && !b.contains(".aws."))
}

fn shim_has_class(class: &str) -> bool {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("java-shim/src/main/java")
        .join(class.replace('.', "/") + ".java");
    path.is_file()
}

/// Parses a configuration file's text and checks its shape and keys.
fn parse(name: &str, text: &str) -> Vec<Classification> {
    let json: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
    let classifications = json
        .as_array()
        .unwrap_or_else(|| panic!("{name}: not a JSON array"));
    assert!(!classifications.is_empty(), "{name}");
    let mut out = Vec::new();
    for c in classifications {
        let obj = c
            .as_object()
            .unwrap_or_else(|| panic!("{name}: an element is not an object"));
        let mut fields: Vec<&str> = obj.keys().map(String::as_str).collect();
        fields.sort();
        assert_eq!(fields, ["Classification", "Properties"], "{name}");
        let classification = obj["Classification"].as_str().unwrap().to_owned();
        let spark = classification == "spark-defaults";
        assert!(
            ["emrfs-site", "core-site", "spark-defaults"].contains(&classification.as_str()),
            "{name}: {classification}"
        );
        let mut providers = BTreeMap::new();
        let mut values = BTreeMap::new();
        for (key, value) in obj["Properties"].as_object().unwrap() {
            let value = value
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {key}: EMR properties are strings"));
            let hadoop_key = if spark {
                key.strip_prefix("spark.hadoop.").unwrap_or_else(|| {
                    panic!("{name}: {key}: spark-defaults keys for Hadoop start with spark.hadoop.")
                })
            } else {
                key.as_str()
            };
            if is_provider_key(hadoop_key) {
                assert!(value == V1 || value == V2, "{name}: {key}: {value}");
                assert!(shim_has_class(value), "{name}: {value} is not a shim class");
                providers.insert(hadoop_key.to_owned(), value.to_owned());
            } else {
                assert!(
                    is_rolebridge_key(hadoop_key),
                    "{name}: {key} is not a key the provider reads"
                );
                values.insert(hadoop_key.to_owned(), value.to_owned());
            }
        }
        assert!(!providers.is_empty(), "{name}: sets no provider class");
        out.push(Classification {
            classification,
            providers,
            values,
        });
    }
    out
}

fn raw(
    values: &BTreeMap<String, String>,
    bucket: &str,
    user: &str,
    groups: &[&str],
) -> RawSettings {
    RawSettings {
        values: values.clone(),
        ..RawSettings::new(Some(bucket), Some(user))
            .with_groups(groups.iter().map(|g| (*g).to_owned()).collect())
    }
}

#[test]
fn templates_come_first_with_one_bucket_and_examples_are_separate_files() {
    let names: Vec<String> = config_files()
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "emrfs-single-bucket.json",
            "emrfs-sts-region.json",
            "emrfs-tenants.json",
            "emrfs-two-buckets.json",
            "s3a-emr7.10-single-bucket.json",
            "spark-defaults-hadoop3.3-configurations.json",
            "spark-defaults-hadoop3.4-configurations.json",
        ]
    );
}

#[test]
fn as_shipped_each_template_is_refused_naming_its_placeholder() {
    for file in config_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&file).unwrap();
        for c in parse(&name, &text) {
            for bucket in ["partner-landing-zone", "REPLACE-WITH-BUCKET", JOB_BUCKET] {
                let e = match resolve_signer(&raw(&c.values, bucket, "hadoop", &["other"])) {
                    Err(e) => e.to_string(),
                    Ok(s) => panic!("{name}: deployed as shipped, it validates: {s:?}"),
                };
                let (key, _) = e.split_once(": ").unwrap();
                assert!(
                    c.values.contains_key(key),
                    "{name}: names a key of its own: {e}"
                );
                assert!(e.contains(" holds REPLACE-WITH-"), "{name}: {e}");
                assert!(
                    e.contains(
                        "a placeholder of a rolebridge template (deploy/) that was not replaced"
                    ),
                    "{name}: {e}"
                );
                assert!(e.contains("Replace REPLACE-WITH-"), "{name}: {e}");
            }
        }
    }
}

/// The (user, groups, bucket) a `*.role.arn` key of a template is for (fixture names hold no
/// dots, so the key splits plainly).
fn scope_of_role_key(key: &str) -> (String, Vec<&'static str>, String) {
    let rest = key
        .strip_prefix(PREFIX)
        .and_then(|r| r.strip_suffix("role.arn"))
        .unwrap_or_else(|| panic!("{key}"));
    let parts: Vec<&str> = rest.split('.').filter(|p| !p.is_empty()).collect();
    let other = || vec!["other"];
    match parts.as_slice() {
        [] => ("hadoop".into(), other(), "partner-landing-zone".into()),
        ["bucket", b] => ("hadoop".into(), other(), (*b).into()),
        ["user", u] => ((*u).into(), other(), "partner-landing-zone".into()),
        ["user", u, "bucket", b] => ((*u).into(), other(), (*b).into()),
        ["group", g] => (
            format!("member-of-{g}"),
            vec!["other", "analysts"],
            "partner-landing-zone".into(),
        ),
        ["group", g, "bucket", b] => {
            assert_eq!(*g, "analysts", "fixture groups: analysts");
            (
                format!("member-of-{g}"),
                vec!["other", "analysts"],
                (*b).into(),
            )
        }
        _ => panic!("{key}: no scope this test knows"),
    }
}

#[test]
fn with_placeholders_replaced_each_validates_and_each_role_goes_where_its_keys_say() {
    for file in config_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = replaced(&name, &fs::read_to_string(&file).unwrap());
        assert!(!text.contains(TEMPLATE_PLACEHOLDER), "{name}");
        for c in parse(&name, &text) {
            let v = &c.values;
            if c.classification == "emrfs-site" {
                assert_eq!(
                    c.providers
                        .get("fs.s3.customAWSCredentialsProvider")
                        .map(String::as_str),
                    Some(V1),
                    "{name}"
                );
                // EMRFS's one slot serves every bucket: roles per bucket, the rest the source's.
                assert_eq!(
                    v.get("rolebridge.unmapped.buckets").map(String::as_str),
                    Some("source"),
                    "{name}"
                );
                assert!(
                    !v.contains_key("rolebridge.role.arn"),
                    "{name}: a global role on EMRFS"
                );
            }
            if name.contains("emr7.10") || name.contains("hadoop3.4") {
                assert!(
                    c.providers.values().all(|p| p == V2),
                    "{name}: S3A 3.4+ takes SDK v2 providers"
                );
            }
            if name.contains("hadoop3.3") {
                assert!(
                    c.providers.values().all(|p| p == V1),
                    "{name}: S3A 3.3 takes SDK v1 providers"
                );
            }
            if let Some((k, _)) = c
                .providers
                .iter()
                .find(|(k, _)| k.starts_with("fs.s3a.bucket."))
            {
                let bucket =
                    &k["fs.s3a.bucket.".len()..k.len() - ".aws.credentials.provider".len()];
                assert!(
                    v.contains_key(&format!("rolebridge.bucket.{bucket}.role.arn")),
                    "{name}: {k} names a bucket with no role"
                );
            }
            let role_keys: Vec<&String> = v.keys().filter(|k| k.ends_with(".role.arn")).collect();
            assert!(!role_keys.is_empty(), "{name}: no role for anyone");
            for key in role_keys {
                let (user, groups, bucket) = scope_of_role_key(key);
                match resolve_signer(&raw(v, &bucket, &user, &groups)) {
                    Ok(Signer::Role(s)) => assert_eq!(
                        &s.role_arn, &v[key],
                        "{name}: {user} {groups:?} on {bucket}"
                    ),
                    other => panic!("{name}: {key}: as {user} {groups:?} on {bucket}: {other:?}"),
                }
            }
            // The job's own bucket: the source where unmapped buckets are, else the global role.
            let job = resolve_signer(&raw(v, JOB_BUCKET, "hadoop", &["other"]));
            match v.get("rolebridge.unmapped.buckets").map(String::as_str) {
                Some("source") => assert!(matches!(job, Ok(Signer::Source(_))), "{name}: {job:?}"),
                _ => match job {
                    Ok(Signer::Role(s)) => {
                        assert_eq!(Some(&s.role_arn), v.get("rolebridge.role.arn"), "{name}")
                    }
                    other => panic!("{name}: {other:?}"),
                },
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
