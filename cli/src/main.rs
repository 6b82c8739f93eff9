//! The `rolebridge` command: a thin client of rolebridge's Rust core, as the JNI layer is. It reads
//! the same settings as the provider (flags named after the keys, Hadoop XML files, `-D`), with
//! the same validation and messages, and keeps sessions in the same node cache.
//!
//! Exit status: 0 on success; 2 for bad input (flags, files, settings), found before any network
//! call; 1 when credentials cannot be had (STS refused, unreachable). Messages go to standard
//! error and never hold a secret key or session token.

mod conf;
mod doctor;
mod emr;
mod node;
mod policy;

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Parser, Subcommand};
use rolebridge::error::Error;
use rolebridge::provider::{self, Provider};
use rolebridge::settings::{self, RawSettings};

use conf::{Collected, SettingsArgs};

/// Cross-account AWS credentials from an STS AssumeRole session, cached on the node.
#[derive(Parser)]
#[command(name = "rolebridge", version, about = "Cross-account AWS credentials from STS AssumeRole sessions, cached on the node", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print AWS process credentials (JSON) for a profile's credential_process: the AWS CLI,
    /// boto3 and every AWS SDK run it. Sessions are kept in rolebridge.cache.dir (default auto)
    /// between runs; what it prints always has more than 15 minutes left.
    #[command(
        after_help = "Example ~/.aws/config profile:\n  [profile lake]\n  credential_process = \
        rolebridge credential-process --role-arn arn:aws:iam::222222222222:role/etl-writer \
        --external-id my-external-id --region eu-west-1"
    )]
    CredentialProcess {
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Check a node's settings for a bucket end to end: the settings (and the key each value came
    /// from), the source identity (GetCallerIdentity), AssumeRole (STS's answer decoded into the
    /// likely cause), and S3 as the assumed role (HeadBucket, ListObjectsV2; with --write a put and
    /// a delete). Exit status 0 only if every check passed.
    Doctor {
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        doctor: doctor::DoctorArgs,
    },
    /// Print the policies a cross-account setup needs, least-privilege: the role's trust policy
    /// (with the sts:ExternalId condition), its permissions on the bucket and prefix (the S3
    /// actions S3A and EMRFS use, multipart uploads included; KMS with --kms-key), the source
    /// principal's sts:AssumeRole grant, bucket and KMS key policy statements, and EMR
    /// configuration classifications. Makes no network call.
    Policy {
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        policy: policy::PolicyArgs,
    },
}

/// Why the command failed, and so its exit status.
enum Failure {
    /// Bad input: exit 2.
    Input(String),
    /// No credentials: exit 1.
    Credentials(String),
    /// A doctor check failed (already reported on standard output): exit 1.
    Checks,
}

/// Sessions handed out by credential-process keep at least this long: botocore and the AWS CLI
/// refresh credentials 15 minutes before `Expiration` (and block at 10).
const KEEP: Duration = Duration::from_secs(20 * 60);
/// The shortest session credential-process accepts: one that serves at least 10 minutes before
/// the last [`KEEP`] of it.
const MIN_DURATION: Duration = Duration::from_secs(30 * 60);
const BOTOCORE_REFRESH: Duration = Duration::from_secs(15 * 60);

fn main() -> ExitCode {
    let cli = Cli::parse(); // usage errors: clap prints them and exits with status 2
    let result = match &cli.command {
        Command::CredentialProcess { settings } => credential_process(settings),
        Command::Policy { settings, policy } => print_policies(settings, policy),
        Command::Doctor { settings, doctor } => run_doctor(settings, doctor),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(m)) => {
            eprintln!("rolebridge: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Credentials(m)) => {
            eprintln!("rolebridge: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Checks) => ExitCode::from(1),
    }
}

/// The Hadoop-style user name the default session name is made from (`rolebridge-<user>`).
fn user_name() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "rolebridge".to_owned())
}

/// A setting error's message with where its value came from (flag, `-D`, file).
fn annotated(e: Error, collected: &Collected) -> String {
    let origin = match &e {
        Error::Setting { key, .. } => collected.origin_of(key).map(str::to_owned),
        _ => None,
    };
    match origin {
        Some(o) if o.starts_with("--") || o.starts_with("-D") => format!("{e} [set by {o}]"),
        Some(o) => format!("{e} [set in {o}]"),
        None => e.to_string(),
    }
}

/// A setting error as bad input (exit 2).
fn input_error(e: Error, collected: &Collected) -> Failure {
    Failure::Input(annotated(e, collected))
}

/// The settings as the core takes them. With a `rolebridge.group.*` key set and no `--groups`,
/// the user's OS groups; if they cannot be had, bad input (exit 2): the bucket's or the global
/// settings must not serve a member of a group with settings of its own.
fn raw_settings(args: &SettingsArgs, collected: &Collected) -> Result<RawSettings, Failure> {
    let user = args.user.clone().unwrap_or_else(user_name);
    let mut raw = RawSettings::new(args.bucket.as_deref(), Some(&user)).with_process_proxy_env();
    raw.values = collected.values.clone();
    raw.groups = match &args.groups {
        Some(g) => Some(
            g.iter()
                .map(|g| g.trim().to_owned())
                .filter(|g| !g.is_empty())
                .collect(),
        ),
        None if raw.has_group_settings() => Some(os_groups(&user).map_err(|e| {
            Failure::Input(format!(
                "rolebridge.group.* keys are set, so the groups of user {user} must be known, but \
                 they cannot be looked up: {e}. rolebridge never lets the bucket's or the global \
                 settings stand in for a group's: give the user's groups with --groups, or run it \
                 where `id {user}` knows the user"
            ))
        })?),
        None => None,
    };
    Ok(raw)
}

/// The user's OS groups as Hadoop's default group mapping (ShellBasedUnixGroupsMapping) lists
/// them: the primary group first, then the others (`id -gn`, `id -Gn`). An error says what `id`
/// said when it fails or lists no groups.
fn os_groups(user: &str) -> Result<Vec<String>, String> {
    let id = |flag: &str| -> Result<String, String> {
        let o = std::process::Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| format!("`id {flag} {user}` could not be run: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "`id {flag} {user}` failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let (primary, all) = (id("-gn")?, id("-Gn")?);
    let mut groups: Vec<String> = Vec::new();
    for g in primary.split_whitespace().chain(all.split_whitespace()) {
        if !groups.iter().any(|x| x == g) {
            groups.push(g.to_owned());
        }
    }
    if groups.is_empty() {
        return Err(format!(
            "`id -gn {user}` and `id -Gn {user}` succeeded but printed no groups"
        ));
    }
    Ok(groups)
}

/// Set in the environment of whatever credential-process starts: the AWS default chain it reads
/// its source from may run a profile's credential_process, and if that profile is the one that
/// runs rolebridge, the command would start itself without end.
const RUNNING: &str = "ROLEBRIDGE_CREDENTIAL_PROCESS";

/// What a second credential-process under the first says (docs/troubleshooting.md quotes it).
const RECURSION: &str =
    "credential-process was started by its own source credentials: AWS_PROFILE \
    names the profile whose credential_process runs rolebridge, and rolebridge reads its source \
    credentials through AWS_PROFILE too, so it would start itself without end. Choose the profile \
    that runs rolebridge in the client, not in the environment: the AWS CLI's own option \
    (aws s3 ls --profile lake) or boto3's boto3.Session(profile_name=\"lake\"); leave AWS_PROFILE \
    unset (the instance role is the source) or set it to a profile that holds the source \
    credentials";

fn credential_process(args: &SettingsArgs) -> Result<(), Failure> {
    if std::env::var_os(RUNNING).is_some() {
        return Err(Failure::Credentials(RECURSION.into()));
    }
    // Before any thread of ours starts.
    std::env::set_var(RUNNING, "1");
    let collected = conf::collect(args).map_err(Failure::Input)?;
    let raw = raw_settings(args, &collected)?;
    let mut resolved = settings::resolve(&raw).map_err(|e| input_error(e, &collected))?;
    // Sessions are kept between invocations unless the cache.dir key that applies to these
    // settings says where else (another bucket's or user's key does not).
    resolved
        .cache_dir
        .get_or_insert_with(|| settings::CACHE_DIR_AUTO.into());
    if resolved.duration < MIN_DURATION {
        let key = duration_key(&raw);
        return Err(Failure::Input(format!(
            "{key}: {}s is too short for credential-process. The AWS CLI and botocore refresh \
             credentials 15 minutes before they expire, and rolebridge hands out sessions with at \
             least 20 minutes left, so a session must last at least 30m. Set --duration to 30m or \
             more (1h by default){}",
            resolved.duration.as_secs(),
            collected
                .origin_of(&key)
                .map(|o| format!(" [set by {o}]"))
                .unwrap_or_default()
        )));
    }
    // Fetch a new session before the last 20 minutes of the current one.
    resolved.refresh_ahead = resolved.refresh_ahead.max(KEEP);
    let provider = Provider::with_cache(resolved.clone(), provider::global_cache());
    let handout = provider
        .credentials()
        .map_err(|e| Failure::Credentials(e.to_string()))?;
    let s = &handout.session;
    let left = s
        .expiration
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    if left <= BOTOCORE_REFRESH {
        return Err(Failure::Credentials(format!(
            "the session for {} expires in {} s, within the 15 minutes in which the AWS CLI and \
             botocore refresh; check the system clock",
            resolved.role_arn,
            left.as_secs()
        )));
    }
    // Whole seconds, rounded down: never later than the session really expires.
    let secs = s
        .expiration
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let expiration = aws_smithy_types::DateTime::from_secs(secs as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .map_err(|e| Failure::Credentials(format!("expiration out of range: {e}")))?;
    let json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": s.access_key_id,
        "SecretAccessKey": s.secret_access_key,
        "SessionToken": s.session_token,
        "Expiration": expiration,
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{json}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Credentials(format!("cannot write to standard output: {e}")))
}

fn run_doctor(args: &SettingsArgs, d: &doctor::DoctorArgs) -> Result<(), Failure> {
    // On a node, with no files given: EMR's own (core-site, then emrfs-site), under the root.
    let root = node::root();
    let emr_files = node::emr_files(&root);
    let on_node = args.conf_dir.is_none() && args.conf.is_empty() && !emr_files.is_empty();
    let mut args = args.clone();
    if on_node {
        args.conf = emr_files.clone();
    }
    let args = &args;
    let collected = conf::collect(args).map_err(Failure::Input)?;
    let raw = raw_settings(args, &collected)?;
    let Some(bucket) = args.bucket.as_deref() else {
        return Err(Failure::Input(
            "--bucket is required for doctor: the bucket to check".into(),
        ));
    };
    let read = if on_node {
        let files: Vec<String> = emr_files.iter().map(|f| f.display().to_string()).collect();
        format!(
            "read EMR's configuration {} (no --conf-dir or --conf given); ",
            files.join(" and ")
        )
    } else {
        String::new()
    };
    let node_checks = if on_node {
        node::checks(&root, &emr_files, bucket)
    } else {
        Vec::new()
    };
    let signer = match settings::resolve_signer(&raw) {
        Ok(s) => s,
        Err(e) => {
            // The settings check fails: report it as a check, as every other failure.
            let mut checks = vec![doctor::Check {
                name: "settings",
                ok: false,
                detail: format!("{read}{}", annotated(e, &collected)),
            }];
            checks.extend(node_checks);
            println!("{}", doctor::report(&checks, d.json));
            return Err(Failure::Checks);
        }
    };
    let mut first = doctor::settings_check(&raw, &signer, &collected);
    first.detail = format!("{read}{}", first.detail);
    let mut checks = vec![first];
    checks.extend(node_checks);
    let checks = doctor::run(&raw, &signer, d, checks);
    println!("{}", doctor::report(&checks, d.json));
    if checks.iter().all(|c| c.ok) {
        Ok(())
    } else {
        Err(Failure::Checks)
    }
}

fn print_policies(args: &SettingsArgs, p: &policy::PolicyArgs) -> Result<(), Failure> {
    let collected = conf::collect(args).map_err(Failure::Input)?;
    let raw = raw_settings(args, &collected)?;
    let resolved = settings::resolve(&raw).map_err(|e| input_error(e, &collected))?;
    let release = policy::validate(p, args.bucket.as_deref()).map_err(Failure::Input)?;
    let bucket = args.bucket.as_deref().unwrap_or_default();
    let docs = policy::documents(&resolved, &raw.values, bucket, p, release);
    let text = match p.format {
        Some(f) => {
            let Some((_, doc)) = docs.iter().find(|(g, _)| *g == f) else {
                return Err(Failure::Input(
                    "--format kms needs --kms-key: the key whose policy gets the statement".into(),
                ));
            };
            pretty(doc)
        }
        None => {
            let mut parts: Vec<String> = docs
                .iter()
                .map(|(f, doc)| format!("# {}\n{}", policy::label(*f, release), pretty(doc)))
                .collect();
            if release.is_none() {
                parts.push(
                    "# EMR configuration classifications: add --emr-release <label> (e.g. \
                     emr-6.15.0, emr-7.10.0) to print them for the cluster's release"
                        .into(),
                );
            }
            parts.join("\n")
        }
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Credentials(format!("cannot write to standard output: {e}")))
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// The key the session duration came from, for messages (the per-bucket one if set).
fn duration_key(raw: &RawSettings) -> String {
    let per_bucket = raw
        .bucket
        .as_ref()
        .map(|b| format!("rolebridge.bucket.{b}.session.duration"));
    match per_bucket {
        Some(k) if raw.values.contains_key(&k) => k,
        _ if raw.values.contains_key("rolebridge.session.duration") => {
            "rolebridge.session.duration".into()
        }
        _ => "rolebridge.session.duration (--duration)".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_groups_of_a_user_id_does_not_know_are_an_error_naming_the_user() {
        let e = super::os_groups("rolebridge-no-such-user").unwrap_err();
        assert!(e.contains("`id -gn rolebridge-no-such-user` failed"), "{e}");
    }
}
