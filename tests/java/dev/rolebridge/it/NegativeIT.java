package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.AmazonClientException;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import dev.rolebridge.hadoop.RoleBridgeStsException;
import dev.rolebridge.it.LocalAws.Request;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

/** STS refusals: a clear exception carrying STS's code and the usual causes, and no S3 request. */
class NegativeIT {
  private final LocalAws aws = LocalAws.get();

  /** Writes through S3A with {@code conf}; returns the failure and the recorded requests. */
  private List<Request> failedWrite(Configuration conf, StringBuilder failure) throws Exception {
    String bucket = aws.bucket("destA");
    aws.startRecording();
    try (FileSystem fs = FileSystem.get(URI.create("s3a://" + bucket + "/"), conf)) {
      Throwable e = assertThrows(Throwable.class,
          () -> S3ACrossAccountIT.write(fs, new Path("s3a://" + bucket + "/denied.txt"), new byte[] {1}));
      failure.append(chain(e));
    }
    return aws.stopRecording();
  }

  static String chain(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (; t != null; t = t.getCause()) {
      b.append(t.getClass().getName()).append(": ").append(t.getMessage()).append("\n");
    }
    return b.toString();
  }

  private void assertRefusedWithoutS3(List<Request> recorded, String why) {
    assertEquals(0, LocalAws.s3Calls(recorded).size(), "no S3 request was made: " + recorded);
    assertEquals(1, LocalAws.assumeRoleCalls(recorded).size(), why + ": one AssumeRole, not retried: " + recorded);
  }

  @Test
  void wrongExternalId() throws Exception {
    Configuration conf = aws.s3aConf("destA", "it-wrong-external-id");
    conf.set("rolebridge.external.id", "not-the-agreed-id");
    StringBuilder failure = new StringBuilder();
    List<Request> recorded = failedWrite(conf, failure);
    String f = failure.toString();
    assertTrue(f.contains(RoleBridgeCredentialsUnavailableError.class.getName())
        && f.contains(RoleBridgeStsException.class.getName()), f);
    assertTrue(f.contains("AccessDenied") && f.contains("sts:ExternalId")
        && f.contains("rolebridge.external.id") && f.contains(aws.roleArn("destA")), f);
    // issue 15 item 12: says an external ID was sent, and names the source principal by its ARN
    assertTrue(f.contains("the external ID sent (rolebridge.external.id) does not match"), f);
    assertTrue(f.contains("does not name " + aws.fixture.get("source").get("arn").asText()), f);
    assertFalse(f.contains("failure.mode=open"), f);
    assertRefusedWithoutS3(recorded, "wrong external ID");
  }

  /** Issue 15 item 12: with no external ID sent, the message says so instead of "does not match". */
  @Test
  void missingExternalId() throws Exception {
    Configuration conf = aws.s3aConf("destA", "it-missing-external-id");
    conf.unset("rolebridge.external.id");
    StringBuilder failure = new StringBuilder();
    List<Request> recorded = failedWrite(conf, failure);
    String f = failure.toString();
    assertTrue(f.contains("AccessDenied"), f);
    assertTrue(f.contains("no external ID was sent (rolebridge.external.id is not set)"), f);
    assertFalse(f.contains("the external ID sent"), f);
    assertRefusedWithoutS3(recorded, "missing external ID");
  }

  @Test
  void roleThatDoesNotExist() throws Exception {
    String missing = "arn:aws:iam::222222222222:role/no-such-role";
    Configuration conf = aws.s3aConf("destA", "it-missing-role");
    conf.set("rolebridge.role.arn", missing);
    aws.startRecording();
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(conf);
    RoleBridgeCredentialsUnavailableError closed = assertThrows(RoleBridgeCredentialsUnavailableError.class, p::getCredentials);
    p.close();
    assertEquals("AccessDenied", closed.getErrorCode());
    assertTrue(closed.getMessage().contains(missing) && closed.getMessage().contains("role does not exist")
        && closed.getMessage().contains("rolebridge.failure.mode=closed"), closed.getMessage());
    // issue 15 item 12: a refused call is never pointed at the unsafe switch
    assertFalse(closed.getMessage().contains("failure.mode=open"), closed.getMessage());
    assertRefusedWithoutS3(aws.stopRecording(), "missing role");

    // With failure mode open, the SDK v1 form: an AmazonClientException, not retryable.
    conf.set("rolebridge.failure.mode", "open");
    conf.set("rolebridge.session.name", "it-missing-role-open");
    p = new RoleBridgeCredentialsProvider(conf);
    AmazonClientException open = assertThrows(AmazonClientException.class, p::getCredentials);
    p.close();
    assertFalse(open.isRetryable(), "AccessDenied is not worth retrying");
    RoleBridgeStsException sts = (RoleBridgeStsException) open.getCause();
    assertEquals("AccessDenied", sts.getErrorCode());
    assertTrue(sts.getMessage().contains(missing), sts.getMessage());
  }

  @Test
  void sourceThatTheTrustPolicyDoesNotName() throws Exception {
    // The source identity is the process's AWS default chain, so the untrusted source runs in a
    // JVM of its own whose environment holds the intruder's keys.
    Map<String, String> env = new HashMap<String, String>();
    env.put("AWS_ACCESS_KEY_ID", aws.accessKeyOf("intruder"));
    env.put("AWS_SECRET_ACCESS_KEY", aws.secretKeyOf("intruder"));
    aws.startRecording();
    String out = aws.runChildProbe(env);
    List<Request> recorded = aws.stopRecording();
    assertTrue(out.contains("RESULT refused AccessDenied"), out);
    // issue 15 item 12: the refused principal is named by its ARN
    String intruder = aws.fixture.get("intruder").get("arn").asText();
    assertTrue(out.contains("trust policy does not name " + intruder + " (the source principal"), out);
    assertRefusedWithoutS3(recorded, "untrusted source");
    assertEquals(aws.accessKeyOf("intruder"), LocalAws.assumeRoleCalls(recorded).get(0).signedBy());
  }
}
