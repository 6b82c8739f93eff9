package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicSessionCredentials;
import com.amazonaws.client.builder.AwsClientBuilder;
import com.amazonaws.services.s3.AmazonS3;
import com.amazonaws.services.s3.AmazonS3ClientBuilder;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import dev.rolebridge.hadoop.RoleBridgeStsException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.core.exception.SdkClientException;

/** The AWS SDK v2 provider (S3A 3.4+, EMR 7.10+) against the same local STS. */
class ProviderV2IT {
  private final LocalAws aws = LocalAws.get();

  @Test
  void resolvesSessionCredentialsWithExpiration() throws Exception {
    Configuration conf = aws.s3aConf("destA", "it-v2");
    conf.set("rolebridge.session.duration", "30m");
    aws.startRecording();
    AwsCredentialsProvider p = RoleBridgeCredentialsProviderV2.create(URI.create("s3a://" + aws.bucket("destA")), conf);
    AwsCredentials c = p.resolveCredentials();
    assertTrue(c instanceof AwsSessionCredentials, c.getClass().getName());
    AwsSessionCredentials s = (AwsSessionCredentials) c;
    assertTrue(s.accessKeyId().startsWith("ASIA"));
    assertNotNull(s.sessionToken());
    Instant expiration = s.expirationTime().orElseThrow(AssertionError::new);
    Duration left = Duration.between(Instant.now(), expiration);
    assertTrue(left.getSeconds() > 1700 && left.getSeconds() <= 1800, "about 30m left: " + left);
    assertTrue(p.resolveCredentials() == c, "the same immutable object until refresh time");
    assertFalse(p.toString().contains(s.secretAccessKey()) || p.toString().contains(s.sessionToken()));
    assertFalse(s.toString().contains(s.secretAccessKey()) || s.toString().contains(s.sessionToken()));

    // The credentials really are the destination role's: they write the destination bucket.
    AmazonS3 s3 = AmazonS3ClientBuilder.standard()
        .withEndpointConfiguration(new AwsClientBuilder.EndpointConfiguration(aws.endpoint, "us-east-1"))
        .withPathStyleAccessEnabled(true)
        .withCredentials(new AWSStaticCredentialsProvider(
            new BasicSessionCredentials(s.accessKeyId(), s.secretAccessKey(), s.sessionToken())))
        .build();
    s3.putObject(aws.bucket("destA"), "v2/written-with-v2-credentials.txt", "v2");
    s3.deleteObject(aws.bucket("destA"), "v2/written-with-v2-credentials.txt");
    ((AutoCloseable) p).close();

    List<LocalAws.Request> recorded = aws.stopRecording();
    List<LocalAws.Request> calls = LocalAws.assumeRoleCalls(recorded);
    assertEquals(1, calls.size());
    assertEquals("it-v2", calls.get(0).form().get("RoleSessionName"));
    assertEquals("1800", calls.get(0).form().get("DurationSeconds"));
    for (LocalAws.Request r : LocalAws.s3Calls(recorded)) {
      assertEquals(s.accessKeyId(), r.signedBy());
    }
  }

  @Test
  void refusalIsAnErrorByDefaultAndAnSdkClientExceptionWhenFailingOpen() {
    Configuration conf = aws.s3aConf("destA", "it-v2-denied");
    conf.set("rolebridge.external.id", "wrong-id");
    RoleBridgeCredentialsProviderV2 p = new RoleBridgeCredentialsProviderV2(null, conf);
    RoleBridgeCredentialsUnavailableError closed = assertThrows(RoleBridgeCredentialsUnavailableError.class, p::resolveCredentials);
    assertEquals("AccessDenied", closed.getErrorCode());
    p.close();
    conf.set("rolebridge.failure.mode", "open");
    p = new RoleBridgeCredentialsProviderV2(null, conf);
    SdkClientException e = assertThrows(SdkClientException.class, p::resolveCredentials);
    assertEquals("AccessDenied", ((RoleBridgeStsException) e.getCause()).getErrorCode());
    p.close();
  }
}
