package dev.rolebridge.hadoop;

import com.amazonaws.AmazonClientException;
import com.amazonaws.auth.AWSCredentials;
import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.auth.BasicSessionCredentials;
import java.io.Closeable;
import java.net.URI;
import org.apache.hadoop.conf.Configurable;
import org.apache.hadoop.conf.Configuration;

/**
 * AWS SDK for Java v1 credentials provider for EMRFS ({@code fs.s3.customAWSCredentialsProvider})
 * and Hadoop S3A 3.3 ({@code fs.s3a.aws.credentials.provider}): session credentials of a role
 * assumed through STS, cached for the whole process and refreshed ahead of expiry.
 *
 * <p>Settings are validated when the provider is constructed (or on {@link #setConf}), before any
 * network call; a bad one throws {@link RoleBridgeConfigException}. When no session can be had,
 * {@link #getCredentials()} throws {@link RoleBridgeCredentialsUnavailableError} (failure mode
 * {@code closed}, the default: provider chains cannot fall back to another identity), or with
 * {@code rolebridge.failure.mode=open} an {@link AmazonClientException} whose cause is a
 * {@link RoleBridgeStsException} with STS's error code.
 */
public class RoleBridgeCredentialsProvider implements AWSCredentialsProvider, Configurable, Closeable {
  private final URI uri;
  private volatile Configuration conf;
  private volatile ProviderCore<AWSCredentials> core;

  private static final ProviderCore.Converter<AWSCredentials> V1 =
      new ProviderCore.Converter<AWSCredentials>() {
        @Override
        public AWSCredentials convert(NativeSession s) {
          // No token: long-term keys of the source (rolebridge.unmapped.buckets=source).
          return s.sessionToken.isEmpty()
              ? new BasicAWSCredentials(s.accessKeyId, s.secretAccessKey)
              : new BasicSessionCredentials(s.accessKeyId, s.secretAccessKey, s.sessionToken);
        }

        @Override
        public RuntimeException whenOpen(RuntimeException failure) {
          return failure instanceof RoleBridgeStsException
              ? new CredentialsUnavailableException((RoleBridgeStsException) failure) : failure;
        }
      };

  /** What EMRFS and S3A call first: the file system's URI (for per-bucket settings) and its configuration. */
  public RoleBridgeCredentialsProvider(URI uri, Configuration conf) {
    this(uri, conf, RoleBridgeConstants.BY_URI_CONF);
  }

  /** Without a bucket: per-bucket settings ({@code rolebridge.bucket.*}) are refused. */
  public RoleBridgeCredentialsProvider(Configuration conf) {
    this(null, conf, RoleBridgeConstants.BY_CONF);
  }

  private RoleBridgeCredentialsProvider(URI uri, Configuration conf, String constructedBy) {
    this.uri = uri;
    this.conf = conf;
    this.core = ProviderCore.open(uri, conf, V1, constructedBy);
  }

  /** EMRFS's fallback: no-arg construction followed by {@link #setConf}. */
  public RoleBridgeCredentialsProvider() {
    this.uri = null;
  }

  /** Validates and applies {@code conf}; on a bad setting, throws and keeps the previous one. */
  @Override
  public void setConf(Configuration conf) {
    ProviderCore<AWSCredentials> next = ProviderCore.open(uri, conf, V1,
        uri == null ? RoleBridgeConstants.BY_SET_CONF : RoleBridgeConstants.BY_URI_CONF);
    ProviderCore<AWSCredentials> previous;
    synchronized (this) {
      previous = core;
      this.conf = conf;
      this.core = next;
    }
    if (previous != null) {
      previous.close();
    }
  }

  @Override
  public Configuration getConf() {
    return conf;
  }

  /**
   * The provider's core. One made with the no-argument constructor and never given a configuration
   * has no failure mode of its own: it fails closed, the default, rather than let a chain fall back.
   */
  private ProviderCore<AWSCredentials> core() {
    ProviderCore<AWSCredentials> c = core;
    if (c == null) {
      throw ProviderCore.unavailable("an unconfigured provider",
          new IllegalStateException(RoleBridgeConstants.E_NOT_CONFIGURED));
    }
    return c;
  }

  /**
   * The current session credentials ({@link com.amazonaws.auth.AWSSessionCredentials}; for a
   * bucket that {@code rolebridge.unmapped.buckets=source} leaves to the source credentials, those,
   * which are plain keys where the source has no session). When none can be had: {@link RoleBridgeCredentialsUnavailableError}
   * (failure mode closed, the default), or with {@code rolebridge.failure.mode=open} the exception
   * (an {@link AmazonClientException} for STS's and network failures).
   */
  @Override
  public AWSCredentials getCredentials() {
    return core().get();
  }

  /** Forces a new session. */
  @Override
  public void refresh() {
    core().refresh();
  }

  /** Releases the native handle; the shared session stays cached for other providers. Idempotent. */
  @Override
  public void close() {
    ProviderCore<AWSCredentials> c = core;
    if (c != null) {
      c.close();
    }
  }

  @Override
  public String toString() {
    ProviderCore<AWSCredentials> c = core;
    return "RoleBridgeCredentialsProvider{" + (c == null ? "not configured" : c.description()) + "}";
  }

  /**
   * The SDK v1 form of a {@link RoleBridgeStsException}, so that the SDK and S3A handle it as a
   * client-side credentials failure; retryable only if STS's error was.
   */
  public static final class CredentialsUnavailableException extends AmazonClientException {
    private static final long serialVersionUID = 1L;
    private final boolean retryable;

    CredentialsUnavailableException(RoleBridgeStsException cause) {
      super(cause.getMessage(), cause);
      this.retryable = cause.isRetryable();
    }

    @Override
    public boolean isRetryable() {
      return retryable;
    }
  }
}
