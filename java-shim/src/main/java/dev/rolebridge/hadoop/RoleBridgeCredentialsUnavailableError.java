package dev.rolebridge.hadoop;

/**
 * No credentials could be had, and {@code rolebridge.failure.mode} is {@code closed} (the default).
 *
 * <p>This is an {@link Error} on purpose. EMRFS puts a custom provider first in a chain that, when
 * a provider throws an exception, falls through to the cluster's instance role and then keeps
 * using whichever provider worked last; the AWS SDKs' provider chains and S3A's provider list do
 * the same with exceptions. Such writes would go out silently under the wrong account. Chains do
 * not catch Errors, so the request fails instead, with this message saying why. The cause is the
 * {@link RoleBridgeException} (usually a {@link RoleBridgeStsException} with STS's error code).
 */
public class RoleBridgeCredentialsUnavailableError extends Error {
  private static final long serialVersionUID = 1L;

  public RoleBridgeCredentialsUnavailableError(String message, RuntimeException cause) {
    super(message, cause);
  }

  /** STS's error code, or NetworkError / Timeout / InternalError, or null if not from STS. */
  public String getErrorCode() {
    Throwable c = getCause();
    return c instanceof RoleBridgeStsException ? ((RoleBridgeStsException) c).getErrorCode() : null;
  }
}
