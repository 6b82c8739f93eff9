//! Log output of the native side, off unless the environment variable `ROLEBRIDGE_LOG` is set.
//!
//! Its value is a filter such as `debug`, `trace`, or `rolebridge=debug,aws_smithy_runtime=trace`;
//! lines go to standard error. The AWS SDK's own events (it logs through `tracing`) come out the
//! same way. Runtime threads never call into the JVM, so native logs do not go through Java's
//! logging. Nothing logged carries a secret key or a session token: `Session`'s `Debug` redacts
//! them, and the SDK redacts sensitive bodies.

use std::sync::Once;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

pub const ENV: &str = "ROLEBRIDGE_LOG";

static INIT: Once = Once::new();

/// Installs the subscriber once per process (per loaded copy of the library), if asked for.
pub fn init() {
    INIT.call_once(|| {
        let Ok(spec) = std::env::var(ENV) else { return };
        let filter: Targets = match spec.parse() {
            Ok(f) => f,
            Err(e) => {
                eprintln!("rolebridge: {ENV}={spec:?} is not a log filter ({e}); native logging stays off");
                return;
            }
        };
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_thread_names(true);
        // Another library in the process may have set a global subscriber already; then keep it.
        let _ = tracing_subscriber::registry().with(layer).with(filter).try_init();
    });
}
