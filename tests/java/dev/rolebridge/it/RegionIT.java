package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 9, hole 1 (the native part): with no rolebridge.sts.region and no AWS_REGION, the region
 * comes from the instance metadata service, as the README says, and a lookup that failed (an IMDS
 * blip) is tried again at the next fetch. The IMDS is a local stand-in (IMDSv2: a PUT for the
 * token, then GETs with it) that answers 500 to its first 8 requests: more than one lookup's
 * attempts (the SDK's IMDS client makes 4), so the first fetch fails, and a later one succeeds.
 */
class RegionIT {
  private final LocalAws aws = LocalAws.get();

  @Test
  void theRegionComesFromInstanceMetadataAndAFailedLookupIsTriedAgain() throws Exception {
    final List<String> seen = Collections.synchronizedList(new ArrayList<String>());
    final int[] requests = {0};
    HttpServer imds = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    imds.createContext("/", exchange -> {
      int n;
      synchronized (requests) {
        n = ++requests[0];
      }
      String method = exchange.getRequestMethod();
      String path = exchange.getRequestURI().getPath();
      String token = exchange.getRequestHeaders().getFirst("x-aws-ec2-metadata-token");
      int status;
      String body;
      if (n <= 8) {
        status = 500;
        body = "blip";
      } else if (method.equals("PUT") && path.equals("/latest/api/token")) {
        status = 200;
        body = "local-imds-token";
        // as real IMDS answers: the token's lifetime, which the client requires
        exchange.getResponseHeaders().add("x-aws-ec2-metadata-token-ttl-seconds",
            exchange.getRequestHeaders().getFirst("x-aws-ec2-metadata-token-ttl-seconds"));
      } else if (method.equals("GET") && path.equals("/latest/meta-data/placement/region")
          && "local-imds-token".equals(token)) {
        status = 200;
        body = "us-east-1";
      } else {
        status = 404;
        body = "not here";
      }
      seen.add(method + " " + path + " " + status);
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, b.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(b);
      }
    });
    imds.start();
    try {
      aws.startRecording();
      ProcessBuilder pb = new ProcessBuilder(System.getProperty("java.home") + "/bin/java", "-cp",
          System.getProperty("rolebridge.test.classpath"), "-Dlog4j.configuration=log4j.properties",
          RegionProbe.class.getName(), aws.endpoint, aws.roleArn("destA"), aws.externalId("destA"),
          aws.bucket("destA"));
      pb.environment().remove("AWS_REGION");
      pb.environment().remove("AWS_DEFAULT_REGION");
      pb.environment().remove("AWS_EC2_METADATA_DISABLED");
      pb.environment().put("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:" + imds.getAddress().getPort());
      LocalAws.Ran r = LocalAws.run(pb);
      List<LocalAws.Request> recorded = aws.stopRecording();
      assertEquals(0, r.exit, r.output);
      assertTrue(r.output.contains("FIRST ERROR dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError")
          && r.output.contains("rolebridge.sts.region"), "the blip fails the first fetch, closed: " + r.output);
      assertTrue(r.output.contains("THEN key=ASIA"), "the next lookup finds the region: " + r.output + seen);
      assertTrue(seen.contains("GET /latest/meta-data/placement/region 200"), "asked IMDS: " + seen);
      assertEquals(1, LocalAws.assumeRoleCalls(recorded).size(), "then one AssumeRole: " + recorded);
      System.out.println("IMDS-REGION " + seen.size() + " IMDS requests; " + r.output.replace('\n', ';'));
    } finally {
      imds.stop(0);
    }
  }
}
