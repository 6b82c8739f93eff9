package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.probe.PlatformProbe;
import dev.rolebridge.probe.UnloadProbe;
import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The one release jar on the Java runtimes and architectures our users have, as far as this machine
 * can run them: Java 11, 17 and 21 on x86_64, and Java 21 on aarch64 under qemu-user. Each JVM is a
 * child process with the fixture's source user as its AWS default chain, running the probes in
 * {@code dev.rolebridge.probe} (Java 8 bytecode). Java 8 itself is not on our registries: the
 * shim's {@code --release 8} compile and PackagingIT's class-file check stand for it.
 */
class PlatformsIT {
  private static final String JAR = System.getProperty("rolebridge.test.jar");
  private static final String VERSION = System.getProperty("rolebridge.test.version");
  private final LocalAws aws = LocalAws.get();

  /** The x86_64 runtimes: system property rolebridge.test.jdks, "11=/path/to/java,17=...,21=...". */
  static Stream<Arguments> jdks() {
    String spec = System.getProperty("rolebridge.test.jdks");
    if (spec == null || spec.isEmpty()) {
      throw new IllegalStateException("rolebridge.test.jdks is not set: run the tests through scripts/test.sh");
    }
    List<Arguments> out = new ArrayList<Arguments>();
    for (String pair : spec.split(",")) {
      String[] kv = pair.split("=", 2);
      out.add(Arguments.of(kv[0], kv[1]));
    }
    return out.stream();
  }

  /** The aarch64 JVM's launcher (qemu-user), system property rolebridge.test.aarch64.java. */
  private static String aarch64Java() {
    String java = System.getProperty("rolebridge.test.aarch64.java");
    if (java == null || !new File(java).canExecute()) {
      throw new IllegalStateException("rolebridge.test.aarch64.java does not name a launcher: " + java
          + " (scripts/deps.sh writes it)");
    }
    return java;
  }

  private static LocalAws.Ran run(String... command) throws Exception {
    return LocalAws.run(new ProcessBuilder(command));
  }

  private static String probeClasspath() {
    return System.getProperty("rolebridge.test.probes") + File.pathSeparator + JAR + File.pathSeparator
        + System.getProperty("rolebridge.test.platform.classpath");
  }

  private static void assertSelfCheck(String java, String platform) throws Exception {
    LocalAws.Ran r = run(java, "-jar", JAR);
    assertEquals(0, r.exit, r.output);
    assertTrue(r.output.contains("platform " + platform + "\n"), r.output);
    assertTrue(r.output.contains("native library " + VERSION + " loaded from jar:/native/" + platform
        + "/librolebridge.so"), r.output);
  }

  private static String line(String output, String prefix) {
    Matcher m = Pattern.compile("(?m)^" + prefix + " (\\S+)").matcher(output);
    assertTrue(m.find(), "no line \"" + prefix + " ...\" in:\n" + output);
    return m.group(1);
  }

  /**
   * Runs PlatformProbe on {@code java} and checks, from the recorder, that it made exactly one
   * AssumeRole, signed by the source user, and that every S3 request was signed by the session's key.
   */
  private void assertRoundTrip(String java, String platform, String session, boolean s3a) throws Exception {
    aws.startRecording();
    List<String> cmd = new ArrayList<String>(Arrays.asList(java, "-cp", probeClasspath(),
        "-Dlog4j.configuration=log4j.properties", PlatformProbe.class.getName(), aws.endpoint,
        aws.roleArn("destA"), aws.externalId("destA"), aws.bucket("destA"), session));
    if (!s3a) {
      cmd.add("no-s3a");
    }
    LocalAws.Ran r = LocalAws.run(new ProcessBuilder(cmd));
    List<LocalAws.Request> recorded = aws.stopRecording();
    assertEquals(0, r.exit, r.output);
    assertTrue(r.output.contains("PROBE ok"), r.output);
    assertTrue(line(r.output, "FROM").startsWith("jar:/native/" + platform + "/librolebridge.so"), r.output);
    String key = line(r.output, "V1");
    assertTrue(key.startsWith("ASIA"), r.output);
    assertEquals(key, line(r.output, "V2"), "the SDK v2 provider shares the session: " + r.output);

    int assumeRoles = 0;
    for (LocalAws.Request a : LocalAws.assumeRoleCalls(recorded)) {
      if (session.equals(a.form().get("RoleSessionName"))) {
        assumeRoles++;
        assertEquals(aws.accessKeyOf("source"), a.signedBy());
        assertEquals(aws.roleArn("destA"), a.form().get("RoleArn"));
      }
    }
    assertEquals(1, assumeRoles, "one AssumeRole for the JVM: " + recorded);
    if (s3a) {
      List<LocalAws.Request> s3 = LocalAws.s3Calls(recorded);
      assertTrue(s3.size() >= 3, "S3A wrote, read and deleted: " + s3);
      for (LocalAws.Request q : s3) {
        assertEquals(key, q.signedBy(), "signed by the assumed role: " + q);
        assertTrue(q.securityToken != null && !q.securityToken.isEmpty(), "with the session token: " + q);
      }
    }
  }

  @ParameterizedTest(name = "Java {0}")
  @MethodSource("jdks")
  void theSelfCheckLoadsTheLibraryFromTheJar(String version, String java) throws Exception {
    LocalAws.Ran v = run(java, "-version");
    assertTrue(v.output.contains("version \"" + version), "this is Java " + version + ": " + v.output);
    assertSelfCheck(java, "linux-x86_64");
  }

  @ParameterizedTest(name = "Java {0}")
  @MethodSource("jdks")
  void aProviderRoundTripThroughS3A(String version, String java) throws Exception {
    assertRoundTrip(java, "linux-x86_64", "it-java-" + version, true);
  }

  /**
   * Spark sessions, Hive and notebooks make and drop class loaders: once its providers are closed
   * and it is dropped, a loader that loaded the jar is collected, the JVM unmaps its library copy
   * (after JNI_OnUnload stopped the library's threads), no rolebridge thread is left, the threads
   * that ran the library's code end without a crash, and the JVM goes on making sessions.
   */
  @ParameterizedTest(name = "Java {0}")
  @MethodSource("jdks")
  void aDroppedClassLoaderIsCollectedWithItsLibraryAndThreads(String version, String java) throws Exception {
    int cycles = 3;
    LocalAws.Ran r = run(java, "-Xcheck:jni", "-cp", System.getProperty("rolebridge.test.probes"),
        "-Dlog4j.configuration=log4j.properties", UnloadProbe.class.getName(), JAR,
        System.getProperty("rolebridge.test.platform.classpath"), aws.endpoint, aws.roleArn("destA"),
        aws.externalId("destA"), aws.bucket("destA"), String.valueOf(cycles));
    assertEquals(0, r.exit, r.output);
    for (int i = 0; i < cycles; i++) {
      Matcher m = Pattern.compile("(?m)^CYCLE " + i + " key=ASIA\\S+ collected=(\\w+) unmapped=(\\w+)"
          + " stsThreads=(\\d+) fetchThreads=(\\d+) rssKb=(\\d+)$").matcher(r.output);
      assertTrue(m.find(), "cycle " + i + " in:\n" + r.output);
      assertEquals("true", m.group(1), "the class loader was collected: " + m.group());
      assertEquals("true", m.group(2), "its library copy was unmapped: " + m.group());
      assertEquals("0", m.group(3), "no tokio thread left: " + m.group());
      assertEquals("0", m.group(4), "no rolebridge-fetch thread left: " + m.group());
    }
    assertTrue(r.output.contains("AFTER key=ASIA"), "the JVM goes on working: " + r.output);
    System.out.println("UNLOAD Java " + version + ": " + r.output.replaceAll("(?m)^(?!CYCLE|AFTER).*\n", "")
        .replace('\n', ';'));
  }

  @Test
  void aarch64TheSelfCheckLoadsTheAarch64Library() throws Exception {
    assertSelfCheck(aarch64Java(), "linux-aarch64");
  }

  /**
   * The aarch64 library, loaded from the jar by an aarch64 JVM, fetches a session from the local STS
   * (through both providers; S3A is left to the x86_64 runs to keep the emulated part short).
   */
  @Test
  void aarch64AProviderRoundTrip() throws Exception {
    assertRoundTrip(aarch64Java(), "linux-aarch64", "it-java-aarch64", false);
  }
}
