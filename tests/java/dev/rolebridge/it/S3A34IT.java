package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import dev.rolebridge.it.LocalAws.Request;
import dev.rolebridge.probe.ChildLoaderLauncher;
import java.io.File;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real S3A 3.4.1 with the AWS SDK v2 bundle it declares (2.24.6), as EMR 7.10+ and every Spark on
 * Hadoop 3.4 run it, with rolebridge's V2 provider, against the local STS + S3. This JVM has
 * Hadoop 3.3.1 on its class path, so each case runs {@link S3A34Probe} in a child JVM whose class
 * path is Hadoop 3.4.1's (system properties rolebridge.test.hadoop34.classpath and
 * rolebridge.test.s3a34.classpath, set by scripts/test.sh) and checks from the recorder that every
 * S3 request was signed by a session of the destination role, and that there was one AssumeRole.
 */
class S3A34IT {
  private static final String V1 = RoleBridgeCredentialsProvider.class.getName();
  private static final String V2 = RoleBridgeCredentialsProviderV2.class.getName();
  private static final String ENV_PROVIDER = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider";
  private final LocalAws aws = LocalAws.get();

  /** Where the rolebridge jar, S3A 3.4 (hadoop-aws and the SDK) and the Hadoop client are. */
  enum Layout {
    /** All on the JVM's class path, as on EMR (the jar in auxlib/) or with spark.driver.extraClassPath. */
    ON_CLASS_PATH,
    /** The jar in a child loader (Spark's --jars), S3A on the class path (a Spark that ships it). */
    JAR_IN_CHILD,
    /** The jar, hadoop-aws and the SDK in a child loader (--jars / --packages hadoop-aws), Hadoop's client on the class path. */
    ALL_IN_CHILD
  }

  private static String property(String name) {
    String v = System.getProperty(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalStateException("system property " + name + " is not set: run the tests through scripts/test.sh");
    }
    return v;
  }

  private static String path(String... entries) {
    return String.join(File.pathSeparator, entries);
  }

  /** A child JVM's run of S3A34Probe: its exit code, output, and every request recorded meanwhile. */
  static final class Probe {
    final LocalAws.Ran ran;
    final List<Request> recorded;

    Probe(LocalAws.Ran ran, List<Request> recorded) {
      this.ran = ran;
      this.recorded = recorded;
    }

    boolean ok() {
      return ran.exit == 0 && ran.output.contains("PROBE ok");
    }

    String failure() {
      for (String line : ran.output.split("\n")) {
        if (line.startsWith("FAILED ")) {
          return line;
        }
      }
      return null;
    }
  }

  /**
   * Runs S3A34Probe in a child JVM laid out as {@code layout}, with {@code conf} as Hadoop settings
   * (on top of the probe's own S3A settings and rolebridge's for destA) and {@code extraJars} on its
   * class path.
   */
  private Probe probe(Layout layout, String scheme, String ops, Map<String, String> conf, String... extraJars)
      throws Exception {
    String hadoop = property("rolebridge.test.hadoop34.classpath");
    String s3a = property("rolebridge.test.s3a34.classpath");
    String jar = property("rolebridge.test.jar");
    String tests = property("rolebridge.test.classes");
    String probes = property("rolebridge.test.probes");
    String extra = String.join(File.pathSeparator, extraJars);

    List<String> cmd = new ArrayList<String>(Arrays.asList(System.getProperty("java.home") + "/bin/java",
        "-Dlog4j.configuration=file:" + tests + "/log4j.properties"));
    Map<String, String> all = new LinkedHashMap<String, String>();
    all.put("rolebridge.sts.endpoint", aws.endpoint);
    all.put("rolebridge.sts.region", "us-east-1");
    all.put("rolebridge.role.arn", aws.roleArn("destA"));
    all.put("rolebridge.external.id", aws.externalId("destA"));
    all.putAll(conf);
    for (Map.Entry<String, String> e : all.entrySet()) {
      cmd.add("-Dprobe.conf." + e.getKey() + "=" + e.getValue());
    }
    switch (layout) {
      case ON_CLASS_PATH:
        cmd.addAll(Arrays.asList("-cp", path(tests, jar, hadoop, s3a, extra), S3A34Probe.class.getName()));
        break;
      case JAR_IN_CHILD:
        cmd.addAll(Arrays.asList("-cp", path(probes, tests, hadoop, s3a, extra), ChildLoaderLauncher.class.getName(),
            jar, S3A34Probe.class.getName()));
        break;
      case ALL_IN_CHILD:
        // the probe and its interceptor go with the SDK: nothing of it is on the class path
        cmd.addAll(Arrays.asList("-cp", path(probes, hadoop), ChildLoaderLauncher.class.getName(),
            path(tests, jar, s3a, extra), S3A34Probe.class.getName()));
        break;
      default:
        throw new IllegalArgumentException(String.valueOf(layout));
    }
    cmd.addAll(Arrays.asList(aws.endpoint, aws.bucket("destA"), scheme, ops));
    aws.startRecording();
    LocalAws.Ran ran = LocalAws.run(new ProcessBuilder(cmd));
    return new Probe(ran, aws.stopRecording());
  }

  private Probe probe(Layout layout, String ops, Map<String, String> conf, String... extraJars) throws Exception {
    return probe(layout, "s3a", ops, conf, extraJars);
  }

  private static Map<String, String> conf(String... keyValues) {
    Map<String, String> m = new LinkedHashMap<String, String>();
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put(keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  /**
   * The run succeeded; it made one AssumeRole (session {@code session}, signed by the source user)
   * into destA's role; every S3 request carries a session token and was signed by one key, which
   * the local STS issued to that role's session {@code session}. Returns the S3 requests.
   */
  private List<Request> assertSignedByTheRole(Probe p, String session) throws Exception {
    assertTrue(p.ok(), p.ran.output);
    List<Request> assumeRoles = LocalAws.assumeRoleCalls(p.recorded);
    assertEquals(1, assumeRoles.size(), "one AssumeRole: " + assumeRoles);
    assertEquals(aws.roleArn("destA"), assumeRoles.get(0).form().get("RoleArn"));
    assertEquals(session, assumeRoles.get(0).form().get("RoleSessionName"));
    assertEquals(aws.accessKeyOf("source"), assumeRoles.get(0).signedBy());

    List<Request> s3 = LocalAws.s3Calls(p.recorded);
    assertFalse(s3.isEmpty(), "S3 requests were made: " + p.recorded);
    Set<String> signers = new HashSet<String>();
    for (Request r : s3) {
      signers.add(r.signedBy());
      assertNotNull(r.securityToken, "with a session token: " + r);
    }
    assertEquals(1, signers.size(), "one identity signs every S3 request: " + signers);
    String key = signers.iterator().next();
    assertTrue(key.startsWith("ASIA"), key);
    String roleName = aws.roleArn("destA").substring(aws.roleArn("destA").indexOf(":role/") + 6);
    String account = aws.fixture.get("destA").get("account").asText();
    assertEquals("arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + session, aws.sessionArnOfKey(key),
        "the signing key is the destination role's session");
    for (Request r : p.recorded) {
      assertTrue(r.isAssumeRole() || "s3".equals(r.service()), "nothing but AssumeRole and S3: " + r);
    }
    return s3;
  }

  /** The S3 requests whose URL names {@code keySuffix} and carries {@code query}. */
  private static long count(List<Request> s3, String method, String keySuffix, String query) {
    return s3.stream().filter(r -> r.method.equals(method) && r.url.contains(keySuffix) && r.url.contains(query)).count();
  }

  @Test
  void providerKeyMultipartWriteReadRenameAndUpload() throws Exception {
    Probe p = probe(Layout.ON_CLASS_PATH, "full", conf(
        "fs.s3a.aws.credentials.provider", V2, "rolebridge.session.name", "it-s3a34-full"));
    List<Request> s3 = assertSignedByTheRole(p, "it-s3a34-full");
    String out = p.ran.output;
    assertTrue(out.contains("FS org.apache.hadoop.fs.s3a.S3AFileSystem s3a"), out);
    assertTrue(out.contains("READ same"), out);
    assertTrue(out.contains("RENAMED true " + (2 * S3A34Probe.PART + 1234)), out);
    assertTrue(out.contains("UPLOADED " + (2 * S3A34Probe.PART + 1234)), out);
    // Each of the three files went up in three parts: the block output stream (sync client), the
    // transfer manager's multipart copy and its file upload (async client, SDK worker threads).
    for (String file : new String[] {"written.bin", "renamed.bin", "uploaded.bin"}) {
      assertEquals(1, count(s3, "POST", file, "uploads"), file + ": CreateMultipartUpload in " + s3);
      assertEquals(3, count(s3, "PUT", file, "partNumber="), file + ": three UploadPart(Copy) in " + s3);
      assertEquals(1, count(s3, "POST", file, "uploadId="), file + ": CompleteMultipartUpload in " + s3);
    }
    assertTrue(count(s3, "GET", "written.bin", "") >= 1, "read back: " + s3);
  }

  @Test
  void perBucketProviderKey() throws Exception {
    // The global key names a provider that has nothing to give; the bucket's own key names ours.
    Probe p = probe(Layout.ON_CLASS_PATH, "small", conf(
        "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.bucket." + aws.bucket("destA") + ".aws.credentials.provider", V2,
        "rolebridge.session.name", "it-s3a34-bucket"));
    assertSignedByTheRole(p, "it-s3a34-bucket");
  }

  @Test
  void s3SchemeServedByS3A() throws Exception {
    // EMR 7.10+: fs.s3.impl is S3A; its settings stay fs.s3a.* (and fs.s3a.bucket.B.*).
    Probe p = probe(Layout.ON_CLASS_PATH, "s3", "small", conf(
        "fs.s3.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.aws.credentials.provider", V2, "rolebridge.session.name", "it-s3a34-s3-scheme"));
    assertSignedByTheRole(p, "it-s3a34-s3-scheme");
    assertTrue(p.ran.output.contains("FS org.apache.hadoop.fs.s3a.S3AFileSystem s3\n"), p.ran.output);
    assertTrue(p.ran.output.contains("WROTE s3://" + aws.bucket("destA") + "/"), p.ran.output);
  }

  @Test
  void v1ClassNameMappedToTheV2Class() throws Exception {
    // No SDK v1 on this class path: the mapping is applied before S3A loads the named class.
    Probe p = probe(Layout.ON_CLASS_PATH, "small", conf(
        "fs.s3a.aws.credentials.provider", V1,
        "fs.s3a.aws.credentials.provider.mapping", V1 + "=" + V2,
        "rolebridge.session.name", "it-s3a34-mapped"));
    assertSignedByTheRole(p, "it-s3a34-mapped");
  }

  /**
   * The v1 class named, no SDK v1 on the class path, no mapping: S3A 3.4.1 loads the class before
   * anything of ours runs, and the JVM cannot define it without its interface
   * (com.amazonaws.auth.AWSCredentialsProvider). S3A does not catch that NoClassDefFoundError, so it
   * is what the user sees; the advice to name the V2 class (or to map the v1 name to it) has to come
   * from docs/troubleshooting.md's entry for this exact text and from `rolebridge doctor`.
   * TODO(issue 16): assert that advice once it exists where it can be shown.
   */
  @Test
  void v1ClassNameWithoutSdkV1() throws Exception {
    Probe p = probe(Layout.ON_CLASS_PATH, "small", conf(
        "fs.s3a.aws.credentials.provider", V1, "rolebridge.session.name", "it-s3a34-v1-no-sdk"));
    assertEquals(3, p.ran.exit, p.ran.output);
    assertTrue(p.failure().startsWith("FAILED java.lang.NoClassDefFoundError: com/amazonaws/auth/AWSCredentialsProvider"),
        p.ran.output);
    assertEquals(Collections.emptyList(), p.recorded, "no request at all");
  }

  @Test
  void v1ClassNameWithSdkV1GoesThroughS3AsAdapter() throws Exception {
    // EMR images carry SDK v1 as well: S3A 3.4 wraps the v1 provider (V1ToV2AwsCredentialProviderAdapter).
    Probe p = probe(Layout.ON_CLASS_PATH, "small", conf(
        "fs.s3a.aws.credentials.provider", V1, "rolebridge.session.name", "it-s3a34-v1-adapter"),
        property("rolebridge.test.sdkv1.bundle"));
    assertSignedByTheRole(p, "it-s3a34-v1-adapter");
    assertTrue(p.ran.output.contains("contains AWS v1 SDK entry " + V1), p.ran.output);
  }

  static Stream<Arguments> layouts() {
    List<Arguments> out = new ArrayList<Arguments>();
    for (Layout layout : Layout.values()) {
      for (boolean isolation : new boolean[] {true, false}) {
        out.add(Arguments.of(layout, isolation));
      }
    }
    return out.stream();
  }

  /**
   * Which install works with which: S3A 3.4.1 loads credential providers with the class loader
   * that loaded S3A itself (S3AUtils.getInstanceFromReflection), whatever fs.s3a.classloader.isolation
   * says (that setting only decides the class loader of the Configuration, which other extension
   * points use). So the jar must be where hadoop-aws is: on the class path beside it, or in the
   * same child loader; the jar alone in --jars fails with ClassNotFoundException either way.
   */
  @ParameterizedTest(name = "{0}, fs.s3a.classloader.isolation={1}")
  @MethodSource("layouts")
  void classLoaders(Layout layout, boolean isolation) throws Exception {
    String session = "it-s3a34-" + layout.name().toLowerCase().replace('_', '-') + "-" + isolation;
    Probe p = probe(layout, "small", conf(
        "fs.s3a.aws.credentials.provider", V2, "fs.s3a.classloader.isolation", String.valueOf(isolation),
        "rolebridge.session.name", session));
    if (layout == Layout.JAR_IN_CHILD) {
      assertEquals(3, p.ran.exit, p.ran.output);
      assertTrue(p.failure().contains("java.lang.ClassNotFoundException: " + V2), p.ran.output);
      assertEquals(Collections.emptyList(), p.recorded, "no request at all");
    } else {
      assertSignedByTheRole(p, session);
    }
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * Failure mode closed (the default) with our provider ahead of another in S3A 3.4's list, one
   * that would sign with the source user's own keys (this JVM's environment): when STS refuses
   * (a wrong external ID) or cannot be reached, the run fails and no S3 request is made at all.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"refused", "unreachable"})
  void failClosedAheadOfAnotherProvider(String failure) throws Exception {
    Map<String, String> conf = conf("fs.s3a.aws.credentials.provider", V2 + "," + ENV_PROVIDER,
        "rolebridge.session.name", "it-s3a34-closed-" + failure);
    if (failure.equals("refused")) {
      conf.put("rolebridge.external.id", "not-the-external-id");
    } else {
      conf.put("rolebridge.sts.endpoint", "http://127.0.0.1:" + closedPort());
    }
    Probe p = probe(Layout.ON_CLASS_PATH, "small", conf);
    assertEquals(3, p.ran.exit, p.ran.output);
    assertTrue(p.failure().startsWith("FAILED dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError"), p.ran.output);
    assertEquals(Collections.emptyList(), LocalAws.s3Calls(p.recorded), "no S3 request was signed by anyone");
  }

  /**
   * The same list with failure mode open: S3A goes on to the next provider, whose (source user's)
   * key then signs the S3 requests. Shows that the closed case above would see such requests.
   */
  @Test
  void failOpenFallsThroughToTheNextProvider() throws Exception {
    Probe p = probe(Layout.ON_CLASS_PATH, "small", conf("fs.s3a.aws.credentials.provider", V2 + "," + ENV_PROVIDER,
        "rolebridge.external.id", "not-the-external-id", "rolebridge.failure.mode", "open",
        "rolebridge.session.name", "it-s3a34-open"));
    List<Request> s3 = LocalAws.s3Calls(p.recorded);
    assertFalse(s3.isEmpty(), p.ran.output);
    for (Request r : s3) {
      assertEquals(aws.accessKeyOf("source"), r.signedBy(), "signed by the next provider: " + r);
    }
  }
}
