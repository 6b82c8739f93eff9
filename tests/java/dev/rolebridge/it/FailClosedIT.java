package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.ClientConfiguration;
import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.AWSCredentialsProviderChain;
import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import com.amazonaws.client.builder.AwsClientBuilder;
import com.amazonaws.services.s3.AmazonS3;
import com.amazonaws.services.s3.AmazonS3ClientBuilder;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import dev.rolebridge.it.LocalAws.Request;
import dev.rolebridge.it.StsFaultProxy.Fault;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProviderChain;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * EMRFS's provider chain: rolebridge first, the cluster's instance role after it, and the chain
 * reusing whichever provider worked last. Here the "instance role" is a static provider with the
 * source account's keys, and STS fails. In failure mode closed no S3 request may ever be signed
 * by the fallback identity; in mode open the chain falls through, as documented.
 */
class FailClosedIT extends ProxiedStsTest {
  private Configuration conf(String session, String mode) {
    Configuration conf = viaProxy(session);
    conf.set("rolebridge.sts.timeout", "10s"); // room for the SDK's 3 attempts at 503s
    conf.set("rolebridge.failure.mode", mode);
    return conf;
  }

  private String fallbackKey() {
    return aws.accessKeyOf("source");
  }

  private AWSCredentialsProviderChain emrfsLikeChain(AWSCredentialsProvider ours) {
    AWSCredentialsProviderChain chain = new AWSCredentialsProviderChain(ours,
        new AWSStaticCredentialsProvider(new BasicAWSCredentials(fallbackKey(), aws.secretKeyOf("source"))));
    chain.setReuseLastProvider(true);
    return chain;
  }

  private AmazonS3 s3(AWSCredentialsProvider credentials) {
    return AmazonS3ClientBuilder.standard()
        .withEndpointConfiguration(new AwsClientBuilder.EndpointConfiguration(aws.endpoint, "us-east-1"))
        .withPathStyleAccessEnabled(true)
        .withClientConfiguration(new ClientConfiguration().withMaxErrorRetry(0))
        .withCredentials(credentials)
        .build();
  }

  private static long signedBy(List<Request> recorded, String key) {
    return LocalAws.s3Calls(recorded).stream().filter(r -> key.equals(r.signedBy())).count();
  }

  @Test
  void closedNoRequestIsEverSignedByTheFallbackIdentity() throws Exception {
    RoleBridgeCredentialsProvider ours = new RoleBridgeCredentialsProvider(conf("it-chain-closed", "closed"));
    AmazonS3 s3 = s3(emrfsLikeChain(ours));
    String bucket = aws.bucket("destA");

    proxy.steady(Fault.E503);
    aws.startRecording();
    for (int i = 0; i < 3; i++) {
      final int n = i;
      Throwable t = assertThrows(Throwable.class, () -> s3.putObject(bucket, "chain/closed-" + n, "x"));
      assertTrue(causeOf(t, RoleBridgeCredentialsUnavailableError.class) != null, "fails with the reason: " + t);
      assertTrue(String.valueOf(t.getMessage()).contains("ServiceUnavailable"), t.getMessage());
    }
    List<Request> during = aws.stopRecording();
    assertEquals(0, LocalAws.s3Calls(during).size(), "no S3 request at all while STS fails: " + during);

    // STS comes back: writes go out, signed by the destination role only.
    proxy.steady(Fault.PASS);
    aws.startRecording();
    Thread.sleep(1_100); // past the backoff after the last failure
    s3.putObject(bucket, "chain/closed-after", "x");
    List<Request> after = aws.stopRecording();
    assertEquals(0, signedBy(after, fallbackKey()), after.toString());
    assertTrue(LocalAws.s3Calls(after).stream().allMatch(r -> r.signedBy().startsWith("ASIA")), after.toString());
    s3.deleteObject(bucket, "chain/closed-after");
    ours.close();
    System.out.println("FAULT-MATRIX EMRFS-like chain, failure.mode=closed, STS 503: 3 writes failed with"
        + " RoleBridgeCredentialsUnavailableError, 0 S3 requests; after recovery the write is signed by the role");
  }

  @Test
  void openTheChainFallsThroughAsDocumented() throws Exception {
    RoleBridgeCredentialsProvider ours = new RoleBridgeCredentialsProvider(conf("it-chain-open", "open"));
    AmazonS3 s3 = s3(emrfsLikeChain(ours));
    proxy.steady(Fault.E503);
    aws.startRecording();
    Throwable t = assertThrows(Throwable.class, () -> s3.putObject(aws.bucket("destA"), "chain/open", "x"));
    List<Request> recorded = aws.stopRecording();
    assertTrue(signedBy(recorded, fallbackKey()) >= 1,
        "with failure.mode=open the chain signs with the fallback identity: " + recorded);
    assertTrue(String.valueOf(t).contains("Access Denied") || String.valueOf(t).contains("AccessDenied"), String.valueOf(t));
    ours.close();
    System.out.println("FAULT-MATRIX EMRFS-like chain, failure.mode=open, STS 503: the chain fell through; "
        + signedBy(recorded, fallbackKey()) + " S3 request(s) signed by the fallback identity (denied here)");
  }

  @Test
  void sdkV2ChainsCannotFallBackEither() {
    StaticCredentialsProvider fallback = StaticCredentialsProvider.create(
        AwsBasicCredentials.create(fallbackKey(), aws.secretKeyOf("source")));
    proxy.steady(Fault.E503);

    RoleBridgeCredentialsProviderV2 closed = new RoleBridgeCredentialsProviderV2(null, conf("it-chain-v2-closed", "closed"));
    AwsCredentialsProviderChain chain = AwsCredentialsProviderChain.builder()
        .reuseLastProviderEnabled(true).credentialsProviders(closed, fallback).build();
    assertThrows(RoleBridgeCredentialsUnavailableError.class, chain::resolveCredentials);
    assertThrows(RoleBridgeCredentialsUnavailableError.class, chain::resolveCredentials);
    closed.close();

    RoleBridgeCredentialsProviderV2 open = new RoleBridgeCredentialsProviderV2(null, conf("it-chain-v2-open", "open"));
    AwsCredentialsProviderChain openChain = AwsCredentialsProviderChain.builder()
        .reuseLastProviderEnabled(true).credentialsProviders(open, fallback).build();
    AwsCredentials got = openChain.resolveCredentials();
    assertEquals(fallbackKey(), got.accessKeyId(), "open: the v2 chain falls through to the next provider");
    assertSame(got.getClass(), fallback.resolveCredentials().getClass());
    open.close();
  }

  /**
   * Issue 9, hole 1 (the shim's part). A failure at call time that is not STS's, here a setting
   * found wrong only then (no region for STS: no rolebridge.sts.region, no AWS_REGION, no instance
   * metadata, and an endpoint that names none), used to leave the provider as an
   * IllegalArgumentException, and both chains then signed with the fallback identity. Every
   * failure now follows the failure mode: closed, an Error no chain catches; open, the chains fall
   * through as documented.
   */
  @Test
  void aFailureThatIsNotStsFollowsTheFailureMode() throws Exception {
    for (String mode : new String[] {"closed", "open"}) {
      ProcessBuilder pb = new ProcessBuilder(System.getProperty("java.home") + "/bin/java", "-cp",
          System.getProperty("rolebridge.test.classpath"), "-Dlog4j.configuration=log4j.properties",
          LateFailureProbe.class.getName(), aws.endpoint, aws.roleArn("destA"), aws.externalId("destA"),
          aws.bucket("destA"), mode);
      pb.environment().remove("AWS_REGION");
      pb.environment().remove("AWS_DEFAULT_REGION");
      pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
      LocalAws.Ran r = LocalAws.run(pb);
      assertEquals(0, r.exit, r.output);
      for (String sdk : new String[] {"V1", "V2"}) {
        if (mode.equals("closed")) {
          assertTrue(r.output.contains(sdk + " ERROR " + RoleBridgeCredentialsUnavailableError.class.getName()),
              sdk + " fails closed: " + r.output);
          assertTrue(r.output.matches("(?s).*" + sdk + " ERROR [^\\n]*rolebridge\\.sts\\.region.*"),
              "names the setting: " + r.output);
        } else {
          assertTrue(r.output.contains(sdk + " FELL BACK " + LateFailureProbe.FALLBACK_KEY),
              sdk + " falls through in mode open: " + r.output);
        }
      }
    }
  }
}
