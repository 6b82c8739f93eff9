package dev.rolebridge.hadoop;

/** Credentials as the native library hands them out. Built by native code; never printed. */
final class NativeSession {
  final String accessKeyId;
  final String secretAccessKey;
  final String sessionToken;
  final long expirationMillis;
  /** When to ask the native cache again (before expiry minus the refresh-ahead time). */
  final long askAgainAtMillis;

  NativeSession(String accessKeyId, String secretAccessKey, String sessionToken,
      long expirationMillis, long askAgainAtMillis) {
    this.accessKeyId = accessKeyId;
    this.secretAccessKey = secretAccessKey;
    this.sessionToken = sessionToken;
    this.expirationMillis = expirationMillis;
    this.askAgainAtMillis = askAgainAtMillis;
  }

  @Override
  public String toString() {
    return "NativeSession{accessKeyId=" + accessKeyId + ", expiration="
        + java.time.Instant.ofEpochMilli(expirationMillis) + "}";
  }
}
