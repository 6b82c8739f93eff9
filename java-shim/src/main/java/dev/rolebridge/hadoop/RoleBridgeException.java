package dev.rolebridge.hadoop;

/** Base of rolebridge's runtime failures (native panics and internal errors use it directly). */
public class RoleBridgeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public RoleBridgeException(String message) {
    super(message);
  }

  public RoleBridgeException(String message, Throwable cause) {
    super(message, cause);
  }
}
