//! Where the command's settings come from: Hadoop XML files (`--conf-dir`, `--conf`), `-D
//! key=value`, and flags named after the keys, in that order of precedence (a flag wins over a
//! file). The keys and their validation are the provider's own (`rolebridge::settings`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

/// The settings flags every subcommand takes.
#[derive(Args, Debug, Default, Clone)]
pub struct SettingsArgs {
    /// rolebridge.role.arn: the role to assume in the destination account
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// rolebridge.external.id: the ExternalId the role's trust policy asks for
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// rolebridge.session.name (default rolebridge-<user>)
    #[arg(long, value_name = "NAME")]
    pub session_name: Option<String>,
    /// rolebridge.session.duration: 30m to 12h for credential-process (default 1h)
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// rolebridge.session.policy: an inline session policy (JSON)
    #[arg(long, value_name = "JSON")]
    pub session_policy: Option<String>,
    /// rolebridge.session.policy.arns: managed session policies, comma-separated
    #[arg(long, value_name = "ARNS")]
    pub session_policy_arns: Option<String>,
    /// rolebridge.sts.region: the region whose STS endpoint to use
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// rolebridge.sts.endpoint: an STS endpoint override (VPC endpoint)
    #[arg(long, value_name = "URL")]
    pub sts_endpoint: Option<String>,
    /// rolebridge.sts.timeout: bound on one STS call, retries included (default 30s)
    #[arg(long, value_name = "DURATION")]
    pub sts_timeout: Option<String>,
    /// rolebridge.cache.dir: where sessions are kept between invocations (default auto:
    /// /dev/shm/rolebridge-<uid>)
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<String>,
    /// Read core-site.xml and emrfs-site.xml in DIR (Hadoop configuration files)
    #[arg(long, value_name = "DIR")]
    pub conf_dir: Option<PathBuf>,
    /// Read one Hadoop configuration file (may be given more than once; later files win)
    #[arg(long, value_name = "FILE")]
    pub conf: Vec<PathBuf>,
    /// Set a configuration key, as Hadoop's -D does (wins over files, loses to flags)
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub define: Vec<String>,
    /// The bucket, for per-bucket keys (rolebridge.bucket.<BUCKET>.*)
    #[arg(long, value_name = "BUCKET")]
    pub bucket: Option<String>,
    /// The user, for per-user keys (rolebridge.user.<USER>.*) and {user} (default: $USER)
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// The user's groups, comma-separated, for per-group keys (rolebridge.group.<GROUP>.*; their
    /// order decides nothing) (default, when such keys are set: the user's OS groups, as Hadoop's
    /// shell group mapping lists them)
    #[arg(long, value_name = "GROUPS", value_delimiter = ',')]
    pub groups: Option<Vec<String>>,
}

/// Each settings flag and the key it sets.
const FLAG_KEYS: [(&str, &str); 10] = [
    ("--role-arn", "rolebridge.role.arn"),
    ("--external-id", "rolebridge.external.id"),
    ("--session-name", "rolebridge.session.name"),
    ("--duration", "rolebridge.session.duration"),
    ("--session-policy", "rolebridge.session.policy"),
    ("--session-policy-arns", "rolebridge.session.policy.arns"),
    ("--region", "rolebridge.sts.region"),
    ("--sts-endpoint", "rolebridge.sts.endpoint"),
    ("--sts-timeout", "rolebridge.sts.timeout"),
    ("--cache-dir", "rolebridge.cache.dir"),
];

impl SettingsArgs {
    fn flag_values(&self) -> [Option<&String>; 10] {
        [
            self.role_arn.as_ref(),
            self.external_id.as_ref(),
            self.session_name.as_ref(),
            self.duration.as_ref(),
            self.session_policy.as_ref(),
            self.session_policy_arns.as_ref(),
            self.region.as_ref(),
            self.sts_endpoint.as_ref(),
            self.sts_timeout.as_ref(),
            self.cache_dir.as_ref(),
        ]
    }
}

/// The settings that matter to the provider, and for each key where its value came from.
#[derive(Debug, Default)]
pub struct Collected {
    pub values: BTreeMap<String, String>,
    pub origin: BTreeMap<String, String>,
}

impl Collected {
    fn put(&mut self, key: &str, value: &str, origin: String) {
        self.values.insert(key.to_owned(), value.to_owned());
        self.origin.insert(key.to_owned(), origin);
    }

    /// Where `key`'s value came from: a flag, `-D`, or a file.
    pub fn origin_of(&self, key: &str) -> Option<&str> {
        self.origin.get(key).map(String::as_str)
    }
}

/// Collects every setting in precedence order. Errors are about the input (a file that cannot be
/// read or is not a Hadoop configuration, a `-D` without `=`), found before any network call.
pub fn collect(args: &SettingsArgs) -> Result<Collected, String> {
    let mut all = Collected::default();
    if let Some(dir) = &args.conf_dir {
        if !dir.is_dir() {
            return Err(format!(
                "--conf-dir {}: not a directory. Give the directory that holds core-site.xml \
                 (on EMR: /etc/hadoop/conf)",
                dir.display()
            ));
        }
        let mut found = false;
        for name in ["core-site.xml", "emrfs-site.xml"] {
            let file = dir.join(name);
            if file.exists() {
                read_hadoop_xml(&file, &mut all)?;
                found = true;
            }
        }
        if !found {
            return Err(format!(
                "--conf-dir {}: holds neither core-site.xml nor emrfs-site.xml",
                dir.display()
            ));
        }
    }
    for file in &args.conf {
        read_hadoop_xml(file, &mut all)?;
    }
    for d in &args.define {
        let Some((k, v)) = d.split_once('=') else {
            return Err(format!(
                "-D {d}: not KEY=VALUE. Write it as -D rolebridge.external.id=abc"
            ));
        };
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("-D {d}: the key is empty"));
        }
        all.put(k, v, format!("-D {k}"));
    }
    for ((flag, key), value) in FLAG_KEYS.iter().zip(args.flag_values()) {
        if let Some(v) = value {
            all.put(key, v, (*flag).to_owned());
        }
    }
    expand(&mut all);
    let bucket_prefixes: Vec<String> = args
        .bucket
        .iter()
        .flat_map(|b| {
            [
                format!("fs.s3a.bucket.{b}.assumed.role."),
                format!("fs.s3a.bucket.{b}.proxy."),
            ]
        })
        .collect();
    all.values.retain(|k, _| {
        k.starts_with("rolebridge.")
            || k.starts_with("fs.s3a.assumed.role.")
            || k.starts_with("fs.s3a.proxy.")
            || bucket_prefixes.iter().any(|p| k.starts_with(p))
    });
    Ok(all)
}

/// Reads the `<property><name>..</name><value>..</value></property>` entries of a Hadoop
/// configuration file.
pub(crate) fn read_hadoop_xml(path: &Path, into: &mut Collected) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| format!("{}: not well-formed XML: {e}", path.display()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "configuration" {
        return Err(format!(
            "{}: not a Hadoop configuration file (its root element is <{}>, not <configuration>)",
            path.display(),
            root.tag_name().name()
        ));
    }
    for property in root.children().filter(|n| n.has_tag_name("property")) {
        let child = |tag: &str| {
            property
                .children()
                .find(|n| n.has_tag_name(tag))
                .map(|n| n.text().unwrap_or("").trim().to_owned())
        };
        let (Some(name), Some(value)) = (child("name"), child("value")) else {
            continue; // Hadoop skips a property without a name or value too
        };
        if !name.is_empty() {
            into.put(&name, &value, path.display().to_string());
        }
    }
    Ok(())
}

/// Hadoop's variable expansion as `Configuration.get` does it: `${key}` by another key of the
/// configuration, `${env.NAME}` by the environment; what cannot be expanded stays as it is.
fn expand(all: &mut Collected) {
    let snapshot = all.values.clone();
    for value in all.values.values_mut() {
        for _ in 0..20 {
            let Some(start) = value.find("${") else { break };
            let Some(len) = value[start..].find('}') else {
                break;
            };
            let name = &value[start + 2..start + len];
            let replacement = match name.strip_prefix("env.") {
                Some(var) => std::env::var(var).ok(),
                None => snapshot.get(name).cloned(),
            };
            match replacement {
                Some(r) if !r.contains(&format!("${{{name}}}")) => {
                    value.replace_range(start..start + len + 1, &r)
                }
                _ => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SettingsArgs {
        SettingsArgs::default()
    }

    #[test]
    fn flags_win_over_defines_which_win_over_files() {
        let dir = std::env::temp_dir().join(format!("rolebridge-cli-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("core-site.xml"),
            "<?xml version=\"1.0\"?><configuration>\
             <property><name>rolebridge.role.arn</name><value>arn:aws:iam::1:role/file</value></property>\
             <property><name>rolebridge.external.id</name><value>from-file</value></property>\
             <property><name>rolebridge.session.name</name><value>${user.tag}-x</value></property>\
             <property><name>user.tag</name><value>etl</value></property>\
             <property><name>fs.s3a.bucket.lake.assumed.role.arn</name><value>arn:aws:iam::1:role/lake</value></property>\
             <property><name>fs.defaultFS</name><value>hdfs://nn</value></property>\
             </configuration>",
        )
        .unwrap();
        let mut a = args();
        a.conf_dir = Some(dir.clone());
        a.define = vec!["rolebridge.external.id=from-define".into()];
        a.role_arn = Some("arn:aws:iam::1:role/flag".into());
        a.bucket = Some("lake".into());
        let c = collect(&a).unwrap();
        assert_eq!(c.values["rolebridge.role.arn"], "arn:aws:iam::1:role/flag");
        assert_eq!(c.origin_of("rolebridge.role.arn"), Some("--role-arn"));
        assert_eq!(c.values["rolebridge.external.id"], "from-define");
        assert_eq!(
            c.values["rolebridge.session.name"], "etl-x",
            "expanded as Hadoop does"
        );
        assert!(c.values.contains_key("fs.s3a.bucket.lake.assumed.role.arn"));
        assert!(
            !c.values.contains_key("fs.defaultFS"),
            "keys the provider does not read are dropped"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_input_is_named() {
        let mut a = args();
        a.define = vec!["rolebridge.external.id".into()];
        assert!(collect(&a).unwrap_err().contains("not KEY=VALUE"));
        let mut a = args();
        a.conf = vec![PathBuf::from("/nonexistent/core-site.xml")];
        assert!(collect(&a).unwrap_err().contains("cannot read it"));
        let mut a = args();
        a.conf_dir = Some(PathBuf::from("/nonexistent"));
        assert!(collect(&a).unwrap_err().contains("not a directory"));
        let f = std::env::temp_dir().join(format!("rolebridge-cli-bad-{}.xml", std::process::id()));
        std::fs::write(&f, "<beans/>").unwrap();
        let mut a = args();
        a.conf = vec![f.clone()];
        assert!(collect(&a)
            .unwrap_err()
            .contains("not a Hadoop configuration file"));
        std::fs::write(&f, "<configuration><property>").unwrap();
        assert!(collect(&a).unwrap_err().contains("not well-formed XML"));
        std::fs::remove_file(&f).unwrap();
    }
}
