package dev.rolebridge.it;

import dev.rolebridge.hadoop.RoleBridgeConfigException;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;

/**
 * Run in a JVM of its own by MultiTenantIT, in a process whose Hadoop login fails (a
 * HADOOP_TOKEN_FILE_LOCATION that is not a token file), so that
 * {@code UserGroupInformation.getCurrentUser()} throws. Makes the SDK v1 and v2 providers as EMRFS
 * and S3A do, with the (URI, Configuration) constructor, with a global role and a role of the OS
 * user's own (user.name), and prints per SDK "RESULT V1|V2 refused KEY | MESSAGE", or
 * "RESULT V1|V2 signed ACCESS-KEY-ID" if the provider was made and handed out credentials, or
 * "RESULT V1|V2 other CHAIN". Arguments: osUserRoleArn globalRoleArn externalId bucket; system
 * property rolebridge.test.fixture as for the tests.
 */
public final class CurrentUserProbe {
  private CurrentUserProbe() {
  }

  public static void main(String[] args) {
    Configuration conf = LocalAws.get().s3aConf(null, "it-no-hadoop-user");
    conf.set("rolebridge.user." + System.getProperty("user.name") + ".role.arn", args[0]);
    conf.set("rolebridge.role.arn", args[1]);
    conf.set("rolebridge.external.id", args[2]);
    URI uri = URI.create("s3a://" + args[3] + "/");
    try {
      System.out.println("RESULT V1 signed "
          + new RoleBridgeCredentialsProvider(uri, conf).getCredentials().getAWSAccessKeyId());
    } catch (Throwable e) {
      System.out.println(result("V1", e));
    }
    try {
      System.out.println("RESULT V2 signed "
          + RoleBridgeCredentialsProviderV2.create(uri, conf).resolveCredentials().accessKeyId());
    } catch (Throwable e) {
      System.out.println(result("V2", e));
    }
  }

  private static String result(String sdk, Throwable e) {
    if (e instanceof RoleBridgeConfigException) {
      return "RESULT " + sdk + " refused " + ((RoleBridgeConfigException) e).getKey() + " | " + e.getMessage();
    }
    return "RESULT " + sdk + " other " + NegativeIT.chain(e);
  }
}
