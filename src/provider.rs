//! The library's front door: a provider is validated settings plus its entry in the session cache.
//! The JNI layer is one client of this module; a command-line tool can be another.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use crate::cache::{CacheOptions, Entry, Handout, SessionCache, SessionSpec};
use crate::clock::SystemClock;
use crate::error::Result;
use crate::settings::{self, RawSettings, Settings};
use crate::sts::{StsFetcher, CALL_TIMEOUT};

/// The process-wide cache that all providers of this process share.
static GLOBAL: LazyLock<Arc<SessionCache>> = LazyLock::new(|| {
    Arc::new(SessionCache::new(
        Arc::new(StsFetcher::new()),
        Arc::new(SystemClock),
        crate::runtime::handle(),
        CacheOptions {
            // one STS call's bound plus time to resolve source credentials
            wait_bound: CALL_TIMEOUT + Duration::from_secs(15),
            ..CacheOptions::default()
        },
    ))
});

pub fn global_cache() -> Arc<SessionCache> {
    GLOBAL.clone()
}

pub struct Provider {
    settings: Settings,
    cache: Arc<SessionCache>,
    entry: Arc<Entry>,
}

impl Provider {
    /// Validates `raw` and attaches to the process-wide cache. Makes no network call.
    pub fn open(raw: &RawSettings) -> Result<Provider> {
        Ok(Self::with_cache(settings::resolve(raw)?, global_cache()))
    }

    pub fn with_cache(settings: Settings, cache: Arc<SessionCache>) -> Provider {
        let entry = cache.entry(SessionSpec::from_settings(&settings));
        Provider {
            settings,
            cache,
            entry,
        }
    }

    /// A valid session: cached, or fetched now if there is none.
    pub fn credentials(&self) -> Result<Handout> {
        self.cache.get(&self.entry, self.settings.refresh_ahead)
    }

    /// A new session, fetched now.
    pub fn refresh(&self) -> Result<Handout> {
        self.cache.refresh(&self.entry, self.settings.refresh_ahead)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Role and session name, for `toString()` and logs. Never a secret.
    pub fn describe(&self) -> String {
        format!(
            "role={} session={} sts={}",
            self.settings.role_arn,
            self.settings.session_name,
            self.settings.sts.describe()
        )
    }
}
