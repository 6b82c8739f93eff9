package dev.rolebridge.it;

import dev.rolebridge.hadoop.RoleBridgeConfigException;
import java.net.URI;
import java.security.PrivilegedExceptionAction;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * Run in a JVM of its own by MultiTenantIT: the JVM's Hadoop group mapping is the class named in
 * the arguments (as a node's core-site.xml would set {@code hadoop.security.group.mapping}; the
 * mapping is process-wide, built once). Then, for each failure mode, the user writes through S3A
 * + rolebridge with a read-only role for the group interns and a writer role for everyone else,
 * and the probe prints "RESULT mode ok", "RESULT mode refused KEY | MESSAGE" or
 * "RESULT mode other CHAIN". Arguments: mappingClass user internsRoleArn globalRoleArn externalId
 * bucket; system property rolebridge.test.fixture as for the tests.
 */
public final class GroupLookupProbe {
  private GroupLookupProbe() {
  }

  public static void main(String[] args) throws Exception {
    Configuration site = new Configuration();
    site.set("hadoop.security.group.mapping", args[0]);
    UserGroupInformation.setConfiguration(site);
    UserGroupInformation user = UserGroupInformation.createRemoteUser(args[1]);
    for (String mode : new String[] {"closed", "open"}) {
      Configuration conf = LocalAws.get().s3aConf(null, "it-groups-" + mode + "-{user}");
      conf.set("hadoop.security.group.mapping", args[0]);
      conf.set("rolebridge.group.interns.role.arn", args[2]);
      conf.set("rolebridge.role.arn", args[3]);
      conf.set("rolebridge.external.id", args[4]);
      conf.set("rolebridge.failure.mode", mode);
      try {
        user.doAs((PrivilegedExceptionAction<Void>) () -> {
          try (FileSystem fs = FileSystem.newInstance(URI.create("s3a://" + args[5] + "/"), conf);
              FSDataOutputStream out = fs.create(new Path("/groups-" + mode + "/part"))) {
            out.write(1);
          }
          return null;
        });
        System.out.println("RESULT " + mode + " ok");
      } catch (Throwable e) {
        RoleBridgeConfigException c = null;
        for (Throwable t = e; t != null && c == null; t = t.getCause()) {
          if (t instanceof RoleBridgeConfigException) {
            c = (RoleBridgeConfigException) t;
          }
        }
        System.out.println(c != null ? "RESULT " + mode + " refused " + c.getKey() + " | " + c.getMessage()
            : "RESULT " + mode + " other " + NegativeIT.chain(e));
      }
    }
  }
}
