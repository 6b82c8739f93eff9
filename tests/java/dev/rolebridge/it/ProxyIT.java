package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.it.LocalAws.Request;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

/**
 * S3A's {@code fs.s3a.proxy.*} keys (issue 19): real Hadoop 3.3.1 S3A with rolebridge as its
 * provider, behind a real HTTP proxy (Debian's tinyproxy) on loopback: the provider's AssumeRole
 * and S3A's own S3 requests both go through it; with a user and password against a proxy that
 * requires them; the password never in {@code toString()} or a message.
 */
class ProxyIT {
  private static final String PASSWORD = "jvm-pr0xy-Secret-77";
  private final LocalAws aws = LocalAws.get();

  /** tinyproxy in the foreground on 127.0.0.1, logging each request it forwards. */
  static final class TinyProxy implements AutoCloseable {
    final int port;
    final File log;
    private final Process process;

    TinyProxy(String user, String password) throws Exception {
      File dir = Files.createTempDirectory("rolebridge-tinyproxy").toFile();
      // tinyproxy drops root for nobody, who must reach its log.
      dir.setWritable(true, false);
      dir.setReadable(true, false);
      dir.setExecutable(true, false);
      log = new File(dir, "tinyproxy.log");
      Files.write(log.toPath(), new byte[0]);
      log.setWritable(true, false);
      try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
        port = s.getLocalPort();
      }
      List<String> lines = new ArrayList<String>(Arrays.asList("Port " + port, "Listen 127.0.0.1",
          // tinyproxy holds a HEAD answer's connection until its idle timeout (it waits for a body):
          // a short one keeps S3A's HEAD requests from taking 30 s each.
          "Timeout 3", "LogFile \"" + log + "\"", "LogLevel Info", "MaxClients 20", "Allow 127.0.0.1",
          "DisableViaHeader Yes"));
      if ("root".equals(System.getProperty("user.name"))) {
        lines.add("User nobody");
        lines.add("Group nogroup");
      }
      if (user != null) {
        lines.add("BasicAuth " + user + " " + password);
      }
      File conf = new File(dir, "tinyproxy.conf");
      Files.write(conf.toPath(), lines, StandardCharsets.UTF_8);
      process = new ProcessBuilder("tinyproxy", "-d", "-c", conf.getPath())
          .redirectErrorStream(true).redirectOutput(new File(dir, "stdout")).start();
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (true) {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 200);
          return;
        } catch (IOException e) {
          if (System.nanoTime() > deadline || !process.isAlive()) {
            throw new IllegalStateException("tinyproxy did not start on port " + port + ": " + e);
          }
          Thread.sleep(100);
        }
      }
    }

    /** The requests forwarded, as "METHOD URL HTTP/1.1". */
    List<String> requests() throws IOException {
      List<String> out = new ArrayList<String>();
      for (String line : Files.readAllLines(log.toPath(), StandardCharsets.ISO_8859_1)) {
        int i = line.indexOf("Request (file descriptor");
        if (i >= 0) {
          out.add(line.substring(line.indexOf("): ", i) + 3).trim());
        }
      }
      return out;
    }

    @Override
    public void close() throws Exception {
      process.destroy();
      process.waitFor();
    }
  }

  private static int count(List<String> lines, String prefix) {
    int n = 0;
    for (String l : lines) {
      if (l.startsWith(prefix)) {
        n++;
      }
    }
    return n;
  }

  private void writeThrough(TinyProxy proxy, Configuration conf, String dir) throws Exception {
    String bucket = aws.bucket("destA");
    aws.startRecording();
    try (FileSystem fs = FileSystem.get(URI.create("s3a://" + bucket + "/"), conf)) {
      Path file = new Path("s3a://" + bucket + "/" + dir + "/part-0000");
      S3ACrossAccountIT.write(fs, file, "through the proxy".getBytes(StandardCharsets.UTF_8));
      assertTrue(fs.exists(file));
      fs.delete(new Path("s3a://" + bucket + "/" + dir), true);
    }
    List<Request> recorded = aws.stopRecording();
    assertEquals(1, LocalAws.assumeRoleCalls(recorded).size(), "one AssumeRole: " + recorded);
    List<String> seen = proxy.requests();
    assertEquals(1, count(seen, "POST " + aws.endpoint + "/ "),
        "the provider's AssumeRole went through the proxy: " + seen);
    assertTrue(count(seen, "PUT " + aws.endpoint + "/" + bucket + "/" + dir) >= 1,
        "S3A's own S3 requests went through the proxy: " + seen);
  }

  @Test
  void stsAndS3GoThroughTheS3aProxy() throws Exception {
    try (TinyProxy proxy = new TinyProxy(null, null)) {
      Configuration conf = aws.s3aConf("destA", "it-proxy-plain");
      conf.set("fs.s3a.proxy.host", "127.0.0.1");
      conf.set("fs.s3a.proxy.port", Integer.toString(proxy.port));
      writeThrough(proxy, conf, "proxy-plain");
    }
  }

  @Test
  void theBucketsProxyKeysWithUserAndPasswordAgainstAProxyThatRequiresThem() throws Exception {
    try (TinyProxy proxy = new TinyProxy("rbuser", PASSWORD)) {
      Configuration conf = aws.s3aConf("destA", "it-proxy-auth");
      String b = aws.bucket("destA");
      conf.set("fs.s3a.proxy.host", "192.0.2.1"); // the bucket's keys win over these
      conf.set("fs.s3a.bucket." + b + ".proxy.host", "127.0.0.1");
      conf.set("fs.s3a.bucket." + b + ".proxy.port", Integer.toString(proxy.port));
      conf.set("fs.s3a.bucket." + b + ".proxy.username", "rbuser");
      conf.set("fs.s3a.bucket." + b + ".proxy.password", PASSWORD);
      writeThrough(proxy, conf, "proxy-auth");

      RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://" + b + "/"), conf);
      String shown = p.toString();
      assertTrue(shown.contains("via proxy http://rbuser:****@127.0.0.1:" + proxy.port), shown);
      assertFalse(shown.contains(PASSWORD), shown);
      p.close();

      // The wrong password: the proxy refuses, nothing reaches STS, the message hides it.
      Configuration wrong = aws.s3aConf("destA", "it-proxy-wrong-password");
      wrong.set("fs.s3a.proxy.host", "127.0.0.1");
      wrong.set("fs.s3a.proxy.port", Integer.toString(proxy.port));
      wrong.set("fs.s3a.proxy.username", "rbuser");
      wrong.set("fs.s3a.proxy.password", "wrong-" + PASSWORD);
      wrong.set("rolebridge.failure.mode", "open");
      RoleBridgeCredentialsProvider bad = new RoleBridgeCredentialsProvider(URI.create("s3a://" + b + "/"), wrong);
      aws.startRecording();
      Throwable t = assertThrows(Throwable.class, bad::getCredentials);
      List<Request> recorded = aws.stopRecording();
      bad.close();
      assertEquals(0, LocalAws.assumeRoleCalls(recorded).size(), "nothing past the proxy: " + recorded);
      StringBuilder all = new StringBuilder();
      for (Throwable c = t; c != null; c = c.getCause()) {
        all.append(c).append('\n');
      }
      assertFalse(all.toString().contains(PASSWORD), all.toString());
    }
  }

  @Test
  void badProxyKeysFailAtConstructionNamingTheKey() throws Exception {
    String b = aws.bucket("destA");
    String[][] cases = {
      {"fs.s3a.proxy.port", "eighty", "fs.s3a.proxy.port: \"eighty\" is not a port number"},
      {"fs.s3a.proxy.username", "rbuser", "fs.s3a.proxy.username: is set without fs.s3a.proxy.password"},
      {"fs.s3a.proxy.password", PASSWORD, "fs.s3a.proxy.password: is set without fs.s3a.proxy.username"},
    };
    for (String[] c : cases) {
      Configuration conf = aws.s3aConf("destA", "it-proxy-bad");
      conf.set("fs.s3a.proxy.host", "127.0.0.1");
      conf.set(c[0], c[1]);
      aws.startRecording();
      Exception e = assertThrows(Exception.class,
          () -> new RoleBridgeCredentialsProvider(URI.create("s3a://" + b + "/"), conf));
      assertEquals(0, aws.stopRecording().size());
      assertTrue(String.valueOf(e.getMessage()).contains(c[2]), e.toString());
      assertFalse(String.valueOf(e).contains(PASSWORD), e.toString());
    }
  }
}
