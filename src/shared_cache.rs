//! Node-wide session sharing (`rolebridge.cache.dir`): every JVM of one user on a node uses the
//! session the first of them fetched, instead of each making its own AssumeRole call.
//!
//! Layout: one directory per user (`auto`: `/dev/shm/rolebridge-<uid>`, on tmpfs so sessions never
//! reach a disk), mode 0700, owned by the user. Per session spec, `<hash>.session` holds the
//! session as JSON (mode 0600) and `<hash>.lock` is the cross-process lock (`flock`): a process
//! that needs a session reads the file; if it is not fresh enough it takes the lock, reads again
//! (another process may just have written it), and only then calls STS and replaces the file
//! atomically (write a temporary file, rename it over the old one).
//!
//! Each file records who fetched its session ([`SourceId`]): the access key ID of that process's
//! source credentials (the AWS default chain; an access key ID is not a secret) and, when those
//! are temporary credentials (with a session token: web identity, SSO, a profile's role, container
//! and instance credentials), the ARN of their principal as STS reported it to that process
//! (GetCallerIdentity signed with those very credentials). A process uses a session only if its
//! own source is the same: the same access key ID, or the same principal ARN as STS reports it to
//! this process, so a JVM whose source the role's trust policy would refuse is never handed a
//! session another source fetched. Temporary source credentials differ in every process (each
//! makes its own web-identity exchange, SSO or profile-role call) or as they rotate, while their
//! principal (`arn:aws:sts::<account>:assumed-role/<role>/<session name>`) stays; the session
//! name is part of it, since a trust policy can tell sessions of one role apart by it. What a
//! process compares with is never taken from the directory: its own key, and its own principal
//! from STS. A file's record is as trustworthy as the directory, which only this user can write
//! (see the trust boundary below).
//!
//! Beside a spec's session, `<hash>.refusal` remembers STS's refusal of it (code, message, hint,
//! and the wall-clock time until which it holds: `rolebridge.refusal.ttl` after the refusal), and
//! `<hash>.throttle` a throttling backoff (until when, and how many throttled calls in a row).
//! Each records who was refused or throttled, and applies only to processes of that source, as a
//! session does: a refusal of one source never refuses another. A process reads them after the
//! session file and before calling STS (again under the lock), and answers with the refusal at
//! once; a successful fetch removes both.
//!
//! Nothing in the directory is trusted blindly: a directory not owned by the user or open to
//! others disables sharing; a file that is a symlink, owned by another user, readable or writable
//! by others, corrupt, for another spec, fetched by another source, or expired is ignored (and
//! logged, without its contents). Expired session files are removed, and so are temporary files
//! left by a writer stopped before its rename (see [`TEMP_STALE_AFTER`]). The trust boundary is the OS
//! user: any process of the same user can read the directory, as it can read the user's other
//! files.

use std::collections::hash_map::DefaultHasher;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cache::{Session, SessionSpec};
use crate::settings::{CACHE_DIR_AUTO as AUTO, MIN_REMAINING_VALIDITY};
const MAX_FILE_BYTES: u64 = 64 * 1024;
const FORMAT: u64 = 2;

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The directory a `rolebridge.cache.dir` value names.
pub fn directory_of(setting: &str) -> PathBuf {
    if setting == AUTO {
        PathBuf::from(format!("/dev/shm/rolebridge-{}", euid()))
    } else {
        PathBuf::from(setting)
    }
}

/// A checked shared-cache directory. Its methods do blocking file I/O (except [`SharedDir::lock`],
/// which does it on the runtime's blocking threads).
#[derive(Clone)]
pub struct SharedDir {
    dir: PathBuf,
}

impl SharedDir {
    /// Creates the directory if needed (mode 0700) and checks that only this user can enter it.
    /// The error says why sharing is off.
    pub fn open(setting: &str) -> Result<SharedDir, String> {
        let dir = directory_of(setting);
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
        let meta = fs::symlink_metadata(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !meta.is_dir() {
            return Err(format!("{} is not a directory (a symlink?)", dir.display()));
        }
        if meta.uid() != euid() {
            return Err(format!(
                "{} is owned by uid {}, not by this user (uid {})",
                dir.display(),
                meta.uid(),
                euid()
            ));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(format!(
                "{} has mode {:o}: others may enter it; it must be 700",
                dir.display(),
                meta.mode() & 0o777
            ));
        }
        Ok(SharedDir { dir })
    }

    fn base(&self, spec: &SessionSpec) -> PathBuf {
        let mut h = DefaultHasher::new();
        crate::VERSION.hash(&mut h);
        identity(spec).hash(&mut h);
        self.dir.join(format!("{:016x}", h.finish()))
    }

    pub fn session_path(&self, spec: &SessionSpec) -> PathBuf {
        self.base(spec).with_extension("session")
    }

    fn lock_path(&self, spec: &SessionSpec) -> PathBuf {
        self.base(spec).with_extension("lock")
    }

    /// The file of `spec`'s remembered refusal or throttling.
    pub fn backoff_path(&self, spec: &SessionSpec, kind: BackoffKind) -> PathBuf {
        self.base(spec).with_extension(kind.extension())
    }

    /// The record of `kind` for `spec` that applies to `source`, expired or not (a throttling
    /// record's count of throttles outlives its backoff). An expired refusal is removed.
    pub fn read_backoff(
        &self,
        spec: &SessionSpec,
        kind: BackoffKind,
        source: &SourceId,
    ) -> Lookup<Backoff> {
        let path = self.backoff_path(spec, kind);
        match read_backoff_file(&path, spec, kind) {
            Ok(Some((_, b))) if kind == BackoffKind::Refusal && b.until <= SystemTime::now() => {
                tracing::debug!(file = %path.display(), "removing an expired refusal");
                let _ = fs::remove_file(&path);
                Lookup::Miss
            }
            Ok(Some((by, b))) => match by.same_source(source) {
                Some(true) => Lookup::Use(b),
                None => Lookup::NeedPrincipal,
                Some(false) => {
                    tracing::debug!(file = %path.display(), "a record of another source; not used");
                    Lookup::Miss
                }
            },
            Ok(None) => Lookup::Miss,
            Err(why) => {
                tracing::warn!(file = %path.display(), "ignoring a record of STS's answer: {why}");
                Lookup::Miss
            }
        }
    }

    /// Records STS's refusal or throttling of `spec`, as answered to `source`, atomically.
    pub fn write_backoff(
        &self,
        spec: &SessionSpec,
        source: &SourceId,
        record: &Backoff,
    ) -> Result<(), String> {
        let json = serde_json::json!({
            "format": FORMAT,
            "kind": record.kind.extension(),
            "spec": identity(spec),
            "fetched_by": source.key,
            "fetched_by_principal": source.principal,
            "role_arn": record.role_arn,
            "code": record.code,
            "message": record.message,
            "hint": record.hint,
            "at_ms": millis(record.at),
            "until_ms": millis(record.until),
            "throttles": record.throttles,
            "pid": std::process::id(),
        });
        self.replace(&self.backoff_path(spec, record.kind), &json)
    }

    /// Removes `spec`'s refusal and throttling records (after a successful fetch).
    pub fn clear_backoffs(&self, spec: &SessionSpec) {
        for kind in [BackoffKind::Refusal, BackoffKind::Throttle] {
            let _ = fs::remove_file(self.backoff_path(spec, kind));
        }
    }

    /// Writes `json` to `path` atomically (a temporary file of this process, renamed over it).
    fn replace(&self, path: &Path, json: &serde_json::Value) -> Result<(), String> {
        let tmp = self.dir.join(format!(
            ".{}.{}.{}.tmp",
            path.file_stem()
                .map(|s| s.to_string_lossy())
                .unwrap_or_default(),
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        let result = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(json.to_string().as_bytes())?;
            fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// The shared session for `spec`, if there is one this process can trust that is valid until
    /// at least `min_expiration` and that `source` (this process's source) fetched.
    pub fn read(
        &self,
        spec: &SessionSpec,
        source: &SourceId,
        min_expiration: SystemTime,
    ) -> Lookup<Session> {
        let path = self.session_path(spec);
        match read_trusted(&path, spec) {
            Ok(Some((_, s))) if s.expiration <= SystemTime::now() => {
                tracing::debug!(file = %path.display(), "removing an expired shared session");
                let _ = fs::remove_file(&path);
                Lookup::Miss
            }
            Ok(Some((_, s)))
                if s.expiration < min_expiration
                    || s.expiration <= SystemTime::now() + MIN_REMAINING_VALIDITY =>
            {
                tracing::debug!(file = %path.display(), "the shared session expires too soon; not used");
                Lookup::Miss
            }
            Ok(Some((fetched_by, s))) => match fetched_by.same_source(source) {
                Some(true) => {
                    tracing::debug!(file = %path.display(), access_key_id = %s.access_key_id, "using the shared session");
                    Lookup::Use(s)
                }
                None => Lookup::NeedPrincipal,
                Some(false) => {
                    tracing::debug!(
                        file = %path.display(),
                        fetched_by = ?fetched_by,
                        source = ?source,
                        "the shared session was fetched by another source; not used"
                    );
                    Lookup::Miss
                }
            },
            Ok(None) => Lookup::Miss,
            Err(why) => {
                tracing::warn!(file = %path.display(), "ignoring a shared session file: {why}");
                Lookup::Miss
            }
        }
    }

    /// Replaces the shared session atomically, recording `source` as who fetched it; then removes
    /// the directory's other expired session files.
    pub fn write(
        &self,
        spec: &SessionSpec,
        source: &SourceId,
        session: &Session,
    ) -> Result<(), String> {
        let path = self.session_path(spec);
        let json = serde_json::json!({
            "format": FORMAT,
            "spec": identity(spec),
            "fetched_by": source.key,
            "fetched_by_principal": source.principal,
            "access_key_id": session.access_key_id,
            "secret_access_key": session.secret_access_key,
            "session_token": session.session_token,
            "expiration_ms": millis(session.expiration),
        });
        let result = self.replace(&path, &json);
        self.remove_expired();
        result
    }

    /// Removes this user's session files that have expired (of any spec: settings no longer used
    /// leave theirs behind), and stale temporary files (see [`temp_is_stale`]). Lock files stay:
    /// removing one another process holds would let a third take a second lock.
    fn remove_expired(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for e in entries.flatten() {
            let path = e.path();
            if let Some(writer) = temp_writer(&e.file_name().to_string_lossy()) {
                if temp_is_stale(&path, writer, now) {
                    tracing::debug!(file = %path.display(), "removing a stale temporary session file");
                    let _ = fs::remove_file(&path);
                }
                continue;
            }
            let extension = path.extension().and_then(|x| x.to_str());
            if let Some(kind) = BackoffKind::of_extension(extension) {
                if let Ok(Some(until)) = until_of(&path) {
                    if until + kind.kept_after() <= now {
                        tracing::debug!(file = %path.display(), "removing an expired record");
                        let _ = fs::remove_file(&path);
                    }
                }
                continue;
            }
            if extension != Some("session") {
                continue;
            }
            if let Ok(Some(expiration)) = expiration_of(&path) {
                if expiration <= now {
                    tracing::debug!(file = %path.display(), "removing an expired shared session");
                    let _ = fs::remove_file(&path);
                }
            }
        }
    }

    /// Takes the cross-process lock of `spec`'s session, waiting at most `bound`. `None` if it
    /// cannot be had in time or the lock file is not trustworthy (the caller then fetches
    /// without it).
    pub async fn lock(&self, spec: &SessionSpec, bound: Duration) -> Option<File> {
        let path = self.lock_path(spec);
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&path)
                    .map_err(|e| format!("cannot open the lock file: {e}"))?;
                match file.metadata() {
                    Ok(m) if m.uid() == euid() && m.mode() & 0o077 == 0 => Ok(file),
                    _ => Err(
                        "ignoring a lock file owned by another user or open to others".to_string(),
                    ),
                }
            })
            .await
        };
        let file = match opened {
            Ok(Ok(f)) => f,
            Ok(Err(why)) => {
                tracing::warn!(file = %path.display(), "{why}");
                return None;
            }
            Err(_) => return None,
        };
        let deadline = Instant::now() + bound;
        loop {
            match file.try_lock() {
                Ok(()) => return Some(file),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), "no lock within {bound:?}: {e}");
                    return None;
                }
            }
        }
    }
}

/// A temporary file whose writer was stopped between writing and renaming it holds a session, its
/// secret included, and would stay for good. The sweep removes one (named as [`SharedDir::write`]
/// names them) when its writer is gone (no process has its pid) or when it is older than this,
/// whoever wrote it: a write and its rename take microseconds on tmpfs and milliseconds on a
/// slow disk, so no live writer's file is that old, and the age covers a pid that another
/// process has taken since and a writer in another PID namespace (whose pid means nothing here:
/// if no process here has it, its fresh file is removed and its rename fails, so that one session
/// is not shared; it is still used by the process that fetched it).
const TEMP_STALE_AFTER: Duration = Duration::from_secs(60);

/// The writer's pid of a temporary file named as [`SharedDir::write`] names them
/// (`.<hash>.<pid>.<nanoseconds>.tmp`); `None` for any other name.
fn temp_writer(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.split('.');
    let (hash, pid, nanos) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let ours = parts.next().is_none()
        && hash.len() == 16
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && digits(pid)
        && digits(nanos);
    ours.then(|| pid.parse().ok()).flatten()
}

/// Whether a temporary file is stale: see [`TEMP_STALE_AFTER`]. Only this user's files.
fn temp_is_stale(path: &Path, writer: u32, now: SystemTime) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if meta.uid() != euid() {
        return false;
    }
    let age = meta
        .modified()
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .unwrap_or_default();
    age > TEMP_STALE_AFTER || process_is_gone(writer)
}

/// Whether no process of this PID namespace has `pid` (one of another user's still counts).
fn process_is_gone(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false; // 0 would ask about this process group: leave it to the age
    }
    // SAFETY: signal 0 sends nothing; it only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Who a process's source is, as the node cache records it in a file and compares it (see the
/// module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceId {
    /// The access key ID of the source credentials.
    pub key: String,
    /// For temporary source credentials, their principal's ARN as STS reported it to the process
    /// (GetCallerIdentity signed with them); `None` for long-term keys, or when not asked or not
    /// known.
    pub principal: Option<String>,
}

impl SourceId {
    /// Whether `me` is the source that fetched a session recorded as fetched by `self`: the same
    /// access key ID, or the same principal. `None`: undecided until `me`'s principal is known.
    fn same_source(&self, me: &SourceId) -> Option<bool> {
        if self.key == me.key {
            return Some(true);
        }
        match (&self.principal, &me.principal) {
            (Some(fetched_by), Some(mine)) => Some(fetched_by == mine),
            (Some(_), None) => None,
            (None, _) => Some(false),
        }
    }
}

/// What [`SharedDir::read`] and [`SharedDir::read_backoff`] found.
#[derive(Debug)]
pub enum Lookup<T> {
    /// A session fetched by this source (a record of its refusal or throttling): use it.
    Use(T),
    /// Nothing this process may use.
    Miss,
    /// A session fetched under another access key ID by a principal that STS named: it may be
    /// used if this process's principal is that one. Ask STS who this process is, and read again
    /// with the answer.
    NeedPrincipal,
}

/// Which of STS's answers a [`Backoff`] remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffKind {
    Refusal,
    Throttle,
}

impl BackoffKind {
    fn extension(self) -> &'static str {
        match self {
            BackoffKind::Refusal => "refusal",
            BackoffKind::Throttle => "throttle",
        }
    }

    fn of_extension(extension: Option<&str>) -> Option<BackoffKind> {
        match extension? {
            "refusal" => Some(BackoffKind::Refusal),
            "throttle" => Some(BackoffKind::Throttle),
            _ => None,
        }
    }

    /// How long a record is kept after it ends: a refusal not at all; throttling long enough
    /// that the next throttled call finds how many came before it.
    fn kept_after(self) -> Duration {
        match self {
            BackoffKind::Refusal => Duration::ZERO,
            BackoffKind::Throttle => THROTTLE_COUNT_KEPT,
        }
    }
}

/// How long after its backoff a throttling record still counts the throttles before it.
const THROTTLE_COUNT_KEPT: Duration = Duration::from_secs(600);

/// STS's refusal or throttling of a spec, as a process of the node recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    pub kind: BackoffKind,
    /// The role as the message named it.
    pub role_arn: String,
    pub code: String,
    pub message: String,
    pub hint: String,
    /// When STS answered (wall clock): a reader whose `rolebridge.refusal.ttl` is shorter than
    /// the writer's holds a refusal only until `at` plus its own.
    pub at: SystemTime,
    /// No STS call for the spec before this (wall clock).
    pub until: SystemTime,
    /// Throttled calls in a row (throttling only).
    pub throttles: u32,
}

impl Backoff {
    /// Whether it still holds at `now`. A throttling record whose backoff ended still counts.
    pub fn holds(&self, now: SystemTime) -> bool {
        now < self.until
    }

    /// Whether it was written more than [`THROTTLE_COUNT_KEPT`] after its end (an old count).
    fn is_stale(&self, now: SystemTime) -> bool {
        self.until + self.kind.kept_after() <= now
    }

    /// The STS error it records.
    pub fn error(&self) -> crate::error::Error {
        crate::error::Error::Sts {
            role_arn: self.role_arn.clone(),
            code: self.code.clone(),
            message: self.message.clone(),
            hint: self.hint.clone(),
            retryable: self.kind == BackoffKind::Throttle,
        }
    }

    /// How many throttles in a row it counts at `now` (0 once stale).
    pub fn throttles_at(&self, now: SystemTime) -> u32 {
        if self.kind != BackoffKind::Throttle || self.is_stale(now) {
            0
        } else {
            self.throttles
        }
    }
}

/// The until of a trusted record file of any spec.
fn until_of(path: &Path) -> Result<Option<SystemTime>, String> {
    Ok(read_json(path)?.and_then(|v| {
        v.get("until_ms")
            .and_then(|x| x.as_u64())
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
    }))
}

/// Reads a record of STS's answer if it exists and can be trusted (as [`read_trusted`] does).
fn read_backoff_file(
    path: &Path,
    spec: &SessionSpec,
    kind: BackoffKind,
) -> Result<Option<(SourceId, Backoff)>, String> {
    let Some(v) = read_json(path)? else {
        return Ok(None);
    };
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    if v.get("format").and_then(|x| x.as_u64()) != Some(FORMAT)
        || text("kind").as_deref() != Some(kind.extension())
    {
        return Err("corrupt: unknown format".into());
    }
    if text("spec").as_deref() != Some(identity(spec).as_str()) {
        return Err("written for other settings".into());
    }
    let (Some(fetched_by), Some(role_arn), Some(code), Some(message), Some(hint), Some(ms)) = (
        text("fetched_by").filter(|k| !k.is_empty()),
        text("role_arn"),
        text("code").filter(|c| !c.is_empty()),
        text("message"),
        text("hint"),
        v.get("until_ms").and_then(|x| x.as_u64()),
    ) else {
        return Err("corrupt: a field is missing".into());
    };
    let throttles = v
        .get("throttles")
        .and_then(|x| x.as_u64())
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let principal = match v.get("fetched_by_principal") {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => Some(text("fetched_by_principal").ok_or("corrupt: fetched_by_principal")?),
    };
    Ok(Some((
        SourceId {
            key: fetched_by,
            principal,
        },
        Backoff {
            kind,
            role_arn,
            code,
            message,
            hint,
            // A record without it (written before it was kept) holds until its end.
            at: v
                .get("at_ms")
                .and_then(|x| x.as_u64())
                .map_or(UNIX_EPOCH + Duration::from_millis(ms), |at| {
                    UNIX_EPOCH + Duration::from_millis(at)
                }),
            until: UNIX_EPOCH + Duration::from_millis(ms),
            throttles,
        },
    )))
}

/// The fields of a spec that decide the session (not where it is cached), as stored in the file
/// and compared on read: a hash collision can never hand out another spec's session.
fn identity(spec: &SessionSpec) -> String {
    let SessionSpec {
        source,
        chain,
        role_arn,
        external_id,
        source_identity,
        tags,
        transitive_tag_keys,
        session_name,
        duration_secs,
        policy,
        policy_arns,
        sts,
        shared_dir: _,
        source_only,
    } = spec;
    // (A source-only spec is never written here; should one be, it can match no role's.)
    let only = if *source_only { "|source-only" } else { "" };
    format!("{source:?}|{chain:?}|{role_arn}|{external_id:?}|{source_identity:?}|{tags:?}|{transitive_tag_keys:?}|{session_name}|{duration_secs}|{policy:?}|{policy_arns:?}|{:?}|{:?}{only}", sts.region, sts.endpoint)
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The expiration of a trusted session file of any spec.
fn expiration_of(path: &Path) -> Result<Option<SystemTime>, String> {
    Ok(read_json(path)?.and_then(|v| {
        v.get("expiration_ms")
            .and_then(|x| x.as_u64())
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
    }))
}

/// Reads a session file if it exists and can be trusted: a regular file (not a symlink) owned by
/// this user, not readable or writable by others, of a sane size, well-formed, for this spec.
/// Returns who fetched it (see the module's documentation) and the session.
fn read_trusted(path: &Path, spec: &SessionSpec) -> Result<Option<(SourceId, Session)>, String> {
    let Some(v) = read_json(path)? else {
        return Ok(None);
    };
    let field = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if v.get("format").and_then(|x| x.as_u64()) != Some(FORMAT) {
        return Err("corrupt: unknown format".into());
    }
    if field("spec").as_deref() != Some(identity(spec).as_str()) {
        return Err("written for other settings".into());
    }
    let (
        Some(fetched_by),
        Some(access_key_id),
        Some(secret_access_key),
        Some(session_token),
        Some(ms),
    ) = (
        field("fetched_by"),
        field("access_key_id"),
        field("secret_access_key"),
        field("session_token"),
        v.get("expiration_ms").and_then(|x| x.as_u64()),
    )
    else {
        return Err("corrupt: a field is missing".into());
    };
    let principal = match v.get("fetched_by_principal") {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => Some(field("fetched_by_principal").ok_or("corrupt: fetched_by_principal")?),
    };
    Ok(Some((
        SourceId {
            key: fetched_by,
            principal,
        },
        Session {
            access_key_id,
            secret_access_key,
            session_token,
            expiration: UNIX_EPOCH + Duration::from_millis(ms),
        },
    )))
}

/// The JSON of a file that can be trusted (see [`read_trusted`]), or `None` if there is none.
fn read_json(path: &Path) -> Result<Option<serde_json::Value>, String> {
    let mut f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open it ({e}); a symlink is never followed")),
    };
    let meta = f.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.uid() != euid() {
        return Err(format!("owned by uid {}, not this user", meta.uid()));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "mode {:o}: open to others; it must be 600",
            meta.permissions().mode() & 0o777
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!("{} bytes: too large", meta.len()));
    }
    let mut text = String::new();
    f.read_to_string(&mut text)
        .map_err(|e| format!("unreadable: {e}"))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|_| "corrupt: not JSON".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Source;
    use crate::settings::StsTarget;
    use std::os::unix::fs::symlink;

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rolebridge-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn spec(dir: &Path, session: &str) -> SessionSpec {
        SessionSpec {
            source: Source::DefaultChain,
            chain: vec![],
            role_arn: "arn:aws:iam::222222222222:role/writer".into(),
            source_identity: None,
            tags: vec![],
            transitive_tag_keys: vec![],
            external_id: None,
            session_name: session.into(),
            duration_secs: 900,
            policy: None,
            policy_arns: vec![],
            sts: StsTarget {
                region: Some("us-east-1".into()),
                endpoint: None,
                timeout: Duration::from_secs(30),
                proxies: Default::default(),
            },
            shared_dir: Some(dir.to_string_lossy().into_owned()),
            source_only: false,
        }
    }

    fn session(valid_for: Duration) -> Session {
        Session {
            access_key_id: "ASIASHARED".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expiration: SystemTime::now() + valid_for,
        }
    }

    const LONG: Duration = Duration::from_secs(900);
    /// This process's source: long-term keys.
    fn src() -> SourceId {
        by("AKIASOURCE")
    }

    fn by(key: &str) -> SourceId {
        SourceId {
            key: key.into(),
            principal: None,
        }
    }

    fn used(found: Lookup<Session>) -> Option<Session> {
        match found {
            Lookup::Use(s) => Some(s),
            Lookup::Miss | Lookup::NeedPrincipal => None,
        }
    }

    /// Issue 9, hole 6: a session fetched by another source (another access key ID, as a JVM
    /// whose own source the role's trust policy refuses would have) is not used; after a
    /// rotation of the source's key the first process fetches its own.
    #[test]
    fn a_session_fetched_by_another_source_is_not_used() {
        let d = tempdir("source");
        let shared = SharedDir::open(d.to_str().unwrap()).unwrap();
        let s = spec(&d, "a");
        shared
            .write(&s, &by("AKIAOTHERJOB"), &session(LONG))
            .unwrap();
        assert!(used(shared.read(&s, &src(), SystemTime::now())).is_none());
        assert!(used(shared.read(&s, &by("AKIAOTHERJOB"), SystemTime::now())).is_some());
        let text = fs::read_to_string(shared.session_path(&s)).unwrap();
        assert!(text.contains("\"fetched_by\":\"AKIAOTHERJOB\""), "{text}");
        // a file of the previous format (no fetched_by) is never used
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut old = v.as_object().unwrap().clone();
        old.remove("fetched_by");
        fs::write(
            shared.session_path(&s),
            serde_json::Value::Object(old).to_string(),
        )
        .unwrap();
        assert!(used(shared.read(&s, &by("AKIAOTHERJOB"), SystemTime::now())).is_none());
        fs::remove_dir_all(&d).unwrap();
    }

    /// Issue 15, item 13: temporary source credentials differ in every process (each makes its
    /// own web-identity exchange). A session fetched by the same principal, as STS named it to
    /// each process, is used; another principal's (another session name of the same role
    /// included) is not; a process that does not know its principal yet is told to ask.
    #[test]
    fn a_session_fetched_by_the_same_principal_under_another_key_is_used() {
        let d = tempdir("principal");
        let shared = SharedDir::open(d.to_str().unwrap()).unwrap();
        let s = spec(&d, "a");
        let now = SystemTime::now();
        let pod = "arn:aws:sts::111111111111:assumed-role/eks-pod-role/pod-session";
        let writer = SourceId {
            key: "ASIAFIRSTPROCESS".into(),
            principal: Some(pod.into()),
        };
        shared.write(&s, &writer, &session(LONG)).unwrap();
        let text = fs::read_to_string(shared.session_path(&s)).unwrap();
        assert!(
            text.contains(&format!("\"fetched_by_principal\":\"{pod}\"")),
            "{text}"
        );
        let mut me = by("ASIASECONDPROCESS");
        assert!(matches!(shared.read(&s, &me, now), Lookup::NeedPrincipal));
        me.principal = Some(pod.into());
        assert!(used(shared.read(&s, &me, now)).is_some());
        me.principal =
            Some("arn:aws:sts::111111111111:assumed-role/eks-pod-role/other-session".into());
        assert!(matches!(shared.read(&s, &me, now), Lookup::Miss));
        // the same key needs no principal
        assert!(used(shared.read(&s, &by("ASIAFIRSTPROCESS"), now)).is_some());
        // a session recorded without a principal (long-term keys) matches by its key only
        shared
            .write(&s, &by("AKIALONGTERM"), &session(LONG))
            .unwrap();
        me.principal = Some(pod.into());
        assert!(matches!(shared.read(&s, &me, now), Lookup::Miss));
        // a session that expires too soon is not worth asking STS about
        shared
            .write(&s, &writer, &session(Duration::from_secs(30)))
            .unwrap();
        assert!(matches!(
            shared.read(&s, &by("ASIATHIRDPROCESS"), now),
            Lookup::Miss
        ));
        fs::remove_dir_all(&d).unwrap();
    }

    fn refusal(until: SystemTime) -> Backoff {
        Backoff {
            kind: BackoffKind::Refusal,
            role_arn: "arn:aws:iam::222222222222:role/writer".into(),
            code: "AccessDenied".into(),
            message: "not authorized to perform: sts:AssumeRole (HTTP 403)".into(),
            hint: ". Usually: the role's trust policy does not name ...".into(),
            at: until - Duration::from_secs(300),
            until,
            throttles: 0,
        }
    }

    fn found(l: Lookup<Backoff>) -> Option<Backoff> {
        match l {
            Lookup::Use(b) => Some(b),
            Lookup::Miss | Lookup::NeedPrincipal => None,
        }
    }

    /// Issue 19, item 4: a refusal recorded for a spec comes back, with STS's words, to the
    /// source that was refused, and to no other (another key, another principal, another spec);
    /// an expired one is removed; the file is 600; a successful fetch's clear removes it.
    #[test]
    fn a_refusal_record_applies_to_its_own_source_only() {
        let d = tempdir("refusal");
        let shared = SharedDir::open(d.to_str().unwrap()).unwrap();
        let s = spec(&d, "a");
        let later = SystemTime::now() + Duration::from_secs(300);
        shared.write_backoff(&s, &src(), &refusal(later)).unwrap();
        let path = shared.backoff_path(&s, BackoffKind::Refusal);
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert!(path.to_string_lossy().ends_with(".refusal"));
        let back = found(shared.read_backoff(&s, BackoffKind::Refusal, &src())).unwrap();
        assert_eq!(
            back,
            refusal(UNIX_EPOCH + Duration::from_millis(millis(later)))
        );
        assert!(back.holds(SystemTime::now()));
        let e = back.error();
        assert_eq!((e.code(), e.is_refusal()), ("AccessDenied", true));
        // another source, another spec, the other kind: nothing
        let other = shared.read_backoff(&s, BackoffKind::Refusal, &by("AKIAOTHERJOB"));
        assert!(matches!(other, Lookup::Miss));
        assert!(found(shared.read_backoff(&spec(&d, "b"), BackoffKind::Refusal, &src())).is_none());
        assert!(found(shared.read_backoff(&s, BackoffKind::Throttle, &src())).is_none());
        // temporary credentials: by principal, and asked for when unknown
        let pod = "arn:aws:sts::111111111111:assumed-role/eks-pod-role/pod-session";
        let writer = SourceId {
            key: "ASIAFIRST".into(),
            principal: Some(pod.into()),
        };
        shared.write_backoff(&s, &writer, &refusal(later)).unwrap();
        let mut me = by("ASIASECOND");
        assert!(matches!(
            shared.read_backoff(&s, BackoffKind::Refusal, &me),
            Lookup::NeedPrincipal
        ));
        me.principal = Some(pod.into());
        assert!(found(shared.read_backoff(&s, BackoffKind::Refusal, &me)).is_some());
        me.principal = Some(format!("{pod}-other"));
        assert!(found(shared.read_backoff(&s, BackoffKind::Refusal, &me)).is_none());
        // open to others: ignored
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(found(shared.read_backoff(&s, BackoffKind::Refusal, &writer)).is_none());
        // expired: removed on read
        shared
            .write_backoff(
                &s,
                &src(),
                &refusal(SystemTime::now() - Duration::from_secs(1)),
            )
            .unwrap();
        assert!(found(shared.read_backoff(&s, BackoffKind::Refusal, &src())).is_none());
        assert!(!path.exists());
        // a successful fetch clears both kinds
        shared.write_backoff(&s, &src(), &refusal(later)).unwrap();
        let throttle = Backoff {
            kind: BackoffKind::Throttle,
            code: "Throttling".into(),
            throttles: 3,
            ..refusal(later)
        };
        shared.write_backoff(&s, &src(), &throttle).unwrap();
        shared.clear_backoffs(&s);
        assert!(!path.exists());
        assert!(!shared.backoff_path(&s, BackoffKind::Throttle).exists());
        fs::remove_dir_all(&d).unwrap();
    }

    /// A throttling record counts the throttles in a row past its backoff (the next throttled
    /// call doubles it), not once stale; the sweep removes stale throttling records and expired
    /// refusals of any spec.
    #[test]
    fn a_throttle_record_counts_past_its_backoff_until_stale() {
        let d = tempdir("throttle");
        let shared = SharedDir::open(d.to_str().unwrap()).unwrap();
        let (a, b, c) = (spec(&d, "a"), spec(&d, "b"), spec(&d, "c"));
        let now = SystemTime::now();
        let ended = Backoff {
            kind: BackoffKind::Throttle,
            code: "Throttling".into(),
            throttles: 3,
            ..refusal(now - Duration::from_secs(5))
        };
        shared.write_backoff(&a, &src(), &ended).unwrap();
        let back = found(shared.read_backoff(&a, BackoffKind::Throttle, &src())).unwrap();
        assert!(!back.holds(now));
        assert_eq!(back.throttles_at(now), 3);
        assert!(back.error().is_throttling() && back.error().is_retryable());
        assert_eq!(back.throttles_at(now + THROTTLE_COUNT_KEPT), 0);
        let stale = Backoff {
            until: now - THROTTLE_COUNT_KEPT - Duration::from_secs(1),
            ..ended.clone()
        };
        shared.write_backoff(&b, &src(), &stale).unwrap();
        shared
            .write_backoff(&c, &src(), &refusal(now - Duration::from_secs(1)))
            .unwrap();
        shared.write(&a, &src(), &session(LONG)).unwrap(); // a write sweeps
        assert!(shared.backoff_path(&a, BackoffKind::Throttle).exists());
        assert!(!shared.backoff_path(&b, BackoffKind::Throttle).exists());
        assert!(!shared.backoff_path(&c, BackoffKind::Refusal).exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn expired_session_files_are_removed() {
        let d = tempdir("expired");
        let shared = SharedDir::open(d.to_str().unwrap()).unwrap();
        let (a, b, c) = (spec(&d, "a"), spec(&d, "b"), spec(&d, "c"));
        let expired = Session {
            expiration: SystemTime::now() - Duration::from_secs(1),
            ..session(LONG)
        };
        shared.write(&a, &src(), &session(LONG)).unwrap();
        let path = shared.session_path(&a);
        let mut v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        v["expiration_ms"] = serde_json::json!(millis(SystemTime::now()) - 1_000);
        fs::write(&path, v.to_string()).unwrap(); // expired since it was written
        assert!(used(shared.read(&a, &src(), SystemTime::now())).is_none());
        assert!(
            !shared.session_path(&a).exists(),
            "read removes its own expired file"
        );
        shared.write(&b, &src(), &expired).unwrap();
        shared.write(&c, &src(), &session(LONG)).unwrap();
        assert!(
            !shared.session_path(&b).exists(),
            "a write removes other expired files"
        );
        assert!(shared.session_path(&c).exists(), "and keeps valid ones");
        fs::remove_dir_all(&d).unwrap();
    }

    /// Issue 15, item 10: a process killed between writing its temporary file and renaming it
    /// leaves a copy of the session (its secret included); the sweep that runs with each write
    /// removes it once its writer is gone or it is older than a write can take, and leaves a
    /// live writer's fresh one alone.
    #[test]
    fn stale_temporary_files_are_removed_and_a_live_writers_is_kept() {
        let d = tempdir("tmpfiles");
        let shared = SharedDir::open(d.to_str().unwrap()).unwrap();
        let stem = shared
            .session_path(&spec(&d, "a"))
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let gone = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        let me = std::process::id();
        let killed = d.join(format!(".{stem}.{gone}.123456789.tmp"));
        let old = d.join(format!(".{stem}.{me}.223456789.tmp"));
        let live = d.join(format!(".{stem}.{me}.323456789.tmp"));
        let other = d.join(".not-ours.tmp.keep");
        for path in [&killed, &old, &live, &other] {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .unwrap();
            f.write_all(br#"{"secret_access_key":"secret"}"#).unwrap();
            if path == &old {
                f.set_modified(SystemTime::now() - Duration::from_secs(600))
                    .unwrap();
            }
        }
        shared
            .write(&spec(&d, "b"), &src(), &session(LONG))
            .unwrap();
        assert!(
            !killed.exists(),
            "the temporary file of a process that is gone"
        );
        assert!(!old.exists(), "a temporary file older than any write takes");
        assert!(live.exists(), "a live writer's fresh temporary file stays");
        assert!(other.exists(), "a file not named as ours stays");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn round_trip_with_owner_only_permissions() {
        let d = tempdir("roundtrip");
        let shared = SharedDir::open(d.to_str().unwrap()).unwrap();
        assert_eq!(fs::metadata(&d).unwrap().mode() & 0o777, 0o700);
        let s = spec(&d, "a");
        assert!(used(shared.read(&s, &src(), SystemTime::now())).is_none());
        shared.write(&s, &src(), &session(LONG)).unwrap();
        assert_eq!(
            fs::metadata(shared.session_path(&s)).unwrap().mode() & 0o777,
            0o600
        );
        let back = used(shared.read(&s, &src(), SystemTime::now())).unwrap();
        assert_eq!(back.access_key_id, "ASIASHARED");
        // not fresh enough for a caller who needs it valid for longer
        assert!(used(shared.read(&s, &src(), SystemTime::now() + LONG * 2)).is_none());
        // another spec never gets it
        assert!(used(shared.read(&spec(&d, "b"), &src(), SystemTime::now())).is_none());
        let names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary files left: {names:?}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn hostile_files_are_ignored() {
        let d = tempdir("hostile");
        let shared = SharedDir::open(d.to_str().unwrap()).unwrap();
        let s = spec(&d, "a");
        let path = shared.session_path(&s);
        let now = SystemTime::now();

        // corrupt
        fs::write(&path, "{not json").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(used(shared.read(&s, &src(), now)).is_none());
        // readable by others
        shared.write(&s, &src(), &session(LONG)).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(used(shared.read(&s, &src(), now)).is_none());
        // expired, or within a minute of expiry
        shared
            .write(&s, &src(), &session(Duration::from_secs(30)))
            .unwrap();
        assert!(used(shared.read(&s, &src(), now)).is_none());
        // a symlink to a good file elsewhere
        let elsewhere = tempdir("hostile-target");
        let other = SharedDir::open(elsewhere.to_str().unwrap()).unwrap();
        other.write(&s, &src(), &session(LONG)).unwrap();
        fs::remove_file(&path).unwrap();
        symlink(other.session_path(&s), &path).unwrap();
        assert!(used(shared.read(&s, &src(), now)).is_none());
        fs::remove_file(&path).unwrap();
        // owned by another user (as root, hand it to nobody)
        if euid() == 0 {
            shared.write(&s, &src(), &session(LONG)).unwrap();
            std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
            assert!(used(shared.read(&s, &src(), now)).is_none());
        }
        // a good file again is used
        shared.write(&s, &src(), &session(LONG)).unwrap();
        assert!(used(shared.read(&s, &src(), now)).is_some());
        fs::remove_dir_all(&d).unwrap();
        fs::remove_dir_all(&elsewhere).unwrap();
    }

    #[test]
    fn untrustworthy_directories_disable_sharing() {
        let d = tempdir("open-dir");
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        let err = SharedDir::open(d.to_str().unwrap()).err().unwrap();
        assert!(err.contains("must be 700"), "{err}");
        if euid() == 0 {
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
            std::os::unix::fs::chown(&d, Some(65534), None).unwrap();
            let err = SharedDir::open(d.to_str().unwrap()).err().unwrap();
            assert!(err.contains("not by this user"), "{err}");
        }
        fs::remove_dir_all(&d).unwrap();
        let link = tempdir("link-dir");
        symlink("/tmp", &link).unwrap();
        assert!(SharedDir::open(link.to_str().unwrap()).is_err());
        fs::remove_file(&link).unwrap();
    }

    #[test]
    fn the_lock_excludes_other_holders_until_released() {
        let d = tempdir("lock");
        let shared = SharedDir::open(d.to_str().unwrap()).unwrap();
        let s = spec(&d, "a");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let held = shared
                .lock(&s, Duration::from_secs(1))
                .await
                .expect("first lock");
            // a second open file description (as another process would have) cannot take it
            let started = Instant::now();
            assert!(shared.lock(&s, Duration::from_millis(150)).await.is_none());
            assert!(started.elapsed() >= Duration::from_millis(150));
            drop(held);
            assert!(shared.lock(&s, Duration::from_millis(150)).await.is_some());
        });
        fs::remove_dir_all(&d).unwrap();
    }
}
