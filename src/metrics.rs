//! What operators read: counters per native session ([`SessionStats`], one per cache entry), and
//! one audit line per AssumeRole call ([`audit`]), queued for the JVM to log.
//!
//! Nothing here is on the hot path: the JVM hands out cached credentials without crossing JNI, and
//! counts those answers itself (per thread). These counters move once per native call, fetch or
//! STS call, with relaxed atomics. Nothing recorded is a secret: roles, session names,
//! SourceIdentity, STS's request IDs, access key IDs (which CloudTrail records too) and expiry.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Upper bounds (milliseconds) of the STS latency histogram's buckets; one more bucket above.
pub const LATENCY_BOUNDS_MS: [u64; 10] = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/// Whether an error code says the request was throttled.
pub fn is_throttling(code: &str) -> bool {
    crate::error::THROTTLING_CODES.contains(&code)
}

/// The counters of one native session (one entry of the process's session cache).
#[derive(Debug, Default)]
pub struct SessionStats {
    /// AssumeRole calls (operations, with the SDK's retries inside) that returned a session.
    pub assume_ok: AtomicU64,
    /// AssumeRole calls that failed (refused, throttled to the end, unreachable, timed out).
    pub assume_failed: AtomicU64,
    /// Attempts STS turned away as throttled (the SDK may have retried and succeeded).
    pub assume_throttled: AtomicU64,
    latency_last_ms: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BOUNDS_MS.len() + 1],
    /// Native calls answered with the session in memory, without a fetch.
    pub from_memory: AtomicU64,
    /// Fetches answered by the node cache (`rolebridge.cache.dir`), without an STS call.
    pub from_node_cache: AtomicU64,
    /// Fetches that called STS.
    pub sts_fetches: AtomicU64,
    /// Native callers that had no valid session and waited for a fetch.
    pub waited: AtomicU64,
    last_error: Mutex<Option<(String, SystemTime)>>,
}

/// A copy of a session's figures, with what the cache knows of its current session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub assume_ok: u64,
    pub assume_failed: u64,
    pub assume_throttled: u64,
    pub latency_last_ms: u64,
    pub latency_buckets: Vec<u64>,
    pub from_memory: u64,
    pub from_node_cache: u64,
    pub sts_fetches: u64,
    pub waited: u64,
    /// Seconds until the current session expires (negative once it has); `None` without one.
    pub seconds_to_expiry: Option<i64>,
    /// Seconds since this process got its current session (from STS or the node cache).
    pub session_age: Option<i64>,
    pub last_error_code: Option<String>,
    /// Seconds since the Unix epoch of the last error.
    pub last_error_at: Option<u64>,
}

impl SessionStats {
    pub fn sts_latency(&self, took: Duration) {
        let ms = took.as_millis().min(u128::from(u64::MAX)) as u64;
        self.latency_last_ms.store(ms, Relaxed);
        let bucket = LATENCY_BOUNDS_MS
            .iter()
            .position(|&b| ms <= b)
            .unwrap_or(LATENCY_BOUNDS_MS.len());
        self.latency_buckets[bucket].fetch_add(1, Relaxed);
    }

    pub fn error(&self, code: &str) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((code.to_owned(), SystemTime::now()));
    }

    /// The figures now; `session` is the cache's current session (expiry, when it was had).
    pub fn snapshot(&self, session: Option<(SystemTime, SystemTime)>, now: SystemTime) -> Snapshot {
        let secs = |from: SystemTime, to: SystemTime| match to.duration_since(from) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        let last = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Snapshot {
            assume_ok: self.assume_ok.load(Relaxed),
            assume_failed: self.assume_failed.load(Relaxed),
            assume_throttled: self.assume_throttled.load(Relaxed),
            latency_last_ms: self.latency_last_ms.load(Relaxed),
            latency_buckets: self
                .latency_buckets
                .iter()
                .map(|b| b.load(Relaxed))
                .collect(),
            from_memory: self.from_memory.load(Relaxed),
            from_node_cache: self.from_node_cache.load(Relaxed),
            sts_fetches: self.sts_fetches.load(Relaxed),
            waited: self.waited.load(Relaxed),
            seconds_to_expiry: session.map(|(expiry, _)| secs(now, expiry)),
            session_age: session.map(|(_, had)| secs(had, now)),
            last_error_at: last.as_ref().map(|(_, at)| {
                at.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
            last_error_code: last.map(|(code, _)| code),
        }
    }
}

impl Snapshot {
    /// The latency below which `q` (0..=1) of the recorded STS calls fell, as the upper bound of
    /// its histogram bucket (milliseconds); the last bucket has no bound and reports the largest
    /// bound. `None` before any call.
    pub fn latency_quantile(&self, q: f64) -> Option<u64> {
        let total: u64 = self.latency_buckets.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, n) in self.latency_buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(LATENCY_BOUNDS_MS[i.min(LATENCY_BOUNDS_MS.len() - 1)]);
            }
        }
        None
    }
}

/// The most audit lines kept for the JVM to take; older ones are dropped (and counted) beyond it.
const AUDIT_CAPACITY: usize = 1_000;

#[derive(Default)]
struct AuditQueue {
    lines: VecDeque<String>,
    dropped: u64,
}

static AUDIT: Mutex<AuditQueue> = Mutex::new(AuditQueue {
    lines: VecDeque::new(),
    dropped: 0,
});

/// What one AssumeRole call did, for its audit line.
pub struct AssumeRoleEvent<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub source_identity: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// The session's access key ID and expiry, or the error code.
    pub outcome: std::result::Result<(&'a str, SystemTime), &'a str>,
    pub took: Duration,
}

/// The audit line of an AssumeRole call: `key=value` fields, values without spaces.
pub fn audit_line(e: &AssumeRoleEvent<'_>) -> String {
    let or_dash = |v: Option<&str>| v.filter(|v| !v.is_empty()).unwrap_or("-").to_owned();
    let outcome = match e.outcome {
        Ok((key, expiry)) => format!(
            "result=ok accessKeyId={key} expiration={}",
            crate::clock::utc_text(expiry)
        ),
        Err(code) => format!("result={code}"),
    };
    format!(
        "rolebridge AssumeRole {outcome} role={} session={} sourceIdentity={} requestId={} tookMs={}",
        e.role_arn,
        e.session_name,
        or_dash(e.source_identity),
        or_dash(e.request_id),
        e.took.as_millis(),
    )
}

/// Records an AssumeRole call: its audit line is queued for the JVM (and logged natively at INFO).
pub fn audit(e: &AssumeRoleEvent<'_>) {
    let line = audit_line(e);
    tracing::info!(target: "rolebridge::audit", "{line}");
    let mut q = AUDIT.lock().unwrap_or_else(|p| p.into_inner());
    if q.lines.len() == AUDIT_CAPACITY {
        q.lines.pop_front();
        q.dropped += 1;
    }
    q.lines.push_back(line);
}

/// The audit lines queued since the last call, oldest first, and how many were dropped unread.
pub fn take_audit() -> (Vec<String>, u64) {
    let mut q = AUDIT.lock().unwrap_or_else(|p| p.into_inner());
    let dropped = std::mem::take(&mut q.dropped);
    (q.lines.drain(..).collect(), dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles_come_from_the_buckets() {
        let s = SessionStats::default();
        assert_eq!(
            s.snapshot(None, SystemTime::now()).latency_quantile(0.5),
            None
        );
        for ms in [5, 5, 5, 30, 30, 200, 200, 200, 200, 20_000] {
            s.sts_latency(Duration::from_millis(ms));
        }
        let snap = s.snapshot(None, SystemTime::now());
        assert_eq!(snap.latency_last_ms, 20_000);
        assert_eq!(snap.latency_quantile(0.3), Some(10));
        assert_eq!(snap.latency_quantile(0.5), Some(50));
        assert_eq!(snap.latency_quantile(0.9), Some(250));
        assert_eq!(snap.latency_quantile(1.0), Some(10_000));
    }

    #[test]
    fn an_audit_line_names_the_call_and_never_a_secret() {
        let expiry = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_483_199);
        let line = audit_line(&AssumeRoleEvent {
            role_arn: "arn:aws:iam::222222222222:role/writer",
            session_name: "rolebridge-alice",
            source_identity: Some("alice"),
            request_id: Some("c6104cbe-af31-11e0-8154-cbc7ccf896c7"),
            outcome: Ok(("ASIAEXAMPLE", expiry)),
            took: Duration::from_millis(42),
        });
        assert_eq!(
            line,
            "rolebridge AssumeRole result=ok accessKeyId=ASIAEXAMPLE expiration=2026-12-05T15:06:39Z \
             role=arn:aws:iam::222222222222:role/writer session=rolebridge-alice sourceIdentity=alice \
             requestId=c6104cbe-af31-11e0-8154-cbc7ccf896c7 tookMs=42"
        );
        let refused = audit_line(&AssumeRoleEvent {
            role_arn: "r",
            session_name: "s",
            source_identity: None,
            request_id: None,
            outcome: Err("AccessDenied"),
            took: Duration::ZERO,
        });
        assert_eq!(
            refused,
            "rolebridge AssumeRole result=AccessDenied role=r session=s sourceIdentity=- requestId=- tookMs=0"
        );
    }
}
