package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** rolebridge.cache.dir: JVMs of one user on a node share one session. */
class NodeCacheIT {
  private final LocalAws aws = LocalAws.get();

  /** Starts {@code n} JVMs, lets them ask at once, returns their keys and the AssumeRole calls made. */
  static Object[] jvmsAtOnce(LocalAws aws, int n, String session, String cacheDir) throws Exception {
    return jvmsAtOnce(aws, n, session, cacheDir, null);
  }

  /** The same, with {@code externalId} sent instead of the fixture's (a wrong one: refused). */
  static Object[] jvmsAtOnce(LocalAws aws, int n, String session, String cacheDir, String externalId)
      throws Exception {
    File go = new File(Files.createTempDirectory("rolebridge-go").toFile(), "go");
    List<Process> ps = new ArrayList<Process>();
    aws.startRecording();
    for (int i = 0; i < n; i++) {
      List<String> cmd = new ArrayList<String>(java.util.Arrays.asList(
          System.getProperty("java.home") + "/bin/java", "-Xshare:auto", "-XX:TieredStopAtLevel=1",
          "-cp", System.getProperty("rolebridge.test.classpath"),
          "-Drolebridge.test.fixture=" + System.getProperty("rolebridge.test.fixture"),
          "-Dlog4j.configuration=log4j.properties", NodeCacheProbe.class.getName(), go.getPath(), session));
      cmd.add(cacheDir != null ? cacheDir : "-");
      if (externalId != null) {
        cmd.add(externalId);
      }
      ps.add(new ProcessBuilder(cmd).redirectErrorStream(true).start());
    }
    Thread.sleep(2_500); // all JVMs up and waiting
    assertTrue(go.createNewFile());
    Set<String> keys = new HashSet<String>();
    StringBuilder out = new StringBuilder();
    for (Process p : ps) {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l; (l = r.readLine()) != null; ) {
          out.append(l).append('\n');
          if (l.startsWith("KEY ")) {
            keys.add(l.substring(4));
          }
        }
      }
      assertEquals(0, p.waitFor(), out.toString());
    }
    int calls = LocalAws.assumeRoleCalls(aws.stopRecording()).size();
    return new Object[] {keys, calls, out.toString()};
  }

  @Test
  void eightJvmsStartedAtOnceMakeOneAssumeRoleCall() throws Exception {
    File dir = new File(Files.createTempDirectory("rolebridge-node").toFile(), "cache");
    String session = "it-node-cache-" + System.nanoTime();
    Object[] shared = jvmsAtOnce(aws, 8, session, dir.getPath());
    @SuppressWarnings("unchecked")
    Set<String> keys = (Set<String>) shared[0];
    assertEquals(1, shared[1], "one AssumeRole for 8 JVMs: " + shared[2]);
    assertEquals(1, keys.size(), "all 8 JVMs use the one session: " + keys);
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.toPath())));
    for (File f : dir.listFiles()) {
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.toPath())), f.getName());
    }

    Object[] alone = jvmsAtOnce(aws, 8, session + "-no-cache", null);
    assertEquals(8, alone[1], "without the shared cache each JVM makes its own call");
    System.out.println("NODE-CACHE 8 JVMs at once: " + shared[1] + " AssumeRole call(s) with rolebridge.cache.dir, "
        + alone[1] + " without");
  }

  /**
   * Issue 19, item 4: a broken trust policy (a wrong external ID). 8 JVMs started at once on one
   * cache directory make one AssumeRole; each fails with STS's words and the note that the
   * refusal is remembered on the node; 8 more JVMs within the TTL make none. Without the cache
   * directory each JVM asks STS itself (8).
   */
  @Test
  void eightJvmsRefusedAtOnceMakeOneAssumeRoleCallAndTheNextEightNone() throws Exception {
    File dir = new File(Files.createTempDirectory("rolebridge-node").toFile(), "cache");
    String session = "it-node-refusal-" + System.nanoTime();
    Object[] first = jvmsAtOnce(aws, 8, session, dir.getPath(), "wrong-external-id");
    String out = (String) first[2];
    assertEquals(1, first[1], "one AssumeRole for 8 refused JVMs: " + out);
    assertEquals(8, refused(out, ON_THE_NODE), out);
    Object[] next = jvmsAtOnce(aws, 8, session, dir.getPath(), "wrong-external-id");
    assertEquals(0, next[1], "the refusal is remembered on the node: " + next[2]);
    assertEquals(8, refused((String) next[2], ON_THE_NODE), (String) next[2]);
    File[] records = dir.listFiles((d, n) -> n.endsWith(".refusal"));
    assertEquals(1, records.length, java.util.Arrays.toString(dir.list()));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(records[0].toPath())));
    String record = new String(Files.readAllBytes(records[0].toPath()), StandardCharsets.UTF_8);
    assertTrue(record.contains("\"code\":\"AccessDenied\"") && record.contains(aws.accessKeyOf("source")), record);
    assertTrue(!record.contains(aws.secretKeyOf("source")), "never the source's secret");

    Object[] alone = jvmsAtOnce(aws, 8, session + "-no-cache", null, "wrong-external-id");
    assertEquals(8, refused((String) alone[2], "Remembered in this process until"), (String) alone[2]);
    System.out.println("NODE-CACHE 8 JVMs refused at once (wrong external ID): " + first[1]
        + " AssumeRole call(s) with rolebridge.cache.dir, then " + next[1] + " for 8 more; " + alone[1] + " without");
    assertEquals(8, alone[1], "without the shared cache each JVM asks STS itself");
  }

  private static final String ON_THE_NODE = "Remembered on this node (rolebridge.cache.dir) until";

  /**
   * Lines of JVMs refused with STS's code and words, and the note {@code remembered} (on the node:
   * the refused JVM's own and the others', read from the record; or in the process).
   */
  private static int refused(String out, String remembered) {
    int n = 0;
    for (String l : out.split("\n")) {
      if (l.startsWith("REFUSED AccessDenied ") && l.contains("external ID") && l.contains(remembered)
          && l.contains("rolebridge.refusal.ttl")) {
        n++;
      }
    }
    return n;
  }

  /**
   * Issue 9, hole 6: one OS user, two jobs with different source credentials (the source user,
   * then the intruder, whom the role's trust policy does not name). The intruder's JVM is not
   * handed the session the first JVM fetched: it calls STS with its own source, and is refused.
   */
  @Test
  void aSessionFetchedByAnotherSourceIsNotHandedOut() throws Exception {
    File dir = new File(Files.createTempDirectory("rolebridge-node").toFile(), "cache");
    String session = "it-node-cache-source-" + System.nanoTime();
    String[] args = {aws.endpoint, aws.roleArn("destA"), aws.externalId("destA"), aws.bucket("destA"),
        dir.getPath(), session};
    aws.startRecording();
    LocalAws.Ran first = LocalAws.run(childProbe(args, null));
    LocalAws.Ran intruder = LocalAws.run(childProbe(args, "intruder"));
    LocalAws.Ran again = LocalAws.run(childProbe(args, null));
    List<LocalAws.Request> calls = LocalAws.assumeRoleCalls(aws.stopRecording());
    assertTrue(first.output.contains("RESULT ok"), first.output);
    assertTrue(intruder.output.contains("RESULT refused AccessDenied"),
        "the intruder's JVM asked STS itself and was refused: " + intruder.output);
    assertTrue(again.output.contains("RESULT ok"), again.output);
    // Issue 19, item 4: the intruder's refusal is remembered on the node for the intruder only.
    assertEquals(1, dir.listFiles((d, n) -> n.endsWith(".refusal")).length, java.util.Arrays.toString(dir.list()));
    assertEquals(2, calls.size(), "the source's AssumeRole (then shared), the intruder's own: " + calls);
    assertEquals(aws.accessKeyOf("source"), calls.get(0).signedBy());
    assertEquals(aws.accessKeyOf("intruder"), calls.get(1).signedBy());
    String file = new String(Files.readAllBytes(dir.listFiles((d, n) -> n.endsWith(".session"))[0].toPath()),
        StandardCharsets.UTF_8);
    assertTrue(file.contains("\"fetched_by\":\"" + aws.accessKeyOf("source") + "\""), "who fetched it is recorded");
    assertTrue(!file.contains(aws.secretKeyOf("source")), "never the source's secret");
  }

  private ProcessBuilder childProbe(String[] args, String principal) {
    List<String> cmd = new ArrayList<String>(java.util.Arrays.asList(System.getProperty("java.home") + "/bin/java",
        "-cp", System.getProperty("rolebridge.test.classpath"), "-Dlog4j.configuration=log4j.properties",
        ChildProbe.class.getName()));
    cmd.addAll(java.util.Arrays.asList(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    if (principal != null) {
      pb.environment().put("AWS_ACCESS_KEY_ID", aws.accessKeyOf(principal));
      pb.environment().put("AWS_SECRET_ACCESS_KEY", aws.secretKeyOf(principal));
    }
    return pb;
  }

  @Test
  void aDirectoryOthersCanEnterIsNotUsed() throws Exception {
    File dir = Files.createTempDirectory("rolebridge-open").toFile();
    Files.setPosixFilePermissions(dir.toPath(), PosixFilePermissions.fromString("rwxr-xr-x"));
    Object[] r = jvmsAtOnce(aws, 2, "it-node-cache-open-" + System.nanoTime(), dir.getPath());
    assertEquals(2, r[1], "sharing is off: each JVM fetched its own session");
    assertEquals(0, dir.list().length, "nothing was written there");
  }
}
