package dev.rolebridge.bench;

import dev.rolebridge.it.LocalAws;
import java.util.concurrent.TimeUnit;
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
 * Steady state: one provider, shared by every benchmark thread (as one provider is shared by an S3
 * client's threads), asked for credentials in a loop. Its session is fresh, so no call refreshes.
 * The thread count, forks and iterations come from {@link ProviderBenchmark}'s JMH options.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HotPathBench {
  @Param({"FLOOR"})
  public String kind;

  private ProviderBenchmark.Creds creds;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    LocalAws aws = LocalAws.get();
    creds = ProviderBenchmark.make(ProviderBenchmark.Kind.valueOf(kind), aws, aws.endpoint, ProviderBenchmark.session("hot"));
    if (creds.get() == null) {
      throw new IllegalStateException(kind + " handed out no credentials");
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    creds.close();
  }

  /** The credentials go to JMH's blackhole, so the call cannot be folded away. */
  @Benchmark
  public Object credentials() {
    return creds.get();
  }
}
