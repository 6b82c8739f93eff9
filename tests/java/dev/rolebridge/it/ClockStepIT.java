package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9, hole 5: after the wall clock steps forward, or the host wakes from a suspend (the
 * monotonic clock stood still), credentials past their ask-again time are not handed out: the
 * provider compares the ask-again time with the wall clock at each call. The clock is Debian's
 * libfaketime (LD_PRELOAD, FAKETIME_DONT_FAKE_MONOTONIC=1) in both the JVM and a local STS of this
 * test's own, both reading their offset from one file, so that they agree about the time, as the
 * host and AWS do after a suspend. See {@link ClockStepProbe} for the steps.
 */
class ClockStepIT {
  @Test
  void credentialsAreNotHandedOutPastTheirAskAgainTimeByTheWallClock(@TempDir Path dir) throws Exception {
    String libfaketime = System.getProperty("rolebridge.test.libfaketime");
    assertTrue(new File(libfaketime).isFile(), "Debian's libfaketime at " + libfaketime);
    Path offset = Files.write(dir.resolve("offset"), "+0\n".getBytes(StandardCharsets.UTF_8));
    Path fixtureFile = dir.resolve("fixture.json");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    ProcessBuilder server = new ProcessBuilder(System.getProperty("rolebridge.test.python"),
        System.getProperty("rolebridge.test.localaws"), "--port", String.valueOf(port),
        "--fixture-out", fixtureFile.toString());
    fakeClock(server.environment(), libfaketime, offset);
    server.redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile());
    Process sts = server.start();
    try {
      for (int i = 0; i < 300 && !Files.exists(fixtureFile); i++) {
        assertTrue(sts.isAlive(), "the faked-clock local STS exited: "
            + new String(Files.readAllBytes(dir.resolve("server.log")), StandardCharsets.UTF_8));
        Thread.sleep(100);
      }
      JsonNode fixture = new ObjectMapper().readTree(fixtureFile.toFile());
      JsonNode dest = fixture.get("destA");
      ProcessBuilder pb = new ProcessBuilder(System.getProperty("java.home") + "/bin/java", "-cp",
          System.getProperty("rolebridge.test.classpath"), "-Dlog4j.configuration=log4j.properties",
          ClockStepProbe.class.getName(), fixture.get("endpoint").asText(), dest.get("roleArn").asText(),
          dest.get("externalId").asText(), dest.get("bucket").asText(), offset.toString());
      Map<String, String> env = pb.environment();
      env.put("AWS_ACCESS_KEY_ID", fixture.get("source").get("accessKeyId").asText());
      env.put("AWS_SECRET_ACCESS_KEY", fixture.get("source").get("secretAccessKey").asText());
      fakeClock(env, libfaketime, offset);
      LocalAws.Ran r = LocalAws.run(pb);
      assertEquals(0, r.exit, r.output);
      assertTrue(r.output.contains("STEP +56m wall clock moved 56 min"), "the faked clock moved: " + r.output);
      Matcher m = Pattern.compile("ASK-AGAIN new after (\\d+) ms").matcher(r.output);
      assertTrue(m.find(), "past the ask-again time by the wall clock, new credentials: " + r.output);
      assertTrue(Long.parseLong(m.group(1)) < 3000, "within the stated bound of a few seconds: " + m.group());
      assertTrue(r.output.contains("EXPIRED new"), "past expiry, never the expired credentials: " + r.output);
      System.out.println("CLOCK-STEP " + r.output.replace('\n', ';'));
    } finally {
      sts.destroy();
      sts.waitFor();
    }
  }

  private static void fakeClock(Map<String, String> env, String libfaketime, Path offset) {
    env.put("LD_PRELOAD", libfaketime);
    env.put("FAKETIME_TIMESTAMP_FILE", offset.toString());
    env.put("FAKETIME_NO_CACHE", "1");
    env.put("FAKETIME_DONT_FAKE_MONOTONIC", "1");
  }
}
