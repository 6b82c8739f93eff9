//! The one error type of the crate. Messages never contain a secret key or a session token.

use std::time::{Duration, SystemTime};

/// What went wrong, in a form that maps to a few Java exception classes (see `jni`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A setting broke a rule. Found before any network call.
    #[error("{key}: {problem}. {fix}")]
    Setting {
        /// The configuration key the value came from (the per-bucket one if that is where it was).
        key: String,
        problem: String,
        fix: String,
    },
    /// STS answered with an error.
    #[error("STS AssumeRole into {role_arn} was refused: {code}: {message}{hint}")]
    Sts {
        role_arn: String,
        code: String,
        message: String,
        /// Empty, or ". " followed by what usually causes this code and how to fix it.
        hint: String,
        retryable: bool,
    },
    /// STS could not be reached, or the call did not complete in time.
    #[error("STS AssumeRole into {role_arn} at {endpoint} failed: {detail}")]
    Transport {
        role_arn: String,
        endpoint: String,
        detail: String,
    },
    /// A refusal or throttling answer of STS ([`Error::Sts`]), remembered until `until` (wall
    /// clock): calls for these settings fail with it at once, without asking STS, until then.
    #[error("{error}. {note}")]
    Remembered {
        error: Box<Error>,
        until: SystemTime,
        /// Where it is remembered, until when, which setting or rule, and what to do.
        note: String,
    },
    /// A caller waited for a session longer than the bound.
    #[error("no session for {role_arn} within {waited:?}: STS did not answer in time")]
    Timeout { role_arn: String, waited: Duration },
    /// The library could not run the STS call: its runtime's thread could not be started (a
    /// limit on threads), its tokio runtime could not be built, or the library is being unloaded.
    /// Nothing was sent to STS; a later call starts the runtime again.
    #[error("no session for {role_arn}: rolebridge could not run the STS call: {detail}")]
    Runtime { role_arn: String, detail: String },
    /// The provider was used after it was closed.
    #[error("the rolebridge provider was already closed")]
    Closed,
    /// A bug: a panic or a broken invariant.
    #[error("rolebridge internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn setting(
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::Setting {
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// Whether trying again later may succeed (throttling, 5xx, network) as opposed to a refusal
    /// or a bad setting, which need a change first.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Sts { retryable, .. } => *retryable,
            Error::Remembered { error, .. } => error.is_retryable(),
            Error::Transport { .. } | Error::Timeout { .. } | Error::Runtime { .. } => true,
            Error::Setting { .. } | Error::Closed | Error::Internal(_) => false,
        }
    }

    /// STS's error code, or a short name of our own for errors that did not come from STS.
    pub fn code(&self) -> &str {
        match self {
            Error::Sts { code, .. } => code,
            Error::Remembered { error, .. } => error.code(),
            Error::Transport { .. } => "NetworkError",
            Error::Timeout { .. } => "Timeout",
            Error::Runtime { .. } => "RuntimeUnavailable",
            Error::Setting { .. } => "InvalidSetting",
            Error::Closed => "Closed",
            Error::Internal(_) => "InternalError",
        }
    }
}

/// The error codes the AWS SDK for Rust classifies as throttling (`aws-runtime`'s
/// `THROTTLING_ERRORS`).
pub const THROTTLING_CODES: [&str; 14] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes STS refuses with that a later call can succeed without a change of settings or policy:
/// the source credentials expired and the chain renews them. And `Unknown`: an answer with no
/// code of STS's (a proxy's or a load balancer's error page), which is not STS's refusal.
const NOT_A_REFUSAL: [&str; 3] = ["ExpiredToken", "ExpiredTokenException", "Unknown"];

impl Error {
    /// A refusal of STS that only a change (trust policy, role, external ID, settings) ends: an
    /// STS answer that is not retryable (AccessDenied, NoSuchEntity, ValidationError, a malformed
    /// policy, a region not activated, invalid source keys), except an expired source token.
    pub fn is_refusal(&self) -> bool {
        match self {
            Error::Sts {
                code, retryable, ..
            } => !*retryable && !NOT_A_REFUSAL.contains(&code.as_str()),
            Error::Remembered { error, .. } => error.is_refusal(),
            _ => false,
        }
    }

    /// STS throttled the call (after the SDK's own retries).
    pub fn is_throttling(&self) -> bool {
        match self {
            Error::Sts { code, .. } => THROTTLING_CODES.contains(&code.as_str()),
            Error::Remembered { error, .. } => error.is_throttling(),
            _ => false,
        }
    }

    /// Until when a remembered refusal or throttling holds.
    pub fn remembered_until(&self) -> Option<SystemTime> {
        match self {
            Error::Remembered { until, .. } => Some(*until),
            _ => None,
        }
    }

    /// `error` (a refusal, or throttling), remembered `place` ("in this process", "on this node
    /// (rolebridge.cache.dir)") until `until`. `refusal_ttl`: the setting's value, for the note;
    /// `throttles`: for throttling, how many calls in a row STS throttled; `record`: the node
    /// cache's file that remembers it, if any.
    pub fn remembered(
        error: Error,
        until: SystemTime,
        place: &str,
        refusal_ttl: Duration,
        throttles: u32,
        record: Option<&std::path::Path>,
    ) -> Error {
        let error = match error {
            Error::Remembered { error, .. } => *error,
            e => e,
        };
        let at = crate::clock::utc_text(until);
        let note = if error.is_throttling() {
            format!(
                "STS throttled {throttles} AssumeRole call(s) in a row for these settings {place}: \
                 no call before {at} (a jittered backoff, doubling up to {}s); a valid session is \
                 still used meanwhile",
                crate::cache::THROTTLE_BACKOFF_MAX.as_secs()
            )
        } else {
            format!(
                "Remembered {place} until {at} (rolebridge.refusal.ttl, {}s): these settings \
                 fail at once without asking STS until then, and a fix takes effect by then{}",
                refusal_ttl.as_secs(),
                record.map_or(String::new(), |r| format!(
                    "; new processes ask STS sooner once {} is removed",
                    r.display()
                ))
            )
        };
        Error::Remembered {
            error: Box::new(error),
            until,
            note,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
