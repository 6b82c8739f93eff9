package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.auth.AWSCredentials;
import com.amazonaws.auth.AWSSessionCredentials;
import dev.rolebridge.hadoop.RoleBridgeConfigException;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import dev.rolebridge.it.LocalAws.Request;
import java.net.URI;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;

/**
 * rolebridge.unmapped.buckets on EMRFS's one provider slot: real S3A 3.3.1 with an EMRFS-like SDK
 * v1 chain ({@link EmrfsLikeChain}: rolebridge first, the node's own identity second, the last
 * provider reused) for every bucket. The job's own bucket, which no role applies to, is signed by
 * the source on purpose (source); the destination by its role; a destination whose AssumeRole is
 * refused fails closed and is never signed by the source. By default (refuse) the job's own bucket
 * is refused when its file system is made, naming the key.
 */
class UnmappedBucketsIT {
  private final LocalAws aws = LocalAws.get();

  /** Per-bucket roles only: destA with its external ID, destB with a wrong one (STS refuses). */
  private Configuration conf(String session) {
    Configuration conf = aws.s3aConf(null, session);
    conf.set("fs.s3a.aws.credentials.provider", EmrfsLikeChain.class.getName());
    conf.set("rolebridge.bucket." + aws.bucket("destA") + ".role.arn", aws.roleArn("destA"));
    conf.set("rolebridge.bucket." + aws.bucket("destA") + ".external.id", aws.externalId("destA"));
    conf.set("rolebridge.bucket." + aws.bucket("destB") + ".role.arn", aws.roleArn("destB"));
    conf.set("rolebridge.bucket." + aws.bucket("destB") + ".external.id", "not-the-external-id");
    return conf;
  }

  private static String jobBucket(LocalAws aws) {
    return aws.fixture.get("jobBucket").get("bucket").asText();
  }

  private static List<Request> s3To(List<Request> recorded, String bucket) {
    List<Request> out = new java.util.ArrayList<Request>();
    for (Request r : LocalAws.s3Calls(recorded)) {
      if (r.url.contains("/" + bucket + "/") || r.url.endsWith("/" + bucket)
          || r.url.contains("/" + bucket + "?")) {
        out.add(r);
      }
    }
    return out;
  }

  private static Set<String> signers(List<Request> rs) {
    Set<String> out = new HashSet<String>();
    for (Request r : rs) {
      out.add(r.signedBy());
    }
    return out;
  }

  @Test
  void theJobsBucketBySourceTheDestinationByItsRoleARefusalNeverBySource() throws Exception {
    Configuration conf = conf("it-unmapped-source");
    conf.set("rolebridge.unmapped.buckets", "source");
    String job = jobBucket(aws);
    String source = aws.accessKeyOf("source");

    aws.startRecording();
    try (FileSystem jobFs = FileSystem.get(URI.create("s3a://" + job + "/"), conf);
        FileSystem destFs = FileSystem.get(URI.create("s3a://" + aws.bucket("destA") + "/"), conf);
        FileSystem refusedFs = FileSystem.get(URI.create("s3a://" + aws.bucket("destB") + "/"), conf)) {
      for (int i = 0; i < 2; i++) {
        S3ACrossAccountIT.write(jobFs, new Path("s3a://" + job + "/scripts/step-" + i + ".py"), new byte[] {1});
        S3ACrossAccountIT.write(destFs, new Path("s3a://" + aws.bucket("destA") + "/unmapped/part-" + i),
            new byte[] {2});
      }
      assertEquals(2, jobFs.listStatus(new Path("s3a://" + job + "/scripts")).length);
      assertEquals(2, destFs.listStatus(new Path("s3a://" + aws.bucket("destA") + "/unmapped")).length);
      for (int i = 0; i < 2; i++) {
        final int n = i;
        Throwable t = assertThrows(Throwable.class, () -> S3ACrossAccountIT.write(refusedFs,
            new Path("s3a://" + aws.bucket("destB") + "/unmapped/part-" + n), new byte[] {3}));
        assertNotNull(ProxiedStsTest.causeOf(t, RoleBridgeCredentialsUnavailableError.class),
            "the refused destination fails closed: " + t);
      }
      jobFs.delete(new Path("s3a://" + job + "/scripts"), true);
      destFs.delete(new Path("s3a://" + aws.bucket("destA") + "/unmapped"), true);
    }
    List<Request> recorded = aws.stopRecording();

    List<Request> jobRequests = s3To(recorded, job);
    assertFalse(jobRequests.isEmpty(), "the job's bucket was written: " + recorded);
    assertEquals(java.util.Collections.singleton(source), signers(jobRequests),
        "the job's own bucket is signed by the source (the node's own identity): " + jobRequests);
    for (Request r : jobRequests) {
      assertNull(r.securityToken, "the source's long-term keys carry no session token: " + r);
    }

    List<Request> destRequests = s3To(recorded, aws.bucket("destA"));
    assertFalse(destRequests.isEmpty());
    Set<String> destSigners = signers(destRequests);
    assertEquals(1, destSigners.size(), "one session signs the destination: " + destSigners);
    String role = destSigners.iterator().next();
    assertTrue(role.startsWith("ASIA") && !role.equals(source), "signed by the role's session: " + role);

    List<Request> refused = s3To(recorded, aws.bucket("destB"));
    assertTrue(refused.isEmpty(), "no request to the refused destination is signed at all: " + refused);
    List<Request> assumeRoles = LocalAws.assumeRoleCalls(recorded);
    Set<String> rolesAsked = new HashSet<String>();
    for (Request r : assumeRoles) {
      rolesAsked.add(r.form().get("RoleArn"));
    }
    assertEquals(new HashSet<String>(java.util.Arrays.asList(aws.roleArn("destA"), aws.roleArn("destB"))),
        rolesAsked, "AssumeRole only for the mapped buckets, never for the job's: " + assumeRoles);
  }

  @Test
  void byDefaultTheJobsBucketIsRefusedWhenItsFileSystemIsMadeNamingTheKey() throws Exception {
    Configuration conf = conf("it-unmapped-refuse");
    aws.startRecording();
    Throwable t = assertThrows(Throwable.class,
        () -> FileSystem.get(URI.create("s3a://" + jobBucket(aws) + "/"), conf).close());
    List<Request> recorded = aws.stopRecording();
    RoleBridgeConfigException e = ProxiedStsTest.causeOf(t, RoleBridgeConfigException.class);
    assertNotNull(e, "refused by a setting: " + t);
    assertTrue(e.getMessage().contains("rolebridge.unmapped.buckets=source"), e.getMessage());
    assertTrue(e.getMessage().contains("rolebridge.bucket." + jobBucket(aws) + ".role.arn"), e.getMessage());
    assertTrue(LocalAws.s3Calls(recorded).isEmpty() && LocalAws.assumeRoleCalls(recorded).isEmpty(),
        "refused before any request: " + recorded);
  }

  @Test
  void sourceBesideAGlobalRoleOrPerBucketIsRefused() {
    Configuration global = conf("it-unmapped-global");
    global.set("rolebridge.unmapped.buckets", "source");
    global.set("rolebridge.role.arn", aws.roleArn("destA"));
    RoleBridgeConfigException e = assertThrows(RoleBridgeConfigException.class,
        () -> new RoleBridgeCredentialsProvider(URI.create("s3a://" + jobBucket(aws) + "/"), global));
    assertTrue(e.getMessage().contains("rolebridge.unmapped.buckets")
        && e.getMessage().contains("gives every bucket a role"), e.getMessage());

    Configuration scoped = conf("it-unmapped-scoped");
    scoped.set("rolebridge.bucket." + jobBucket(aws) + ".unmapped.buckets", "source");
    e = assertThrows(RoleBridgeConfigException.class,
        () -> new RoleBridgeCredentialsProvider(URI.create("s3a://" + jobBucket(aws) + "/"), scoped));
    assertTrue(e.getMessage().contains("global setting"), e.getMessage());

    // A bucket some key names goes through a role: without one for this user it is refused, not
    // handed the source (another tenant of a shared bucket, a group lookup that missed a group).
    Configuration named = conf("it-unmapped-named");
    named.set("rolebridge.unmapped.buckets", "source");
    named.set("rolebridge.user.someone-else.bucket." + jobBucket(aws) + ".role.arn", aws.roleArn("destA"));
    e = assertThrows(RoleBridgeConfigException.class,
        () -> new RoleBridgeCredentialsProvider(URI.create("s3a://" + jobBucket(aws) + "/"), named));
    assertTrue(e.getMessage().contains("names bucket " + jobBucket(aws)), e.getMessage());

    Configuration typo = conf("it-unmapped-typo");
    typo.set("rolebridge.unmapped.buckets", "instance-role");
    e = assertThrows(RoleBridgeConfigException.class,
        () -> new RoleBridgeCredentialsProvider(URI.create("s3a://" + jobBucket(aws) + "/"), typo));
    assertTrue(e.getMessage().contains("neither refuse nor source"), e.getMessage());
  }

  @Test
  void bothProvidersHandOutTheSourcesKeysAsPlainCredentialsAndSessionsForMappedBuckets() {
    Configuration conf = conf("it-unmapped-types");
    conf.set("rolebridge.unmapped.buckets", "source");
    URI job = URI.create("s3a://" + jobBucket(aws) + "/");
    URI dest = URI.create("s3a://" + aws.bucket("destA") + "/");

    RoleBridgeCredentialsProvider v1 = new RoleBridgeCredentialsProvider(job, conf);
    AWSCredentials c1 = v1.getCredentials();
    assertFalse(c1 instanceof AWSSessionCredentials, c1.getClass().getName());
    assertEquals(aws.accessKeyOf("source"), c1.getAWSAccessKeyId());
    assertTrue(v1.toString().contains("unmapped.buckets=source") && v1.toString().contains(jobBucket(aws)),
        v1.toString());
    assertFalse(v1.toString().contains(aws.secretKeyOf("source")));
    assertTrue(new RoleBridgeCredentialsProvider(dest, conf).getCredentials() instanceof AWSSessionCredentials);

    try (RoleBridgeCredentialsProviderV2 v2 = new RoleBridgeCredentialsProviderV2(job, conf);
        RoleBridgeCredentialsProviderV2 v2dest = new RoleBridgeCredentialsProviderV2(dest, conf)) {
      AwsCredentials c2 = v2.resolveCredentials();
      assertFalse(c2 instanceof AwsSessionCredentials, c2.getClass().getName());
      assertEquals(aws.accessKeyOf("source"), c2.accessKeyId());
      assertTrue(v2dest.resolveCredentials() instanceof AwsSessionCredentials);
    }
    v1.close();
  }
}
