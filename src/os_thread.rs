//! A thread started with `pthread_create` instead of `std::thread::spawn`.
//!
//! `std::thread::spawn` registers a thread-local destructor (its spawn hooks) on the thread that
//! calls it. When that thread is a JVM thread (the first one to make a provider), glibc then
//! refuses to unmap this library until that thread ends, which for a JVM's main or executor thread
//! is never: every class loader that loaded the jar would leave its copy of the library behind.
//! A short-lived thread started this way, and joined at once, starts the runtime's thread with
//! `std::thread` instead, so the destructor lands on a thread that has already ended; threads that
//! end before the library is unloaded (the runtime's, tokio's blocking thread) may use
//! `std::thread` freely. This is the only `unsafe` outside the JNI glue.

use std::ffi::{c_void, CStr};
use std::io;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// The stack of the thread: what `std::thread` gives its threads by default.
const STACK_SIZE: usize = 2 * 1024 * 1024;

type Main = Box<dyn FnOnce() + Send + 'static>;

struct Start {
    name: &'static CStr,
    main: Main,
}

/// A running thread; [`OsThread::join`] waits until it has ended.
pub struct OsThread(libc::pthread_t);

/// Starts a thread named `name` (at most 15 bytes, as Linux keeps them) that runs `main`. A panic
/// in `main` ends the thread and nothing else.
pub fn spawn(name: &'static CStr, main: Main) -> io::Result<OsThread> {
    let start = Box::into_raw(Box::new(Start { name, main }));
    let mut thread = MaybeUninit::<libc::pthread_t>::uninit();
    // SAFETY: the attribute object is initialised before use and destroyed after; `start` is a
    // valid pointer that `run` takes back exactly once, or that is taken back here if the thread
    // was not created.
    let rc = unsafe {
        let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
        let mut rc = libc::pthread_attr_init(attr.as_mut_ptr());
        if rc == 0 {
            libc::pthread_attr_setstacksize(attr.as_mut_ptr(), STACK_SIZE);
            rc = libc::pthread_create(
                thread.as_mut_ptr(),
                attr.as_ptr(),
                run,
                start.cast::<c_void>(),
            );
            libc::pthread_attr_destroy(attr.as_mut_ptr());
        }
        rc
    };
    if rc != 0 {
        // SAFETY: the thread was not created, so `start` was not taken.
        drop(unsafe { Box::from_raw(start) });
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: pthread_create succeeded, so it wrote the thread's id.
    Ok(OsThread(unsafe { thread.assume_init() }))
}

extern "C" fn run(start: *mut c_void) -> *mut c_void {
    // SAFETY: `start` is the pointer `spawn` made with Box::into_raw, handed to this thread only.
    let start = unsafe { Box::from_raw(start.cast::<Start>()) };
    // SAFETY: the name is a NUL-terminated string that lives for the whole program.
    unsafe { libc::pthread_setname_np(libc::pthread_self(), start.name.as_ptr()) };
    let _ = catch_unwind(AssertUnwindSafe(start.main));
    ptr::null_mut()
}

impl OsThread {
    /// Waits until the thread has ended, its thread-local destructors included.
    pub fn join(self) {
        // SAFETY: the id is of a thread this handle started and that nobody joined or detached.
        unsafe { libc::pthread_join(self.0, ptr::null_mut()) };
    }
}
