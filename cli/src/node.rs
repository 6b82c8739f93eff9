//! An EMR node as `doctor` sees it: EMR's own configuration files, which file system serves
//! `s3://` there, whether it names rolebridge's provider, and whether the jar with the provider
//! class is where that file system loads classes from.
//!
//! Everything is read under a root (`/` on a node; `ROLEBRIDGE_DOCTOR_ROOT` for tests), so a test
//! can build a node's files in a directory.

use std::path::{Path, PathBuf};

use crate::conf::{read_hadoop_xml, Collected};
use crate::doctor::Check;
use crate::emr::{EMRFS_PROVIDER_KEY, S3A_PROVIDER_KEY, V1_CLASS, V2_CLASS};

/// Moves every path doctor reads on a node under another directory (tests).
pub const ROOT_VAR: &str = "ROLEBRIDGE_DOCTOR_ROOT";
/// EMRFS's configuration on an EMR node.
pub const EMRFS_SITE: &str = "usr/share/aws/emr/emrfs/conf/emrfs-site.xml";
/// Hadoop's core-site on an EMR node.
pub const CORE_SITE: &str = "etc/hadoop/conf/core-site.xml";
/// Where EMRFS loads custom credentials providers from.
pub const AUXLIB: &str = "usr/share/aws/emr/emrfs/auxlib";
/// Hadoop's own library directory on an EMR node (on Hadoop's class path).
pub const HADOOP_LIB: &str = "usr/lib/hadoop/lib";

const EMRFS_IMPL: &str = "com.amazon.ws.emr.hadoop.fs.EmrFileSystem";
const S3A_IMPL: &str = "org.apache.hadoop.fs.s3a.S3AFileSystem";

/// The root every node path is read under: `$ROLEBRIDGE_DOCTOR_ROOT`, else `/`.
pub fn root() -> PathBuf {
    std::env::var_os(ROOT_VAR)
        .filter(|r| !r.is_empty())
        .map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

/// EMR's configuration files that exist under `root`, in the order Hadoop reads them
/// (core-site, then emrfs-site, whose values win).
pub fn emr_files(root: &Path) -> Vec<PathBuf> {
    [CORE_SITE, EMRFS_SITE]
        .iter()
        .map(|f| root.join(f))
        .filter(|p| p.is_file())
        .collect()
}

/// What serves `s3://`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileSystem {
    Emrfs,
    S3a,
}

/// Every property of EMR's files (not only rolebridge's), with the file each came from.
fn all_properties(files: &[PathBuf]) -> Result<Collected, String> {
    let mut all = Collected::default();
    for f in files {
        read_hadoop_xml(f, &mut all)?;
    }
    Ok(all)
}

/// `key = value (in FILE)`, or `key is not set`.
fn shown(all: &Collected, key: &str) -> String {
    match (all.values.get(key), all.origin_of(key)) {
        (Some(v), Some(o)) => format!("{key} = {v} (in {o})"),
        (Some(v), None) => format!("{key} = {v}"),
        _ => format!("{key} is not set"),
    }
}

/// The checks of a node: the file system of `s3://`, the provider it names, and the jar.
pub fn checks(root: &Path, files: &[PathBuf], bucket: &str) -> Vec<Check> {
    let all = match all_properties(files) {
        Ok(a) => a,
        Err(e) => {
            return vec![Check {
                name: "s3 file system",
                ok: false,
                detail: e,
            }]
        }
    };
    let emrfs_site = root.join(EMRFS_SITE);
    let fs = match all.values.get("fs.s3.impl").map(|v| v.trim()) {
        Some(EMRFS_IMPL) => Some((FileSystem::Emrfs, shown(&all, "fs.s3.impl"))),
        Some(S3A_IMPL) => Some((FileSystem::S3a, shown(&all, "fs.s3.impl"))),
        None if emrfs_site.is_file() => Some((
            FileSystem::Emrfs,
            format!(
                "fs.s3.impl is not set and {} exists: EMR's default before 7.10",
                emrfs_site.display()
            ),
        )),
        _ => None,
    };
    let mut out = Vec::new();
    let Some((fs, why)) = fs else {
        out.push(Check {
            name: "s3 file system",
            ok: false,
            detail: format!(
                "cannot tell which file system serves s3:// on this node: {}, and there is no {}. \
                 rolebridge serves EMRFS ({EMRFS_IMPL}) and S3A ({S3A_IMPL}). Fix: run doctor on \
                 an EMR node, or give the node's files with --conf-dir",
                shown(&all, "fs.s3.impl"),
                emrfs_site.display()
            ),
        });
        return out;
    };
    out.push(Check {
        name: "s3 file system",
        ok: true,
        detail: match fs {
            FileSystem::Emrfs => format!("s3:// is served by EMRFS ({why})"),
            FileSystem::S3a => format!("s3:// is served by S3A ({why})"),
        },
    });
    out.push(provider_setting(&all, fs, bucket));
    out.push(provider_jar(root, fs));
    out
}

/// Whether the file system's provider key names the class it takes.
fn provider_setting(all: &Collected, fs: FileSystem, bucket: &str) -> Check {
    let name = "provider setting";
    match fs {
        FileSystem::Emrfs => {
            let set = all.values.get(EMRFS_PROVIDER_KEY).map(|v| v.trim());
            let detail = shown(all, EMRFS_PROVIDER_KEY);
            match set {
                Some(V1_CLASS) => Check {
                    name,
                    ok: true,
                    detail,
                },
                Some(V2_CLASS) => Check {
                    name,
                    ok: false,
                    detail: format!(
                        "{detail}: EMRFS takes AWS SDK v1 providers. Fix: set \
                         {EMRFS_PROVIDER_KEY}={V1_CLASS} in emrfs-site"
                    ),
                },
                _ => Check {
                    name,
                    ok: false,
                    detail: format!(
                        "{detail}: EMRFS does not use rolebridge. Fix: set \
                         {EMRFS_PROVIDER_KEY}={V1_CLASS} in emrfs-site (`rolebridge policy \
                         --format emr --emr-release <label>` prints it)"
                    ),
                },
            }
        }
        FileSystem::S3a => {
            let per_bucket = format!("fs.s3a.bucket.{bucket}.aws.credentials.provider");
            let key = if all.values.contains_key(&per_bucket) {
                per_bucket.as_str()
            } else {
                S3A_PROVIDER_KEY
            };
            let detail = shown(all, key);
            let classes: Vec<&str> = all
                .values
                .get(key)
                .map(|v| v.split(',').map(str::trim).collect())
                .unwrap_or_default();
            if classes.contains(&V2_CLASS) {
                Check {
                    name,
                    ok: true,
                    detail,
                }
            } else if classes.contains(&V1_CLASS) {
                Check {
                    name,
                    ok: false,
                    detail: format!(
                        "{detail}: S3A on EMR 7.10+ (AWS SDK v2) needs the SDK v2 class. Fix: \
                         set {key}={V2_CLASS}"
                    ),
                }
            } else {
                Check {
                    name,
                    ok: false,
                    detail: format!(
                        "{detail}: S3A does not use rolebridge for bucket {bucket}. Fix: set \
                         {S3A_PROVIDER_KEY}={V2_CLASS} in core-site, with \
                         rolebridge.unmapped.buckets=source for the buckets without a role \
                         (`rolebridge policy --format emr --emr-release <label>` prints it)"
                    ),
                }
            }
        }
    }
}

/// Whether a jar holding the provider class is where the file system loads it from: EMRFS's
/// auxlib; for S3A, Hadoop's class path (`hadoop classpath --glob` on a node where `hadoop`
/// runs and the root is `/`, else Hadoop's lib directory and auxlib under the root).
fn provider_jar(root: &Path, fs: FileSystem) -> Check {
    let name = "provider jar";
    let (class, places, what) = match fs {
        FileSystem::Emrfs => (
            V1_CLASS,
            vec![root.join(AUXLIB)],
            "EMRFS loads custom credentials providers from",
        ),
        FileSystem::S3a => match hadoop_classpath(root) {
            Some(entries) => (V2_CLASS, entries, "`hadoop classpath --glob` lists"),
            None => (
                V2_CLASS,
                vec![root.join(HADOOP_LIB), root.join(AUXLIB)],
                "Hadoop's class path holds on EMR (`hadoop classpath` did not run)",
            ),
        },
    };
    let entry = class.replace('.', "/") + ".class";
    let jars: Vec<PathBuf> = places.iter().flat_map(|p| jars_in(p)).collect();
    let listed = places
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match jars.iter().find(|j| jar_has(j, &entry)) {
        Some(j) => Check {
            name,
            ok: true,
            detail: format!("{class} is in {} ({what} {listed})", j.display()),
        },
        None => Check {
            name,
            ok: false,
            detail: format!(
                "no jar in {listed} ({what}) holds {class} ({} jar(s) looked in). Fix: install \
                 the rolebridge jar there with the bootstrap action \
                 (deploy/emr/bootstrap-rolebridge.sh s3://BUCKET/PATH/rolebridge-VERSION.jar), or \
                 copy it into {}",
                jars.len(),
                places[0].display()
            ),
        },
    }
}

/// The jars of a class path entry: the jar itself, or the jars in a directory (`dir/*` too).
fn jars_in(place: &Path) -> Vec<PathBuf> {
    let dir = match place.to_str().and_then(|p| p.strip_suffix("/*")) {
        Some(d) => PathBuf::from(d),
        None => place.to_path_buf(),
    };
    if dir.is_file() {
        return vec![dir];
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jar") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// `hadoop classpath --glob`'s entries, only on the real node (root `/`) where it runs.
fn hadoop_classpath(root: &Path) -> Option<Vec<PathBuf>> {
    if root != Path::new("/") {
        return None;
    }
    let out = std::process::Command::new("hadoop")
        .args(["classpath", "--glob"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let entries: Vec<PathBuf> = text
        .trim()
        .split(':')
        .filter(|e| !e.is_empty())
        .map(PathBuf::from)
        .collect();
    (!entries.is_empty()).then_some(entries)
}

/// Whether the zip file `jar` has an entry named `entry`, from its central directory. Reads the
/// archive's tail and its central directory only: a class path holds jars of hundreds of MB.
pub fn jar_has(jar: &Path, entry: &str) -> bool {
    central_directory(jar)
        .is_some_and(|(cd, count)| zip_entries(&cd, count).iter().any(|n| n == entry))
}

/// The central directory of the zip archive at `path` and its number of entries; `None` if it is
/// not a (non-zip64) zip archive.
fn central_directory(path: &Path) -> Option<(Vec<u8>, usize)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    // The end of central directory record: 22 bytes plus a comment of up to 65535.
    let tail_len = len.min(22 + 65535);
    f.seek(SeekFrom::Start(len - tail_len)).ok()?;
    let mut tail = vec![0; tail_len as usize];
    f.read_exact(&mut tail).ok()?;
    let u16_at = |b: &[u8], i: usize| {
        b.get(i..i + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
    };
    let u32_at = |b: &[u8], i: usize| {
        b.get(i..i + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as u64)
    };
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(&tail, i) == Some(0x0605_4b50))?;
    let count = u16_at(&tail, eocd + 10)?;
    let (size, offset) = (u32_at(&tail, eocd + 12)?, u32_at(&tail, eocd + 16)?);
    if offset.checked_add(size)? > len {
        return None;
    }
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut cd = vec![0; size as usize];
    f.read_exact(&mut cd).ok()?;
    Some((cd, count))
}

/// The entry names of a zip archive's central directory `cd` of `count` entries.
fn zip_entries(cd: &[u8], count: usize) -> Vec<String> {
    let u16_at = |i: usize| {
        cd.get(i..i + 2)
            .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
    };
    let u32_at = |i: usize| {
        cd.get(i..i + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let mut names = Vec::with_capacity(count);
    let mut at = 0;
    for _ in 0..count {
        if u32_at(at) != Some(0x0201_4b50) {
            break;
        }
        let (Some(n), Some(x), Some(c)) = (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32))
        else {
            break;
        };
        let Some(name) = cd.get(at + 46..at + 46 + n) else {
            break;
        };
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + n + x + c;
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored (uncompressed) zip with these entries, written by hand.
    fn zip(entries: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for name in entries {
            let offset = out.len() as u32;
            out.extend(0x0403_4b50u32.to_le_bytes());
            out.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend([0u8; 12]); // crc, sizes
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(name.as_bytes());
            central.extend(0x0201_4b50u32.to_le_bytes());
            central.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend([0u8; 12]);
            central.extend((name.len() as u16).to_le_bytes());
            central.extend([0u8; 12]); // extra, comment, disk, attributes
            central.extend(offset.to_le_bytes());
            central.extend(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend(&central);
        out.extend(0x0605_4b50u32.to_le_bytes());
        out.extend([0u8; 4]);
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((central.len() as u32).to_le_bytes());
        out.extend(cd_offset.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }

    #[test]
    fn zip_entries_come_from_the_central_directory() {
        let names = [
            "META-INF/MANIFEST.MF",
            "dev/rolebridge/hadoop/RoleBridgeCredentialsProvider.class",
        ];
        let dir = std::env::temp_dir().join(format!("rolebridge-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let entries_of = |bytes: &[u8]| {
            let f = dir.join("t.jar");
            std::fs::write(&f, bytes).unwrap();
            central_directory(&f).map_or_else(Vec::new, |(cd, n)| zip_entries(&cd, n))
        };
        assert_eq!(entries_of(&zip(&names)), names);
        // A megabyte of stored data before the directory is never read.
        let mut big = vec![0u8; 1 << 20];
        big.extend(zip(&names));
        assert!(
            entries_of(&big).is_empty(),
            "offsets point into the padding: no entries"
        );
        assert!(entries_of(b"not a zip").is_empty());
        assert!(entries_of(&[]).is_empty());
        let mut cut = zip(&names);
        cut.truncate(cut.len() - 30);
        assert!(entries_of(&cut).is_empty(), "no end record, no entries");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn node(files: &[(&str, &str)], jars: &[(&str, &[&str])]) -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "rolebridge-node-{}-{}",
            std::process::id(),
            files.len() * 10 + jars.len()
        ));
        let _ = std::fs::remove_dir_all(&root);
        for (f, props) in files {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, format!("<configuration>{props}</configuration>")).unwrap();
        }
        for (j, entries) in jars {
            let p = root.join(j);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, zip(entries)).unwrap();
        }
        root
    }

    fn prop(k: &str, v: &str) -> String {
        format!("<property><name>{k}</name><value>{v}</value></property>")
    }

    #[test]
    fn an_emrfs_node_with_and_without_the_jar() {
        let emrfs = prop(EMRFS_PROVIDER_KEY, V1_CLASS);
        let entry = "dev/rolebridge/hadoop/RoleBridgeCredentialsProvider.class";
        let root = node(
            &[(CORE_SITE, ""), (EMRFS_SITE, &emrfs)],
            &[(
                "usr/share/aws/emr/emrfs/auxlib/rolebridge-0.1.0.jar",
                &[entry],
            )],
        );
        let c = checks(&root, &emr_files(&root), "lake");
        assert!(
            c.iter().all(|c| c.ok),
            "{:?}",
            c.iter().map(|c| &c.detail).collect::<Vec<_>>()
        );
        assert!(c[0]
            .detail
            .starts_with("s3:// is served by EMRFS (fs.s3.impl is not set"));
        assert!(
            c[2].detail.contains("auxlib/rolebridge-0.1.0.jar"),
            "{}",
            c[2].detail
        );
        std::fs::remove_file(root.join("usr/share/aws/emr/emrfs/auxlib/rolebridge-0.1.0.jar"))
            .unwrap();
        let c = checks(&root, &emr_files(&root), "lake");
        assert!(
            !c[2].ok && c[2].detail.starts_with("no jar in "),
            "{}",
            c[2].detail
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_s3a_node_names_the_buckets_slot_and_refuses_the_v1_class() {
        let core = prop("fs.s3.impl", S3A_IMPL)
            + &prop("fs.s3a.bucket.lake.aws.credentials.provider", V1_CLASS);
        let root = node(&[(CORE_SITE, &core)], &[]);
        let c = checks(&root, &emr_files(&root), "lake");
        assert!(c[0].ok && c[0].detail.starts_with("s3:// is served by S3A (fs.s3.impl = org.apache.hadoop.fs.s3a.S3AFileSystem (in "));
        assert!(
            !c[1].ok && c[1].detail.contains("needs the SDK v2 class"),
            "{}",
            c[1].detail
        );
        assert!(
            !c[2].ok && c[2].detail.contains("usr/lib/hadoop/lib"),
            "{}",
            c[2].detail
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
