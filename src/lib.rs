//! rolebridge: AWS STS AssumeRole sessions for Hadoop/EMR jobs that write into other accounts'
//! S3 buckets.
//!
//! The core is a plain Rust library: [`settings`] resolves and validates the Hadoop-style keys
//! (with [`settings::identity`]: the `{user}` placeholder, SourceIdentity, session tags and role chains),
//! [`cache`] holds one session per distinct setting set for the whole process and refreshes it
//! ahead of expiry, [`sts`] talks to AWS STS, and [`provider`] ties them together. The JNI glue in
//! [`jni`] is one thin client of [`provider`]; a command-line tool can be another.

pub mod cache;
pub mod clock;
pub mod error;
pub mod jni;
pub mod logging;
pub mod metrics;
pub mod os_thread;
pub mod provider;
pub mod proxy;
pub mod runtime;
pub mod settings;
pub mod shared_cache;
pub mod sts;

/// The crate version, which the Java shim checks against its own.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
