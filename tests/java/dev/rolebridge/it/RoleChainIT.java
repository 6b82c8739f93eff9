package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import java.net.URI;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

/**
 * Issue 11: rolebridge.role.chain through real Hadoop 3.3.1 S3A. The source user assumes
 * chain-hop (account 333333333333, its own external ID), whose session assumes chain-writer
 * (account 222222222222, trusting only chain-hop, another external ID), which writes.
 */
class RoleChainIT {
  private final LocalAws aws = LocalAws.get();

  private Configuration chained(String session, String chain) {
    Configuration conf = aws.s3aConf("chainDest", session);
    conf.set("rolebridge.role.chain", chain);
    conf.set("rolebridge.role.chain.1.external.id", aws.externalId("chainHop"));
    return conf;
  }

  private void write(Configuration conf, String key) throws Exception {
    String bucket = aws.bucket("chainDest");
    try (FileSystem fs = FileSystem.newInstance(URI.create("s3a://" + bucket + "/"), conf);
        FSDataOutputStream out = fs.create(new Path("/" + key))) {
      out.write(1);
    }
  }

  @Test
  void twoHopsEachSignedByTheSessionBeforeItAndTheObjectsWrittenByTheLastRole() throws Exception {
    aws.startRecording();
    write(chained("it-chain", aws.roleArn("chainHop")), "chained/part");
    List<LocalAws.Request> recorded = aws.stopRecording();

    List<LocalAws.Request> assumes = LocalAws.assumeRoleCalls(recorded);
    assertEquals(2, assumes.size(), "one AssumeRole per role: " + assumes);
    LocalAws.Request first = assumes.get(0);
    assertEquals(aws.roleArn("chainHop"), first.form().get("RoleArn"));
    assertEquals(aws.externalId("chainHop"), first.form().get("ExternalId"));
    assertEquals(aws.accessKeyOf("source"), first.signedBy(), "the first hop is signed by the source");
    assertEquals("900", first.form().get("DurationSeconds"), "an intermediate session lasts the minimum");
    LocalAws.Request second = assumes.get(1);
    assertEquals(aws.roleArn("chainDest"), second.form().get("RoleArn"));
    assertEquals(aws.externalId("chainDest"), second.form().get("ExternalId"));
    assertEquals("3600", second.form().get("DurationSeconds"));
    assertEquals("arn:aws:sts::333333333333:assumed-role/chain-hop/it-chain", aws.sessionArnOfKey(second.signedBy()),
        "the second call is signed by the first hop's session");
    assertNull(second.form().get("SourceIdentity"));

    List<LocalAws.Request> s3 = LocalAws.s3Calls(recorded);
    assertTrue(!s3.isEmpty(), "the write reached S3: " + recorded);
    for (LocalAws.Request q : s3) {
      assertEquals("arn:aws:sts::222222222222:assumed-role/chain-writer/it-chain", aws.sessionArnOfKey(q.signedBy()),
          "every S3 request signed by the last role: " + q);
    }
  }

  @Test
  void aBrokenMiddleHopIsNamedAndNothingIsWritten() throws Exception {
    Configuration conf = chained("it-chain-broken", aws.roleArn("chainHop") + "," + aws.roleArn("brokenHop"));
    aws.startRecording();
    try {
      write(conf, "broken/part");
      fail("broken-hop trusts only the intruder, yet the write went through");
    } catch (Exception | RoleBridgeCredentialsUnavailableError e) {
      String chain = NegativeIT.chain(e);
      assertTrue(chain.contains(aws.roleArn("brokenHop") + " (role 2 of 3: hop 2 of rolebridge.role.chain)"), chain);
      assertTrue(chain.contains("AccessDenied"), chain);
      // the hop's caller named by its session ARN (issue 15 item 12), and the role it is a session of
      assertTrue(chain.contains("does not name arn:aws:sts::333333333333:assumed-role/chain-hop/it-chain-broken"
          + " (the session of the role before it, " + aws.roleArn("chainHop") + ")"), chain);
      assertTrue(chain.contains("no external ID was sent (rolebridge.role.chain.2.external.id is not set)")
          && chain.contains("rolebridge.role.chain.2.external.id"), chain);
    } finally {
      List<LocalAws.Request> recorded = aws.stopRecording();
      List<LocalAws.Request> assumes = LocalAws.assumeRoleCalls(recorded);
      assertTrue(!assumes.isEmpty(), "STS was asked: " + recorded);
      for (LocalAws.Request a : assumes) {
        assertTrue(!a.form().get("RoleArn").equals(aws.roleArn("chainDest")), "the chain stopped at the broken hop: " + a);
      }
      assertEquals(0, LocalAws.s3Calls(recorded).size(), "nothing reached S3: " + recorded);
    }
  }

  @Test
  void aSessionDurationOverOneHourWithAChainIsRefusedAtConstruction() throws Exception {
    Configuration conf = chained("it-chain-2h", aws.roleArn("chainHop"));
    conf.set("rolebridge.session.duration", "2h");
    aws.startRecording();
    try {
      write(conf, "never/part");
      fail("a chained session of 2h was accepted");
    } catch (Exception e) {
      String chain = NegativeIT.chain(e);
      assertTrue(chain.contains("rolebridge.session.duration: ") && chain.contains("rolebridge.role.chain")
          && chain.contains("1h"), chain);
    } finally {
      assertEquals(0, aws.stopRecording().size(), "no request");
    }
  }
}
