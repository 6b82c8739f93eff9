//! The tokio runtime that STS calls run on, owned by one thread of the library's own.
//!
//! Threads of the JVM never touch tokio: they hand futures to the owner thread (`rolebridge-rt`)
//! through a queue guarded by a plain mutex, and the owner thread spawns them on the runtime it
//! built. This matters when the class loader that loaded this copy of the library is collected
//! and the JVM unloads the copy: tokio keeps per-thread state with destructors (its runtime
//! context, its parker), and glibc does not unmap a library while a live thread has a destructor
//! registered in it. A JVM thread that had spawned a task, or built the runtime, would keep the
//! copy mapped for as long as that thread lives. [`shutdown`], called when the library is unloaded,
//! ends every thread of the library before the JVM unmaps it.
//!
//! Threads: the owner (blocked on the queue but for handing tasks over), one tokio worker
//! (`rolebridge-sts`) and at most one thread for blocking work (DNS lookups), which ends after 10 s
//! idle. None of them calls into the JVM, so nothing has to attach to it.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::runtime::{Builder, Handle};

use crate::cache::BoxFuture;
use crate::os_thread::{self, OsThread};

/// Runs futures to completion somewhere: the library's runtime, or a test's own.
pub trait Spawn: Send + Sync + 'static {
    fn spawn(&self, task: BoxFuture<()>);
}

impl Spawn for Handle {
    fn spawn(&self, task: BoxFuture<()>) {
        drop(Handle::spawn(self, task));
    }
}

/// How long [`shutdown`] waits for the runtime's threads to end.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Inbox {
    tasks: VecDeque<BoxFuture<()>>,
    owner: Option<OsThread>,
    /// Set by [`shutdown`]: what the owner thread drops before it stops the runtime.
    stop: Option<Box<dyn Any + Send>>,
    shut_down: bool,
    /// Whether every thread of the runtime had ended when the owner thread stopped.
    stopped_cleanly: bool,
}

static INBOX: Mutex<Option<Inbox>> = Mutex::new(None);
static WAKE: Condvar = Condvar::new();

fn inbox() -> MutexGuard<'static, Option<Inbox>> {
    INBOX.lock().unwrap_or_else(|p| p.into_inner())
}

/// The library's runtime. The owner thread and the runtime start with the first task.
pub struct LibraryRuntime;

impl Spawn for LibraryRuntime {
    fn spawn(&self, task: BoxFuture<()>) {
        let mut guard = inbox();
        let inbox = guard.get_or_insert_with(Inbox::default);
        if inbox.shut_down {
            return; // unloading: dropping the task completes it with an error
        }
        if inbox.owner.is_none() {
            match os_thread::spawn(c"rolebridge-rt", Box::new(own_runtime)) {
                Ok(thread) => inbox.owner = Some(thread),
                Err(e) => {
                    tracing::error!("rolebridge: cannot start its runtime thread: {e}");
                    return;
                }
            }
        }
        inbox.tasks.push_back(task);
        WAKE.notify_all();
    }
}

/// The owner thread: builds the runtime, spawns what it is handed, and at [`shutdown`] drops what
/// it is given there and stops the runtime.
fn own_runtime() {
    let runtime = Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .thread_keep_alive(Duration::from_secs(10))
        .thread_name("rolebridge-sts")
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => Some(rt),
        Err(e) => {
            tracing::error!("rolebridge: could not start its tokio runtime: {e}");
            None // tasks are dropped, which completes each with an error
        }
    };
    loop {
        let mut guard = inbox();
        let (tasks, stop) = loop {
            let inbox = guard
                .as_mut()
                .expect("the inbox exists while its owner runs");
            if !inbox.tasks.is_empty() || inbox.stop.is_some() {
                break (std::mem::take(&mut inbox.tasks), inbox.stop.take());
            }
            guard = WAKE.wait(guard).unwrap_or_else(|p| p.into_inner());
        };
        drop(guard);
        for task in tasks {
            if let Some(rt) = &runtime {
                rt.spawn(task);
            }
        }
        if let Some(leftovers) = stop {
            let stopped_cleanly = match runtime {
                Some(rt) => {
                    {
                        let _in_runtime = rt.enter();
                        drop(leftovers);
                    }
                    let started = Instant::now();
                    // Returns before the wait is over only once every thread has ended.
                    rt.shutdown_timeout(SHUTDOWN_WAIT);
                    started.elapsed() < SHUTDOWN_WAIT
                }
                None => {
                    drop(leftovers);
                    true
                }
            };
            if let Some(inbox) = inbox().as_mut() {
                inbox.stopped_cleanly = stopped_cleanly;
            }
            return;
        }
    }
}

/// Ends every thread of the library: the owner thread drops `leftovers` (the process-wide cache,
/// with its STS clients, whose destructors may use tokio) and stops the runtime, waiting up to 10 s
/// for its threads, and this call waits for the owner thread to end. No task is run after this.
/// Returns false if a runtime thread may still be running code of this library (a blocking DNS
/// lookup that outlived the wait).
pub fn shutdown(leftovers: Box<dyn Any + Send>) -> bool {
    let owner = {
        let mut guard = inbox();
        let inbox = guard.get_or_insert_with(Inbox::default);
        inbox.shut_down = true;
        let owner = inbox.owner.take();
        if owner.is_some() {
            inbox.stop = Some(leftovers);
            WAKE.notify_all();
        } else {
            drop(guard);
            drop(leftovers); // never used: no runtime, nothing of tokio to end
        }
        owner
    };
    match owner {
        Some(thread) => {
            thread.join();
            inbox().as_ref().is_some_and(|i| i.stopped_cleanly)
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::Arc;

    /// The library's threads (the owner and tokio's) running in this process.
    fn library_threads() -> Vec<String> {
        thread_names()
            .into_iter()
            .filter(|n| n == "rolebridge-rt" || n == "rolebridge-sts")
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

    /// Records, when dropped, the name of the thread that dropped it.
    struct Leftovers(mpsc::Sender<String>);

    impl Drop for Leftovers {
        fn drop(&mut self) {
            let name = std::fs::read_to_string("/proc/thread-self/comm").unwrap_or_default();
            let _ = self.0.send(name.trim().to_owned());
        }
    }

    // One test: the runtime is the process's, and shutdown ends it for good.
    #[test]
    fn tasks_run_on_the_runtime_and_shutdown_ends_every_thread() {
        let (tx, rx) = mpsc::channel();
        LibraryRuntime.spawn(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let _ = tx.send(std::thread::current().name().map(str::to_owned));
        }));
        let ran_on = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(ran_on.as_deref(), Some("rolebridge-sts"));
        let names = library_threads();
        assert!(names.iter().any(|n| n == "rolebridge-rt"), "{names:?}");
        assert!(names.iter().any(|n| n == "rolebridge-sts"), "{names:?}");

        let (dropped_tx, dropped_rx) = mpsc::channel();
        assert!(shutdown(Box::new(Leftovers(dropped_tx))));
        let dropped_on = dropped_rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(dropped_on, "rolebridge-rt", "dropped on the owner thread");
        let names = library_threads();
        assert!(
            names.is_empty(),
            "every thread of the runtime has ended: {names:?}"
        );

        // After shutdown a task is dropped, not run, and no thread starts again.
        let ran = Arc::new(Mutex::new(false));
        let flag = ran.clone();
        LibraryRuntime.spawn(Box::pin(async move {
            *flag.lock().unwrap() = true;
        }));
        std::thread::sleep(Duration::from_millis(100));
        assert!(!*ran.lock().unwrap());
        assert!(library_threads().is_empty());
    }
}
