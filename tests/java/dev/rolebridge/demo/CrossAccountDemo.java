package dev.rolebridge.demo;

import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicSessionCredentials;
import com.amazonaws.client.builder.AwsClientBuilder;
import com.amazonaws.services.securitytoken.AWSSecurityTokenService;
import com.amazonaws.services.securitytoken.AWSSecurityTokenServiceClientBuilder;
import com.amazonaws.services.securitytoken.model.GetCallerIdentityRequest;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.it.LocalAws;
import dev.rolebridge.it.LocalAws.Request;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The README's first command: a Hadoop S3A client in the source account (111111111111) writes a
 * file into the destination account's bucket through rolebridge, against the local STS + S3, and
 * prints who signed each request. Exits non-zero if any S3 request was not signed by the
 * destination role.
 */
public final class CrossAccountDemo {
  private CrossAccountDemo() {
  }

  public static void main(String[] args) throws Exception {
    LocalAws aws = LocalAws.get();
    String bucket = aws.bucket("destA");
    Configuration conf = aws.s3aConf("destA", "rolebridge-demo");
    System.out.println("Settings (core-site.xml or spark.hadoop.* on a cluster):");
    for (String k : new String[] {"fs.s3a.aws.credentials.provider", "rolebridge.role.arn",
        "rolebridge.external.id", "rolebridge.session.name", "rolebridge.sts.region",
        "rolebridge.sts.endpoint"}) {
      System.out.printf("  %-33s %s%n", k, conf.get(k));
    }

    aws.startRecording();
    Path file = new Path("s3a://" + bucket + "/demo/report.csv");
    byte[] data = "account,rows\n222222222222,42\n".getBytes(StandardCharsets.UTF_8);
    try (FileSystem fs = FileSystem.get(URI.create("s3a://" + bucket + "/"), conf)) {
      try (FSDataOutputStream out = fs.create(file, true)) {
        out.write(data);
      }
      FileStatus[] listed = fs.listStatus(file.getParent());
      byte[] back = new byte[data.length];
      try (FSDataInputStream in = fs.open(file)) {
        in.readFully(back);
      }
      System.out.printf("%nWrote %s (%d bytes); listing shows %d file(s); read back %s.%n", file,
          data.length, listed.length, java.util.Arrays.equals(data, back) ? "identical bytes" : "DIFFERENT BYTES");
      fs.delete(file.getParent(), true);
    }
    List<Request> recorded = aws.stopRecording();

    Map<String, String> identities = new LinkedHashMap<String, String>();
    identities.put(aws.accessKeyOf("source"), aws.fixture.get("source").get("arn").asText() + " (source account)");
    System.out.println("\nWho signed what (the local STS + S3's request recorder):");
    boolean allByRole = true;
    int s3Requests = 0;
    for (Request r : recorded) {
      String key = r.signedBy();
      if (!identities.containsKey(key)) {
        identities.put(key, whoIs(aws, key, r));
      }
      if (r.isAssumeRole()) {
        Map<String, String> f = r.form();
        System.out.printf("  %-70s signed by %s%n", "STS AssumeRole", key);
        for (String param : new String[] {"RoleArn", "ExternalId", "RoleSessionName", "DurationSeconds"}) {
          System.out.printf("      %-16s %s%n", param, f.get(param));
        }
      } else {
        s3Requests++;
        String what = "S3 " + r.method + " " + r.url.replaceFirst("^https?://[^/]+", "");
        allByRole &= key.startsWith("ASIA") && r.securityToken != null;
        System.out.printf("  %-70s signed by %s%s%n", what.length() > 70 ? what.substring(0, 67) + "..." : what,
            key, r.securityToken != null ? " + session token" : "");
      }
    }
    System.out.println("\nIdentities:");
    for (Map.Entry<String, String> e : identities.entrySet()) {
      System.out.println("  " + e.getKey() + " = " + e.getValue());
    }
    int assumeRoles = LocalAws.assumeRoleCalls(recorded).size();
    System.out.printf("%n%d AssumeRole call(s); %d S3 request(s), %s.%n", assumeRoles, s3Requests,
        allByRole ? "every one signed by the destination account's role with a session token"
            : "SOME NOT SIGNED BY THE DESTINATION ROLE");
    if (!allByRole || assumeRoles != 1 || s3Requests == 0) {
      System.exit(1);
    }
  }

  /** The identity behind an access key, asked of the local STS (GetCallerIdentity). */
  private static String whoIs(LocalAws aws, String accessKey, Request sample) throws Exception {
    // Only the provider knows the session's secret; ask it (the session is cached: no new AssumeRole).
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(aws.s3aConf("destA", "rolebridge-demo"));
    BasicSessionCredentials c = (BasicSessionCredentials) p.getCredentials();
    p.close();
    if (!c.getAWSAccessKeyId().equals(accessKey)) {
      return "(unknown)";
    }
    AWSSecurityTokenService sts = AWSSecurityTokenServiceClientBuilder.standard()
        .withEndpointConfiguration(new AwsClientBuilder.EndpointConfiguration(aws.endpoint, "us-east-1"))
        .withCredentials(new AWSStaticCredentialsProvider(c))
        .build();
    String arn = sts.getCallerIdentity(new GetCallerIdentityRequest()).getArn();
    return arn + " (destination account, temporary credentials)";
  }

}
