package dev.rolebridge.it;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.metrics2.lib.DefaultMetricsSystem;

/**
 * Run by MetricsIT in a JVM of its own, with a hadoop-metrics2-rolebridgetest.properties on its
 * class path that configures a FileSink: starts Hadoop's metrics system as a daemon does, makes a
 * provider, asks it for credentials {@code calls} times, prints "KEY <access key ID>", waits for
 * the sink's periods and stops the metrics system. Its log (log4j-audit.properties) carries the
 * audit line. Arguments: endpoint region roleArn externalId sessionName sourceIdentity bucket calls.
 */
public final class MetricsProbe {
  private MetricsProbe() {
  }

  public static void main(String[] args) throws Exception {
    DefaultMetricsSystem.initialize("rolebridgetest");
    Configuration conf = new Configuration();
    conf.set("rolebridge.sts.endpoint", args[0]);
    conf.set("rolebridge.sts.region", args[1]);
    conf.set("rolebridge.role.arn", args[2]);
    conf.set("rolebridge.external.id", args[3]);
    conf.set("rolebridge.session.name", args[4]);
    conf.set("rolebridge.source.identity", args[5]);
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://" + args[6]), conf);
    String key = null;
    for (int i = 0, n = Integer.parseInt(args[7]); i < n; i++) {
      key = p.getCredentials().getAWSAccessKeyId();
    }
    System.out.println("KEY " + key);
    Thread.sleep(3500); // the sink's period is 1 s
    DefaultMetricsSystem.shutdown();
    p.close();
  }
}
