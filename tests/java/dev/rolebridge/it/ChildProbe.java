package dev.rolebridge.it;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeStsException;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Run in a JVM of its own by NegativeIT, with another source identity in its environment: tries
 * to write through S3A + rolebridge and prints "RESULT ok" or "RESULT refused CODE MESSAGE".
 * Arguments: endpoint roleArn externalId bucket [cacheDir sessionName]. Each system property
 * {@code probe.conf.<KEY>} sets {@code <KEY>} in the configuration.
 */
public final class ChildProbe {
  private ChildProbe() {
  }

  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    conf.set("fs.s3a.endpoint", args[0]);
    conf.setBoolean("fs.s3a.path.style.access", true);
    conf.setBoolean("fs.s3a.connection.ssl.enabled", false);
    conf.set("fs.s3a.attempts.maximum", "1");
    conf.set("fs.s3a.retry.limit", "1");
    conf.set("fs.s3a.aws.credentials.provider", RoleBridgeCredentialsProvider.class.getName());
    conf.set("rolebridge.sts.endpoint", args[0]);
    conf.set("rolebridge.sts.region", "us-east-1");
    conf.set("rolebridge.role.arn", args[1]);
    conf.set("rolebridge.external.id", args[2]);
    if (args.length > 5) {
      conf.set("rolebridge.cache.dir", args[4]);
      conf.set("rolebridge.session.name", args[5]);
    }
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("probe.conf.")) {
        conf.set(name.substring("probe.conf.".length()), System.getProperty(name));
      }
    }
    try (FileSystem fs = FileSystem.get(URI.create("s3a://" + args[3] + "/"), conf)) {
      try (org.apache.hadoop.fs.FSDataOutputStream out = fs.create(new Path("s3a://" + args[3] + "/probe.txt"))) {
        out.write(1);
      }
      System.out.println("RESULT ok");
    } catch (Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof RoleBridgeStsException) {
          System.out.println("RESULT refused " + ((RoleBridgeStsException) t).getErrorCode() + " " + t.getMessage());
          return;
        }
      }
      System.out.println("RESULT other " + NegativeIT.chain(e));
    }
  }
}
