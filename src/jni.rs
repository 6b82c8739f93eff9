//! JNI glue for `dev.rolebridge.hadoop.NativeBridge`: the only module with `extern "system"` and
//! `unsafe`.
//!
//! Every entry point converts its arguments, calls a plain function that returns `Result`, and
//! turns an error into a Java exception in one place ([`run`]). No panic crosses the boundary: a
//! panic becomes a `RoleBridgeException` carrying its message, and the JVM goes on.
//!
//! Error mapping (exhaustive):
//! - [`Error::Setting`] -> `RoleBridgeConfigException` (an `IllegalArgumentException`), with the key;
//! - [`Error::Sts`], [`Error::Remembered`], [`Error::Transport`], [`Error::Timeout`],
//!   [`Error::Runtime`] -> `RoleBridgeStsException`, with STS's error code (or ours: `NetworkError`, `Timeout`,
//!   `RuntimeUnavailable`) and whether retrying may help;
//! - [`Error::Closed`] -> `IllegalStateException`;
//! - [`Error::Internal`] and panics -> `RoleBridgeException`.
//!
//! A Java exception already pending (from a failed JNI call) is let through untouched.
//!
//! Unloading: each class loader that loads the jar loads its own copy of the library, and when
//! that loader is collected the JVM calls [`JNI_OnUnload`] and then unmaps the copy. Before that
//! happens every thread running the copy's code (the tokio runtime) is stopped; if one cannot be
//! stopped in time the copy is pinned in memory instead (`RTLD_NODELETE`), so no thread is ever
//! left running code that is gone.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jni::objects::{JClass, JObject, JObjectArray, JString, JThrowable, JValue};
use jni::sys::{jboolean, jlong, jobject, jstring};
use jni::JNIEnv;

use crate::cache::Handout;
use crate::error::Error;
use crate::provider::Provider;
use crate::settings::RawSettings;

const CONFIG_EXCEPTION: &str = "dev/rolebridge/hadoop/RoleBridgeConfigException";
const STS_EXCEPTION: &str = "dev/rolebridge/hadoop/RoleBridgeStsException";
const BASE_EXCEPTION: &str = "dev/rolebridge/hadoop/RoleBridgeException";
const NATIVE_SESSION: &str = "dev/rolebridge/hadoop/NativeSession";

/// Why an entry point failed: our own error, or a JNI call that failed (usually with a Java
/// exception already pending).
enum Failure {
    Rust(Error),
    Jni(jni::errors::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Rust(e)
    }
}

impl From<jni::errors::Error> for Failure {
    fn from(e: jni::errors::Error) -> Self {
        Failure::Jni(e)
    }
}

type JniResult<T> = Result<T, Failure>;

/// A panic's message.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Replaces the panic hook of this library's copy of the Rust standard library (the JVM's other
/// native libraries have their own) with one that prints one line and never walks the stack. The
/// default hook captures a backtrace when `RUST_BACKTRACE` is set in the environment, as it may be
/// on a node, and that walk would run on from our frames into the JVM's own (interpreted and
/// JIT-compiled code, which has no unwind tables), for nothing: the message reaches Java as the
/// exception's message.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            eprintln!(
                "rolebridge: panic in native code{at}: {}",
                panic_message(info.payload())
            );
        }));
    });
}

/// Runs `f`, catching panics, and converts a failure into a pending Java exception; returns
/// `fallback` (which Java never sees, as an exception is pending) in that case.
fn run<'local, T>(
    env: &mut JNIEnv<'local>,
    fallback: T,
    f: impl FnOnce(&mut JNIEnv<'local>) -> JniResult<T>,
) -> T {
    quiet_panics();
    let outcome = catch_unwind(AssertUnwindSafe(|| f(env)));
    let failure = match outcome {
        Ok(Ok(v)) => return v,
        Ok(Err(failure)) => failure,
        Err(panic) => Failure::Rust(Error::Internal(format!(
            "panic in native code: {}",
            panic_message(panic.as_ref())
        ))),
    };
    // Throwing must not panic either; if it fails, the JVM reports the missing exception itself.
    let _ = catch_unwind(AssertUnwindSafe(|| throw(env, failure)));
    fallback
}

fn throw(env: &mut JNIEnv<'_>, failure: Failure) {
    if env.exception_check().unwrap_or(true) {
        return; // let the pending Java exception through untouched
    }
    let error = match failure {
        Failure::Rust(e) => e,
        Failure::Jni(e) => Error::Internal(format!("JNI call failed: {e}")),
    };
    let message = error.to_string();
    let built = match &error {
        Error::Setting { key, .. } => new_throwable(
            env,
            CONFIG_EXCEPTION,
            "(Ljava/lang/String;Ljava/lang/String;)V",
            &[Arg::Str(key), Arg::Str(&message)],
        ),
        Error::Sts { .. }
        | Error::Remembered { .. }
        | Error::Transport { .. }
        | Error::Timeout { .. }
        | Error::Runtime { .. } => new_throwable(
            env,
            STS_EXCEPTION,
            "(Ljava/lang/String;Ljava/lang/String;Z)V",
            &[
                Arg::Str(error.code()),
                Arg::Str(&message),
                Arg::Bool(error.is_retryable()),
            ],
        ),
        Error::Closed => {
            let _ = env.throw_new("java/lang/IllegalStateException", &message);
            return;
        }
        Error::Internal(_) => new_throwable(
            env,
            BASE_EXCEPTION,
            "(Ljava/lang/String;)V",
            &[Arg::Str(&message)],
        ),
    };
    match built {
        Ok(t) => {
            let _ = env.throw(t);
        }
        Err(_) => {
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new("java/lang/RuntimeException", &message);
            }
        }
    }
}

enum Arg<'a> {
    Str(&'a str),
    Bool(bool),
}

fn new_throwable<'local>(
    env: &mut JNIEnv<'local>,
    class: &str,
    sig: &str,
    args: &[Arg<'_>],
) -> jni::errors::Result<JThrowable<'local>> {
    let mut objects = Vec::with_capacity(args.len());
    for a in args {
        objects.push(match a {
            Arg::Str(s) => JObject::from(env.new_string(*s)?),
            Arg::Bool(_) => JObject::null(),
        });
    }
    let values: Vec<JValue<'_, '_>> = args
        .iter()
        .zip(&objects)
        .map(|(a, o)| match a {
            Arg::Str(_) => JValue::Object(o),
            Arg::Bool(b) => JValue::Bool(u8::from(*b)),
        })
        .collect();
    Ok(JThrowable::from(env.new_object(class, sig, &values)?))
}

// ---- handles -------------------------------------------------------------------------------
//
// The one contract for handles: a handle is `Arc::into_raw` of a `Provider`, cast to `jlong`.
// The Java owner (`ProviderCore`) holds it in a final field, frees it exactly once through
// `close` (guarded by an AtomicBoolean and a lock that excludes concurrent calls), and never uses
// it after that. 0 is never a valid handle. Borrowing takes a new strong count, so a provider
// stays alive for the whole of a call.

fn into_handle(provider: Provider) -> jlong {
    Arc::into_raw(Arc::new(provider)) as jlong
}

fn borrow(handle: jlong) -> Result<Arc<Provider>, Error> {
    if handle == 0 {
        return Err(Error::Closed);
    }
    let ptr = handle as *const Provider;
    // SAFETY: per the handle contract, `handle` came from `into_handle` and has not been released.
    unsafe {
        Arc::increment_strong_count(ptr);
        Ok(Arc::from_raw(ptr))
    }
}

fn release(handle: jlong) {
    if handle != 0 {
        // SAFETY: per the handle contract, this is the one release of a handle from `into_handle`.
        unsafe { drop(Arc::from_raw(handle as *const Provider)) }
    }
}

// ---- plain functions behind the entry points ------------------------------------------------

fn opt_string(env: &mut JNIEnv<'_>, s: &JString<'_>) -> JniResult<Option<String>> {
    if s.is_null() {
        return Ok(None);
    }
    Ok(Some(env.get_string(s)?.into()))
}

/// A `String[]` (null: `None`; null elements are skipped).
fn opt_strings(env: &mut JNIEnv<'_>, a: &JObjectArray<'_>) -> JniResult<Option<Vec<String>>> {
    if a.is_null() {
        return Ok(None);
    }
    let n = env.get_array_length(a)?;
    let mut out = Vec::with_capacity(n.max(0) as usize);
    for i in 0..n {
        let s = env.with_local_frame(4, |env| -> JniResult<_> {
            let s = JString::from(env.get_object_array_element(a, i)?);
            opt_string(env, &s)
        })?;
        out.extend(s);
    }
    Ok(Some(out))
}

fn inner_open(
    env: &mut JNIEnv<'_>,
    bucket: &JString<'_>,
    user: &JString<'_>,
    groups: &JObjectArray<'_>,
    kv: &JObjectArray<'_>,
) -> JniResult<jlong> {
    let bucket = opt_string(env, bucket)?;
    let user = opt_string(env, user)?;
    let mut raw = RawSettings::new(bucket.as_deref(), user.as_deref()).with_process_proxy_env();
    raw.groups = opt_strings(env, groups)?;
    let n = env.get_array_length(kv)?;
    for i in (0..n - 1).step_by(2) {
        // A frame per pair: reading a string also makes local references (jni's type check), and
        // a configuration can hold many keys.
        let pair = env.with_local_frame(8, |env| -> JniResult<_> {
            let k = JString::from(env.get_object_array_element(kv, i)?);
            let v = JString::from(env.get_object_array_element(kv, i + 1)?);
            Ok((opt_string(env, &k)?, opt_string(env, &v)?))
        })?;
        if let (Some(k), Some(v)) = pair {
            raw.values.insert(k, v);
        }
    }
    Ok(into_handle(Provider::open(&raw)?))
}

fn millis(t: SystemTime) -> jlong {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as jlong)
}

fn to_java(env: &mut JNIEnv<'_>, h: Handout) -> JniResult<jobject> {
    let ak = JObject::from(env.new_string(&h.session.access_key_id)?);
    let sk = JObject::from(env.new_string(&h.session.secret_access_key)?);
    let token = JObject::from(env.new_string(&h.session.session_token)?);
    let obj = env.new_object(
        NATIVE_SESSION,
        "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;JJ)V",
        &[
            JValue::Object(&ak),
            JValue::Object(&sk),
            JValue::Object(&token),
            JValue::Long(millis(h.session.expiration)),
            JValue::Long(millis(h.ask_again_at)),
        ],
    )?;
    Ok(obj.into_raw())
}

// ---- entry points ----------------------------------------------------------------------------

#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_version<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
) -> jstring {
    run(&mut env, std::ptr::null_mut(), |env| {
        Ok(env.new_string(crate::VERSION)?.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_open<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    bucket: JString<'local>,
    user: JString<'local>,
    groups: JObjectArray<'local>,
    kv: JObjectArray<'local>,
) -> jlong {
    run(&mut env, 0, |env| {
        inner_open(env, &bucket, &user, &groups, &kv)
    })
}

/// The body of the entry points that hand out a session.
fn session_call(
    env: &mut JNIEnv<'_>,
    handle: jlong,
    get: fn(&Provider) -> crate::error::Result<Handout>,
) -> jobject {
    run(env, std::ptr::null_mut(), |env| {
        let handout = get(&*borrow(handle)?)?;
        to_java(env, handout)
    })
}

#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_credentials<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    handle: jlong,
) -> jobject {
    session_call(&mut env, handle, Provider::credentials)
}

#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_refresh<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    handle: jlong,
) -> jobject {
    session_call(&mut env, handle, Provider::refresh)
}

#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_describe<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    handle: jlong,
) -> jstring {
    run(&mut env, std::ptr::null_mut(), |env| {
        let text = borrow(handle)?.describe();
        Ok(env.new_string(text)?.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_sessionId<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    handle: jlong,
) -> jlong {
    run(&mut env, 0, |_| Ok(borrow(handle)?.session_id()))
}

#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_failsOpen<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    handle: jlong,
) -> jboolean {
    run(&mut env, 0, |_| Ok(u8::from(borrow(handle)?.fails_open())))
}

/// Whether the calling thread's last `credentials` or `refresh` waited for a fetch (STS or the
/// node cache) rather than being answered at once.
#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_lastCallWaited<'local>(
    _env: JNIEnv<'local>,
    _: JClass<'local>,
) -> jboolean {
    u8::from(crate::cache::last_call_waited())
}

/// The figures of a native session, by its identity (`sessionId`), in the order
/// `NativeBridge.stats` documents; null if this copy of the library has no such session.
#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_stats<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    session_id: jlong,
) -> jni::sys::jlongArray {
    run(&mut env, std::ptr::null_mut(), |env| {
        let Some(s) = crate::provider::stats_of(session_id) else {
            return Ok(std::ptr::null_mut());
        };
        let q = |q| s.latency_quantile(q).map_or(-1, |v| v as jlong);
        let mut values: Vec<jlong> = vec![
            s.assume_ok as jlong,
            s.assume_failed as jlong,
            s.assume_throttled as jlong,
            s.latency_last_ms as jlong,
            q(0.5),
            q(0.9),
            q(0.99),
            s.from_memory as jlong,
            s.from_node_cache as jlong,
            s.sts_fetches as jlong,
            s.waited as jlong,
            s.seconds_to_expiry.unwrap_or(jlong::MIN),
            s.session_age.unwrap_or(jlong::MIN),
            s.last_error_at.map_or(0, |t| t as jlong),
        ];
        values.extend(s.latency_buckets.iter().map(|&n| n as jlong));
        let array = env.new_long_array(values.len() as i32)?;
        env.set_long_array_region(&array, 0, &values)?;
        Ok(array.into_raw())
    })
}

/// The code of a native session's last error (STS's, or `NetworkError`, `Timeout`, ...), null if
/// it has had none or is unknown.
#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_lastErrorCode<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    session_id: jlong,
) -> jstring {
    run(
        &mut env,
        std::ptr::null_mut(),
        |env| match crate::provider::stats_of(session_id).and_then(|s| s.last_error_code) {
            Some(code) => Ok(env.new_string(code)?.into_raw()),
            None => Ok(std::ptr::null_mut()),
        },
    )
}

/// `{role, session name}` of a provider's session.
#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_labels<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    handle: jlong,
) -> jni::sys::jobjectArray {
    run(&mut env, std::ptr::null_mut(), |env| {
        let (role, session) = borrow(handle)?.labels();
        strings(env, &[role, session])
    })
}

/// The audit lines of the AssumeRole calls made since the last call (oldest first), with a line
/// first saying how many were dropped if more were made than kept.
#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_takeAudit<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
) -> jni::sys::jobjectArray {
    run(&mut env, std::ptr::null_mut(), |env| {
        let (mut lines, dropped) = crate::metrics::take_audit();
        if dropped > 0 {
            lines.insert(
                0,
                format!(
                    "rolebridge: {dropped} audit lines were dropped before they could be logged"
                ),
            );
        }
        strings(env, &lines)
    })
}

fn strings(env: &mut JNIEnv<'_>, values: &[String]) -> JniResult<jni::sys::jobjectArray> {
    let array = env.new_object_array(values.len() as i32, "java/lang/String", JObject::null())?;
    for (i, v) in values.iter().enumerate() {
        env.with_local_frame(2, |env| -> JniResult<()> {
            let s = env.new_string(v)?;
            env.set_object_array_element(&array, i as i32, s)?;
            Ok(())
        })?;
    }
    Ok(array.into_raw())
}

/// For tests: panics with `message`, to show that a panic becomes a Java exception and the JVM
/// goes on. Not reachable from the public Java API.
#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_panicForTest<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    message: JString<'local>,
) {
    run(&mut env, (), |env| {
        let message = opt_string(env, &message)?.unwrap_or_default();
        panic!("{message}")
    })
}

#[no_mangle]
pub extern "system" fn Java_dev_rolebridge_hadoop_NativeBridge_close<'local>(
    mut env: JNIEnv<'local>,
    _: JClass<'local>,
    handle: jlong,
) {
    run(&mut env, (), |_| {
        release(handle);
        Ok(())
    })
}

/// The JVM unloads this copy of the library (its class loader was collected): stop its threads
/// first. Never panics and never calls into the JVM.
#[no_mangle]
pub extern "system" fn JNI_OnUnload(_vm: *mut jni::sys::JavaVM, _reserved: *mut c_void) {
    let stopped = catch_unwind(crate::provider::unload).unwrap_or(false);
    if !stopped {
        pin_library();
    }
}

/// Keeps this library mapped for the life of the process, for when a thread running its code
/// could not be stopped: the JVM's dlclose then leaves it in place.
fn pin_library() {
    let anchor = pin_library as *const c_void;
    // SAFETY: dladdr only reads the loader's tables for an address of this library; the path it
    // returns stays valid while the library is mapped, which it is during this call.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(anchor, &mut info) != 0 && !info.dli_fname.is_null() {
            // A second reference with RTLD_NODELETE: the object is never unmapped.
            libc::dlopen(
                info.dli_fname,
                libc::RTLD_NOW | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
            );
        }
    }
    tracing::warn!("a runtime thread did not stop in time: this copy of the library stays loaded");
}
