package dev.rolebridge.it;

import com.amazonaws.auth.AWSCredentials;
import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.AWSCredentialsProviderChain;
import com.amazonaws.auth.EnvironmentVariableCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;

/**
 * EMRFS's provider chain, for S3A: the custom provider (rolebridge, made with the file system's
 * URI and configuration as EMRFS makes it) first, the node's own identity second (here the
 * environment's keys, the fixture's source user, standing in for the instance profile), and the
 * SDK's chain reusing whichever provider worked last. One per file system, as EMRFS has.
 */
public final class EmrfsLikeChain implements AWSCredentialsProvider {
  private final AWSCredentialsProviderChain chain;

  public EmrfsLikeChain(URI uri, Configuration conf) {
    chain = new AWSCredentialsProviderChain(new RoleBridgeCredentialsProvider(uri, conf),
        new EnvironmentVariableCredentialsProvider());
    chain.setReuseLastProvider(true);
  }

  @Override
  public AWSCredentials getCredentials() {
    return chain.getCredentials();
  }

  @Override
  public void refresh() {
    chain.refresh();
  }
}
