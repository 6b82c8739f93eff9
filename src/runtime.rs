//! The one small tokio runtime that STS calls run on, built on first use.
//!
//! JNI threads block on results from it; its own threads never call into the JVM, so nothing
//! has to attach to it. Two threads at most: one worker, and one for blocking work (DNS lookups),
//! which ends after 10 s idle.

use std::sync::LazyLock;
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .thread_keep_alive(Duration::from_secs(10))
        .thread_name("rolebridge-sts")
        .enable_all()
        .build()
        .expect("rolebridge: could not start its tokio runtime")
});

pub fn handle() -> Handle {
    RUNTIME.handle().clone()
}
