package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Logging at TRACE on both sides (ROLEBRIDGE_LOG=trace for the native library and the AWS SDK for
 * Rust inside it; log4j TRACE for dev.rolebridge): no log line, exception message, stack trace or
 * toString() of a run that makes, refreshes and is refused sessions contains a secret key or a
 * session token.
 */
class SecretsIT {
  private final LocalAws aws = LocalAws.get();

  private static String proxyLines(String out) {
    StringBuilder b = new StringBuilder();
    for (String line : out.split("\n")) {
      if (line.startsWith("prox") || line.startsWith("through the proxy") || line.startsWith("invalid proxy")) {
        b.append(line).append('\n');
      }
    }
    return b.toString();
  }

  @Test
  void noSecretInAnyLogLineMessageOrToString() throws Exception {
    File secretsFile = File.createTempFile("rolebridge-secrets", ".txt");
    List<String> cmd = new ArrayList<String>(Arrays.asList(
        System.getProperty("java.home") + "/bin/java", "-cp", System.getProperty("rolebridge.test.classpath"),
        "-Drolebridge.test.fixture=" + System.getProperty("rolebridge.test.fixture"),
        "-Dlog4j.configuration=log4j-trace.properties",
        SecretsWorkload.class.getName(), secretsFile.getPath()));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("ROLEBRIDGE_LOG", "trace");
    LocalAws.Ran r = LocalAws.run(pb);
    String out = r.output;
    assertEquals(0, r.exit, out);

    List<String> secrets = Files.readAllLines(secretsFile.toPath(), StandardCharsets.UTF_8);
    secretsFile.delete();
    assertTrue(secrets.size() >= 7, "the workload saw the source secret and 3+ sessions' secrets: " + secrets.size());
    // Logging really was on, on both sides.
    assertTrue(out.matches("(?s).* TRACE rolebridge-sts [a-z_:]*aws_smithy_runtime.*"), "native TRACE lines (the SDK for Rust)");
    assertTrue(out.contains("rolebridge::cache: new session"), "native lines of rolebridge itself");
    assertTrue(out.contains("DEBUG ProviderCore: rolebridge: session NativeSession{accessKeyId=ASIA"), "Java lines");
    assertTrue(out.contains("refusal (closed)") && out.contains("refusal (open)") && out.contains("invalid setting"));
    // The audit lines (INFO on dev.rolebridge.audit) of the sessions made and refused are in the scan.
    assertTrue(out.contains("INFO  audit: rolebridge AssumeRole result=ok accessKeyId=ASIA"), "audit lines of sessions");
    assertTrue(out.contains("INFO  audit: rolebridge AssumeRole result=AccessDenied"), "audit lines of refusals");
    assertTrue(out.contains("proxied provider: ") && out.contains("via proxy http://rbuser:****@127.0.0.1:")
        && out.contains("proxy refusal: ") && out.contains("fs.s3a.proxy.password: is set without fs.s3a.proxy.username")
        && out.matches("(?s).*proxy forwarded: \\[POST http://127\\.0\\.0\\.1:[0-9]+/ HTTP/1\\.1.*"),
        "the proxy part ran: a provider through the proxy, one refused by it, one refused at construction: "
            + proxyLines(out));
    int lines = out.split("\n").length;
    for (String secret : secrets) {
      assertTrue(secret.length() >= 16, "a real secret: " + secret.length());
      assertTrue(!out.contains(secret), "a secret (" + secret.length() + " chars) appears in the output");
      // also no recognisable part of it (e.g. a token cut by a line length limit)
      String head = secret.substring(0, 16);
      assertTrue(!out.contains(head), "the first 16 characters of a secret appear in the output");
    }
    System.out.println("SECRETS scanned " + lines + " lines of TRACE output for " + secrets.size() + " secrets: 0 hits");
  }
}
