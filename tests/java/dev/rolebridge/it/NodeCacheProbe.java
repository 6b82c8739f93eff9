package dev.rolebridge.it;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import java.io.File;
import org.apache.hadoop.conf.Configuration;

/**
 * One of several JVMs started at once by NodeCacheIT (and the benchmark): waits for a start file,
 * then gets credentials and prints "KEY <access key id>", or "REFUSED <code> <message on one line>"
 * if there are none. Arguments: startFile session [cacheDir|-] [externalId].
 */
public final class NodeCacheProbe {
  private NodeCacheProbe() {
  }

  public static void main(String[] args) throws Exception {
    LocalAws aws = LocalAws.get();
    Configuration conf = aws.s3aConf("destA", args[1]);
    if (args.length > 2 && !args[2].equals("-")) {
      conf.set("rolebridge.cache.dir", args[2]);
    }
    if (args.length > 3) {
      conf.set("rolebridge.external.id", args[3]);
    }
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(conf);
    File go = new File(args[0]);
    while (!go.exists()) {
      Thread.sleep(2);
    }
    long t0 = System.nanoTime();
    try {
      System.out.println("KEY " + p.getCredentials().getAWSAccessKeyId());
    } catch (RoleBridgeCredentialsUnavailableError e) {
      System.out.println("REFUSED " + e.getErrorCode() + " " + e.getMessage().replace('\n', ' '));
      System.out.println("REFUSED-AFTER-MS " + (System.nanoTime() - t0) / 1_000_000);
    }
    p.close();
  }
}
