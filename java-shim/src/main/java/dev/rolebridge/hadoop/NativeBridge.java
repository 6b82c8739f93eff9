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

  /** For tests only: panics in native code with this message. */
  static native void panicForTest(String message);

  static native void close(long handle);
}
