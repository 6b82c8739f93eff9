package dev.rolebridge.it;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import java.io.File;
import org.apache.hadoop.conf.Configuration;

/**
 * One of several JVMs started at once by NodeCacheIT (and the benchmark): waits for a start file,
 * then gets credentials and prints "KEY <access key id>".
 * Arguments: startFile session [cacheDir].
 */
public final class NodeCacheProbe {
  private NodeCacheProbe() {
  }

  public static void main(String[] args) throws Exception {
    LocalAws aws = LocalAws.get();
    Configuration conf = aws.s3aConf("destA", args[1]);
    if (args.length > 2) {
      conf.set("rolebridge.cache.dir", args[2]);
    }
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(conf);
    File go = new File(args[0]);
    while (!go.exists()) {
      Thread.sleep(2);
    }
    System.out.println("KEY " + p.getCredentials().getAWSAccessKeyId());
    p.close();
  }
}
