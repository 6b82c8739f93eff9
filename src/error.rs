//! The one error type of the crate. Messages never contain a secret key or a session token.

use std::time::Duration;

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
            Error::Transport { .. } | Error::Timeout { .. } | Error::Runtime { .. } => true,
            Error::Setting { .. } | Error::Closed | Error::Internal(_) => false,
        }
    }

    /// STS's error code, or a short name of our own for errors that did not come from STS.
    pub fn code(&self) -> &str {
        match self {
            Error::Sts { code, .. } => code,
            Error::Transport { .. } => "NetworkError",
            Error::Timeout { .. } => "Timeout",
            Error::Runtime { .. } => "RuntimeUnavailable",
            Error::Setting { .. } => "InvalidSetting",
            Error::Closed => "Closed",
            Error::Internal(_) => "InternalError",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
