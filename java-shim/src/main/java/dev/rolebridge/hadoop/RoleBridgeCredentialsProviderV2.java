package dev.rolebridge.hadoop;

import java.net.URI;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.apache.hadoop.conf.Configuration;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.ResolveIdentityRequest;

/**
 * AWS SDK for Java v2 credentials provider for Hadoop S3A 3.4+ and EMR 7.10+
 * ({@code fs.s3a.aws.credentials.provider}): session credentials of a role assumed through STS
 * ({@link AwsSessionCredentials}, with their expiration), cached for the whole process and
 * refreshed ahead of expiry; for a bucket that {@code rolebridge.unmapped.buckets=source} leaves
 * to the source credentials, those (plain {@link AwsBasicCredentials} where they have no session).
 */
public class RoleBridgeCredentialsProviderV2 implements AwsCredentialsProvider, AutoCloseable {
  private final ProviderCore<AwsCredentials> core;

  private static final ProviderCore.Converter<AwsCredentials> V2 =
      new ProviderCore.Converter<AwsCredentials>() {
        @Override
        public AwsCredentials convert(NativeSession s) {
          if (s.sessionToken.isEmpty()) {
            // Long-term keys of the source (rolebridge.unmapped.buckets=source).
            return AwsBasicCredentials.create(s.accessKeyId, s.secretAccessKey);
          }
          return AwsSessionCredentials.builder()
              .accessKeyId(s.accessKeyId)
              .secretAccessKey(s.secretAccessKey)
              .sessionToken(s.sessionToken)
              .expirationTime(Instant.ofEpochMilli(s.expirationMillis))
              .build();
        }

        @Override
        public RuntimeException whenOpen(RuntimeException failure) {
          return failure instanceof RoleBridgeStsException
              ? SdkClientException.create(failure.getMessage(), failure) : failure;
        }
      };

  public RoleBridgeCredentialsProviderV2(URI uri, Configuration conf) {
    this.core = ProviderCore.open(uri, conf, V2, RoleBridgeConstants.BY_URI_CONF);
  }

  /**
   * A factory method of the same form as the constructor, for code that makes providers through
   * {@code create(...)}. (S3A 3.4 uses the (URI, Configuration) constructor; the factory it would
   * look for after the constructors is a no-arg {@code create()}, which this class does not have.)
   */
  public static RoleBridgeCredentialsProviderV2 create(URI uri, Configuration conf) {
    return new RoleBridgeCredentialsProviderV2(uri, conf);
  }

  /**
   * The current session credentials. When none can be had: {@link RoleBridgeCredentialsUnavailableError}
   * (failure mode closed, the default), or with {@code rolebridge.failure.mode=open} an
   * {@link SdkClientException} whose cause is a {@link RoleBridgeStsException}.
   */
  @Override
  public AwsCredentials resolveCredentials() {
    return core.get();
  }

  /**
   * The current session credentials as a future, for SDK v2 async clients and anything that asks
   * through the identity API: already complete when they are cached; else complete when the fetch
   * from STS is, without the calling thread (an event-loop thread, say) ever waiting for it. It
   * completes exceptionally as {@link #resolveCredentials()} throws: with a
   * {@link RoleBridgeCredentialsUnavailableError} (mode closed) or an {@link SdkClientException}
   * (mode open). Cancelling it does not cancel the fetch. S3A 3.4 itself calls
   * {@link #resolveCredentials()}.
   */
  @Override
  public CompletableFuture<AwsCredentialsIdentity> resolveIdentity(ResolveIdentityRequest request) {
    CompletableFuture<AwsCredentialsIdentity> f = new CompletableFuture<AwsCredentialsIdentity>();
    core.getAsync(f);
    return f;
  }

  /** Forces a new session and returns it. */
  public AwsCredentials refresh() {
    return core.refresh();
  }

  @Override
  public void close() {
    core.close();
  }

  @Override
  public String toString() {
    return "RoleBridgeCredentialsProviderV2{" + core.description() + "}";
  }
}
