package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import dev.rolebridge.it.StsFaultProxy.Fault;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/**
 * The operator's view of real calls against the local STS: the MBeans in dev.rolebridge (read
 * from this JVM's platform MBean server), a Hadoop metrics2 FileSink's output and the audit line
 * (from a JVM of their own that starts Hadoop's metrics system as a daemon does).
 */
class MetricsIT extends ProxiedStsTest {
  private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

  private static Set<ObjectName> beansOf(String session) throws Exception {
    return SERVER.queryNames(new ObjectName("dev.rolebridge:type=Session,session=" + ObjectName.quote(session) + ",*"),
        null);
  }

  private static ObjectName theBeanOf(String session) throws Exception {
    Set<ObjectName> names = beansOf(session);
    assertEquals(1, names.size(), "one MBean for session " + session + ": " + names);
    return names.iterator().next();
  }

  private static long number(ObjectName n, String attribute) throws Exception {
    return ((Number) SERVER.getAttribute(n, attribute)).longValue();
  }

  @Test
  void mbeansCountRealCallsAndNameNoSecret() throws Exception {
    String session = "it-metrics-ok";
    Configuration conf = viaProxy(session);
    proxy.next(Fault.THROTTLE); // the first attempt is throttled, the SDK's retry passes
    aws.startRecording();
    RoleBridgeCredentialsProvider p1 = new RoleBridgeCredentialsProvider(URI.create("s3a://" + aws.bucket("destA")), conf);
    RoleBridgeCredentialsProvider p2 = new RoleBridgeCredentialsProvider(URI.create("s3a://" + aws.bucket("destA")), conf);
    List<String> secrets = new ArrayList<String>();
    for (int i = 0; i < 20; i++) {
      com.amazonaws.auth.AWSSessionCredentials c = (com.amazonaws.auth.AWSSessionCredentials) p1.getCredentials();
      if (i == 0) {
        secrets.add(c.getAWSSecretKey());
        secrets.add(c.getSessionToken());
      }
    }
    for (int i = 0; i < 10; i++) {
      p2.getCredentials();
    }
    assertEquals(1, LocalAws.assumeRoleCalls(aws.stopRecording()).size(), "STS made one session");

    ObjectName name = theBeanOf(session);
    String printed = name.toString();
    assertTrue(printed.contains("role=\"" + aws.roleArn("destA") + "\""), printed);
    assertEquals("Session", name.getKeyProperty("type"));
    assertEquals(aws.roleArn("destA"), SERVER.getAttribute(name, "Role"));
    assertEquals(session, SERVER.getAttribute(name, "SessionName"));
    assertEquals(1, number(name, "AssumeRoleSucceeded"));
    assertEquals(0, number(name, "AssumeRoleFailed"));
    assertEquals(1, number(name, "AssumeRoleThrottled"), "the throttled attempt");
    assertEquals(1, number(name, "StsFetches"));
    assertEquals(0, number(name, "AnswersFromNodeCache"));
    // p1: 1 fetch + 19 from the JVM's memory; p2: its first call is answered by the library's
    // memory, then 9 from the JVM's.
    assertEquals(29, number(name, "AnswersFromMemory"));
    assertEquals(1, number(name, "CallersThatWaited"), "p1's first call; p2's was answered from the library's memory");
    assertEquals(0, number(name, "RefusalsFailureModeClosed"));
    long expiry = number(name, "SecondsToExpiry");
    assertTrue(expiry > 3000 && expiry <= 3600, "a 1-hour session: " + expiry);
    long age = number(name, "SessionAgeSeconds");
    assertTrue(age >= 0 && age < 120, "age " + age);
    long last = number(name, "StsLatencyLastMillis");
    long p50 = number(name, "StsLatencyP50Millis");
    assertTrue(last >= 0 && p50 >= last, "the p50 bucket bound holds the one call: last " + last + " p50 " + p50);
    long[] buckets = (long[]) SERVER.getAttribute(name, "StsLatencyBucketCounts");
    assertEquals(1, Arrays.stream(buckets).sum());
    assertEquals(buckets.length, ((long[]) SERVER.getAttribute(name, "StsLatencyBucketBoundsMillis")).length + 1);
    assertEquals("", SERVER.getAttribute(name, "LastErrorCode"), "a throttled attempt that was retried is no error");
    assertEquals(2L, number(name, "Providers"));
    // No secret in the name or any attribute.
    for (MBeanAttributeInfo a : SERVER.getMBeanInfo(name).getAttributes()) {
      String v = String.valueOf(SERVER.getAttribute(name, a.getName()));
      for (String s : secrets) {
        assertTrue(!v.contains(s) && !printed.contains(s), "a secret in " + a.getName());
      }
    }

    p1.close();
    assertEquals(1, beansOf(session).size(), "registered while a provider is open");
    p2.close();
    assertEquals(0, beansOf(session).size(), "unregistered with the last provider");
  }

  @Test
  void refusalsInModeClosedAndTheLastError() throws Exception {
    String session = "it-metrics-refused";
    Configuration conf = viaProxy(session);
    conf.set("rolebridge.external.id", "not-the-external-id");
    aws.startRecording();
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://" + aws.bucket("destA")), conf);
    for (int i = 0; i < 3; i++) {
      assertThrows(RoleBridgeCredentialsUnavailableError.class, p::getCredentials);
    }
    int calls = LocalAws.assumeRoleCalls(aws.stopRecording()).size();
    ObjectName name = theBeanOf(session);
    assertEquals(3, number(name, "RefusalsFailureModeClosed"));
    assertEquals(1, number(name, "CallersThatWaited"), "the first call waited for STS; the others got the remembered refusal at once");
    assertEquals(calls, number(name, "AssumeRoleFailed"), "each AssumeRole STS refused");
    assertTrue(calls >= 1);
    assertEquals(0, number(name, "AssumeRoleSucceeded"));
    assertEquals(0, number(name, "AnswersFromMemory"));
    assertEquals("AccessDenied", SERVER.getAttribute(name, "LastErrorCode"));
    String at = (String) SERVER.getAttribute(name, "LastErrorTime");
    Duration ago = Duration.between(Instant.parse(at), Instant.now());
    assertTrue(!ago.isNegative() || ago.abs().getSeconds() <= 1, at);
    assertTrue(ago.getSeconds() < 120, at);
    assertEquals(-1, number(name, "SecondsToExpiry"));
    assertEquals(-1, number(name, "SessionAgeSeconds"));
    p.close();
    assertEquals(0, beansOf(session).size());
  }

  /** Opens a provider, asks it once and drops it unclosed (an SDK v2 client never closes a provider it was given). */
  private static void openAndDrop(Configuration conf, String bucket) throws Exception {
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://" + bucket), conf);
    assertTrue(p.getCredentials().getAWSAccessKeyId().startsWith("ASIA"));
  }

  @Test
  void aProviderCollectedWithoutCloseLosesItsMBean() throws Exception {
    String session = "it-metrics-unclosed";
    openAndDrop(viaProxy(session), aws.bucket("destA"));
    ObjectName name = theBeanOf(session);
    assertEquals(1L, number(name, "Providers"));
    // Collected, then reaped at the next read of an attribute: the MBean goes (it would pin the
    // class loader of a dropped Spark or notebook session).
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!beansOf(session).isEmpty() && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(50);
      try {
        number(name, "StsFetches");
      } catch (javax.management.InstanceNotFoundException gone) {
        // unregistered by this very read
      }
    }
    assertEquals(0, beansOf(session).size(), "the MBean of a collected, unclosed provider is unregistered");
    // A new provider of the same settings registers it again, counting from its first provider.
    RoleBridgeCredentialsProvider again = new RoleBridgeCredentialsProvider(URI.create("s3a://" + aws.bucket("destA")),
        viaProxy(session));
    again.getCredentials();
    assertEquals(1L, number(theBeanOf(session), "Providers"));
    again.close();
    assertEquals(0, beansOf(session).size());
  }

  @Test
  void aMetrics2FileSinkWritesTheSessionAndTheLogHasTheAuditLine() throws Exception {
    File dir = Files.createTempDirectory("rolebridge-metrics2").toFile();
    File sink = new File(dir, "metrics.out");
    Files.write(new File(dir, "hadoop-metrics2-rolebridgetest.properties").toPath(), Arrays.asList(
        "*.period=1",
        "rolebridgetest.sink.file.class=org.apache.hadoop.metrics2.sink.FileSink",
        "rolebridgetest.sink.file.filename=" + sink.getPath()), StandardCharsets.UTF_8);
    String session = "it-metrics2";
    String role = aws.roleArn("tenantAlice");
    ProcessBuilder pb = new ProcessBuilder(
        System.getProperty("java.home") + "/bin/java",
        "-cp", dir.getPath() + File.pathSeparator + System.getProperty("rolebridge.test.classpath"),
        "-Dlog4j.configuration=log4j-audit.properties", MetricsProbe.class.getName(),
        aws.endpoint, aws.fixture.get("region").asText(), role, aws.externalId("tenantAlice"), session,
        "audit-alice", "dest-tenants", "5");
    aws.startRecording();
    LocalAws.Ran r = LocalAws.run(pb);
    List<LocalAws.Request> calls = LocalAws.assumeRoleCalls(aws.stopRecording());
    assertEquals(0, r.exit, r.output);
    assertEquals(1, calls.size(), r.output);

    Matcher key = Pattern.compile("KEY (ASIA\\w+)").matcher(r.output);
    assertTrue(key.find(), r.output);
    // The audit line: one, at INFO on dev.rolebridge.audit, with what CloudTrail's event has.
    List<String> audit = new ArrayList<String>();
    for (String line : r.output.split("\n")) {
      if (line.contains("dev.rolebridge.audit")) {
        audit.add(line);
      }
    }
    assertEquals(1, audit.size(), r.output);
    String line = audit.get(0);
    assertTrue(line.contains(" INFO  dev.rolebridge.audit: rolebridge AssumeRole result=ok accessKeyId="
        + key.group(1) + " expiration="), line);
    assertTrue(line.contains(" role=" + role + " session=" + session + " sourceIdentity=audit-alice requestId="), line);
    Matcher m = Pattern.compile("expiration=(\\S+) .* requestId=(\\S+) tookMs=\\d+$").matcher(line);
    assertTrue(m.find(), line);
    Duration left = Duration.between(Instant.now(), Instant.parse(m.group(1)));
    assertTrue(left.getSeconds() > 3000 && left.getSeconds() <= 3600, "expiry in ISO 8601, an hour away: " + line);
    assertTrue(m.group(2).length() >= 8 && !m.group(2).equals("-"), "STS's request ID: " + line);

    // The sink: records "rolebridge.Session" tagged with the role and the session name.
    String written = new String(Files.readAllBytes(sink.toPath()), StandardCharsets.UTF_8);
    String record = null;
    for (String l : written.split("\n")) {
      if (l.contains(" rolebridge.Session: ") && l.contains("SessionName=" + session)) {
        record = l;
      }
    }
    assertTrue(record != null, "a Session record in the sink's output:\n" + written + "\n" + r.output);
    assertTrue(record.contains("Role=" + role), record);
    assertTrue(record.contains("AssumeRoleSucceeded=1,") && record.contains("StsFetches=1,"), record);
    assertTrue(record.contains("AnswersFromMemory=4,") && record.contains("CallersThatWaited=1,"), record);
    assertTrue(record.contains("AssumeRoleFailed=0,") && record.contains("RefusalsFailureModeClosed=0,"), record);
    System.out.println("METRICS2 " + record);
    System.out.println("AUDIT " + line);
    Matcher expiry = Pattern.compile("SecondsToExpiry=(\\d+)").matcher(record);
    assertTrue(expiry.find() && Long.parseLong(expiry.group(1)) > 3000, record);
  }
}
