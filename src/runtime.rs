//! The tokio runtime that STS calls run on, driven by one thread of the library's own.
//!
//! Threads of the JVM never touch tokio: they put futures into a queue guarded by a plain mutex
//! and wake the runtime's thread (`rolebridge-sts`) by writing a byte to a socket it waits on;
//! that thread spawns the futures on the runtime it drives. This matters when the class loader that
//! loaded this copy of the library is collected and the JVM unloads the copy: tokio keeps
//! per-thread state with destructors (its runtime context, which even waking a tokio task reads,
//! and its parker), and glibc does not unmap a library while a live thread has a destructor
//! registered in it. A JVM thread that had spawned or woken a task, or built the runtime, would keep
//! the copy mapped for as long as that thread lives. [`shutdown`], called when the library is
//! unloaded, ends every thread of the library before the JVM unmaps it.
//!
//! Threads: the runtime's own (a current-thread runtime: it runs every STS call) and at most two
//! for blocking work (DNS lookups, the node cache's files), which end after 10 s idle. Neither calls into the JVM, so nothing
//! has to attach to it.

use std::any::Any;
use std::collections::VecDeque;
use std::future::Future;
use std::io::{ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle};

use crate::os_thread;

/// A future that can be sent to the runtime's thread.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs futures to completion somewhere: the library's runtime, or a test's own.
pub trait Spawn: Send + Sync + 'static {
    /// Takes `task` to run it, or hands it back, not run, with the reason it cannot (its thread
    /// cannot be started, the library is being unloaded). A task handed back has not been dropped,
    /// so the caller decides what its end means (the session cache completes the fetch with the
    /// reason first). Never called with a lock the task's drop takes.
    fn spawn(&self, task: BoxFuture<()>) -> Result<(), Refused>;
}

/// A task a [`Spawn`] could not take, and why.
pub struct Refused {
    pub task: BoxFuture<()>,
    pub reason: String,
}

impl Spawn for Handle {
    fn spawn(&self, task: BoxFuture<()>) -> Result<(), Refused> {
        drop(Handle::spawn(self, task));
        Ok(())
    }
}

/// How long [`shutdown`] waits for the runtime's threads to end.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Inbox {
    tasks: VecDeque<BoxFuture<()>>,
    /// The runtime's thread, and the socket that wakes it; both exist from the first task on.
    thread: Option<JoinHandle<()>>,
    wake: Option<UnixStream>,
    /// Set by [`shutdown`]: what the runtime's thread drops before it stops the runtime.
    stop: Option<Box<dyn Any + Send>>,
    shut_down: bool,
    /// Whether every thread of the runtime had ended when the runtime's thread stopped.
    stopped_cleanly: bool,
}

impl Inbox {
    /// Wakes the runtime's thread. A byte already waiting wakes it as well, so a full socket
    /// buffer (`WouldBlock`) is as good as a write.
    fn wake(&self) {
        if let Some(mut socket) = self.wake.as_ref() {
            match socket.write(&[1]) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => tracing::error!("rolebridge: cannot wake its runtime: {e}"),
            }
        }
    }
}

static INBOX: Mutex<Option<Inbox>> = Mutex::new(None);

fn inbox() -> MutexGuard<'static, Option<Inbox>> {
    INBOX.lock().unwrap_or_else(|p| p.into_inner())
}

/// The library's runtime. Its thread and the runtime start with the first task.
pub struct LibraryRuntime;

impl Spawn for LibraryRuntime {
    fn spawn(&self, task: BoxFuture<()>) -> Result<(), Refused> {
        let mut guard = inbox();
        let inbox = guard.get_or_insert_with(Inbox::default);
        if inbox.shut_down {
            return Err(Refused {
                task,
                reason: "this copy of the library is being unloaded".into(),
            });
        }
        if inbox.thread.is_none() {
            match start() {
                Ok((thread, wake)) => {
                    inbox.thread = Some(thread);
                    inbox.wake = Some(wake);
                }
                Err(e) => {
                    tracing::error!("rolebridge: cannot start its runtime thread: {e}");
                    return Err(Refused {
                        task,
                        reason: format!(
                            "its runtime thread could not be started: {e} (a limit on threads? \
                             ulimit -u, or the container's pids limit)"
                        ),
                    });
                }
            }
        }
        inbox.tasks.push_back(task);
        inbox.wake();
        Ok(())
    }
}

/// Starts the runtime's thread; returns it and the socket that wakes it. `std::thread::spawn`
/// leaves a thread-local destructor on the thread that calls it, so a short-lived thread of our
/// own, started without std and joined at once, calls it (see [`crate::os_thread`]).
fn start() -> std::io::Result<(JoinHandle<()>, UnixStream)> {
    let (wake, woken) = UnixStream::pair()?;
    wake.set_nonblocking(true)?;
    woken.set_nonblocking(true)?;
    let started = Arc::new(Mutex::new(None));
    let slot = started.clone();
    let launcher = os_thread::spawn(
        c"rolebridge-init",
        Box::new(move || {
            let thread = std::thread::Builder::new()
                .name("rolebridge-sts".into())
                .spawn(move || run(woken));
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
        }),
    )?;
    launcher.join();
    let thread = started.lock().unwrap_or_else(|p| p.into_inner()).take();
    let thread =
        thread.unwrap_or_else(|| Err(std::io::Error::other("its launcher ended early")))?;
    Ok((thread, wake))
}

/// The runtime's thread: builds a current-thread runtime and drives it, spawning what it is
/// handed, until [`shutdown`]; then drops what it was given there and stops the runtime.
fn run(woken: UnixStream) {
    let runtime = Builder::new_current_thread()
        .max_blocking_threads(2)
        .thread_keep_alive(Duration::from_secs(10))
        .thread_name("rolebridge-sts")
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("rolebridge: could not start its tokio runtime: {e}");
            // Queued and later tasks are dropped, which completes each with an error.
            return;
        }
    };
    let leftovers = runtime.block_on(async move {
        let woken = match tokio::net::UnixStream::from_std(woken) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("rolebridge: cannot wait for work: {e}");
                return None;
            }
        };
        let mut bytes = [0u8; 64];
        loop {
            let (tasks, stop) = match inbox().as_mut() {
                Some(inbox) => (std::mem::take(&mut inbox.tasks), inbox.stop.take()),
                None => (VecDeque::new(), None),
            };
            for task in tasks {
                drop(tokio::spawn(task));
            }
            if stop.is_some() {
                return stop;
            }
            if woken.readable().await.is_err() {
                return None;
            }
            while matches!(woken.try_read(&mut bytes), Ok(n) if n > 0) {}
        }
    });
    {
        let _in_runtime = runtime.enter();
        drop(leftovers);
    }
    let started = Instant::now();
    // Returns before the wait is over only once every thread has ended.
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    let stopped_cleanly = started.elapsed() < SHUTDOWN_WAIT;
    if let Some(inbox) = inbox().as_mut() {
        inbox.stopped_cleanly = stopped_cleanly;
    }
}

/// Ends every thread of the library: the runtime's thread drops `leftovers` (the process-wide
/// cache, with its STS clients, whose destructors may use tokio) and stops the runtime, waiting up
/// to 10 s for its blocking threads, and this call waits for the runtime's thread to end. No task
/// is run after this. Returns false if a thread may still be running code of this library (a
/// blocking DNS lookup that outlived the wait).
pub fn shutdown(leftovers: Box<dyn Any + Send>) -> bool {
    let mut guard = inbox();
    let state = guard.get_or_insert_with(Inbox::default);
    state.shut_down = true;
    let Some(thread) = state.thread.take() else {
        drop(guard);
        drop(leftovers); // never used: no runtime, nothing of tokio to end
        return true;
    };
    state.stop = Some(leftovers);
    state.wake();
    drop(guard);
    let joined = thread.join().is_ok();
    joined && inbox().as_ref().is_some_and(|i| i.stopped_cleanly)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{
        CacheOptions, FetchSession, Session, SessionCache, SessionSpec, Source, Timing,
    };
    use crate::clock::SystemClock;
    use std::sync::mpsc;
    use std::sync::Arc;
    use std::time::SystemTime;

    /// The library's threads (the runtime's and its blocking ones) running in this process.
    fn library_threads() -> Vec<String> {
        thread_names()
            .into_iter()
            .filter(|n| n == "rolebridge-sts")
            .collect()
    }

    /// Names of this process's threads, as Linux keeps them (tokio's and ours alike).
    fn thread_names() -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|n| n.trim().to_owned())
            .collect()
    }

    /// The name Linux has for the calling thread (std knows none for a thread it did not start).
    fn this_thread() -> String {
        let name = std::fs::read_to_string("/proc/thread-self/comm").unwrap_or_default();
        name.trim().to_owned()
    }

    /// Records, when dropped, the name of the thread that dropped it.
    struct Leftovers(mpsc::Sender<String>);

    impl Drop for Leftovers {
        fn drop(&mut self) {
            let _ = self.0.send(this_thread());
        }
    }

    // One test: the runtime is the process's, and shutdown ends it for good.
    #[test]
    fn tasks_run_on_the_runtime_and_shutdown_ends_every_thread() {
        let (tx, rx) = mpsc::channel();
        let taken = LibraryRuntime.spawn(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let _ = tx.send(this_thread());
        }));
        assert!(taken.is_ok());
        let ran_on = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(ran_on, "rolebridge-sts");
        assert_eq!(
            library_threads(),
            ["rolebridge-sts"],
            "one thread runs the runtime"
        );

        let (dropped_tx, dropped_rx) = mpsc::channel();
        assert!(shutdown(Box::new(Leftovers(dropped_tx))));
        let dropped_on = dropped_rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(
            dropped_on, "rolebridge-sts",
            "dropped on the runtime's thread"
        );
        // A joined thread can still be listed for a moment: the kernel removes it just after.
        for _ in 0..100 {
            if library_threads().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let names = library_threads();
        assert!(
            names.is_empty(),
            "every thread of the runtime has ended: {names:?}"
        );

        // After shutdown a task is handed back, not run, with the reason; no thread starts again.
        let ran = Arc::new(Mutex::new(false));
        let flag = ran.clone();
        let refused = LibraryRuntime
            .spawn(Box::pin(async move {
                *flag.lock().unwrap() = true;
            }))
            .expect_err("refused after shutdown");
        assert!(refused.reason.contains("unloaded"), "{}", refused.reason);
        drop(refused.task);
        std::thread::sleep(Duration::from_millis(100));
        assert!(!*ran.lock().unwrap());
        assert!(library_threads().is_empty());

        // Issue 15, item 8: a session cache on the shut-down runtime fails at once with that
        // reason (it used to hang: the task was dropped under the entry's lock).
        let cache = Arc::new(SessionCache::new(
            Arc::new(NeverAsked),
            Arc::new(SystemClock),
            Arc::new(LibraryRuntime),
            CacheOptions::default(),
        ));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let entry = cache.entry(test_spec());
            let _ = tx.send(cache.get(&entry, TIMING));
        });
        let err = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the call hung")
            .unwrap_err();
        assert_eq!(err.code(), "RuntimeUnavailable", "{err}");
        assert!(err.to_string().contains("unloaded"), "{err}");
    }

    /// A fetcher whose fetch would fail; the runtime never runs it in these tests.
    struct NeverAsked;

    impl FetchSession for NeverAsked {
        fn fetch(
            &self,
            _: &SessionSpec,
            _: SystemTime,
        ) -> BoxFuture<crate::error::Result<Session>> {
            Box::pin(async { Err(crate::error::Error::Internal("not expected".into())) })
        }
    }

    const TIMING: Timing = Timing {
        refresh_ahead: Duration::from_secs(300),
        wait_bound: Duration::from_secs(30),
    };

    fn test_spec() -> SessionSpec {
        SessionSpec {
            source: Source::DefaultChain,
            chain: vec![],
            role_arn: "arn:aws:iam::222222222222:role/writer".into(),
            external_id: None,
            source_identity: None,
            tags: vec![],
            transitive_tag_keys: vec![],
            session_name: "runtime-test".into(),
            duration_secs: 900,
            policy: None,
            policy_arns: vec![],
            sts: crate::settings::StsTarget {
                region: Some("us-east-1".into()),
                endpoint: None,
                timeout: Duration::from_secs(30),
            },
            shared_dir: None,
        }
    }
}
