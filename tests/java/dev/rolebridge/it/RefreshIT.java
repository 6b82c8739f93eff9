package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import java.net.URI;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/**
 * Issue 9, hole 9: a forced refresh (AWSCredentialsProvider.refresh(), as EMRFS and S3A call it
 * after an authentication failure) reaches every provider of the session, not only the one it was
 * called on: the others hand out the new credentials at their next call, not at their own
 * ask-again time up to about 55 minutes later.
 */
class RefreshIT {
  private final LocalAws aws = LocalAws.get();

  @Test
  void aForcedRefreshReachesEveryProviderOfTheSession() throws Exception {
    Configuration conf = aws.s3aConf("destA", "it-refresh-all");
    URI bucket = URI.create("s3a://" + aws.bucket("destA") + "/");
    aws.startRecording();
    RoleBridgeCredentialsProvider a = new RoleBridgeCredentialsProvider(bucket, conf);
    RoleBridgeCredentialsProvider b = new RoleBridgeCredentialsProvider(bucket, conf);
    RoleBridgeCredentialsProviderV2 c = RoleBridgeCredentialsProviderV2.create(bucket, conf);
    // another session (another session name): a refresh of the first leaves it alone
    RoleBridgeCredentialsProvider other = new RoleBridgeCredentialsProvider(bucket, aws.s3aConf("destA", "it-refresh-other"));
    try {
      String k1 = a.getCredentials().getAWSAccessKeyId();
      assertEquals(k1, b.getCredentials().getAWSAccessKeyId(), "one session, one key");
      assertEquals(k1, c.resolveCredentials().accessKeyId());
      String o1 = other.getCredentials().getAWSAccessKeyId();

      a.refresh();
      String k2 = a.getCredentials().getAWSAccessKeyId();
      assertNotEquals(k1, k2, "refresh() fetched a new session");
      assertEquals(k2, b.getCredentials().getAWSAccessKeyId(), "another v1 provider of the session, at its next call");
      assertEquals(k2, c.resolveCredentials().accessKeyId(), "a v2 provider of the session, at its next call");
      assertEquals(o1, other.getCredentials().getAWSAccessKeyId(), "another session is not refreshed");

      // and the same from the other side: b's refresh reaches a
      b.refresh();
      String k3 = b.getCredentials().getAWSAccessKeyId();
      assertNotEquals(k2, k3);
      assertEquals(k3, a.getCredentials().getAWSAccessKeyId());
      List<LocalAws.Request> calls = LocalAws.assumeRoleCalls(aws.stopRecording());
      assertEquals(4, calls.size(), "first + other + two refreshes, nothing more: " + calls);
    } finally {
      a.close();
      b.close();
      c.close();
      other.close();
    }
  }

  /**
   * A refresh right after a refresh is a new fetch: the first one stops being "under way" before
   * its callers wake, so the second does not join it and get its session again (it did, now and
   * then, when the fetch thread had not yet cleared it).
   */
  @Test
  void everyRefreshMakesANewSession() throws Exception {
    Configuration conf = aws.s3aConf("destA", "it-refresh-each");
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://" + aws.bucket("destA")), conf);
    java.util.Set<String> keys = new java.util.HashSet<String>();
    aws.startRecording();
    keys.add(p.getCredentials().getAWSAccessKeyId());
    for (int i = 0; i < 20; i++) {
      p.refresh();
      keys.add(p.getCredentials().getAWSAccessKeyId());
    }
    List<LocalAws.Request> recorded = aws.stopRecording();
    p.close();
    assertEquals(21, LocalAws.assumeRoleCalls(recorded).size(), "one AssumeRole per refresh");
    assertEquals(21, keys.size(), "each refresh handed out a new session");
  }
}
