package dev.rolebridge.it;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** Tests whose provider reaches the local STS through a {@link StsFaultProxy}, one per test. */
abstract class ProxiedStsTest {
  protected final LocalAws aws = LocalAws.get();
  protected StsFaultProxy proxy;

  @BeforeEach
  void startProxy() throws Exception {
    proxy = new StsFaultProxy(aws.endpoint);
  }

  @AfterEach
  void stopProxy() throws Exception {
    proxy.close();
  }

  /** Settings for destA with the given session name, STS reached through the proxy. */
  protected Configuration viaProxy(String session) {
    Configuration conf = aws.s3aConf("destA", session);
    conf.set("rolebridge.sts.endpoint", proxy.endpoint());
    return conf;
  }

  /** The first throwable of type {@code c} in the cause chain of {@code t}, or null. */
  protected static <X extends Throwable> X causeOf(Throwable t, Class<X> c) {
    for (; t != null; t = t.getCause()) {
      if (c.isInstance(t)) {
        return c.cast(t);
      }
    }
    return null;
  }
}
