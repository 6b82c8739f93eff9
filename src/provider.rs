//! The library's front door: a provider is validated settings plus its entry in the session cache.
//! The JNI layer is one client of this module; a command-line tool can be another.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cache::{CacheOptions, Entry, Handout, SessionCache, SessionSpec, Timing};
use crate::clock::SystemClock;
use crate::error::Result;
use crate::settings::{self, FailureMode, RawSettings, Settings, Signer};
use crate::sts::StsFetcher;

/// The process-wide cache that all providers of this process share, made on first use and
/// dropped by [`unload`].
static GLOBAL: Mutex<Option<Arc<SessionCache>>> = Mutex::new(None);

/// How much longer than one STS call (rolebridge.sts.timeout) a caller may wait: the call's own
/// bound covers its retries; this covers handing the result over.
const WAIT_SLACK: Duration = Duration::from_secs(2);

pub fn global_cache() -> Arc<SessionCache> {
    GLOBAL
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(|| {
            crate::logging::init();
            Arc::new(SessionCache::new(
                Arc::new(StsFetcher::new()),
                Arc::new(SystemClock),
                Arc::new(crate::runtime::LibraryRuntime),
                CacheOptions::default(),
            ))
        })
        .clone()
}

/// The figures of the session whose identity ([`Provider::session_id`]) is `id`, if this copy
/// of the library has it.
pub fn stats_of(id: i64) -> Option<crate::metrics::Snapshot> {
    let cache = GLOBAL.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
    let entry = cache.entry_by_id(id as usize)?;
    Some(entry.snapshot(std::time::SystemTime::now()))
}

/// Ends everything this copy of the library runs, before the JVM unmaps it (the class loader that
/// loaded it was collected, so no provider of it can be used again): drops the process-wide cache,
/// its sessions and STS clients, and stops the runtime's threads. Returns false if a runtime
/// thread may still be running (see [`crate::runtime::shutdown`]).
pub fn unload() -> bool {
    let cache = GLOBAL.lock().unwrap_or_else(|p| p.into_inner()).take();
    crate::runtime::shutdown(Box::new(cache))
}

pub struct Provider {
    signer: Signer,
    cache: Arc<SessionCache>,
    entry: Arc<Entry>,
}

impl Provider {
    /// Validates `raw` and attaches to the process-wide cache. Makes no network call.
    pub fn open(raw: &RawSettings) -> Result<Provider> {
        Ok(Self::for_signer(
            settings::resolve_signer(raw)?,
            global_cache(),
        ))
    }

    /// A provider that assumes the role of `settings`.
    pub fn with_cache(settings: Settings, cache: Arc<SessionCache>) -> Provider {
        Self::for_signer(Signer::Role(Box::new(settings)), cache)
    }

    pub fn for_signer(signer: Signer, cache: Arc<SessionCache>) -> Provider {
        let spec = match &signer {
            Signer::Role(s) => SessionSpec::from_settings(s),
            Signer::Source(s) => SessionSpec::source_only(&s.sts),
        };
        let entry = cache.entry(spec);
        Provider {
            signer,
            cache,
            entry,
        }
    }

    fn timing(&self) -> Timing {
        let (refresh_ahead, sts_timeout, refusal_ttl) = match &self.signer {
            Signer::Role(s) => (s.refresh_ahead, s.sts.timeout, s.refusal_ttl),
            // The source credentials come from the default chain, not an AssumeRole that STS
            // could refuse.
            Signer::Source(s) => (s.refresh_ahead, s.sts.timeout, Duration::ZERO),
        };
        Timing {
            refresh_ahead,
            wait_bound: sts_timeout + WAIT_SLACK,
            refusal_ttl,
        }
    }

    /// A valid session: cached, or fetched now if there is none.
    pub fn credentials(&self) -> Result<Handout> {
        self.cache.get(&self.entry, self.timing())
    }

    /// A new session, fetched now.
    pub fn refresh(&self) -> Result<Handout> {
        self.cache.refresh(&self.entry, self.timing())
    }

    /// The identity of this provider's session (its cache entry), equal for every provider of
    /// the same entry while this copy of the library is loaded: entries are never removed.
    pub fn session_id(&self) -> i64 {
        Arc::as_ptr(&self.entry) as usize as i64
    }

    /// The role and the session name this provider's session goes by, for metric names: the
    /// role (the last of a chain), or for the source credentials what messages name them by.
    pub fn labels(&self) -> (String, String) {
        match &self.signer {
            Signer::Role(s) => (s.role_arn.clone(), s.session_name.clone()),
            Signer::Source(_) => (crate::cache::SOURCE_ONLY.to_owned(), String::new()),
        }
    }

    pub fn fails_open(&self) -> bool {
        let mode = match &self.signer {
            Signer::Role(s) => s.failure_mode,
            Signer::Source(s) => s.failure_mode,
        };
        mode == FailureMode::Open
    }

    /// The settings of the role this provider assumes; `None` when it hands out the source
    /// credentials (`rolebridge.unmapped.buckets=source`).
    pub fn settings(&self) -> Option<&Settings> {
        match &self.signer {
            Signer::Role(s) => Some(s),
            Signer::Source(_) => None,
        }
    }

    /// Role (and chain), session name and user, for `toString()` and logs. Never a secret.
    pub fn describe(&self) -> String {
        let failure_mode = if self.fails_open() { "open" } else { "closed" };
        let user =
            |u: &Option<String>| u.as_ref().map(|u| format!(" user={u}")).unwrap_or_default();
        let s = match &self.signer {
            Signer::Role(s) => s,
            Signer::Source(s) => {
                return format!(
                    "source credentials (rolebridge.unmapped.buckets=source: no role applies to \
                     bucket {}){} failure.mode={failure_mode}",
                    s.bucket.as_deref().unwrap_or("(none)"),
                    user(&s.user),
                )
            }
        };
        let chain = match s.chain.is_empty() {
            true => String::new(),
            false => format!(
                " chain={}",
                s.chain
                    .iter()
                    .map(|h| h.role_arn.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        format!(
            "role={}{chain} session={}{} sts={} failure.mode={failure_mode}",
            s.role_arn,
            s.session_name,
            user(&s.user),
            s.sts.describe_route(),
        )
    }
}
