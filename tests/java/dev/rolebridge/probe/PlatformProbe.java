package dev.rolebridge.probe;

import dev.rolebridge.hadoop.Main;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A provider round trip on whatever JVM runs it (Java 8 bytecode, so Java 8 to 21, and an aarch64
 * JVM under emulation): loads the native library from the jar, gets credentials through the SDK v1
 * provider, writes, reads and deletes an object through real S3A with them (unless the last
 * argument is "no-s3a"), and resolves the same session through the SDK v2 provider. Prints
 * "JAVA version arch", "FROM where", "V1 key", "S3A ok", "V2 key", then "PROBE ok"; a failure
 * prints its stack trace and exits 1.
 * Arguments: endpoint roleArn externalId bucket sessionName [no-s3a].
 */
public final class PlatformProbe {
  private PlatformProbe() {
  }

  public static void main(String[] args) throws Exception {
    String endpoint = args[0];
    String bucket = args[3];
    boolean s3a = !(args.length > 5 && args[5].equals("no-s3a"));
    System.out.println("JAVA " + System.getProperty("java.version") + " " + System.getProperty("os.arch"));
    System.out.println("FROM " + Main.nativeLibraryLocation());

    Configuration conf = new Configuration();
    conf.set("fs.s3a.endpoint", endpoint);
    conf.setBoolean("fs.s3a.path.style.access", true);
    conf.setBoolean("fs.s3a.connection.ssl.enabled", false);
    conf.setBoolean("fs.s3a.impl.disable.cache", true);
    conf.set("fs.s3a.attempts.maximum", "1");
    conf.set("fs.s3a.retry.limit", "1");
    conf.set("fs.s3a.aws.credentials.provider", RoleBridgeCredentialsProvider.class.getName());
    conf.set("rolebridge.sts.endpoint", endpoint);
    conf.set("rolebridge.sts.region", "us-east-1");
    conf.set("rolebridge.role.arn", args[1]);
    conf.set("rolebridge.external.id", args[2]);
    conf.set("rolebridge.session.name", args[4]);
    URI uri = URI.create("s3a://" + bucket + "/");

    RoleBridgeCredentialsProvider v1 = new RoleBridgeCredentialsProvider(uri, conf);
    String key = v1.getCredentials().getAWSAccessKeyId();
    System.out.println("V1 " + key);
    v1.close();

    if (s3a) {
      Path path = new Path("s3a://" + bucket + "/platform-probe/" + args[4] + ".txt");
      byte[] data = ("written on " + System.getProperty("java.version")).getBytes(StandardCharsets.UTF_8);
      try (FileSystem fs = FileSystem.newInstance(uri, conf)) {
        try (OutputStream out = fs.create(path, true)) {
          out.write(data);
        }
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        try (InputStream in = fs.open(path)) {
          byte[] b = new byte[256];
          for (int n; (n = in.read(b)) > 0; ) {
            back.write(b, 0, n);
          }
        }
        if (!new String(back.toByteArray(), StandardCharsets.UTF_8).equals(new String(data, StandardCharsets.UTF_8))) {
          throw new IllegalStateException("read back something else than was written");
        }
        fs.delete(path, false);
      }
      System.out.println("S3A ok");
    }

    try (RoleBridgeCredentialsProviderV2 v2 = RoleBridgeCredentialsProviderV2.create(uri, conf)) {
      System.out.println("V2 " + v2.resolveCredentials().accessKeyId());
    }
    System.out.println("PROBE ok");
  }
}
