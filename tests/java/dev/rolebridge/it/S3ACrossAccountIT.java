package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.it.LocalAws.Request;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.IOUtils;
import org.junit.jupiter.api.Test;

/** Real Hadoop 3.3.1 S3A, with rolebridge as its credentials provider, writing across accounts. */
class S3ACrossAccountIT {
  private final LocalAws aws = LocalAws.get();

  static byte[] readAll(FileSystem fs, Path p) throws Exception {
    try (FSDataInputStream in = fs.open(p)) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      IOUtils.copyBytes(in, out, 4096, false);
      return out.toByteArray();
    }
  }

  static void write(FileSystem fs, Path p, byte[] data) throws Exception {
    try (FSDataOutputStream out = fs.create(p, true)) {
      out.write(data);
    }
  }

  @Test
  void createListReadDeleteAsTheDestinationRole() throws Exception {
    String bucket = aws.bucket("destA");
    Configuration conf = aws.s3aConf("destA", "it-s3a-crud");
    conf.set("rolebridge.session.duration", "45m");
    byte[] data = "written across accounts by rolebridge".getBytes(StandardCharsets.UTF_8);

    aws.startRecording();
    try (FileSystem fs = FileSystem.get(URI.create("s3a://" + bucket + "/"), conf)) {
      Path dir = new Path("s3a://" + bucket + "/crud");
      Path file = new Path(dir, "part-0000.txt");
      write(fs, file, data);
      write(fs, new Path(dir, "part-0001.txt"), data);
      FileStatus[] listed = fs.listStatus(dir);
      assertEquals(2, listed.length);
      assertEquals(data.length, fs.getFileStatus(file).getLen());
      assertArrayEquals(data, readAll(fs, file));
      assertTrue(fs.delete(dir, true));
      assertFalse(fs.exists(file));
    }
    List<Request> recorded = aws.stopRecording();

    List<Request> assumeRoles = LocalAws.assumeRoleCalls(recorded);
    assertEquals(1, assumeRoles.size(), "exactly one AssumeRole call: " + assumeRoles);
    Map<String, String> call = assumeRoles.get(0).form();
    assertEquals(aws.roleArn("destA"), call.get("RoleArn"));
    assertEquals(aws.externalId("destA"), call.get("ExternalId"));
    assertEquals("it-s3a-crud", call.get("RoleSessionName"));
    assertEquals("2700", call.get("DurationSeconds"));
    assertEquals(aws.accessKeyOf("source"), assumeRoles.get(0).signedBy(),
        "AssumeRole is signed by the source account's user from the default chain");

    List<Request> s3 = LocalAws.s3Calls(recorded);
    assertTrue(s3.size() >= 6, "S3 requests were made: " + s3);
    Set<String> signers = new HashSet<String>();
    for (Request r : s3) {
      signers.add(r.signedBy());
      assertNotNull(r.securityToken, "every S3 request carries a session token: " + r);
    }
    assertEquals(1, signers.size(), "one identity signs every S3 request: " + signers);
    String signer = signers.iterator().next();
    assertTrue(signer.startsWith("ASIA"), "signed by temporary (assumed-role) credentials: " + signer);
    assertFalse(signer.equals(aws.accessKeyOf("source")));
    assertEquals(s3.size(), recorded.size() - assumeRoles.size(), "no other requests: " + recorded);
  }

  @Test
  void twoBucketsWithTheirOwnRolesInOneJvm() throws Exception {
    // One configuration; per-bucket keys give each bucket its own role (in its own account).
    Configuration conf = aws.s3aConf(null, "it-per-bucket");
    conf.set("rolebridge.role.arn", "arn:aws:iam::999999999999:role/not-used-by-these-buckets");
    for (String dest : new String[] {"destA", "destB"}) {
      String b = aws.bucket(dest);
      conf.set("rolebridge.bucket." + b + ".role.arn", aws.roleArn(dest));
      conf.set("rolebridge.bucket." + b + ".external.id", aws.externalId(dest));
    }
    aws.startRecording();
    try (FileSystem a = FileSystem.get(URI.create("s3a://" + aws.bucket("destA") + "/"), conf);
        FileSystem b = FileSystem.get(URI.create("s3a://" + aws.bucket("destB") + "/"), conf)) {
      for (int i = 0; i < 3; i++) {
        write(a, new Path("s3a://" + aws.bucket("destA") + "/per-bucket/a" + i), new byte[] {1});
        write(b, new Path("s3a://" + aws.bucket("destB") + "/per-bucket/b" + i), new byte[] {2});
      }
      assertEquals(3, a.listStatus(new Path("s3a://" + aws.bucket("destA") + "/per-bucket")).length);
      assertEquals(3, b.listStatus(new Path("s3a://" + aws.bucket("destB") + "/per-bucket")).length);
      a.delete(new Path("s3a://" + aws.bucket("destA") + "/per-bucket"), true);
      b.delete(new Path("s3a://" + aws.bucket("destB") + "/per-bucket"), true);
    }
    List<Request> recorded = aws.stopRecording();

    List<Request> assumeRoles = LocalAws.assumeRoleCalls(recorded);
    assertEquals(2, assumeRoles.size(), "one AssumeRole per role: " + assumeRoles);
    Map<String, String> keyToRole = new java.util.HashMap<String, String>();
    // Map each session's access key to its role via the order of calls and the S3 requests' buckets.
    Set<String> rolesAssumed = new HashSet<String>();
    for (Request r : assumeRoles) {
      rolesAssumed.add(r.form().get("RoleArn"));
    }
    assertEquals(new HashSet<String>(java.util.Arrays.asList(aws.roleArn("destA"), aws.roleArn("destB"))),
        rolesAssumed);
    for (Request r : LocalAws.s3Calls(recorded)) {
      String bucket = r.url.replaceFirst("^https?://[^/]+/", "").split("[/?]")[0];
      String previous = keyToRole.put(r.signedBy(), bucket);
      assertTrue(previous == null || previous.equals(bucket),
          "key " + r.signedBy() + " signed requests to both " + previous + " and " + bucket);
    }
    assertEquals(2, keyToRole.size(), "two identities, one per bucket: " + keyToRole);
    // Each role's policy allows only its own bucket, so a request signed by the wrong role would
    // have failed above; the recorder shows the split as well.
    assertTrue(keyToRole.containsValue(aws.bucket("destA")) && keyToRole.containsValue(aws.bucket("destB")));
  }

  @Test
  void theSourceUsersOwnKeysCannotWriteTheBucket() throws Exception {
    Configuration conf = aws.s3aConf(null, null);
    conf.set("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    conf.set("fs.s3a.access.key", aws.accessKeyOf("source"));
    conf.set("fs.s3a.secret.key", aws.secretKeyOf("source"));
    String bucket = aws.bucket("destA");
    try (FileSystem fs = FileSystem.get(URI.create("s3a://" + bucket + "/"), conf)) {
      Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> write(fs, new Path("s3a://" + bucket + "/direct.txt"), new byte[] {1}));
      assertTrue(String.valueOf(e).contains("AccessDenied") || String.valueOf(e).contains("403"),
          "the source account cannot write the destination bucket itself: " + e);
    }
  }
}
