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
//!
//! Failures: the runtime and its thread start with the first task, and everything about that
//! which can fail (building the runtime, creating its thread: a limit on threads) fails that
//! task's [`Spawn::spawn`], which hands the task back with the reason; nothing of a failed start
//! is kept, so the next task tries again. After [`shutdown`] every task is handed back.

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

impl std::fmt::Debug for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refused")
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl Spawn for Handle {
    fn spawn(&self, task: BoxFuture<()>) -> Result<(), Refused> {
        drop(Handle::spawn(self, task));
        Ok(())
    }
}

/// How long [`shutdown`] waits for the runtime's threads to end.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

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

/// What the runtime's thread drives: the runtime, and the socket that wakes the thread (registered
/// with the runtime, so dropped before it).
struct Driven {
    woken: tokio::net::UnixStream,
    runtime: tokio::runtime::Runtime,
}

/// A runtime: its inbox and the thread that drives it. The library has one ([`LibraryRuntime`]);
/// tests make their own.
pub(crate) struct Threads {
    inbox: Mutex<Inbox>,
    /// The name of the runtime's threads.
    name: &'static str,
    /// How many of the next runtime builds fail (a test's stand-in for a build that fails).
    #[cfg(test)]
    failing_builds: std::sync::atomic::AtomicU32,
}

static LIBRARY: Threads = Threads::new("rolebridge-sts");

/// The library's runtime. Its thread and the runtime start with the first task.
pub struct LibraryRuntime;

impl Spawn for LibraryRuntime {
    fn spawn(&self, task: BoxFuture<()>) -> Result<(), Refused> {
        LIBRARY.spawn(task)
    }
}

/// Ends every thread of the library: the runtime's thread drops `leftovers` (the process-wide
/// cache, with its STS clients, whose destructors may use tokio) and stops the runtime, waiting up
/// to 10 s for its blocking threads, and this call waits for the runtime's thread to end. No task
/// is run after this. Returns false if a thread may still be running code of this library (a
/// blocking DNS lookup that outlived the wait).
pub fn shutdown(leftovers: Box<dyn Any + Send>) -> bool {
    LIBRARY.shutdown(leftovers)
}

impl Spawn for &'static Threads {
    fn spawn(&self, task: BoxFuture<()>) -> Result<(), Refused> {
        Threads::spawn(self, task)
    }
}

impl Threads {
    const fn new(name: &'static str) -> Threads {
        Threads {
            inbox: Mutex::new(Inbox {
                tasks: VecDeque::new(),
                thread: None,
                wake: None,
                stop: None,
                shut_down: false,
                stopped_cleanly: false,
            }),
            name,
            #[cfg(test)]
            failing_builds: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// A runtime of a test's own, for the life of the process (its threads end at its
    /// [`Threads::shutdown`]).
    #[cfg(test)]
    pub(crate) fn for_test(name: &'static str) -> &'static Threads {
        Box::leak(Box::new(Threads::new(name)))
    }

    /// Makes the next `n` builds of the tokio runtime fail.
    #[cfg(test)]
    pub(crate) fn fail_next_builds(&self, n: u32) {
        self.failing_builds
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn(&'static self, task: BoxFuture<()>) -> Result<(), Refused> {
        let mut inbox = self.inbox();
        if inbox.shut_down {
            return Err(Refused {
                task,
                reason: "this copy of the library is being unloaded".into(),
            });
        }
        if inbox.thread.as_ref().is_some_and(|t| t.is_finished()) {
            // The runtime's thread ended without a shutdown (a panic): start another one, which
            // takes the tasks still queued.
            if let Some(ended) = inbox.thread.take() {
                let _ = ended.join();
            }
            inbox.wake = None;
        }
        if inbox.thread.is_none() {
            // Nothing is kept of a failed start: the next task tries again.
            match self.start() {
                Ok((thread, wake)) => {
                    inbox.thread = Some(thread);
                    inbox.wake = Some(wake);
                }
                Err(reason) => {
                    tracing::error!("rolebridge: {reason}");
                    return Err(Refused { task, reason });
                }
            }
        }
        inbox.tasks.push_back(task);
        inbox.wake();
        Ok(())
    }

    /// Builds the runtime and starts its thread; returns the thread and the socket that wakes it,
    /// or why it could not. Everything that can fail happens here, before any task is queued, so
    /// that a failure is the caller's error at once (a runtime that failed to build on its own
    /// thread used to leave every task queued for good). `std::thread::spawn` leaves a
    /// thread-local destructor on the thread that calls it, and so may building and entering the
    /// runtime: a short-lived thread of our own, started without std and joined at once, does
    /// both (see [`crate::os_thread`]).
    fn start(&'static self) -> Result<(JoinHandle<()>, UnixStream), String> {
        let no_thread = |e: std::io::Error| {
            format!(
                "its runtime thread could not be started: {e} (a limit on threads? ulimit -u, \
                 or the container's pids limit)"
            )
        };
        let (wake, woken) = UnixStream::pair()
            .and_then(|(wake, woken)| {
                wake.set_nonblocking(true)?;
                woken.set_nonblocking(true)?;
                Ok((wake, woken))
            })
            .map_err(|e| format!("cannot make the socket that wakes its runtime: {e}"))?;
        let started = Arc::new(Mutex::new(None));
        let slot = started.clone();
        let launcher = os_thread::spawn(
            c"rolebridge-init",
            Box::new(move || {
                let thread = self.prepare(woken).and_then(|driven| {
                    std::thread::Builder::new()
                        .name(self.name.into())
                        .spawn(move || self.run(driven))
                        .map_err(no_thread)
                });
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
            }),
        )
        .map_err(no_thread)?;
        launcher.join();
        let thread = started.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = thread.unwrap_or_else(|| Err("its runtime's launcher ended early".into()))?;
        Ok((thread, wake))
    }

    /// The runtime, and the socket that wakes its thread registered with it.
    fn prepare(&self, woken: UnixStream) -> Result<Driven, String> {
        let not_built = |e: std::io::Error| format!("its tokio runtime could not be built: {e}");
        let runtime = self.build().map_err(not_built)?;
        let woken = {
            let _in_runtime = runtime.enter();
            tokio::net::UnixStream::from_std(woken).map_err(not_built)?
        };
        Ok(Driven { woken, runtime })
    }

    /// Builds the tokio runtime: current-thread, with at most two blocking threads.
    fn build(&self) -> std::io::Result<tokio::runtime::Runtime> {
        #[cfg(test)]
        {
            use std::sync::atomic::Ordering;
            let fail = self
                .failing_builds
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if fail.is_ok() {
                return Err(std::io::Error::other("a failure the test asked for"));
            }
        }
        Builder::new_current_thread()
            .max_blocking_threads(2)
            .thread_keep_alive(Duration::from_secs(10))
            .thread_name(self.name)
            .enable_all()
            .build()
    }

    /// The runtime's thread: drives the runtime, spawning what it is handed, until [`shutdown`];
    /// then drops what it was given there and stops the runtime.
    fn run(&'static self, driven: Driven) {
        let Driven { woken, runtime } = driven;
        let leftovers = runtime.block_on(async move {
            let mut bytes = [0u8; 64];
            loop {
                let (tasks, stop) = {
                    let mut inbox = self.inbox();
                    (std::mem::take(&mut inbox.tasks), inbox.stop.take())
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
        self.inbox().stopped_cleanly = started.elapsed() < SHUTDOWN_WAIT;
    }

    /// See [`shutdown`].
    pub(crate) fn shutdown(&self, leftovers: Box<dyn Any + Send>) -> bool {
        let mut state = self.inbox();
        state.shut_down = true;
        let Some(thread) = state.thread.take() else {
            drop(state);
            drop(leftovers); // never used: no runtime, nothing of tokio to end
            return true;
        };
        state.stop = Some(leftovers);
        state.wake();
        drop(state);
        let joined = thread.join().is_ok();
        joined && self.inbox().stopped_cleanly
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::Arc;

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
    }

    /// Issue 15, item 9: a runtime that could not be built used to leave its tasks in the inbox
    /// for good (every call waited for its bound, for the life of the process). Now the task is
    /// handed back at once with the reason, and the next task builds the runtime again.
    #[test]
    fn a_runtime_that_fails_to_build_refuses_at_once_and_is_built_again() {
        let rt = Threads::for_test("rb-test-build");
        rt.fail_next_builds(1);
        let (tx, rx) = mpsc::channel();
        let sender = tx.clone();
        let refused = rt
            .spawn(Box::pin(async move {
                let _ = sender.send("the first task");
            }))
            .expect_err("a runtime that failed to build takes no task");
        assert!(
            refused.reason.contains("a failure the test asked for"),
            "{}",
            refused.reason
        );
        drop(refused.task);
        rt.spawn(Box::pin(async move {
            let _ = tx.send("the second task");
        }))
        .expect("the next task builds the runtime again");
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)),
            Ok("the second task"),
            "only the task it took runs"
        );
        assert!(rt.shutdown(Box::new(())));
    }
}
