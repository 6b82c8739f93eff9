package dev.rolebridge.it;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;

/**
 * Run in a JVM of its own by RegionIT, whose environment gives no region but an instance metadata
 * endpoint: asks for credentials once (printing "FIRST ERROR class message" or "FIRST key=K"), then
 * every 200 ms for up to 30 s until it gets them ("THEN key=K tries=N", or "NEVER message").
 * Arguments: stsEndpoint roleArn externalId bucket.
 */
public final class RegionProbe {
  private RegionProbe() {
  }

  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    conf.set("rolebridge.sts.endpoint", args[0]); // a loopback address: it names no region
    conf.set("rolebridge.role.arn", args[1]);
    conf.set("rolebridge.external.id", args[2]);
    conf.set("rolebridge.session.name", "it-imds-region");
    try (RoleBridgeCredentialsProviderV2 p = RoleBridgeCredentialsProviderV2.create(URI.create("s3a://" + args[3] + "/"), conf)) {
      try {
        System.out.println("FIRST key=" + p.resolveCredentials().accessKeyId());
        return;
      } catch (Throwable t) {
        System.out.println("FIRST ERROR " + t.getClass().getName() + " " + t.getMessage());
      }
      String last = null;
      for (int tries = 1; tries <= 150; tries++) {
        Thread.sleep(200);
        try {
          System.out.println("THEN key=" + p.resolveCredentials().accessKeyId() + " tries=" + tries);
          return;
        } catch (Throwable t) {
          last = t.getMessage();
        }
      }
      System.out.println("NEVER " + last);
    }
  }
}
