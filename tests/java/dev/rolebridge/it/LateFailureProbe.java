package dev.rolebridge.it;

import com.amazonaws.auth.AWSCredentialsProviderChain;
import com.amazonaws.auth.AWSStaticCredentialsProvider;
import com.amazonaws.auth.BasicAWSCredentials;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProviderChain;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * Run in a JVM of its own by FailClosedIT, in an environment without a region: rolebridge first in
 * an EMRFS-like SDK v1 chain (reusing the last provider that worked) and in an SDK v2 chain, a
 * static "instance role" second. The settings pass at construction and fail only when credentials
 * are asked for (no region for STS). Prints per SDK "V1|V2 ERROR class message" or
 * "V1|V2 FELL BACK key". Arguments: endpoint roleArn externalId bucket failureMode.
 */
public final class LateFailureProbe {
  static final String FALLBACK_KEY = "AKIAINSTANCEROLE0001";

  private LateFailureProbe() {
  }

  public static void main(String[] args) {
    Configuration conf = new Configuration();
    conf.set("rolebridge.sts.endpoint", args[0]); // a loopback address: it names no region
    conf.set("rolebridge.role.arn", args[1]);
    conf.set("rolebridge.external.id", args[2]);
    conf.set("rolebridge.session.name", "it-late-failure-" + args[4]);
    conf.set("rolebridge.failure.mode", args[4]);
    URI uri = URI.create("s3a://" + args[3] + "/");

    AWSCredentialsProviderChain v1 = new AWSCredentialsProviderChain(new RoleBridgeCredentialsProvider(uri, conf),
        new AWSStaticCredentialsProvider(new BasicAWSCredentials(FALLBACK_KEY, "fallback-secret")));
    v1.setReuseLastProvider(true);
    try {
      System.out.println("V1 FELL BACK " + v1.getCredentials().getAWSAccessKeyId());
    } catch (Throwable t) {
      System.out.println("V1 ERROR " + t.getClass().getName() + " " + t.getMessage());
    }

    AwsCredentialsProviderChain v2 = AwsCredentialsProviderChain.builder().credentialsProviders(
        RoleBridgeCredentialsProviderV2.create(uri, conf),
        StaticCredentialsProvider.create(AwsBasicCredentials.create(FALLBACK_KEY, "fallback-secret"))).build();
    try {
      System.out.println("V2 FELL BACK " + v2.resolveCredentials().accessKeyId());
    } catch (Throwable t) {
      System.out.println("V2 ERROR " + t.getClass().getName() + " " + t.getMessage());
    }
  }
}
