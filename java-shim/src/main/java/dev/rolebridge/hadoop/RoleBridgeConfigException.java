package dev.rolebridge.hadoop;

/**
 * A setting broke a rule. Thrown when the provider is constructed, before any network call. The
 * message names the key the value came from, the rule and the fix; {@link #getKey()} gives the key.
 */
public class RoleBridgeConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;
  private final String key;

  public RoleBridgeConfigException(String key, String message) {
    super(message);
    this.key = key;
  }

  /** The configuration key whose value was rejected (the per-bucket one if that was used). */
  public String getKey() {
    return key;
  }
}
