//! `rolebridge policy`: every document a cross-account setup needs, least-privilege, from the same
//! settings as the provider plus who the source is, the bucket, the prefix and the access.

use clap::{Args, ValueEnum};
use std::collections::BTreeMap;

use rolebridge::settings::Settings;
use serde_json::{json, Value};

use crate::emr::{classifications, describe, parse_release, Release};

#[derive(Args, Debug, Clone)]
pub struct PolicyArgs {
    /// The principal that calls AssumeRole: the EMR instance role, the Glue job role, a user
    /// (arn:aws:iam::<account>:role/... or :user/...)
    #[arg(long, value_name = "ARN")]
    pub source_principal: String,
    /// Objects under this prefix only (e.g. landing/etl); the whole bucket if not given
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// What the role may do in the bucket
    #[arg(long, value_enum, default_value_t = Access::Readwrite)]
    pub access: Access,
    /// The KMS key that encrypts the bucket (SSE-KMS), in the destination account
    #[arg(long, value_name = "ARN")]
    pub kms_key: Option<String>,
    /// Print one document alone (plain JSON, nothing else); all of them, labelled, if not given
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The EMR release label of the cluster (e.g. emr-6.15.0, emr-7.10.0; the emr- prefix may be
    /// left out), for --format emr: EMRFS classifications before 7.10, S3A from 7.10
    #[arg(long, value_name = "LABEL")]
    pub emr_release: Option<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Readwrite,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The role's trust policy
    Trust,
    /// The role's permission policy
    Permissions,
    /// The source principal's policy
    Source,
    /// A statement for the bucket's policy
    Bucket,
    /// A statement for the KMS key's policy
    Kms,
    /// EMR configuration classifications for --emr-release
    Emr,
}

impl Access {
    fn reads(self) -> bool {
        self != Access::Write
    }
    fn writes(self) -> bool {
        self != Access::Read
    }
}

/// Checks what the settings do not: the source principal's ARN, the prefix, the key and the EMR
/// release (returned, if given).
pub fn validate(args: &PolicyArgs, bucket: Option<&str>) -> Result<Option<Release>, String> {
    let p = &args.source_principal;
    let parts: Vec<&str> = p.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && (((parts[5].starts_with("role/") || parts[5].starts_with("user/"))
            && parts[5].len() > 5)
            || parts[5] == "root");
    if !ok {
        return Err(format!(
            "--source-principal {p:?}: not an IAM role, user or account root ARN. Give the ARN of \
             the principal that calls AssumeRole, e.g. arn:aws:iam::111111111111:role/EMR_EC2_DefaultRole"
        ));
    }
    if bucket.is_none() {
        return Err("--bucket is required for policy: the bucket the role writes".into());
    }
    if let Some(prefix) = &args.prefix {
        if prefix.contains('*') || prefix.contains('?') || prefix.starts_with('/') {
            return Err(format!(
                "--prefix {prefix:?}: a key prefix without wildcards and without a leading /, \
                 e.g. landing/etl"
            ));
        }
    }
    if let Some(key) = &args.kms_key {
        let parts: Vec<&str> = key.splitn(6, ':').collect();
        if parts.len() != 6 || parts[2] != "kms" || !parts[5].starts_with("key/") {
            return Err(format!(
                "--kms-key {key:?}: not a KMS key ARN. Give arn:aws:kms:<region>:<account>:key/<id>"
            ));
        }
    }
    let release = args.emr_release.as_deref().map(parse_release).transpose()?;
    if args.format == Some(Format::Emr) && release.is_none() {
        return Err(NO_RELEASE.into());
    }
    Ok(release)
}

/// `--format emr` without `--emr-release`.
pub const NO_RELEASE: &str = "--format emr needs --emr-release: EMR before 7.10 serves s3:// with \
     EMRFS (emrfs-site, the SDK v1 class) and 7.10 and later with S3A (core-site, the SDK v2 \
     class), and one configuration never sets both. Give the cluster's release label, e.g. \
     --emr-release emr-6.15.0 or --emr-release emr-7.10.0";

/// The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`).
fn partition(arn: &str) -> &str {
    arn.split(':').nth(1).unwrap_or("aws")
}

struct S3Scope {
    bucket_arn: String,
    objects_arn: String,
    list_prefixes: Option<Vec<String>>,
}

fn scope(settings: &Settings, bucket: &str, prefix: Option<&str>) -> S3Scope {
    let p = partition(&settings.role_arn);
    let prefix = prefix
        .map(|x| x.trim_end_matches('/'))
        .filter(|x| !x.is_empty());
    S3Scope {
        bucket_arn: format!("arn:{p}:s3:::{bucket}"),
        objects_arn: match prefix {
            Some(x) => format!("arn:{p}:s3:::{bucket}/{x}/*"),
            None => format!("arn:{p}:s3:::{bucket}/*"),
        },
        // S3A and EMRFS list the prefix itself and under it (directory markers, `ls`).
        list_prefixes: prefix.map(|x| vec![x.to_owned(), format!("{x}/"), format!("{x}/*")]),
    }
}

/// The S3 statements the role needs: what S3A and EMRFS call. Listing: ListBucket (list, probes)
/// and GetBucketLocation (region lookups); reading: GetObject; writing: PutObject, DeleteObject
/// (renames are copy + delete, and S3A deletes directory markers), and the multipart upload
/// calls (large files, S3A's fast upload, EMRFS's multipart).
fn s3_statements(s: &S3Scope, access: Access, principal: Option<&str>) -> Vec<Value> {
    let with_principal = |mut v: Value| {
        if let Some(p) = principal {
            v["Principal"] = json!({ "AWS": p });
        }
        v
    };
    let mut list = json!({
        "Sid": "RolebridgeList",
        "Effect": "Allow",
        "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": s.bucket_arn,
    });
    if let Some(prefixes) = &s.list_prefixes {
        list["Condition"] = json!({ "StringLike": { "s3:prefix": prefixes } });
        // GetBucketLocation has no s3:prefix key: a condition on it would deny it
        list["Action"] = json!("s3:ListBucket");
    }
    let mut out = vec![with_principal(list)];
    if s.list_prefixes.is_some() {
        out.push(with_principal(json!({
            "Sid": "RolebridgeLocation",
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": s.bucket_arn,
        })));
    }
    let mut object_actions = Vec::new();
    if access.reads() {
        object_actions.push("s3:GetObject");
    }
    if access.writes() {
        object_actions.extend([
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        ]);
        out.push(with_principal(json!({
            "Sid": "RolebridgeMultipartUploads",
            "Effect": "Allow",
            "Action": "s3:ListBucketMultipartUploads",
            "Resource": s.bucket_arn,
        })));
    }
    out.push(with_principal(json!({
        "Sid": "RolebridgeObjects",
        "Effect": "Allow",
        "Action": object_actions,
        "Resource": s.objects_arn,
    })));
    out
}

/// The KMS actions S3 needs for SSE-KMS: Decrypt to read (and to complete multipart uploads),
/// GenerateDataKey to write.
fn kms_actions(access: Access) -> Vec<&'static str> {
    let mut a = vec!["kms:Decrypt"];
    if access.writes() {
        a.push("kms:GenerateDataKey");
    }
    a
}

fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The actions beyond `sts:AssumeRole` that a role's trust policy (and its caller's policy) must
/// allow for these settings: `sts:SetSourceIdentity` when a SourceIdentity is sent,
/// `sts:TagSession` when session tags are.
pub fn extra_trust_actions(settings: &Settings) -> Vec<&'static str> {
    let mut actions = Vec::new();
    if settings.source_identity.is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    if !settings.tags.is_empty() {
        actions.push("sts:TagSession");
    }
    actions
}

/// `sts:AssumeRole`, alone or with [`extra_trust_actions`].
fn assume_actions(settings: &Settings) -> Value {
    let extra = extra_trust_actions(settings);
    match extra.is_empty() {
        true => json!("sts:AssumeRole"),
        false => json!([vec!["sts:AssumeRole"], extra].concat()),
    }
}

/// Every document, by format. With a role chain, the role's trust policy names the chain's last
/// role (whose session calls AssumeRole) and the source principal's policy allows the first.
/// With an EMR release, the classifications for it, from the settings as given (`values`).
pub fn documents(
    settings: &Settings,
    values: &BTreeMap<String, String>,
    bucket: &str,
    args: &PolicyArgs,
    release: Option<Release>,
) -> Vec<(Format, Value)> {
    let s = scope(settings, bucket, args.prefix.as_deref());
    let caller = settings
        .chain
        .last()
        .map_or(args.source_principal.as_str(), |h| h.role_arn.as_str());
    let first_role = settings
        .chain
        .first()
        .map_or(settings.role_arn.as_str(), |h| h.role_arn.as_str());
    let mut trust = json!({
        "Sid": "RolebridgeSource",
        "Effect": "Allow",
        "Principal": { "AWS": caller },
        "Action": assume_actions(settings),
    });
    if let Some(id) = &settings.external_id {
        trust["Condition"] = json!({ "StringEquals": { "sts:ExternalId": id } });
    }
    let mut permissions = s3_statements(&s, args.access, None);
    if let Some(key) = &args.kms_key {
        permissions.push(json!({
            "Sid": "RolebridgeKms",
            "Effect": "Allow",
            "Action": kms_actions(args.access),
            "Resource": key,
        }));
    }
    let source = json!({
        "Sid": "RolebridgeAssumeRole",
        "Effect": "Allow",
        "Action": assume_actions(settings),
        "Resource": first_role,
    });
    let mut out = vec![
        (Format::Trust, document(vec![trust])),
        (Format::Permissions, document(permissions)),
        (Format::Source, document(vec![source])),
        (
            Format::Bucket,
            document(s3_statements(&s, args.access, Some(&settings.role_arn))),
        ),
    ];
    if args.kms_key.is_some() {
        out.push((
            Format::Kms,
            document(vec![json!({
                "Sid": "RolebridgeKmsForRole",
                "Effect": "Allow",
                "Principal": { "AWS": settings.role_arn },
                "Action": kms_actions(args.access),
                "Resource": "*",
            })]),
        ));
    }
    if let Some(release) = release {
        out.push((Format::Emr, classifications(release, values, bucket)));
    }
    out
}

/// What each document is, for the labelled output.
pub fn label(f: Format, release: Option<Release>) -> String {
    let text = match f {
        Format::Trust => "trust policy of the role (destination account)",
        Format::Permissions => "permission policy of the role (destination account)",
        Format::Source => "policy of the source principal (source account)",
        Format::Bucket => {
            "bucket policy statements (only where the bucket is in another account than the role)"
        }
        Format::Kms => "KMS key policy statement (the key's account)",
        Format::Emr => return release.map(describe).unwrap_or_default(),
    };
    text.to_owned()
}
