package dev.rolebridge.hadoop;

/** The native entry points (src/jni.rs). Handles follow the contract described there. */
final class NativeBridge {
  private NativeBridge() {
  }

  static native String version();

  /**
   * Validates the settings and returns a handle; throws RoleBridgeConfigException. {@code groups}:
   * the user's groups in Hadoop's order, or null if they were not looked up.
   */
  static native long open(String bucket, String hadoopUser, String[] groups, String[] keysAndValues);

  static native NativeSession credentials(long handle);

  static native NativeSession refresh(long handle);

  static native String describe(long handle);

  /** The identity of the handle's native session: equal for handles of one cache entry. */
  static native long sessionId(long handle);

  /** Whether rolebridge.failure.mode is open. */
  static native boolean failsOpen(long handle);

  /**
   * Whether this thread's last {@link #credentials} or {@link #refresh} waited for a fetch (from
   * STS or the node cache), whatever it returned, rather than being answered at once from the
   * library's memory or with a remembered error.
   */
  static native boolean lastCallWaited();

  /** {role, session name} of the handle's native session, for metric names. */
  static native String[] labels(long handle);

  /**
   * The figures of a native session by its {@link #sessionId}, or null if this copy of the library
   * has none: AssumeRole succeeded, failed, throttled attempts; STS latency last, p50, p90, p99 (ms,
   * -1 before any call); answers from memory (native calls), from the node cache, fetches from STS;
   * native callers that waited; seconds to expiry and session age (Long.MIN_VALUE without a
   * session); time of the last error (seconds since the epoch, 0 for none); then one count per
   * latency bucket ({@link Metrics#LATENCY_BOUNDS_MS}, and one above).
   */
  static native long[] stats(long sessionId);

  /** The code of a native session's last error, or null. */
  static native String lastErrorCode(long sessionId);

  /** The audit lines of the AssumeRole calls made since the last call, oldest first. */
  static native String[] takeAudit();

  /** For tests only: panics in native code with this message. */
  static native void panicForTest(String message);

  static native void close(long handle);
}
