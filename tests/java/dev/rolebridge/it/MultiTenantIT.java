package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rolebridge.hadoop.RoleBridgeConfigException;
import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import java.io.File;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.security.UserGroupInformation;
import org.junit.jupiter.api.Test;

/**
 * Issue 11: one JVM, several Hadoop users (as on a shared cluster, where S3A makes a file system,
 * and so a provider, per user), each writing through real Hadoop 3.3.1 S3A as itself
 * ({@code UserGroupInformation.createUserForTesting} and {@code doAs}). alice has a role of her
 * own, bob gets his through the analysts group, carol has neither and there is no global role.
 */
class MultiTenantIT {
  private final LocalAws aws = LocalAws.get();
  private static final String BUCKET = "dest-tenants";

  private Configuration tenants(String sessionPrefix) {
    Configuration conf = aws.s3aConf(null, null);
    conf.set("rolebridge.user.alice.role.arn", aws.roleArn("tenantAlice"));
    conf.set("rolebridge.group.analysts.role.arn", aws.roleArn("tenantAnalysts"));
    conf.set("rolebridge.external.id", aws.externalId("tenantAlice"));
    conf.set("rolebridge.session.name", sessionPrefix + "-{user}");
    conf.set("rolebridge.source.identity", "{user}");
    conf.set("rolebridge.session.tags", "user={user},team=data");
    conf.set("rolebridge.session.tags.transitive", "user");
    return conf;
  }

  /** Writes {@code s3a://dest-tenants/<user>/part} as {@code ugi} through a file system of its own. */
  private static void writeAs(UserGroupInformation ugi, final Configuration conf) throws Exception {
    ugi.doAs((PrivilegedExceptionAction<Void>) () -> {
      try (FileSystem fs = FileSystem.newInstance(URI.create("s3a://" + BUCKET + "/"), conf)) {
        try (FSDataOutputStream out = fs.create(new Path("/" + ugi.getShortUserName() + "/part"))) {
          out.write(("written by " + ugi.getShortUserName()).getBytes("UTF-8"));
        }
      }
      return null;
    });
  }

  private static RoleBridgeConfigException configErrorOf(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof RoleBridgeConfigException) {
        return (RoleBridgeConfigException) t;
      }
    }
    throw new AssertionError("no RoleBridgeConfigException in " + NegativeIT.chain(e), e);
  }

  @Test
  void eachUserWritesAsItsOwnRoleWithItsSourceIdentityAndTagsAndCarolIsRefused() throws Exception {
    Configuration conf = tenants("it-tenant");
    UserGroupInformation alice = UserGroupInformation.createUserForTesting("alice", new String[] {"staff"});
    UserGroupInformation bob = UserGroupInformation.createUserForTesting("bob", new String[] {"interns", "analysts"});
    UserGroupInformation carol = UserGroupInformation.createUserForTesting("carol", new String[] {"staff", "interns"});

    aws.startRecording();
    writeAs(alice, conf);
    writeAs(bob, conf);
    List<LocalAws.Request> recorded = aws.stopRecording();

    Map<String, String> roleOf = new HashMap<String, String>();
    roleOf.put("alice", "alice-writer");
    roleOf.put("bob", "analysts-writer");
    List<LocalAws.Request> assumes = LocalAws.assumeRoleCalls(recorded);
    assertEquals(2, assumes.size(), "one AssumeRole per user: " + assumes);
    for (LocalAws.Request a : assumes) {
      Map<String, String> f = a.form();
      String user = f.get("SourceIdentity");
      assertNotNull(roleOf.get(user), "SourceIdentity is the Hadoop user: " + f);
      assertEquals("arn:aws:iam::222222222222:role/" + roleOf.get(user), f.get("RoleArn"), "the user's own role");
      assertEquals("it-tenant-" + user, f.get("RoleSessionName"));
      assertEquals("user", f.get("Tags.member.1.Key"));
      assertEquals(user, f.get("Tags.member.1.Value"));
      assertEquals("team", f.get("Tags.member.2.Key"));
      assertEquals("data", f.get("Tags.member.2.Value"));
      assertEquals("user", f.get("TransitiveTagKeys.member.1"));
      assertEquals(aws.externalId("tenantAlice"), f.get("ExternalId"));
      assertEquals("arn:aws:iam::111111111111:user/etl-source", sourceOf(a), "signed by the source");
    }

    List<LocalAws.Request> s3 = LocalAws.s3Calls(recorded);
    int[] perUser = new int[2];
    for (LocalAws.Request q : s3) {
      String session = aws.sessionArnOfKey(q.signedBy());
      assertNotNull(session, "every S3 request signed by an assumed role, never the source: " + q);
      String user = session.substring(session.lastIndexOf("it-tenant-") + "it-tenant-".length());
      assertEquals("arn:aws:sts::222222222222:assumed-role/" + roleOf.get(user) + "/it-tenant-" + user, session);
      if (q.url.contains("/" + BUCKET + "/alice/") || q.url.contains("/" + BUCKET + "/bob/")) {
        assertTrue(q.url.contains("/" + BUCKET + "/" + user + "/"), "a user's object written by its own role: " + q
            + " by " + session);
        perUser[user.equals("alice") ? 0 : 1]++;
      }
    }
    assertTrue(perUser[0] > 0 && perUser[1] > 0, "both users wrote: " + s3);

    // carol: no user, group, bucket or global role: refused at construction, no request at all.
    String m = refusedAtConstruction(carol, conf).getMessage();
    for (String part : new String[] {"Hadoop user carol", "groups looked at: interns, staff",
        "rolebridge.user.carol.bucket." + BUCKET + ".role.arn, rolebridge.user.carol.role.arn, "
            + "rolebridge.group.interns.bucket." + BUCKET + ".role.arn, rolebridge.group.staff.bucket." + BUCKET
            + ".role.arn, rolebridge.group.interns.role.arn, rolebridge.group.staff.role.arn, "
            + "rolebridge.bucket." + BUCKET + ".role.arn, rolebridge.role.arn",
        "never falls back to another identity"}) {
      assertTrue(m.contains(part), part + " in: " + m);
    }
  }

  /** {@code ugi}'s file system cannot be made: its provider refuses at construction, with no request. */
  private RoleBridgeConfigException refusedAtConstruction(UserGroupInformation ugi, Configuration conf)
      throws Exception {
    aws.startRecording();
    try {
      writeAs(ugi, conf);
      throw new AssertionError(ugi.getShortUserName() + "'s file system was made and written");
    } catch (Exception e) {
      return configErrorOf(e);
    } finally {
      List<LocalAws.Request> none = aws.stopRecording();
      assertEquals(0, none.size(), "the refused construction made no request: " + none);
    }
  }

  /** Who signed an STS call: the source user's ARN for its key, or the session's ARN. */
  private String sourceOf(LocalAws.Request r) throws Exception {
    String key = r.signedBy();
    if (key.equals(aws.accessKeyOf("source"))) {
      return aws.fixture.get("source").get("arn").asText();
    }
    return aws.sessionArnOfKey(key);
  }

  @Test
  void aRoleWhoseTrustPolicyDoesNotAllowTagsRefusesNamingTheMissingPermissions() throws Exception {
    Configuration conf = tenants("it-untagged");
    conf.set("rolebridge.user.dora.role.arn", aws.roleArn("tenantUntagged"));
    UserGroupInformation dora = UserGroupInformation.createUserForTesting("dora", new String[] {"staff"});
    aws.startRecording();
    try {
      writeAs(dora, conf);
      fail("the role's trust policy allows neither sts:TagSession nor sts:SetSourceIdentity");
    } catch (Exception | RoleBridgeCredentialsUnavailableError e) {
      String chain = NegativeIT.chain(e);
      assertTrue(chain.contains("AccessDenied") && chain.contains("sts:TagSession")
          && chain.contains("sts:SetSourceIdentity"), chain);
    } finally {
      List<LocalAws.Request> recorded = aws.stopRecording();
      assertEquals(0, LocalAws.s3Calls(recorded).size(), "nothing reached S3: " + recorded);
      assertFalse(LocalAws.assumeRoleCalls(recorded).isEmpty(), "STS was asked: " + recorded);
    }
  }

  @Test
  void aUserNameThatCannotBeMadeValidIsRefusedNotChanged() throws Exception {
    Configuration conf = tenants("it-badname");
    conf.set("rolebridge.role.arn", aws.roleArn("tenantAlice"));
    UserGroupInformation odd = UserGroupInformation.createUserForTesting("jürgen müller", new String[] {"staff"});
    RoleBridgeConfigException c = refusedAtConstruction(odd, conf);
    assertEquals("rolebridge.session.name", c.getKey(), c.getMessage());
    assertTrue(c.getMessage().contains("\"jürgen müller\""), c.getMessage());
  }

  /**
   * Issue 15: a group lookup that fails (an LDAP or SSSD timeout) or finds no groups (a user the
   * node does not know) used to leave the user with no groups: Hadoop's
   * {@code UserGroupInformation.getGroups()} catches the mapping's error and answers an empty list,
   * so an intern whose group has a read-only role wrote with the global writer role. Now the
   * provider refuses at construction, in either failure mode, naming the user, the group mapping
   * and its error, and nothing is asked of STS or S3. The group mapping is process-wide (built
   * once, from the configuration UGI is given first), so each runs in a JVM of its own.
   */
  @Test
  void aGroupLookupThatFailsIsARefusalNotTheGlobalRole() throws Exception {
    assertGroupLookupRefused(ThrowingGroupMapping.class, ThrowingGroupMapping.FAILURE);
  }

  @Test
  void aGroupLookupThatFindsNoGroupsIsARefusalNotTheGlobalRole() throws Exception {
    assertGroupLookupRefused(NoGroupsMapping.class, "No groups found for user intern");
  }

  private void assertGroupLookupRefused(Class<?> mapping, String error) throws Exception {
    ProcessBuilder pb = childJvm(GroupLookupProbe.class, mapping.getName(), "intern",
        aws.roleArn("tenantAnalysts"), aws.roleArn("tenantUntagged"), aws.externalId("tenantUntagged"), BUCKET);
    List<LocalAws.Request> recorded = new ArrayList<LocalAws.Request>();
    LocalAws.Ran r = runRecording(pb, recorded);
    for (String mode : new String[] {"closed", "open"}) {
      String line = resultLine(r.output, "RESULT " + mode + " ");
      assertTrue(line.startsWith("RESULT " + mode + " refused rolebridge.group.interns.role.arn | "),
          mode + ": refused at construction: " + r.output);
      for (String part : new String[] {"Hadoop user intern", "hadoop.security.group.mapping", mapping.getName(),
          error}) {
        assertTrue(line.contains(part), part + " in: " + line);
      }
    }
    assertNothingAsked(recorded, r);
  }

  /**
   * Issue 15: when {@code UserGroupInformation.getCurrentUser()} failed, the OS user (user.name:
   * yarn, hadoop, here this test's) stood in, and its per-user role or the global role then served
   * a caller nobody knew. Here the process's Hadoop login fails for real: its
   * HADOOP_TOKEN_FILE_LOCATION (as YARN sets it for a container) is not a token file. Both SDKs'
   * providers now refuse at construction naming the cause; nothing is asked of STS.
   */
  @Test
  void aCallerWhoseHadoopUserCannotBeHadIsRefusedNotTakenForTheOsUser() throws Exception {
    File tokens = File.createTempFile("rolebridge-it-", ".tokens");
    try {
      Files.write(tokens.toPath(), "not a Hadoop token storage file\n".getBytes(StandardCharsets.UTF_8));
      ProcessBuilder pb = childJvm(CurrentUserProbe.class, aws.roleArn("tenantAnalysts"),
          aws.roleArn("tenantUntagged"), aws.externalId("tenantUntagged"), BUCKET);
      pb.environment().put("HADOOP_TOKEN_FILE_LOCATION", tokens.getPath());
      List<LocalAws.Request> recorded = new ArrayList<LocalAws.Request>();
      LocalAws.Ran r = runRecording(pb, recorded);
      for (String sdk : new String[] {"V1", "V2"}) {
        String line = resultLine(r.output, "RESULT " + sdk + " ");
        assertTrue(line.startsWith("RESULT " + sdk + " refused "), sdk + ": refused at construction: " + r.output);
        for (String part : new String[] {"UserGroupInformation.getCurrentUser()", tokens.getPath(),
            "Bad header found in token storage", "user.name"}) {
          assertTrue(line.contains(part), part + " in: " + line);
        }
      }
      assertNothingAsked(recorded, r);
    } finally {
      Files.delete(tokens.toPath());
    }
  }

  /** A JVM of its own running {@code main} with the tests' class path and fixture. */
  private static ProcessBuilder childJvm(Class<?> main, String... args) {
    List<String> cmd = new ArrayList<String>(Arrays.asList(
        System.getProperty("java.home") + "/bin/java", "-cp", System.getProperty("rolebridge.test.classpath"),
        "-Dlog4j.configuration=log4j.properties",
        "-Drolebridge.test.fixture=" + System.getProperty("rolebridge.test.fixture"), main.getName()));
    cmd.addAll(Arrays.asList(args));
    return new ProcessBuilder(cmd);
  }

  /** Runs {@code pb} to its end (it must exit 0), recording the requests made meanwhile into {@code recorded}. */
  private LocalAws.Ran runRecording(ProcessBuilder pb, List<LocalAws.Request> recorded) throws Exception {
    aws.startRecording();
    LocalAws.Ran r;
    try {
      r = LocalAws.run(pb);
    } finally {
      recorded.addAll(aws.stopRecording());
    }
    assertEquals(0, r.exit, r.output);
    return r;
  }

  private static void assertNothingAsked(List<LocalAws.Request> recorded, LocalAws.Ran r) {
    assertEquals(0, recorded.size(), "nothing asked of STS or S3, so nothing signed by any role: " + recorded
        + "\n" + r.output);
  }

  private static String resultLine(String output, String prefix) {
    for (String line : output.split("\n")) {
      if (line.startsWith(prefix)) {
        return line;
      }
    }
    throw new AssertionError("no line " + prefix + "in:\n" + output);
  }
}
