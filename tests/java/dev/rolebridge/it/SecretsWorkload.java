package dev.rolebridge.it;

import com.amazonaws.auth.AWSSessionCredentials;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import java.io.FileWriter;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;

/**
 * Run by SecretsIT in a JVM with logging at TRACE on both sides. Exercises everything that could
 * print a secret (S3A writes, refreshes, refusals, toString(), exception messages and stack
 * traces), prints all of it, and writes the secrets it saw to the file named by its last argument
 * so the parent can look for them in the output.
 */
public final class SecretsWorkload {
  private SecretsWorkload() {
  }

  public static void main(String[] args) throws Exception {
    LocalAws aws = LocalAws.get();
    Set<String> secrets = new LinkedHashSet<String>();
    secrets.add(aws.secretKeyOf("source"));
    String bucket = aws.bucket("destA");

    Configuration conf = aws.s3aConf("destA", "it-secrets");
    try (FileSystem fs = FileSystem.get(URI.create("s3a://" + bucket + "/"), conf)) {
      S3ACrossAccountIT.write(fs, new Path("s3a://" + bucket + "/secrets/probe.txt"), new byte[] {1, 2, 3});
      System.out.println("read back " + S3ACrossAccountIT.readAll(fs, new Path("s3a://" + bucket + "/secrets/probe.txt")).length);
      fs.delete(new Path("s3a://" + bucket + "/secrets"), true);
      System.out.println("file system: " + fs);
    }

    RoleBridgeCredentialsProvider v1 = new RoleBridgeCredentialsProvider(URI.create("s3a://" + bucket), conf);
    for (int i = 0; i < 3; i++) {
      AWSSessionCredentials c = (AWSSessionCredentials) v1.getCredentials();
      secrets.add(c.getAWSSecretKey());
      secrets.add(c.getSessionToken());
      System.out.println("v1 provider: " + v1 + " credentials: " + c);
      v1.refresh();
    }
    RoleBridgeCredentialsProviderV2 v2 = new RoleBridgeCredentialsProviderV2(URI.create("s3a://" + bucket), conf);
    AwsSessionCredentials c2 = (AwsSessionCredentials) v2.resolveCredentials();
    secrets.add(c2.secretAccessKey());
    secrets.add(c2.sessionToken());
    System.out.println("v2 provider: " + v2 + " credentials: " + c2);

    // A proxy's password (issue 19): providers whose STS calls go through a real proxy that asks
    // for it, one with the wrong password, and one refused at construction. Only the providers get
    // the proxy keys: S3A's own client logs its proxy password at DEBUG, which is S3A's business.
    String proxyPassword = "jvm-secrets-proxy-Pa55word";
    secrets.add(proxyPassword);
    // and as it goes on the wire (Proxy-Authorization: Basic ...), should a TRACE line dump headers
    secrets.add(java.util.Base64.getEncoder().encodeToString(
        ("rbuser:" + proxyPassword).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    try (ProxyIT.TinyProxy proxy = new ProxyIT.TinyProxy("rbuser", proxyPassword)) {
      for (String password : new String[] {proxyPassword, "wrong-" + proxyPassword}) {
        Configuration proxied = aws.s3aConf("destA", "it-secrets-proxy");
        proxied.set("fs.s3a.proxy.host", "127.0.0.1");
        proxied.set("fs.s3a.proxy.port", Integer.toString(proxy.port));
        proxied.set("fs.s3a.proxy.username", "rbuser");
        proxied.set("fs.s3a.proxy.password", password);
        proxied.set("rolebridge.failure.mode", "open");
        RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://" + bucket), proxied);
        System.out.println("proxied provider: " + p);
        try {
          AWSSessionCredentials c = (AWSSessionCredentials) p.getCredentials();
          secrets.add(c.getAWSSecretKey());
          System.out.println("through the proxy: " + c);
        } catch (Throwable t) {
          System.out.println("proxy refusal: " + t);
          t.printStackTrace(System.out);
        }
        p.close();
      }
      System.out.println("proxy forwarded: " + proxy.requests());
    }
    try {
      Configuration invalid = aws.s3aConf("destA", "it-secrets-bad-proxy");
      invalid.set("fs.s3a.proxy.host", "127.0.0.1");
      invalid.set("fs.s3a.proxy.password", proxyPassword);
      new RoleBridgeCredentialsProvider(invalid);
    } catch (Throwable t) {
      System.out.println("invalid proxy setting: " + t);
    }

    for (String mode : new String[] {"closed", "open"}) {
      Configuration bad = aws.s3aConf("destA", "it-secrets-denied-" + mode);
      bad.set("rolebridge.external.id", "wrong-external-id");
      bad.set("rolebridge.failure.mode", mode);
      try {
        new RoleBridgeCredentialsProvider(bad).getCredentials();
      } catch (Throwable t) {
        System.out.println("refusal (" + mode + "): " + t);
        t.printStackTrace(System.out);
      }
    }
    try {
      Configuration invalid = aws.s3aConf("destA", "x");
      new RoleBridgeCredentialsProvider(invalid);
    } catch (Throwable t) {
      System.out.println("invalid setting: " + t);
    }
    v1.close();
    v2.close();
    try (PrintWriter w = new PrintWriter(new FileWriter(args[args.length - 1]))) {
      for (String s : secrets) {
        w.println(s);
      }
    }
    System.out.println("secrets seen: " + secrets.size());
  }
}
