//! The process-wide session cache.
//!
//! One entry per [`SessionSpec`], that is per distinct set of everything that changes the session.
//! Hadoop makes a provider per FileSystem instance; all providers with the same settings share one
//! entry, so they share one STS session. Per entry, at most one fetch is in flight: callers that
//! need a session while one is being fetched wait for that fetch instead of starting their own.
//!
//! Timing, for a session expiring at `E` and a provider's `refresh_ahead` `R`:
//! - before `E - R` the session is handed out as is, and the caller is told to ask again at `E - R`;
//! - from `E - R` a background fetch starts (one per entry) and the current session is still
//!   handed out, with "ask again" a second later, never later than `E - 60 s`;
//! - from `E - 60 s` the session is never handed out: callers wait for a fetch.
//!
//! After a failed fetch no new one starts before a backoff ends, and callers without a valid
//! session get the error at once until then:
//! - a refusal (STS's non-retryable answers: AccessDenied, a missing role, a wrong external ID) is
//!   remembered for `rolebridge.refusal.ttl` (shortened by up to a tenth at random, so that nodes
//!   do not ask again in step), or until the node cache's record of it ends if that came first;
//! - throttling backs off from [`THROTTLE_BACKOFF_MIN`] doubling to [`THROTTLE_BACKOFF_MAX`];
//! - anything else (network, 5xx, timeouts) from `backoff_min` doubling to `backoff_max`;
//!
//! each jittered. A session still valid is handed out meanwhile.
//!
//! Fetches run on the [`Spawn`] given to the cache (the library's runtime); callers block on a condition variable, bounded
//! by their [`Timing::wait_bound`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::metrics::{SessionStats, Snapshot};
use crate::runtime::{BoxFuture, Spawn};
use crate::settings::Hop;
use crate::settings::{Settings, StsTarget, MIN_REMAINING_VALIDITY};

/// Temporary credentials of an assumed-role session. `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: SystemTime,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &"** redacted **")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Where the credentials that make the first AssumeRole call come from: the AWS default chain of
/// the process (which may itself be a web identity, a profile's role or an instance profile).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    DefaultChain,
}

/// Everything that changes the session: the cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionSpec {
    pub source: Source,
    /// Roles assumed in order before `role_arn`, each with the session of the one before.
    pub chain: Vec<Hop>,
    pub role_arn: String,
    pub external_id: Option<String>,
    pub source_identity: Option<String>,
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub session_name: String,
    pub duration_secs: u64,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub sts: StsTarget,
    /// `rolebridge.cache.dir`, if sessions are shared by the processes of the node.
    pub shared_dir: Option<String>,
    /// No role: the session is the source credentials themselves
    /// (`rolebridge.unmapped.buckets=source`). Never shared through `shared_dir`.
    pub source_only: bool,
}

impl SessionSpec {
    pub fn from_settings(s: &Settings) -> Self {
        SessionSpec {
            source: Source::DefaultChain,
            chain: s.chain.clone(),
            role_arn: s.role_arn.clone(),
            external_id: s.external_id.clone(),
            source_identity: s.source_identity.clone(),
            tags: s.tags.clone(),
            transitive_tag_keys: s.transitive_tag_keys.clone(),
            session_name: s.session_name.clone(),
            duration_secs: s.duration.as_secs(),
            policy: s.policy.clone(),
            policy_arns: s.policy_arns.clone(),
            sts: s.sts.clone(),
            shared_dir: s.cache_dir.clone(),
            source_only: false,
        }
    }

    /// The spec of the source credentials themselves: every provider of the process that hands
    /// them out shares one entry per STS target.
    pub fn source_only(sts: &StsTarget) -> Self {
        SessionSpec {
            source: Source::DefaultChain,
            chain: Vec::new(),
            role_arn: SOURCE_ONLY.to_owned(),
            external_id: None,
            source_identity: None,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            session_name: String::new(),
            duration_secs: 0,
            policy: None,
            policy_arns: Vec::new(),
            sts: sts.clone(),
            shared_dir: None,
            source_only: true,
        }
    }
}

/// What messages and logs name in place of a role for the source credentials.
pub const SOURCE_ONLY: &str = "(the source credentials: rolebridge.unmapped.buckets=source)";

/// Something that makes a new session: STS in production, a counter in tests. The session must
/// be valid until at least `min_expiration` (a shared session that expires sooner is not taken).
/// `refusal_ttl`: how long the caller's settings remember a refusal (the node cache's records).
/// `stats` are the entry's counters, for what the fetch did (STS calls, node cache answers).
pub trait FetchSession: Send + Sync + 'static {
    fn fetch(
        &self,
        spec: &SessionSpec,
        min_expiration: SystemTime,
        refusal_ttl: Duration,
        stats: Arc<SessionStats>,
    ) -> BoxFuture<Result<Session>>;
}

thread_local! {
    /// Whether this thread's last [`SessionCache::get`] or [`SessionCache::refresh`] waited for
    /// a fetch (STS or the node cache), whatever it returned; see [`last_call_waited`].
    static CALL_WAITED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling thread's last `get` or `refresh` waited for a fetch rather than being
/// answered at once (from memory, or with a remembered error): for the JVM's count of callers
/// that waited.
pub fn last_call_waited() -> bool {
    CALL_WAITED.with(|w| w.get())
}

/// A session handed out, with the time at which the caller should ask the cache again.
#[derive(Debug, Clone)]
pub struct Handout {
    pub session: Arc<Session>,
    pub ask_again_at: SystemTime,
}

/// A caller's timing: how long before expiry it wants a new session, and how long it waits for
/// one when it has none.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub refresh_ahead: Duration,
    /// How long a caller with no valid session waits for a fetch before giving up.
    pub wait_bound: Duration,
    /// `rolebridge.refusal.ttl`: how long a refusal of STS is remembered (zero: not at all).
    pub refusal_ttl: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct CacheOptions {
    /// While a background refresh is under way, how soon callers ask again.
    pub recheck: Duration,
    /// Backoff after a failed fetch: doubles from `backoff_min` up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            recheck: Duration::from_secs(1),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// The cached state of one session.
pub struct Entry {
    spec: SessionSpec,
    state: Mutex<State>,
    changed: Condvar,
    stats: Arc<SessionStats>,
}

#[derive(Default)]
struct State {
    session: Option<Arc<Session>>,
    /// When this process got `session` (from STS or the node cache).
    had_at: Option<SystemTime>,
    fetching: bool,
    /// Bumped when a fetch completes, successfully or not.
    generation: u64,
    /// The error of the last fetch, cleared by a successful one.
    last_error: Option<Error>,
    failures: u32,
    /// No new fetch before this after a failure (background refresh and fail-fast callers); on
    /// the monotonic clock, so that a wall-clock step neither stretches nor skips the backoff.
    retry_at: Option<Instant>,
    fetches: u64,
    /// The `refusal_ttl` of the caller that began the fetch under way.
    refusal_ttl: Duration,
    /// When this process learned of the refusal in `last_error`, if it is one: each caller
    /// remembers it no longer than its own `refusal_ttl` from then (settings sets that differ only
    /// in `rolebridge.refusal.ttl` share the entry).
    refused_at: Option<Instant>,
}

impl State {
    /// Until when a caller with `refusal_ttl` is answered with `last_error` without a new fetch.
    fn retry_at_for(&self, refusal_ttl: Duration) -> Option<Instant> {
        match (self.retry_at, self.refused_at) {
            (Some(t), Some(at)) => Some(t.min(at + refusal_ttl)),
            (t, _) => t,
        }
    }
}

impl Entry {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many fetches of this entry have completed (successful or not).
    pub fn fetches(&self) -> u64 {
        self.lock().fetches
    }

    pub fn spec(&self) -> &SessionSpec {
        &self.spec
    }

    /// The entry's counters and what it knows of its current session, at `now`.
    pub fn snapshot(&self, now: SystemTime) -> Snapshot {
        let session = {
            let st = self.lock();
            st.session
                .as_ref()
                .zip(st.had_at)
                .map(|(s, at)| (s.expiration, at))
        };
        self.stats.snapshot(session, now)
    }
}

pub struct SessionCache {
    entries: Mutex<HashMap<SessionSpec, Arc<Entry>>>,
    fetcher: Arc<dyn FetchSession>,
    clock: Arc<dyn Clock>,
    spawner: Arc<dyn Spawn>,
    options: CacheOptions,
}

fn usable(session: &Option<Arc<Session>>, now: SystemTime) -> Option<&Arc<Session>> {
    session
        .as_ref()
        .filter(|s| now + MIN_REMAINING_VALIDITY < s.expiration)
}

impl SessionCache {
    pub fn new(
        fetcher: Arc<dyn FetchSession>,
        clock: Arc<dyn Clock>,
        spawner: Arc<dyn Spawn>,
        options: CacheOptions,
    ) -> Self {
        SessionCache {
            entries: Mutex::new(HashMap::new()),
            fetcher,
            clock,
            spawner,
            options,
        }
    }

    /// The entry of a spec, created empty on first use. Fetches nothing.
    pub fn entry(&self, spec: SessionSpec) -> Arc<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .entry(spec)
            .or_insert_with_key(|spec| {
                Arc::new(Entry {
                    spec: spec.clone(),
                    state: Mutex::new(State::default()),
                    changed: Condvar::new(),
                    stats: Arc::default(),
                })
            })
            .clone()
    }

    /// The entry whose identity ([`crate::provider::Provider::session_id`]) is `id`, if this
    /// cache has it.
    pub fn entry_by_id(&self, id: usize) -> Option<Arc<Entry>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .values()
            .find(|e| Arc::as_ptr(e) as usize == id)
            .cloned()
    }

    /// A valid session for `entry`: the cached one, or the result of a fetch this call waits for.
    pub fn get(&self, entry: &Arc<Entry>, timing: Timing) -> Result<Handout> {
        self.get_after(entry, timing, false)
    }

    /// [`Self::get`], for a caller that has waited for a fetch already (`waited`, counted).
    fn get_after(&self, entry: &Arc<Entry>, timing: Timing, mut waited: bool) -> Result<Handout> {
        CALL_WAITED.with(|w| w.set(waited));
        let mut st = entry.lock();
        loop {
            let now = self.clock.now();
            if let Some(s) = usable(&st.session, now) {
                let s = s.clone();
                let fresh_until = s
                    .expiration
                    .checked_sub(timing.refresh_ahead)
                    .unwrap_or(now);
                let mut refresh = None;
                let ask_again_at = if now < fresh_until {
                    fresh_until
                } else {
                    if !st.fetching
                        && st
                            .retry_at_for(timing.refusal_ttl)
                            .is_none_or(|t| self.clock.instant() >= t)
                    {
                        refresh = Some(self.begin_fetch(
                            entry,
                            &mut st,
                            s.expiration + Duration::from_millis(1),
                            timing.refusal_ttl,
                        ));
                    }
                    (now + self.options.recheck).min(s.expiration - MIN_REMAINING_VALIDITY)
                };
                drop(st);
                if let Some(fetch) = refresh {
                    self.launch(entry, fetch);
                }
                if !waited {
                    entry.stats.from_memory.fetch_add(1, Relaxed);
                }
                return Ok(Handout {
                    session: s,
                    ask_again_at,
                });
            }
            let generation = st.generation;
            if !st.fetching {
                if let (Some(e), Some(t)) = (&st.last_error, st.retry_at_for(timing.refusal_ttl)) {
                    if self.clock.instant() < t {
                        return Err(e.clone());
                    }
                }
                let fetch = self.begin_fetch(
                    entry,
                    &mut st,
                    now + timing.refresh_ahead,
                    timing.refusal_ttl,
                );
                drop(st);
                self.launch(entry, fetch);
                st = entry.lock();
            }
            if !waited {
                waited = true;
                CALL_WAITED.with(|w| w.set(true));
                entry.stats.waited.fetch_add(1, Relaxed);
            }
            st = self.wait_for_fetch(entry, st, generation, timing.wait_bound)?;
            let now = self.clock.now();
            if usable(&st.session, now).is_none() {
                return Err(match &st.last_error {
                    Some(e) => e.clone(),
                    None => Error::Internal(format!(
                        "STS returned a session for {} that expires within a minute; check the system clock",
                        entry.spec.role_arn
                    )),
                });
            }
        }
    }

    /// Fetches a new session now (joining a fetch already under way) and returns it.
    /// A remembered refusal or throttling is answered at once, as [`SessionCache::get`] does.
    pub fn refresh(&self, entry: &Arc<Entry>, timing: Timing) -> Result<Handout> {
        CALL_WAITED.with(|w| w.set(false));
        let mut st = entry.lock();
        let generation = st.generation;
        if let (Some(e @ Error::Remembered { .. }), Some(t)) =
            (&st.last_error, st.retry_at_for(timing.refusal_ttl))
        {
            if !st.fetching && self.clock.instant() < t {
                return Err(e.clone());
            }
        }
        if !st.fetching {
            let newer_than = st
                .session
                .as_ref()
                .map(|s| s.expiration + Duration::from_millis(1));
            let needed = self.clock.now() + timing.refresh_ahead;
            let fetch = self.begin_fetch(
                entry,
                &mut st,
                newer_than.map_or(needed, |n| n.max(needed)),
                timing.refusal_ttl,
            );
            drop(st);
            self.launch(entry, fetch);
            st = entry.lock();
        }
        entry.stats.waited.fetch_add(1, Relaxed);
        CALL_WAITED.with(|w| w.set(true));
        let st = self.wait_for_fetch(entry, st, generation, timing.wait_bound)?;
        if let Some(e) = &st.last_error {
            return Err(e.clone());
        }
        drop(st);
        self.get_after(entry, timing, true)
    }

    /// Waits until the fetch that began at `generation` completes (at once if it already has);
    /// the guard is held again on return.
    fn wait_for_fetch<'a>(
        &self,
        entry: &'a Entry,
        mut st: MutexGuard<'a, State>,
        generation: u64,
        wait_bound: Duration,
    ) -> Result<MutexGuard<'a, State>> {
        let deadline = Instant::now() + wait_bound;
        while st.generation == generation {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout {
                    role_arn: entry.spec.role_arn.clone(),
                    waited: wait_bound,
                });
            }
            st = entry
                .changed
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        Ok(st)
    }

    /// Marks a fetch under way (under the entry's lock) and makes its task, which
    /// [`SessionCache::launch`] hands to the runtime once the lock is released: a runtime that
    /// cannot take a task drops it or hands it back on the caller's thread, and the end of a
    /// fetch takes the entry's lock (it used to be spawned under the lock, and such a caller hung).
    fn begin_fetch(
        &self,
        entry: &Arc<Entry>,
        st: &mut State,
        min_expiration: SystemTime,
        refusal_ttl: Duration,
    ) -> Begun {
        st.fetching = true;
        st.refusal_ttl = refusal_ttl;
        tracing::debug!(role = %entry.spec.role_arn, session = %entry.spec.session_name, "fetching a new session");
        let fetch = self.fetcher.fetch(
            &entry.spec,
            min_expiration,
            refusal_ttl,
            entry.stats.clone(),
        );
        let mut guard = FetchGuard {
            entry: entry.clone(),
            generation: st.generation,
            clock: self.clock.clone(),
            options: self.options,
            done: false,
        };
        Begun {
            generation: st.generation,
            task: Box::pin(async move {
                let result = fetch.await;
                guard.complete(result);
            }),
        }
    }

    /// Hands a begun fetch to the runtime; called without the entry's lock. If the runtime
    /// cannot take it, the fetch fails now with the runtime's reason, as any failed fetch does
    /// (waiters get the error, the backoff applies, and the next fetch after it tries the runtime
    /// again).
    fn launch(&self, entry: &Entry, fetch: Begun) {
        if let Err(refused) = self.spawner.spawn(fetch.task) {
            entry.complete(
                fetch.generation,
                Err(Error::Runtime {
                    role_arn: entry.spec.role_arn.clone(),
                    detail: refused.reason,
                }),
                &*self.clock,
                &self.options,
            );
            drop(refused.task); // its guard finds the fetch complete
        }
    }
}

/// A fetch marked under way whose task is not yet with the runtime.
struct Begun {
    /// The entry's generation when the fetch began; its completion moves it on.
    generation: u64,
    task: BoxFuture<()>,
}

/// Somewhere in [d/2, d]: spreads the retries of many processes that failed together. The
/// randomness is `RandomState`'s: each one is keyed afresh.
fn jittered(d: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let fraction = (std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        % 1_000) as u32;
    d / 2 + d / 2 * fraction / 1_000
}

/// Somewhere in [d - d/10, d]: a refusal's TTL, shortened a little so that the nodes that were
/// refused together do not all ask again in the same second.
pub fn refusal_jittered(d: Duration) -> Duration {
    d - (d / 5 - jittered(d / 5))
}

/// Backoff after throttling: this, doubling with each throttled fetch in a row up to
/// [`THROTTLE_BACKOFF_MAX`], each jittered to between half and all of it. The AWS SDK has already
/// retried the call (with its own jittered backoff) before it counts as throttled.
pub const THROTTLE_BACKOFF_MIN: Duration = Duration::from_secs(4);
pub const THROTTLE_BACKOFF_MAX: Duration = Duration::from_secs(128);

/// The backoff after the `throttles`-th throttled fetch in a row (from 1), jittered.
pub fn throttle_backoff(throttles: u32) -> Duration {
    jittered(
        THROTTLE_BACKOFF_MIN
            .saturating_mul(1 << throttles.saturating_sub(1).min(16))
            .min(THROTTLE_BACKOFF_MAX),
    )
}

impl Entry {
    /// How long no new fetch starts after `e`, the error of the `failures`-th failed fetch in a
    /// row, and the error callers get until then (a refusal or throttling with its note).
    fn backoff_after(
        &self,
        e: Error,
        failures: u32,
        refusal_ttl: Duration,
        clock: &dyn Clock,
        options: &CacheOptions,
    ) -> (Duration, Error) {
        let now = clock.now();
        match e.remembered_until() {
            // Remembered by the node cache: until its record ends, never longer than this
            // process would remember it itself.
            Some(until) => {
                let cap = if e.is_throttling() {
                    THROTTLE_BACKOFF_MAX
                } else {
                    refusal_ttl
                };
                let left = until.duration_since(now).unwrap_or_default().min(cap);
                (left, e)
            }
            None if e.is_refusal() && !refusal_ttl.is_zero() => {
                let left = refusal_jittered(refusal_ttl);
                let place = "in this process";
                (
                    left,
                    Error::remembered(e, now + left, place, refusal_ttl, 0, None),
                )
            }
            None if e.is_throttling() => {
                let left = throttle_backoff(failures);
                let place = "in this process";
                let e = Error::remembered(e, now + left, place, refusal_ttl, failures, None);
                (left, e)
            }
            None => {
                let backoff = jittered(
                    options
                        .backoff_min
                        .saturating_mul(1 << (failures - 1).min(16))
                        .min(options.backoff_max),
                );
                (backoff, e)
            }
        }
    }

    /// Completes the fetch that began at `generation` with `result`, unless it has completed
    /// already (the generation moves on only here, and no fetch begins while one is under way,
    /// so each fetch completes exactly once). Wakes every waiter.
    fn complete(
        &self,
        generation: u64,
        result: Result<Session>,
        clock: &dyn Clock,
        options: &CacheOptions,
    ) {
        let mut st = self.lock();
        if !st.fetching || st.generation != generation {
            return;
        }
        st.fetching = false;
        st.generation += 1;
        st.fetches += 1;
        match result {
            Ok(session) => {
                tracing::info!(
                    role = %self.spec.role_arn,
                    session = %self.spec.session_name,
                    access_key_id = %session.access_key_id,
                    expiration = ?session.expiration,
                    "new session"
                );
                st.session = Some(Arc::new(session));
                st.had_at = Some(clock.now());
                st.last_error = None;
                st.failures = 0;
                st.retry_at = None;
                st.refused_at = None;
            }
            Err(e) => {
                st.failures = st.failures.saturating_add(1);
                let (backoff, e) =
                    self.backoff_after(e, st.failures, st.refusal_ttl, clock, options);
                tracing::warn!(
                    role = %self.spec.role_arn,
                    failures = st.failures,
                    retry_in = ?backoff,
                    "no new session: {e}"
                );
                st.retry_at = Some(clock.instant() + backoff);
                st.refused_at = e.is_refusal().then(|| clock.instant());
                self.stats.error(e.code());
                st.last_error = Some(e);
            }
        }
        drop(st);
        self.changed.notify_all();
    }
}

/// Completes a fetch with its result, or, if the task is dropped or panics before that, with an
/// error, so that waiters are woken and later calls can fetch again.
struct FetchGuard {
    entry: Arc<Entry>,
    generation: u64,
    clock: Arc<dyn Clock>,
    options: CacheOptions,
    done: bool,
}

impl FetchGuard {
    fn complete(&mut self, result: Result<Session>) {
        self.done = true;
        self.entry
            .complete(self.generation, result, &*self.clock, &self.options);
    }
}

impl Drop for FetchGuard {
    fn drop(&mut self) {
        if !self.done {
            self.complete(Err(Error::Internal(
                "the STS fetch ended without a result".into(),
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::runtime::Refused;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Barrier;
    use std::thread;

    const T0: Duration = Duration::from_secs(1_800_000_000);

    /// Hands out sessions of `duration` from the manual clock, counting calls; can be told to fail
    /// or to take a while.
    struct FakeSts {
        clock: Arc<ManualClock>,
        duration: Duration,
        calls: AtomicU64,
        fail: Mutex<Option<Error>>,
        delay: Duration,
    }

    impl FakeSts {
        /// 15-minute sessions, no failure, each fetch taking `delay`.
        fn new(clock: Arc<ManualClock>, delay: Duration) -> Arc<FakeSts> {
            Arc::new(FakeSts {
                clock,
                duration: Duration::from_secs(900),
                calls: AtomicU64::new(0),
                fail: Mutex::new(None),
                delay,
            })
        }
    }

    impl FetchSession for FakeSts {
        fn fetch(
            &self,
            _spec: &SessionSpec,
            _min_expiration: SystemTime,
            _refusal_ttl: Duration,
            _stats: Arc<SessionStats>,
        ) -> BoxFuture<Result<Session>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let result = match self.fail.lock().unwrap().clone() {
                Some(e) => Err(e),
                None => Ok(Session {
                    access_key_id: format!("ASIA{n:016}"),
                    secret_access_key: "secret".into(),
                    session_token: "token".into(),
                    expiration: self.clock.now() + self.duration,
                }),
            };
            let delay = self.delay;
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                result
            })
        }
    }

    struct Fixture {
        clock: Arc<ManualClock>,
        sts: Arc<FakeSts>,
        cache: SessionCache,
        entry: Arc<Entry>,
        _rt: tokio::runtime::Runtime,
    }

    fn spec(name: &str) -> SessionSpec {
        SessionSpec {
            source: Source::DefaultChain,
            chain: vec![],
            role_arn: "arn:aws:iam::222222222222:role/writer".into(),
            source_identity: None,
            tags: vec![],
            transitive_tag_keys: vec![],
            external_id: Some("ext".into()),
            session_name: name.into(),
            duration_secs: 900,
            policy: None,
            policy_arns: vec![],
            sts: StsTarget {
                region: Some("us-east-1".into()),
                endpoint: None,
                timeout: Duration::from_secs(30),
                proxies: Default::default(),
            },
            shared_dir: None,
            source_only: false,
        }
    }

    fn fixture(delay: Duration) -> Fixture {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH + T0));
        let sts = FakeSts::new(clock.clone(), delay);
        let cache = SessionCache::new(
            sts.clone(),
            clock.clone(),
            Arc::new(rt.handle().clone()),
            CacheOptions::default(),
        );
        let entry = cache.entry(spec("s1"));
        Fixture {
            clock,
            sts,
            cache,
            entry,
            _rt: rt,
        }
    }

    /// Waits (real time, bounded) until the fake STS has completed `n` fetches.
    fn settle(f: &Fixture, n: u64) {
        let until = Instant::now() + Duration::from_secs(5);
        while f.entry.fetches() < n {
            assert!(Instant::now() < until, "fetch {n} never completed");
            thread::sleep(Duration::from_millis(2));
        }
    }

    const R: Timing = Timing {
        refresh_ahead: Duration::from_secs(300),
        wait_bound: Duration::from_secs(5),
        refusal_ttl: Duration::from_secs(300),
    };

    /// What the fake STS answers when told to fail: a refusal.
    fn access_denied() -> Error {
        Error::Sts {
            role_arn: "r".into(),
            code: "AccessDenied".into(),
            message: "no".into(),
            hint: String::new(),
            retryable: false,
        }
    }

    #[test]
    fn counts_answers_from_memory_waiting_callers_and_the_last_error() {
        let f = fixture(Duration::ZERO);
        f.cache.get(&f.entry, R).unwrap(); // no session: waits for the first fetch
        f.cache.get(&f.entry, R).unwrap();
        f.cache.get(&f.entry, R).unwrap();
        let s = f.entry.snapshot(f.clock.now());
        assert_eq!((s.waited, s.from_memory), (1, 2));
        assert_eq!((s.seconds_to_expiry, s.session_age), (Some(900), Some(0)));
        assert_eq!(s.last_error_code, None);
        f.clock.advance(Duration::from_secs(100));
        let s = f.entry.snapshot(f.clock.now());
        assert_eq!((s.seconds_to_expiry, s.session_age), (Some(800), Some(100)));

        let refused = f.cache.entry(spec("s2"));
        assert_eq!(refused.snapshot(f.clock.now()).seconds_to_expiry, None);
        *f.sts.fail.lock().unwrap() = Some(access_denied());
        f.cache.get(&refused, R).unwrap_err();
        let s = refused.snapshot(f.clock.now());
        assert_eq!(s.last_error_code.as_deref(), Some("AccessDenied"));
        assert!(s.last_error_at.is_some());
        assert_eq!((s.waited, s.from_memory, s.seconds_to_expiry), (1, 0, None));
        // a forced refresh is a wait, and its answer no answer from memory
        *f.sts.fail.lock().unwrap() = None;
        f.cache.refresh(&f.entry, R).unwrap();
        let s = f.entry.snapshot(f.clock.now());
        assert_eq!((s.waited, s.from_memory), (2, 2));
    }

    #[test]
    fn first_call_fetches_then_serves_from_cache() {
        let f = fixture(Duration::ZERO);
        let h1 = f.cache.get(&f.entry, R).unwrap();
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 1);
        assert_eq!(h1.ask_again_at, h1.session.expiration - R.refresh_ahead);
        f.clock.advance(Duration::from_secs(599));
        let h2 = f.cache.get(&f.entry, R).unwrap();
        assert!(Arc::ptr_eq(&h1.session, &h2.session));
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn refreshes_ahead_in_the_background_without_making_callers_wait() {
        let f = fixture(Duration::from_millis(200));
        let first = f.cache.get(&f.entry, R).unwrap();
        f.clock.advance(Duration::from_secs(600)); // exactly E - R
        let started = Instant::now();
        let h = f.cache.get(&f.entry, R).unwrap();
        assert!(
            started.elapsed() < Duration::from_millis(150),
            "caller waited for the refresh"
        );
        assert!(
            Arc::ptr_eq(&h.session, &first.session),
            "the current session is still handed out"
        );
        assert_eq!(h.ask_again_at, f.clock.now() + Duration::from_secs(1));
        // more callers during the refresh start no second fetch
        for _ in 0..10 {
            f.cache.get(&f.entry, R).unwrap();
        }
        settle(&f, 2);
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2);
        let fresh = f.cache.get(&f.entry, R).unwrap();
        assert_ne!(fresh.session.access_key_id, first.session.access_key_id);
        assert_eq!(
            fresh.session.expiration,
            f.clock.now() + Duration::from_secs(900)
        );
    }

    #[test]
    fn never_hands_out_a_session_within_a_minute_of_expiry() {
        let f = fixture(Duration::ZERO);
        *f.sts.fail.lock().unwrap() = None;
        let first = f.cache.get(&f.entry, R).unwrap();
        // STS fails from now on; the background refresh at E - R fails.
        *f.sts.fail.lock().unwrap() = Some(Error::Transport {
            role_arn: "r".into(),
            endpoint: "e".into(),
            detail: "connection refused".into(),
        });
        f.clock.advance(Duration::from_secs(600));
        let h = f.cache.get(&f.entry, R).unwrap();
        assert!(Arc::ptr_eq(&h.session, &first.session));
        settle(&f, 2);
        // still served until one minute before expiry; "ask again" never points past E - 60 s
        f.clock.advance(Duration::from_secs(239)); // E - 61 s
        let h = f.cache.get(&f.entry, R).unwrap();
        assert!(Arc::ptr_eq(&h.session, &first.session));
        assert!(h.ask_again_at <= first.session.expiration - MIN_REMAINING_VALIDITY);
        f.clock.advance(Duration::from_secs(1)); // E - 60 s
        let err = f.cache.get(&f.entry, R).unwrap_err();
        assert_eq!(err.code(), "NetworkError");
        // STS recovers: the next call (after the backoff) waits for and gets a new session
        *f.sts.fail.lock().unwrap() = None;
        f.clock.advance(Duration::from_secs(30));
        let h = f.cache.get(&f.entry, R).unwrap();
        assert_ne!(h.session.access_key_id, first.session.access_key_id);
    }

    #[test]
    fn expired_session_makes_the_caller_wait_for_a_new_one() {
        let f = fixture(Duration::from_millis(50));
        let first = f.cache.get(&f.entry, R).unwrap();
        f.clock.advance(Duration::from_secs(10_000));
        let h = f.cache.get(&f.entry, R).unwrap();
        assert_ne!(h.session.access_key_id, first.session.access_key_id);
        assert!(h.session.expiration > f.clock.now() + MIN_REMAINING_VALIDITY);
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2);
    }

    /// A network failure: transient, never remembered past its short backoff.
    fn network_error() -> Error {
        Error::Transport {
            role_arn: "r".into(),
            endpoint: "e".into(),
            detail: "connection refused".into(),
        }
    }

    fn throttled() -> Error {
        Error::Sts {
            role_arn: "r".into(),
            code: "Throttling".into(),
            message: "Rate exceeded (HTTP 400)".into(),
            hint: String::new(),
            retryable: true,
        }
    }

    #[test]
    fn failure_without_a_session_fails_fast_during_backoff() {
        let f = fixture(Duration::ZERO);
        *f.sts.fail.lock().unwrap() = Some(network_error());
        assert_eq!(f.cache.get(&f.entry, R).unwrap_err().code(), "NetworkError");
        assert_eq!(f.cache.get(&f.entry, R).unwrap_err().code(), "NetworkError");
        assert_eq!(
            f.sts.calls.load(Ordering::SeqCst),
            1,
            "second call within the backoff reuses the error"
        );
        f.clock.advance(Duration::from_secs(1));
        assert!(f.cache.get(&f.entry, R).is_err());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2);
    }

    /// The backoff is measured on the monotonic clock: a wall-clock step back does not stretch it
    /// (on the wall clock, a step back by an hour held every caller on the last error for an
    /// hour), and a step forward does not cut it short.
    #[test]
    fn backoff_is_measured_on_the_monotonic_clock() {
        let f = fixture(Duration::ZERO);
        *f.sts.fail.lock().unwrap() = Some(network_error());
        assert!(f.cache.get(&f.entry, R).is_err());
        f.clock.step_wall(Duration::from_secs(3600));
        assert!(f.cache.get(&f.entry, R).is_err());
        assert_eq!(
            f.sts.calls.load(Ordering::SeqCst),
            1,
            "a step forward does not end the backoff"
        );
        *f.sts.fail.lock().unwrap() = None;
        f.clock.step_wall_back(Duration::from_secs(7200));
        f.clock.advance(Duration::from_secs(1)); // the backoff (at most 1 s) is over
        assert!(
            f.cache.get(&f.entry, R).is_ok(),
            "a step back does not stretch it"
        );
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2);
    }

    /// Issue 19, item 4: a refusal is remembered for rolebridge.refusal.ttl (less up to a tenth):
    /// every caller fails at once with STS's words and the note, no STS call until then; then
    /// STS is asked again, and a fix is seen.
    #[test]
    fn a_refusal_is_remembered_for_the_ttl() {
        let f = fixture(Duration::ZERO);
        *f.sts.fail.lock().unwrap() = Some(access_denied());
        let first = f.cache.get(&f.entry, R).unwrap_err();
        assert_eq!(first.code(), "AccessDenied");
        assert!(!first.is_retryable());
        let text = first.to_string();
        assert!(
            text.contains("AccessDenied: no")
                && text.contains("Remembered in this process until")
                && text.contains("rolebridge.refusal.ttl, 300s"),
            "{text}"
        );
        let until = first.remembered_until().unwrap();
        assert!(until >= f.clock.now() + Duration::from_secs(270));
        assert!(until <= f.clock.now() + Duration::from_secs(300));
        for _ in 0..100 {
            assert_eq!(f.cache.get(&f.entry, R).unwrap_err(), first);
        }
        assert!(f.cache.refresh(&f.entry, R).is_err(), "refresh() too");
        f.clock.advance(Duration::from_secs(269));
        assert_eq!(f.cache.get(&f.entry, R).unwrap_err(), first);
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 1, "one call in the TTL");
        // the trust policy is fixed: seen at the end of the TTL at the latest
        *f.sts.fail.lock().unwrap() = None;
        f.clock.advance(Duration::from_secs(31));
        assert!(f.cache.get(&f.entry, R).is_ok());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2);
    }

    /// rolebridge.refusal.ttl=0: a refusal is not remembered, only the short backoff applies.
    #[test]
    fn each_caller_remembers_a_refusal_no_longer_than_its_own_ttl() {
        // Two settings sets that differ only in rolebridge.refusal.ttl share the entry.
        let f = fixture(Duration::ZERO);
        *f.sts.fail.lock().unwrap() = Some(access_denied());
        let short = Timing {
            refusal_ttl: Duration::from_secs(60),
            ..R
        };
        let none = Timing {
            refusal_ttl: Duration::ZERO,
            ..R
        };
        assert!(f.cache.get(&f.entry, R).is_err()); // remembered for ~5 min
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 1);
        assert!(f.cache.get(&f.entry, short).is_err());
        assert_eq!(
            f.sts.calls.load(Ordering::SeqCst),
            1,
            "within the short TTL too"
        );
        assert!(f.cache.get(&f.entry, none).is_err());
        assert_eq!(
            f.sts.calls.load(Ordering::SeqCst),
            2,
            "refusal.ttl=0 asks STS"
        );
        f.clock.advance(Duration::from_secs(61));
        assert!(f.cache.get(&f.entry, short).is_err());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 3, "past the short TTL");
    }

    #[test]
    fn a_zero_ttl_remembers_no_refusal() {
        let f = fixture(Duration::ZERO);
        let off = Timing {
            refusal_ttl: Duration::ZERO,
            ..R
        };
        *f.sts.fail.lock().unwrap() = Some(access_denied());
        let e = f.cache.get(&f.entry, off).unwrap_err();
        assert_eq!(e.remembered_until(), None);
        assert!(!e.to_string().contains("Remembered"), "{e}");
        f.clock.advance(Duration::from_secs(1));
        assert!(f.cache.get(&f.entry, off).is_err());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2);
    }

    /// A refusal the node cache remembered (another process was refused) holds until its record
    /// ends, not a TTL more: a fixed trust policy is seen within one TTL of the refusal.
    #[test]
    fn a_refusal_remembered_on_the_node_holds_until_its_record_ends() {
        let f = fixture(Duration::ZERO);
        let until = f.clock.now() + Duration::from_secs(40);
        let e = Error::remembered(
            access_denied(),
            until,
            "on this node (rolebridge.cache.dir)",
            R.refusal_ttl,
            0,
            None,
        );
        *f.sts.fail.lock().unwrap() = Some(e);
        let got = f.cache.get(&f.entry, R).unwrap_err();
        assert!(got.to_string().contains("on this node"), "{got}");
        f.clock.advance(Duration::from_secs(39));
        assert!(f.cache.get(&f.entry, R).is_err());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 1);
        *f.sts.fail.lock().unwrap() = None;
        f.clock.advance(Duration::from_secs(1));
        assert!(f.cache.get(&f.entry, R).is_ok());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2);
    }

    /// A process with a valid session keeps using it while STS refuses the refresh, until a
    /// minute before expiry; then callers get the remembered refusal, without another call.
    #[test]
    fn a_valid_session_is_used_while_the_refusal_is_remembered() {
        let f = fixture(Duration::ZERO);
        let first = f.cache.get(&f.entry, R).unwrap();
        *f.sts.fail.lock().unwrap() = Some(access_denied());
        f.clock.advance(Duration::from_secs(600)); // E - R: the refresh is refused
        assert!(Arc::ptr_eq(
            &f.cache.get(&f.entry, R).unwrap().session,
            &first.session
        ));
        settle(&f, 2);
        f.clock.advance(Duration::from_secs(239)); // E - 61 s
        assert!(Arc::ptr_eq(
            &f.cache.get(&f.entry, R).unwrap().session,
            &first.session
        ));
        f.clock.advance(Duration::from_secs(1));
        let e = f.cache.get(&f.entry, R).unwrap_err();
        assert_eq!(e.code(), "AccessDenied");
        assert!(e.to_string().contains("Remembered"), "{e}");
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2);
    }

    /// Throttling backs off exponentially, jittered: 4 s, then 8 s, ... each between half and
    /// all of it; transient errors keep their short backoff.
    #[test]
    fn throttling_backs_off_exponentially() {
        let f = fixture(Duration::ZERO);
        *f.sts.fail.lock().unwrap() = Some(throttled());
        let e = f.cache.get(&f.entry, R).unwrap_err();
        assert_eq!(e.code(), "Throttling");
        assert!(e.is_retryable() && e.is_throttling() && !e.is_refusal());
        assert!(
            e.to_string()
                .contains("STS throttled 1 AssumeRole call(s) in a row"),
            "{e}"
        );
        f.clock.advance(Duration::from_millis(1_999));
        assert!(f.cache.get(&f.entry, R).is_err());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 1, "at least 2 s");
        f.clock.advance(Duration::from_millis(2_001));
        assert!(f.cache.get(&f.entry, R).is_err());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2, "at most 4 s");
        f.clock.advance(Duration::from_millis(3_999));
        assert!(f.cache.get(&f.entry, R).is_err());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2, "then at least 4 s");
        f.clock.advance(Duration::from_millis(4_001));
        assert!(f.cache.get(&f.entry, R).is_err());
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 3, "at most 8 s");
        for n in 1..=10 {
            let b = throttle_backoff(n);
            assert!(
                b <= THROTTLE_BACKOFF_MAX && b >= THROTTLE_BACKOFF_MIN / 2,
                "{n}: {b:?}"
            );
        }
        assert!(throttle_backoff(10) >= THROTTLE_BACKOFF_MAX / 2);
    }

    #[test]
    fn refresh_forces_a_new_session() {
        let f = fixture(Duration::ZERO);
        let a = f.cache.get(&f.entry, R).unwrap();
        let b = f.cache.refresh(&f.entry, R).unwrap();
        assert_ne!(a.session.access_key_id, b.session.access_key_id);
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn different_specs_get_different_entries_and_same_specs_share() {
        let f = fixture(Duration::ZERO);
        assert!(Arc::ptr_eq(&f.entry, &f.cache.entry(spec("s1"))));
        let other = f.cache.entry(spec("s2"));
        assert!(!Arc::ptr_eq(&f.entry, &other));
        let a = f.cache.get(&f.entry, R).unwrap();
        let b = f.cache.get(&other, R).unwrap();
        assert_ne!(a.session.access_key_id, b.session.access_key_id);
    }

    #[test]
    fn many_threads_one_fetch() {
        let f = Arc::new(fixture(Duration::from_millis(100)));
        let threads = 16 * 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let f = f.clone();
                let barrier = barrier.clone();
                thread::spawn(move || {
                    let entry = f.cache.entry(spec("s1"));
                    barrier.wait();
                    f.cache
                        .get(&entry, R)
                        .unwrap()
                        .session
                        .access_key_id
                        .clone()
                })
            })
            .collect();
        let keys: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(f.sts.calls.load(Ordering::SeqCst), 1);
        assert!(keys.iter().all(|k| *k == keys[0]));
    }

    #[test]
    fn a_fetch_that_never_completes_is_bounded() {
        let f = fixture(Duration::from_secs(3600));
        let entry = f.cache.entry(spec("slow"));
        let started = Instant::now();
        let bounded = Timing {
            wait_bound: Duration::from_millis(200),
            ..R
        };
        let err = f.cache.get(&entry, bounded).unwrap_err();
        assert_eq!(err.code(), "Timeout");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    /// Runs `call` on a thread of its own and waits at most 5 s for its result: a call that
    /// hangs fails the test instead of hanging it.
    fn within_5s<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(call());
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("the call hung (a deadlock?)")
    }

    /// A runtime that cannot take a task and drops it on the caller's thread, saying nothing.
    struct DropsTasks;

    impl Spawn for DropsTasks {
        fn spawn(&self, task: BoxFuture<()>) -> std::result::Result<(), Refused> {
            drop(task);
            Ok(())
        }
    }

    /// A runtime that hands tasks back (it cannot start its thread) while `refuse` is set, and
    /// runs them on `runtime` after that.
    struct RefusesWhile {
        refuse: std::sync::atomic::AtomicBool,
        runtime: tokio::runtime::Handle,
    }

    impl Spawn for RefusesWhile {
        fn spawn(&self, task: BoxFuture<()>) -> std::result::Result<(), Refused> {
            if self.refuse.load(Ordering::SeqCst) {
                return Err(Refused {
                    task,
                    reason: "its runtime thread could not be started: Resource temporarily \
                             unavailable (os error 11)"
                        .into(),
                });
            }
            Spawn::spawn(&self.runtime, task)
        }
    }

    fn cache_on(spawner: Arc<dyn Spawn>) -> (Arc<ManualClock>, Arc<SessionCache>) {
        let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH + T0));
        let sts = FakeSts::new(clock.clone(), Duration::ZERO);
        let cache = SessionCache::new(sts, clock.clone(), spawner, CacheOptions::default());
        (clock, Arc::new(cache))
    }

    /// Issue 15, item 8: a task dropped on the caller's thread (a runtime shut down, or unable
    /// to start its thread) used to complete the fetch there while the entry's lock was held:
    /// the caller hung, and so did every later caller of the entry.
    #[test]
    fn a_task_dropped_by_the_runtime_is_an_error_not_a_hang() {
        let (clock, cache) = cache_on(Arc::new(DropsTasks));
        let entry = cache.entry(spec("dropped"));
        for _ in 0..2 {
            let (c, e) = (cache.clone(), entry.clone());
            let err = within_5s(move || c.get(&e, R)).unwrap_err();
            assert_eq!(err.code(), "InternalError", "{err}");
            clock.advance(Duration::from_secs(1)); // past the backoff: the next call tries again
        }
    }

    /// Issue 15, item 8: a runtime that cannot take a fetch says why, and the caller gets that
    /// (an error the JNI layer maps, so the failure mode applies) at once; after the backoff the
    /// next caller tries the runtime again.
    #[test]
    fn a_runtime_that_refuses_a_fetch_is_a_clear_error_and_is_tried_again() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let spawner = Arc::new(RefusesWhile {
            refuse: true.into(),
            runtime: rt.handle().clone(),
        });
        let (clock, cache) = cache_on(spawner.clone());
        let entry = cache.entry(spec("refused"));
        for _ in 0..2 {
            let (c, e) = (cache.clone(), entry.clone());
            let err = within_5s(move || c.get(&e, R)).unwrap_err();
            assert_eq!(err.code(), "RuntimeUnavailable");
            assert!(err.is_retryable());
            let text = err.to_string();
            assert!(
                text.contains("role/writer")
                    && text.contains("runtime thread could not be started"),
                "{text}"
            );
        }
        spawner.refuse.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(1));
        let (c, e) = (cache.clone(), entry.clone());
        assert!(within_5s(move || c.get(&e, R)).is_ok());
        // refresh() takes the same path
        spawner.refuse.store(true, Ordering::SeqCst);
        let (c, e) = (cache.clone(), entry.clone());
        let err = within_5s(move || c.refresh(&e, R)).unwrap_err();
        assert_eq!(err.code(), "RuntimeUnavailable");
    }

    /// Issue 15, item 8, on the library's own kind of runtime: once it is shut down (the library
    /// is unloading) it refuses a fetch, and the caller gets that reason at once.
    #[test]
    fn a_runtime_shut_down_fails_the_call_at_once() {
        let rt = crate::runtime::Threads::for_test("rb-test-shut");
        let (clock, cache) = cache_on(Arc::new(rt));
        let entry = cache.entry(spec("shut-down"));
        let (c, e) = (cache.clone(), entry.clone());
        assert!(within_5s(move || c.get(&e, R)).is_ok());
        assert!(rt.shutdown(Box::new(())));
        clock.advance(Duration::from_secs(10_000)); // the session has expired
        let err = within_5s(move || cache.get(&entry, R)).unwrap_err();
        assert_eq!(err.code(), "RuntimeUnavailable", "{err}");
        assert!(err.to_string().contains("unloaded"), "{err}");
    }

    #[test]
    fn a_refusals_ttl_is_shortened_by_at_most_a_tenth() {
        let d = Duration::from_secs(300);
        let samples: Vec<Duration> = (0..200).map(|_| refusal_jittered(d)).collect();
        assert!(samples.iter().all(|s| *s >= d - d / 10 && *s <= d));
        let distinct: std::collections::HashSet<_> = samples.iter().collect();
        assert!(distinct.len() > 20, "{} distinct values", distinct.len());
    }

    #[test]
    fn backoff_is_jittered_within_half_to_full() {
        let d = Duration::from_secs(8);
        let samples: Vec<Duration> = (0..200).map(|_| jittered(d)).collect();
        assert!(samples.iter().all(|s| *s >= d / 2 && *s <= d));
        let distinct: std::collections::HashSet<_> = samples.iter().collect();
        assert!(
            distinct.len() > 20,
            "jitter spreads retries: {} distinct values",
            distinct.len()
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let s = Session {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI".into(),
            session_token: "FwoGZXIvYXdz".into(),
            expiration: SystemTime::UNIX_EPOCH,
        };
        let shown = format!("{s:?}");
        assert!(shown.contains("ASIAEXAMPLE"));
        assert!(!shown.contains("wJalrXUtnFEMI") && !shown.contains("FwoGZXIvYXdz"));
    }
}
