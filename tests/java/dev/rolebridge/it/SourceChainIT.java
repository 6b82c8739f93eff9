package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9, hole 4: the source credentials (the AWS default chain) make their own STS calls in the
 * process's region, not in us-east-1, so that in aws-cn, aws-us-gov and VPCs without internet
 * egress the web-identity exchange of EMR on EKS / IRSA, SSO and profile role chains reach an STS
 * endpoint they can reach. Each test runs {@link ChildProbe} (a write through S3A + rolebridge) in
 * a JVM whose environment holds only the source under test; the provider's own AssumeRole goes to
 * us-east-1 (rolebridge.sts.region), the process's region is eu-west-1, and the source chain's
 * STS calls reach the local STS through AWS_ENDPOINT_URL_STS, as the AWS SDKs read it.
 */
class SourceChainIT {
  private static final String PROCESS_REGION = "eu-west-1";
  private final LocalAws aws = LocalAws.get();

  /** A child JVM's environment with no AWS source of this machine's. */
  private ProcessBuilder child(Path dir) throws Exception {
    return child(dir, "destSources");
  }

  /**
   * A child JVM that writes to {@code dest}'s bucket as its role, with no AWS source of this
   * machine's; {@code conf}: further settings, key and value in turn.
   */
  private ProcessBuilder child(Path dir, String dest, String... conf) throws Exception {
    List<String> cmd = new ArrayList<String>();
    cmd.add(System.getProperty("java.home") + "/bin/java");
    cmd.add("-cp");
    cmd.add(System.getProperty("rolebridge.test.classpath"));
    cmd.add("-Dlog4j.configuration=log4j.properties");
    for (int i = 0; i < conf.length; i += 2) {
      cmd.add("-Dprobe.conf." + conf[i] + "=" + conf[i + 1]);
    }
    cmd.add(ChildProbe.class.getName());
    cmd.add(aws.endpoint);
    cmd.add(aws.roleArn(dest));
    cmd.add(aws.externalId(dest));
    cmd.add(aws.bucket(dest));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    for (String k : new String[] {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"}) {
      env.remove(k);
    }
    File empty = Files.write(dir.resolve("empty"), new byte[0]).toFile();
    env.put("AWS_CONFIG_FILE", empty.getPath());
    env.put("AWS_SHARED_CREDENTIALS_FILE", empty.getPath());
    env.put("AWS_EC2_METADATA_DISABLED", "true");
    env.put("AWS_REGION", PROCESS_REGION);
    env.put("AWS_ENDPOINT_URL_STS", aws.endpoint);
    return pb;
  }

  /** The source of EMR on EKS / IRSA: the fixture's web identity token and the pod's role. */
  private void withWebIdentity(ProcessBuilder pb, Path dir, String sessionName) throws Exception {
    Path token = Files.write(dir.resolve("token"),
        aws.fixture.get("webIdentity").get("token").asText().getBytes(StandardCharsets.UTF_8));
    pb.environment().put("AWS_WEB_IDENTITY_TOKEN_FILE", token.toString());
    pb.environment().put("AWS_ROLE_ARN", aws.fixture.get("webIdentity").get("roleArn").asText());
    pb.environment().put("AWS_ROLE_SESSION_NAME", sessionName);
  }

  /** Runs the child JVM, which must write; returns every request it made. */
  private List<LocalAws.Request> runAndRecord(ProcessBuilder pb) throws Exception {
    aws.startRecording();
    LocalAws.Ran r = LocalAws.run(pb);
    List<LocalAws.Request> recorded = aws.stopRecording();
    assertEquals(0, r.exit, r.output);
    assertTrue(r.output.contains("RESULT ok"), r.output);
    return recorded;
  }

  private static List<LocalAws.Request> sts(List<LocalAws.Request> recorded) {
    List<LocalAws.Request> out = new ArrayList<LocalAws.Request>();
    for (LocalAws.Request r : recorded) {
      if (r.action() != null && r.action().startsWith("AssumeRole")) {
        out.add(r);
      }
    }
    return out;
  }

  @Test
  void theWebIdentitySourceOfEksIsExchangedAndSignsTheAssumeRole(@TempDir Path dir) throws Exception {
    ProcessBuilder pb = child(dir);
    withWebIdentity(pb, dir, "it-pod-session");
    List<LocalAws.Request> recorded = runAndRecord(pb);

    List<LocalAws.Request> calls = sts(recorded);
    assertEquals(2, calls.size(), "one exchange, one AssumeRole: " + calls);
    LocalAws.Request exchange = calls.get(0);
    assertEquals("AssumeRoleWithWebIdentity", exchange.action());
    assertNull(exchange.authorization, "the exchange is unsigned: the token is the proof");
    assertEquals(aws.fixture.get("webIdentity").get("roleArn").asText(), exchange.form().get("RoleArn"));
    assertEquals(aws.fixture.get("webIdentity").get("token").asText(), exchange.form().get("WebIdentityToken"));

    LocalAws.Request assume = calls.get(1);
    assertEquals("AssumeRole", assume.action());
    assertEquals(aws.roleArn("destSources"), assume.form().get("RoleArn"));
    assertEquals("arn:aws:sts::111111111111:assumed-role/eks-pod-role/it-pod-session",
        aws.sessionArnOfKey(assume.signedBy()), "AssumeRole signed by the web identity session's key");
    assertEquals("us-east-1", assume.signingRegion(), "rolebridge's own call: rolebridge.sts.region");

    List<LocalAws.Request> s3 = LocalAws.s3Calls(recorded);
    assertTrue(!s3.isEmpty(), "the write reached S3: " + recorded);
    for (LocalAws.Request q : s3) {
      assertEquals("arn:aws:sts::222222222222:assumed-role/sources-writer/" + sessionNameOf(assume),
          aws.sessionArnOfKey(q.signedBy()), "every S3 request signed by the destination role: " + q);
    }
  }

  /** The source of a profile role chain: profile-hop, assumed by the source user's keys. */
  private void withProfileHop(ProcessBuilder pb, Path dir) throws Exception {
    Path config = Files.write(dir.resolve("config"), ("[profile rolebridge-it]\n"
        + "role_arn = " + aws.fixture.get("profileHop").get("roleArn").asText() + "\n"
        + "role_session_name = it-profile-hop\n"
        + "source_profile = base\n"
        + "[profile base]\n"
        + "aws_access_key_id = " + aws.accessKeyOf("source") + "\n"
        + "aws_secret_access_key = " + aws.secretKeyOf("source") + "\n").getBytes(StandardCharsets.UTF_8));
    pb.environment().put("AWS_CONFIG_FILE", config.toString());
    pb.environment().put("AWS_PROFILE", "rolebridge-it");
  }

  @Test
  void aProfileRoleChainSourceCallsStsInTheProcessRegion(@TempDir Path dir) throws Exception {
    ProcessBuilder pb = child(dir);
    withProfileHop(pb, dir);
    List<LocalAws.Request> recorded = runAndRecord(pb);

    List<LocalAws.Request> calls = sts(recorded);
    assertEquals(2, calls.size(), "the profile's hop, then rolebridge's AssumeRole: " + calls);
    LocalAws.Request hop = calls.get(0);
    assertEquals(aws.fixture.get("profileHop").get("roleArn").asText(), hop.form().get("RoleArn"));
    assertEquals(aws.accessKeyOf("source"), hop.signedBy());
    assertEquals(PROCESS_REGION, hop.signingRegion(),
        "the source chain's own STS call is made in the process's region, not us-east-1");

    LocalAws.Request assume = calls.get(1);
    assertEquals(aws.roleArn("destSources"), assume.form().get("RoleArn"));
    assertNotNull(assume.signedBy());
    assertEquals("arn:aws:sts::111111111111:assumed-role/profile-hop/it-profile-hop",
        aws.sessionArnOfKey(assume.signedBy()), "AssumeRole signed by the profile hop's session");
    assertEquals("us-east-1", assume.signingRegion(), "rolebridge's own call: rolebridge.sts.region");
  }

  /**
   * Issue 11: under EMR on EKS / IRSA, a role chain with SourceIdentity and session tags: the web
   * identity session assumes chain-hop (another account, its own external ID), whose session
   * assumes chain-writer; the objects are written by chain-writer.
   */
  @Test
  void aRoleChainWithTagsAndSourceIdentityStartsFromTheWebIdentitySource(@TempDir Path dir) throws Exception {
    ProcessBuilder pb = child(dir, "chainDest",
        "rolebridge.role.chain", aws.roleArn("chainHop"),
        "rolebridge.role.chain.1.external.id", aws.externalId("chainHop"),
        "rolebridge.session.name", "it-eks-chain",
        "rolebridge.source.identity", "pod-{user}",
        "rolebridge.session.tags", "user={user},team=data",
        "rolebridge.session.tags.transitive", "user");
    withWebIdentity(pb, dir, "it-pod-chain");
    List<LocalAws.Request> recorded = runAndRecord(pb);

    List<LocalAws.Request> calls = sts(recorded);
    assertEquals(3, calls.size(), "the exchange, then one AssumeRole per role: " + calls);
    assertEquals("AssumeRoleWithWebIdentity", calls.get(0).action());
    LocalAws.Request hop = calls.get(1);
    LocalAws.Request last = calls.get(2);
    assertEquals(aws.roleArn("chainHop"), hop.form().get("RoleArn"));
    assertEquals(aws.externalId("chainHop"), hop.form().get("ExternalId"));
    assertEquals("arn:aws:sts::111111111111:assumed-role/eks-pod-role/it-pod-chain",
        aws.sessionArnOfKey(hop.signedBy()), "the first hop is signed by the web identity session");
    String user = hop.form().get("SourceIdentity").substring("pod-".length());
    assertTrue(!user.isEmpty(), hop.form().toString());
    assertEquals("user", hop.form().get("Tags.member.1.Key"));
    assertEquals(user, hop.form().get("Tags.member.1.Value"));
    assertEquals("user", hop.form().get("TransitiveTagKeys.member.1"));
    assertNull(hop.form().get("Tags.member.2.Key"), "only the transitive tag goes with the first hop");

    assertEquals(aws.roleArn("chainDest"), last.form().get("RoleArn"));
    assertEquals(aws.externalId("chainDest"), last.form().get("ExternalId"));
    assertEquals("arn:aws:sts::333333333333:assumed-role/chain-hop/it-eks-chain",
        aws.sessionArnOfKey(last.signedBy()), "the last call is signed by the first hop's session");
    assertNull(last.form().get("SourceIdentity"), "SourceIdentity is carried on by STS, not sent again");
    assertEquals("team", last.form().get("Tags.member.1.Key"));
    assertNull(last.form().get("TransitiveTagKeys.member.1"));

    List<LocalAws.Request> s3 = LocalAws.s3Calls(recorded);
    assertTrue(!s3.isEmpty(), "the write reached S3: " + recorded);
    for (LocalAws.Request q : s3) {
      assertEquals("arn:aws:sts::222222222222:assumed-role/chain-writer/it-eks-chain",
          aws.sessionArnOfKey(q.signedBy()), "every S3 request signed by the last role: " + q);
    }
  }

  /**
   * Issue 15, item 13: with rolebridge.cache.dir, JVMs whose source is one web identity principal
   * share one session, although each exchanges the token for source credentials of its own (another
   * access key ID in every JVM, which the node cache used to compare, so that every JVM fetched and
   * wrote its own session). Another principal never reuses it: another session name of the same
   * pod role (which a trust policy can tell apart), and a profile role.
   */
  @Test
  void jvmsOfOneWebIdentityShareTheNodeCacheAndOtherPrincipalsDoNot(@TempDir Path dir) throws Exception {
    String[] conf = {"rolebridge.cache.dir", dir.resolve("cache").toString(),
        "rolebridge.session.name", "it-eks-node-" + System.nanoTime()};
    ProcessBuilder first = child(dir, "destSources", conf);
    withWebIdentity(first, dir, "it-pod-shared");
    ProcessBuilder second = child(dir, "destSources", conf);
    withWebIdentity(second, dir, "it-pod-shared");
    ProcessBuilder otherSession = child(dir, "destSources", conf);
    withWebIdentity(otherSession, dir, "it-pod-other");
    ProcessBuilder profile = child(dir, "destSources", conf);
    withProfileHop(profile, dir);

    List<LocalAws.Request> one = runAndRecord(first);
    List<LocalAws.Request> two = runAndRecord(second);
    List<LocalAws.Request> three = runAndRecord(otherSession);
    List<LocalAws.Request> four = runAndRecord(profile);

    String pod = "arn:aws:sts::111111111111:assumed-role/eks-pod-role/";
    List<LocalAws.Request> fetched = sts(one);
    assertEquals(2, fetched.size(), "the first JVM: its exchange and the AssumeRole: " + fetched);
    assertEquals(pod + "it-pod-shared", aws.sessionArnOfKey(fetched.get(1).signedBy()));
    assertEquals(1, sts(two).size(), "the second JVM: its own exchange, and no AssumeRole: " + sts(two));
    assertEquals("AssumeRoleWithWebIdentity", sts(two).get(0).action());
    assertTrue(!keysOfS3(one).isEmpty(), one.toString());
    assertEquals(keysOfS3(one), keysOfS3(two), "the second JVM writes with the first one's session");
    // What it costs: each JVM asks STS once who it is (GetCallerIdentity, with its own key).
    List<LocalAws.Request> asked = callsOf(one, "GetCallerIdentity");
    assertEquals(1, asked.size(), "the first JVM learns its principal, to record it with the session: " + one);
    assertEquals(fetched.get(1).signedBy(), asked.get(0).signedBy());
    asked = callsOf(two, "GetCallerIdentity");
    assertEquals(1, asked.size(), "the second JVM asks who it is: " + two);
    assertTrue(!asked.get(0).signedBy().equals(fetched.get(1).signedBy()),
        "with source credentials of its own: " + asked.get(0));

    List<LocalAws.Request> own = sts(three);
    assertEquals(2, own.size(), "another session name of the pod role fetches its own: " + own);
    assertEquals(pod + "it-pod-other", aws.sessionArnOfKey(own.get(1).signedBy()));
    own = sts(four);
    assertEquals(2, own.size(), "a profile role fetches its own: " + own);
    assertEquals("arn:aws:sts::111111111111:assumed-role/profile-hop/it-profile-hop",
        aws.sessionArnOfKey(own.get(1).signedBy()));
  }

  private static List<LocalAws.Request> callsOf(List<LocalAws.Request> recorded, String action) {
    List<LocalAws.Request> out = new ArrayList<LocalAws.Request>();
    for (LocalAws.Request r : recorded) {
      if (action.equals(r.action())) {
        out.add(r);
      }
    }
    return out;
  }

  /** The access key IDs that signed the S3 requests. */
  private static java.util.Set<String> keysOfS3(List<LocalAws.Request> recorded) {
    java.util.Set<String> keys = new java.util.TreeSet<String>();
    for (LocalAws.Request q : LocalAws.s3Calls(recorded)) {
      keys.add(q.signedBy());
    }
    return keys;
  }

  private static String sessionNameOf(LocalAws.Request assume) {
    return assume.form().get("RoleSessionName");
  }
}
