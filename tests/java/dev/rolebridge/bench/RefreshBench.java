package dev.rolebridge.bench;

import dev.rolebridge.it.LocalAws;
import dev.rolebridge.it.StsFaultProxy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * Latency of every call while refreshes are under way against an STS slowed by 2 s. Every session
 * STS hands out through the proxy expires in 4 minutes, inside every provider's refresh window
 * (rolebridge 5 m, SDK v1 async 5 m, SDK v2 prefetch 5 m, Hadoop's as SDK v1's or v2's), so each
 * provider keeps refreshing, and each refresh takes 2 s.
 *
 * <p>JMH's own sampled mode times about one call in a thousand at these speeds, and would all but
 * never time the few calls that wait for a refresh. So each call is timed here, with
 * {@code System.nanoTime()} around it, into a histogram of the thread's own (exact below 64 us, the
 * slower calls kept one by one); JMH runs the threads, forks and iterations, and its score is the
 * mean of call plus timing. The set-up's first fetch is not counted, and the teardown prints
 * p50/p99/p99.9/max over every call of every iteration, the calls over 100 ms and the STS requests
 * made during the iterations: REFRESH-LATENCY KIND P50 P99 P999 MAX CALLS SLOW STS.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RefreshBench {
  @Param({"FLOOR"})
  public String kind;

  private StsFaultProxy proxy;
  private ProviderBenchmark.Creds creds;
  private int requestsAtStart;
  private final List<Calls> threads = new CopyOnWriteArrayList<Calls>();

  /** One benchmark thread's calls. */
  @State(Scope.Thread)
  public static class Calls {
    final long[] counts = new long[1 << 16];
    final List<Long> slow = new ArrayList<Long>();

    @Setup(Level.Trial)
    public void register(RefreshBench bench) {
      bench.threads.add(this);
    }
  }

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    LocalAws aws = LocalAws.get();
    proxy = new StsFaultProxy(aws.endpoint);
    proxy.expireSessionsIn(240).stallFor(2_000).steady(StsFaultProxy.Fault.DELAY);
    creds = ProviderBenchmark.make(ProviderBenchmark.Kind.valueOf(kind), aws, proxy.endpoint(), ProviderBenchmark.session("refresh"));
    if (creds.get() == null) {
      throw new IllegalStateException(kind + " handed out no credentials");
    }
    requestsAtStart = proxy.requests();
  }

  @Benchmark
  public Object credentials(Calls calls) {
    long a = System.nanoTime();
    Object c = creds.get();
    long d = System.nanoTime() - a;
    if (d < calls.counts.length) {
      calls.counts[(int) d]++;
    } else {
      calls.slow.add(d);
    }
    return c;
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    int requests = proxy.requests() - requestsAtStart;
    creds.close();
    proxy.close();
    long[] counts = new long[1 << 16];
    List<Long> slow = new ArrayList<Long>();
    for (Calls t : threads) {
      for (int i = 0; i < counts.length; i++) {
        counts[i] += t.counts[i];
      }
      slow.addAll(t.slow);
    }
    Collections.sort(slow);
    long total = slow.size();
    for (long n : counts) {
      total += n;
    }
    long[] q = new long[3];
    double[] at = {0.5, 0.99, 0.999};
    for (int k = 0; k < 3; k++) {
      long rank = (long) Math.ceil(total * at[k]);
      long seen = 0;
      q[k] = -1;
      for (int i = 0; i < counts.length && q[k] < 0; i++) {
        seen += counts[i];
        if (seen >= rank) {
          q[k] = i;
        }
      }
      if (q[k] < 0) {
        q[k] = slow.get((int) (rank - seen - 1));
      }
    }
    long max = slow.isEmpty() ? 0 : slow.get(slow.size() - 1);
    for (int i = counts.length - 1; i >= 0 && max == 0; i--) {
      if (counts[i] > 0) {
        max = i;
      }
    }
    long over100ms = 0;
    for (long d : slow) {
      if (d > 100_000_000L) {
        over100ms++;
      }
    }
    System.out.printf(Locale.ROOT, "%nREFRESH-LATENCY %s %d %d %d %d %d %d %d%n", kind, q[0], q[1], q[2], max, total,
        over100ms, requests);
  }
}
