package dev.rolebridge.bench;

import dev.rolebridge.it.LocalAws;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.security.UserGroupInformation;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The provider's part of a cold start: in a new JVM (one JMH fork per sample, a single shot each),
 * from constructing the provider to its first credentials. What any Hadoop JVM has done before it
 * makes a provider (a configuration with its resources loaded and the provider's settings in it,
 * the current user) is done in the set-up, outside the time measured; the SDKs' providers are
 * configured by their builders, inside it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ColdStartBench {
  @Param({"FLOOR"})
  public String kind;

  private LocalAws aws;
  private ProviderBenchmark.Kind which;
  private String session;
  private Configuration conf;
  private ProviderBenchmark.Creds made;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    aws = LocalAws.get();
    new Configuration().get("fs.defaultFS");
    UserGroupInformation.getCurrentUser();
    which = ProviderBenchmark.Kind.valueOf(kind);
    session = ProviderBenchmark.session("cold");
    conf = ProviderBenchmark.settings(which, aws, aws.endpoint, session);
  }

  @Benchmark
  public Object firstCredentials() throws Exception {
    made = ProviderBenchmark.make(which, aws, aws.endpoint, session, conf);
    return made.get();
  }

  @TearDown(Level.Iteration)
  public void tearDown() throws Exception {
    if (made != null) {
      made.close();
      made = null;
    }
  }
}
