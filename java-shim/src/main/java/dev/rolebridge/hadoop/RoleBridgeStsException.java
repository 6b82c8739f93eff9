package dev.rolebridge.hadoop;

/**
 * No session could be had from STS: STS refused (AccessDenied, a malformed policy, a disabled
 * region), or could not be reached in time. Carries STS's error code.
 */
public class RoleBridgeStsException extends RoleBridgeException {
  private static final long serialVersionUID = 1L;
  private final String errorCode;
  private final boolean retryable;

  public RoleBridgeStsException(String errorCode, String message, boolean retryable) {
    super(message);
    this.errorCode = errorCode;
    this.retryable = retryable;
  }

  /** STS's error code (e.g. AccessDenied, Throttling), or NetworkError / Timeout. */
  public String getErrorCode() {
    return errorCode;
  }

  /** Whether trying again later may succeed without changing anything. */
  public boolean isRetryable() {
    return retryable;
  }
}
