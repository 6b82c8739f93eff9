//! `rolebridge doctor`: an end-to-end check of a node's settings for a bucket. Each step is
//! printed as passed or failed with the cause and the fix; `--json` for machines.

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;
use clap::Args;
use rolebridge::cache::{Session, SessionSpec};
use rolebridge::error::Error;
use rolebridge::provider::{self, Provider};
use rolebridge::proxy::Proxies;
use rolebridge::settings::{self, RawSettings, Settings, Signer, ALL_KEYS};
use rolebridge::sts::StsFetcher;
use serde_json::json;

use crate::conf::Collected;

#[derive(Args, Debug, Clone)]
pub struct DoctorArgs {
    /// Check under this key prefix (listing, and with --write the test object)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Also put and delete an object under --prefix as the assumed role
    #[arg(long)]
    pub write: bool,
    /// The S3 endpoint (path-style addressing); else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else
    /// the region's
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region, to sign the S3 checks for; else the region GetBucketLocation names
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Print {"ok": bool, "checks": [{"name", "ok", "detail"}]} instead of lines
    #[arg(long)]
    pub json: bool,
}

pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Where each effective setting came from: the key the provider reads it from (the user's,
/// a group's, the bucket's, the global or S3A's, by the provider's own precedence) and where that
/// key was set (a file, a flag, -D); else the default.
pub fn sources(raw: &RawSettings, collected: &Collected) -> String {
    let mut lines = Vec::new();
    for key in ALL_KEYS {
        let line = match settings::key_used(raw, key) {
            Some(k) => match collected.origin_of(&k) {
                Some(o) if o.starts_with("--") || o.starts_with("-D") => {
                    format!("{} from {k} [set by {o}]", key.name)
                }
                Some(o) => format!("{} from {k} [set in {o}]", key.name),
                None => format!("{} from {k}", key.name),
            },
            None => format!("{} from default", key.name),
        };
        lines.push(line);
    }
    lines.join("; ")
}

/// The settings check of a provider that resolved: which identity signs the bucket, and where
/// each setting came from.
pub fn settings_check(raw: &RawSettings, signer: &Signer, collected: &Collected) -> Check {
    let bucket = raw.bucket.as_deref().unwrap_or_default();
    let what = match signer {
        Signer::Role(s) => format!("valid; {} signs bucket {bucket}", s.role_arn),
        Signer::Source(_) => format!(
            "valid; no role applies to bucket {bucket}{}, and rolebridge.unmapped.buckets is \
             source: the source credentials (the node's own identity) sign it, on purpose",
            raw.hadoop_user
                .as_deref()
                .map(|u| format!(" for user {u}"))
                .unwrap_or_default()
        ),
    };
    Check {
        name: "settings",
        ok: true,
        detail: format!("{what}; {}", sources(raw, collected)),
    }
}

fn assume_role_cause(e: &Error, source: Option<&str>, settings: &Settings) -> String {
    let who = source.unwrap_or("(the source could not be found)");
    let extra = crate::policy::extra_trust_actions(settings);
    let extra = match extra.is_empty() {
        true => String::new(),
        false => format!(
            "; the trust policy (or the source's policy) lacks {}, which \
             rolebridge.source.identity / rolebridge.session.tags need",
            extra.join(" or ")
        ),
    };
    match e {
        // With a role chain, the error itself names the hop that failed and who called it.
        Error::Sts { code, message, .. } if code == "AccessDenied" && settings.chain.is_empty() => format!(
            "STS refused: AccessDenied: {message}. The source principal is {who}. Likely causes, \
             in the order to check them: the role's trust policy does not name {who}; the external \
             ID {} the trust policy's sts:ExternalId condition{extra}; the source's own policy lacks \
             sts:AssumeRole on {}; the role does not exist. Fix: compare with `rolebridge policy \
             --format trust` and `--format source`",
            match &settings.external_id {
                Some(_) => "sent (rolebridge.external.id) differs from",
                None => "is missing (rolebridge.external.id is not set) for",
            },
            settings.role_arn
        ),
        Error::Sts { code, message, .. }
            if code == "ValidationError" && message.contains("Duration") =>
        {
            format!(
                "STS refused the duration: {message}. The role's MaxSessionDuration is below \
             rolebridge.session.duration ({} s): lower the setting or raise the role's maximum",
                settings.duration.as_secs()
            )
        }
        Error::Sts { code, message, .. } if code == "RegionDisabledException" => format!(
            "STS is not activated in this region: {message}. Activate it in the IAM console of \
             the source account (Account settings), or set rolebridge.sts.region to another region"
        ),
        other => other.to_string(),
    }
}

/// The S3 endpoint: the flag, then the AWS SDKs' environment variables.
fn s3_endpoint(args: &DoctorArgs) -> Option<String> {
    args.s3_endpoint.clone().or_else(|| {
        ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|x| !x.is_empty()))
    })
}

fn s3_client(
    session: &Session,
    region: &str,
    endpoint: Option<&str>,
    proxies: &Proxies,
) -> aws_sdk_s3::Client {
    let creds = Credentials::new(
        session.access_key_id.clone(),
        session.secret_access_key.clone(),
        // Long-term source keys have no token: send none rather than an empty one.
        Some(session.session_token.clone()).filter(|t| !t.is_empty()),
        Some(session.expiration),
        "rolebridge-doctor",
    );
    let mut b = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .http_client(rolebridge::sts::routed_client(proxies))
        .region(Region::new(region.to_owned()))
        .credentials_provider(creds);
    if let Some(e) = endpoint {
        b = b.endpoint_url(e).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(b.build())
}

/// An S3 error as a cause: the code, the message, and for KMS the key and the missing action.
fn s3_cause<E: ProvideErrorMetadata + std::error::Error + 'static>(what: &str, e: &E) -> String {
    let code = e.code().unwrap_or("");
    let message = e.message().unwrap_or("");
    let base = if code.is_empty() {
        format!("{what} failed: {}", rolebridge::sts::causes(e))
    } else {
        format!("{what} failed: {code}: {message}")
    };
    if message.contains("kms:") || code.starts_with("KMS") {
        let action = message
            .split_whitespace()
            .find(|w| w.starts_with("kms:"))
            .unwrap_or("kms:Decrypt / kms:GenerateDataKey");
        let key = message
            .split_whitespace()
            .find(|w| w.starts_with("arn:aws") && w.contains(":key/"))
            .unwrap_or("the bucket's KMS key");
        format!(
            "{base}. The role may not use {key} ({action}): grant it in the role's policy and the \
             key's policy (`rolebridge policy --kms-key ARN --format kms`)"
        )
    } else if code == "AccessDenied" || code == "Forbidden" {
        format!("{base}. The role's permission policy (or the bucket's policy) does not allow it: compare with `rolebridge policy --format permissions`")
    } else {
        base
    }
}

/// The checks after the settings (and the node's): the source identity, the credentials that
/// sign the bucket (the role's session, or the source's where no role applies), and S3 with them,
/// signed for the bucket's region.
pub fn run(
    raw: &RawSettings,
    signer: &Signer,
    args: &DoctorArgs,
    mut checks: Vec<Check>,
) -> Vec<Check> {
    let bucket = raw.bucket.clone().unwrap_or_default();
    let sts = match signer {
        Signer::Role(s) => s.sts.clone(),
        Signer::Source(o) => o.sts.clone(),
    };
    // The source credentials, through the provider itself (outside our runtime: it blocks on the
    // library's).
    let source_session = match signer {
        Signer::Source(_) => Some(
            Provider::for_signer(signer.clone(), provider::global_cache())
                .credentials()
                .map(|h| (*h.session).clone()),
        ),
        Signer::Role(_) => None,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            checks.push(Check {
                name: "source identity",
                ok: false,
                detail: format!("cannot start: {e}"),
            });
            return checks;
        }
    };
    checks.push(Check {
        name: "route to STS",
        ok: true,
        detail: format!(
            "{}: {}{}",
            sts.url(),
            sts.proxies.route(&sts.url()),
            skipped_no_proxy(&sts.proxies)
        ),
    });
    let fetcher = StsFetcher::new();
    rt.block_on(async {
        let source = match fetcher.caller_identity(&sts).await {
            Ok((arn, account)) => {
                checks.push(Check {
                    name: "source identity",
                    ok: true,
                    detail: format!("{arn} (account {account}) calls AssumeRole"),
                });
                Some(arn)
            }
            Err(e) => {
                checks.push(Check {
                    name: "source identity",
                    ok: false,
                    detail: format!(
                        "GetCallerIdentity with the AWS default chain failed: {e}. Fix the source \
                         credentials (instance profile, AWS_* environment, AWS profile)"
                    ),
                });
                None
            }
        };
        let session = match (signer, source_session) {
            (Signer::Role(settings), _) => {
                match assume(&fetcher, settings, source.as_deref(), &mut checks).await {
                    Some(s) => s,
                    None => return,
                }
            }
            (Signer::Source(_), Some(Ok(s))) => {
                checks.push(Check {
                    name: "source credentials",
                    ok: true,
                    detail: format!(
                        "bucket {bucket} is signed with the source credentials (access key {}), \
                         as rolebridge.unmapped.buckets=source says",
                        s.access_key_id
                    ),
                });
                s
            }
            (Signer::Source(_), e) => {
                checks.push(Check {
                    name: "source credentials",
                    ok: false,
                    detail: match e {
                        Some(Err(e)) => format!("the source credentials cannot be had: {e}"),
                        _ => "the source credentials were not fetched".into(),
                    },
                });
                return;
            }
        };
        let endpoint = s3_endpoint(args);
        let sts_region = sts.region.clone().unwrap_or_else(|| "us-east-1".into());
        let region = bucket_region(&session, &bucket, &sts_region, endpoint.as_deref(), &sts.proxies, args, &mut checks).await;
        let s3_url = endpoint
            .clone()
            .unwrap_or_else(|| format!("https://{bucket}.s3.{region}.amazonaws.com"));
        checks.push(Check {
            name: "route to S3",
            ok: true,
            detail: format!("{s3_url}: {}", sts.proxies.route(&s3_url)),
        });
        let s3 = s3_client(&session, &region, endpoint.as_deref(), &sts.proxies);
        if args.prefix.is_some() {
            // A role limited to a prefix may list only under it (an s3:prefix condition), and
            // HeadBucket is a ListBucket without a prefix: ask for the bucket's location instead.
            let loc = s3.get_bucket_location().bucket(&bucket).send().await;
            checks.push(match loc {
                Ok(_) => Check { name: "bucket reachable", ok: true, detail: format!("GetBucketLocation {bucket}") },
                Err(e) => Check {
                    name: "bucket reachable",
                    ok: false,
                    detail: s3_cause(&format!("GetBucketLocation {bucket}"), &e),
                },
            });
        } else {
            let head = s3.head_bucket().bucket(&bucket).send().await;
            checks.push(match head {
                Ok(_) => Check { name: "bucket reachable", ok: true, detail: format!("HeadBucket {bucket}") },
                Err(e) => {
                    // A HEAD answer has no body, so no error code: its status says it.
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    let detail = match status {
                        Some(403) => format!(
                            "HeadBucket {bucket} failed: HTTP 403 Forbidden. The role may not use the \
                             bucket (s3:ListBucket in its policy, or the bucket's policy): compare with \
                             `rolebridge policy --format permissions`"
                        ),
                        Some(404) => format!("HeadBucket {bucket} failed: HTTP 404: there is no bucket {bucket} (check --bucket and the region)"),
                        _ => s3_cause(&format!("HeadBucket {bucket}"), &e),
                    };
                    Check { name: "bucket reachable", ok: false, detail }
                }
            });
        }
        let prefix = args.prefix.clone().unwrap_or_default();
        let list = s3.list_objects_v2().bucket(&bucket).prefix(&prefix).max_keys(1).send().await;
        checks.push(match list {
            Ok(_) => Check { name: "bucket listable", ok: true, detail: format!("ListObjectsV2 {bucket} prefix {prefix:?}") },
            Err(e) => Check {
                name: "bucket listable",
                ok: false,
                detail: s3_cause(&format!("ListObjectsV2 {bucket} prefix {prefix:?}"), &e),
            },
        });
        if args.write {
            let key = format!(
                "{}{}rolebridge-doctor-{}",
                prefix,
                if prefix.is_empty() || prefix.ends_with('/') { "" } else { "/" },
                std::process::id()
            );
            let put = s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(aws_sdk_s3::primitives::ByteStream::from_static(b"rolebridge doctor"))
                .send()
                .await;
            match put {
                Ok(_) => {
                    let del = s3.delete_object().bucket(&bucket).key(&key).send().await;
                    checks.push(match del {
                        Ok(_) => Check { name: "write", ok: true, detail: format!("PutObject and DeleteObject s3://{bucket}/{key}") },
                        Err(e) => Check {
                            name: "write",
                            ok: false,
                            detail: s3_cause(&format!("DeleteObject s3://{bucket}/{key} (the put worked; the object is left)"), &e),
                        },
                    });
                }
                Err(e) => checks.push(Check {
                    name: "write",
                    ok: false,
                    detail: s3_cause(&format!("PutObject s3://{bucket}/{key}"), &e),
                }),
            }
        }
    });
    checks
}

/// AssumeRole as the provider would (a new session, whatever the node cache holds), as a check.
async fn assume(
    fetcher: &StsFetcher,
    settings: &Settings,
    source: Option<&str>,
    checks: &mut Vec<Check>,
) -> Option<Session> {
    let mut spec = SessionSpec::from_settings(settings);
    spec.shared_dir = None; // a new session, whatever the node cache holds
    let session = match fetcher.assume_role(&spec).await {
        Ok(s) => {
            checks.push(Check {
                name: "assume role",
                ok: true,
                detail: format!(
                    "{} as session {} (access key {}), valid {} s",
                    settings.role_arn,
                    settings.session_name,
                    s.access_key_id,
                    s.expiration
                        .duration_since(std::time::SystemTime::now())
                        .unwrap_or(Duration::ZERO)
                        .as_secs()
                ),
            });
            Some(s)
        }
        Err(e) => {
            checks.push(Check {
                name: "assume role",
                ok: false,
                detail: assume_role_cause(&e, source, settings),
            });
            return None;
        }
    };
    session
}

/// The region to sign the bucket's S3 requests for: `--s3-region`, else what GetBucketLocation
/// (signed for the STS region) says, else the region S3 names in its answer's
/// `x-amz-bucket-region`; if none says, the STS region, and the check fails.
async fn bucket_region(
    session: &Session,
    bucket: &str,
    sts_region: &str,
    endpoint: Option<&str>,
    proxies: &Proxies,
    args: &DoctorArgs,
    checks: &mut Vec<Check>,
) -> String {
    let name = "bucket region";
    if let Some(r) = &args.s3_region {
        checks.push(Check {
            name,
            ok: true,
            detail: format!("{r} (from --s3-region): S3 requests are signed for {r}"),
        });
        return r.clone();
    }
    let s3 = s3_client(session, sts_region, endpoint, proxies);
    match s3.get_bucket_location().bucket(bucket).send().await {
        Ok(out) => {
            // No constraint: us-east-1; EU: the old name of eu-west-1.
            let region = match out.location_constraint().map(|c| c.as_str()) {
                None | Some("") => "us-east-1".to_owned(),
                Some("EU") => "eu-west-1".to_owned(),
                Some(r) => r.to_owned(),
            };
            checks.push(Check {
                name,
                ok: true,
                detail: format!(
                    "{region} (GetBucketLocation {bucket}): S3 requests are signed for {region}"
                ),
            });
            region
        }
        Err(e) => {
            let header = e
                .raw_response()
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_owned);
            match header {
                Some(region) => {
                    checks.push(Check {
                        name,
                        ok: true,
                        detail: format!(
                            "{region} (x-amz-bucket-region of S3's answer to GetBucketLocation \
                             {bucket}): S3 requests are signed for {region}"
                        ),
                    });
                    region
                }
                None => {
                    checks.push(Check {
                        name,
                        ok: false,
                        detail: format!(
                            "{}; the S3 checks are signed for {sts_region} (the STS region) \
                             instead. Fix: allow s3:GetBucketLocation on the bucket, or give the \
                             bucket's region with --s3-region",
                            s3_cause(&format!("GetBucketLocation {bucket}"), &e)
                        ),
                    });
                    sts_region.to_owned()
                }
            }
        }
    }
}

pub fn report(checks: &[Check], as_json: bool) -> String {
    let ok = checks.iter().all(|c| c.ok);
    if as_json {
        let list: Vec<_> = checks
            .iter()
            .map(|c| json!({ "name": c.name, "ok": c.ok, "detail": c.detail }))
            .collect();
        return json!({ "ok": ok, "checks": list }).to_string();
    }
    let mut out: Vec<String> = checks
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}",
                if c.ok { "PASS" } else { "FAIL" },
                c.name,
                c.detail
            )
        })
        .collect();
    out.push(if ok {
        "all checks passed".into()
    } else {
        "some checks failed".into()
    });
    out.join("\n")
}

/// The NO_PROXY entries rolebridge skipped, for the route line ("" if none).
fn skipped_no_proxy(proxies: &Proxies) -> String {
    let ignored = &proxies.no_proxy.ignored;
    if ignored.is_empty() {
        return String::new();
    }
    let list: Vec<String> = ignored
        .iter()
        .map(|(entry, why)| format!("\"{entry}\" ({why})"))
        .collect();
    format!(
        "; {} entries skipped: {}",
        proxies.no_proxy.from,
        list.join(", ")
    )
}
