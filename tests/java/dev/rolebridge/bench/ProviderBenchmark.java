package dev.rolebridge.bench;

import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.EnvironmentVariableCredentialsProvider;
import com.amazonaws.auth.STSAssumeRoleSessionCredentialsProvider;
import com.amazonaws.client.builder.AwsClientBuilder;
import com.amazonaws.services.securitytoken.AWSSecurityTokenServiceClientBuilder;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import dev.rolebridge.it.LocalAws;
import dev.rolebridge.it.StsFaultProxy;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.File;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.s3a.auth.AssumedRoleCredentialProvider;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.auth.StsAssumeRoleCredentialsProvider;
import software.amazon.awssdk.services.sts.model.AssumeRoleRequest;

/**
 * rolebridge against the providers users would pick instead, in one run, against the same local
 * STS: a program that prints figures (scripts/benchmark.sh), not a test. Every measurement of a
 * provider runs in a JVM of its own, so that call sites stay monomorphic and caches start cold.
 *
 * <p>Modes (args[0]): report (the orchestrator), and per provider: hot, instances, cold, refresh.
 */
public final class ProviderBenchmark {
  private ProviderBenchmark() {
  }

  enum Kind {
    FLOOR("constant credentials (floor)", "nothing: returns one constant object"),
    CHECKED_FLOOR("constant credentials checked against the wall clock (checked floor)",
        "one `System.currentTimeMillis()` compared with a constant expiry"),
    ROLEBRIDGE_V1("rolebridge RoleBridgeCredentialsProvider",
        "volatile reads of its core (which `setConf` may replace), of the current credentials and of the"
            + " session's refresh generation; one `System.currentTimeMillis()` compared with the ask-again time"),
    ROLEBRIDGE_V2("rolebridge RoleBridgeCredentialsProviderV2",
        "volatile reads of the current credentials and of the session's refresh generation; one"
            + " `System.currentTimeMillis()` compared with the ask-again time"),
    SDK_V1("SDK v1 STSAssumeRoleSessionCredentialsProvider",
        "`RefreshableTask.getValue()`: two refresh predicates, each reading the session's expiry `Date` and"
            + " `System.currentTimeMillis()`, and `AtomicReference` reads"),
    HADOOP("Hadoop 3.3.1 AssumedRoleCredentialProvider",
        "SDK v1's checks (it wraps that provider), called through `Invoker.retryUntranslated` with a lambda"),
    SDK_V2("SDK v2 StsAssumeRoleCredentialsProvider",
        "`CachedSupplier.get()`: two `Clock.instant()` reads (stale time, then prefetch time) compared"
            + " with the cached value's `Instant`s");

    final String label;
    final String checks;

    Kind(String label, String checks) {
      this.label = label;
      this.checks = checks;
    }

    boolean rolebridge() {
      return this == ROLEBRIDGE_V1 || this == ROLEBRIDGE_V2;
    }

    boolean floor() {
      return this == FLOOR || this == CHECKED_FLOOR;
    }
  }

  /** A provider under test: what it hands out, and how to let go of it. */
  interface Creds extends Supplier<Object>, Closeable {
  }

  static final Object CONSTANT = new com.amazonaws.auth.BasicSessionCredentials("ASIACONSTANT", "s", "t");
  /** The checked floor's expiry: an hour after the class was loaded (not a constant the JIT can fold). */
  static final long CONSTANT_EXPIRY = System.currentTimeMillis() + 3_600_000L;

  static Creds make(Kind kind, LocalAws aws, String endpoint, String session) throws Exception {
    String role = aws.roleArn("bench");
    switch (kind) {
      case FLOOR:
        return new Creds() {
          @Override
          public Object get() {
            return CONSTANT;
          }

          @Override
          public void close() {
          }
        };
      case CHECKED_FLOOR:
        return new Creds() {
          @Override
          public Object get() {
            if (System.currentTimeMillis() < CONSTANT_EXPIRY) {
              return CONSTANT;
            }
            throw new IllegalStateException("expired");
          }

          @Override
          public void close() {
          }
        };
      case ROLEBRIDGE_V1:
      case ROLEBRIDGE_V2: {
        Configuration conf = aws.s3aConf(null, session);
        conf.set("rolebridge.role.arn", role);
        conf.set("rolebridge.session.duration", "15m");
        conf.set("rolebridge.sts.endpoint", endpoint);
        if (kind == Kind.ROLEBRIDGE_V1) {
          RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://bench-bucket"), conf);
          return wrap(p::getCredentials, p);
        }
        RoleBridgeCredentialsProviderV2 p = new RoleBridgeCredentialsProviderV2(URI.create("s3a://bench-bucket"), conf);
        return wrap(p::resolveCredentials, p);
      }
      case SDK_V1: {
        STSAssumeRoleSessionCredentialsProvider p = new STSAssumeRoleSessionCredentialsProvider.Builder(role, session)
            .withRoleSessionDurationSeconds(900)
            .withStsClient(AWSSecurityTokenServiceClientBuilder.standard()
                .withEndpointConfiguration(new AwsClientBuilder.EndpointConfiguration(endpoint, "us-east-1"))
                .withCredentials(new EnvironmentVariableCredentialsProvider())
                .build())
            .build();
        return wrap(p::getCredentials, p);
      }
      case HADOOP: {
        Configuration conf = new Configuration();
        conf.set("fs.s3a.assumed.role.arn", role);
        conf.set("fs.s3a.assumed.role.session.name", session);
        conf.set("fs.s3a.assumed.role.session.duration", "15m");
        conf.set("fs.s3a.assumed.role.sts.endpoint", endpoint);
        conf.set("fs.s3a.assumed.role.sts.endpoint.region", "us-east-1");
        conf.set("fs.s3a.assumed.role.credentials.provider", EnvironmentVariableCredentialsProvider.class.getName());
        conf.setBoolean("fs.s3a.connection.ssl.enabled", false);
        final AssumedRoleCredentialProvider p = new AssumedRoleCredentialProvider(URI.create("s3a://bench-bucket"), conf);
        return wrap(p::getCredentials, p);
      }
      case SDK_V2: {
        StsClient sts = StsClient.builder()
            .endpointOverride(URI.create(endpoint))
            .region(Region.US_EAST_1)
            .credentialsProvider(software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider.create())
            .build();
        StsAssumeRoleCredentialsProvider p = StsAssumeRoleCredentialsProvider.builder()
            .stsClient(sts)
            .refreshRequest(AssumeRoleRequest.builder().roleArn(role).roleSessionName(session).durationSeconds(900).build())
            .build();
        return wrap(p::resolveCredentials, () -> {
          p.close();
          sts.close();
        });
      }
      default:
        throw new IllegalArgumentException(kind.name());
    }
  }

  static Creds wrap(final Supplier<?> get, final AutoCloseable closer) {
    return new Creds() {
      @Override
      public Object get() {
        return get.get();
      }

      @Override
      public void close() {
        try {
          closer.close();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    };
  }

  static String session(String what) {
    return "bench-" + what + "-" + Long.toHexString(System.nanoTime());
  }

  // ---- measurements, each in a JVM of its own -------------------------------------------------

  static volatile int sinkVolatile;

  /** ns per getCredentials() per thread: warm-up, then rounds; prints median, min and max. */
  static void hot(Kind kind, int threads) throws Exception {
    LocalAws aws = LocalAws.get();
    final Creds c = make(kind, aws, aws.endpoint, session("hot"));
    c.get();
    final int rounds = 7;
    final long roundNanos = 1_000_000_000L;
    double[] nsPerOp = new double[rounds];
    for (int r = -2; r < rounds; r++) { // two warm-up rounds
      final long[] ops = new long[threads];
      final CyclicBarrier start = new CyclicBarrier(threads + 1);
      final long[] deadline = new long[1];
      List<Thread> ts = new ArrayList<Thread>();
      for (int t = 0; t < threads; t++) {
        final int id = t;
        Thread th = new Thread(() -> {
          try {
            start.await();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
          long n = 0;
          int sink = 0;
          long end = deadline[0];
          while (System.nanoTime() < end) {
            for (int i = 0; i < 4096; i++) {
              sink += System.identityHashCode(c.get());
            }
            n += 4096;
          }
          ops[id] = n;
          sinkVolatile = sink;
        });
        th.start();
        ts.add(th);
      }
      deadline[0] = System.nanoTime() + roundNanos;
      start.await();
      long t0 = System.nanoTime();
      for (Thread th : ts) {
        th.join();
      }
      long elapsed = System.nanoTime() - t0;
      long total = 0;
      for (long o : ops) {
        total += o;
      }
      if (r >= 0) {
        nsPerOp[r] = (double) elapsed * threads / total;
      }
    }
    c.close();
    Arrays.sort(nsPerOp);
    System.out.printf(Locale.ROOT, "RESULT hot %s %d %.2f %.2f %.2f%n", kind, threads, nsPerOp[rounds / 2], nsPerOp[0],
        nsPerOp[rounds - 1]);
  }

  /** AssumeRole calls made by 64 instances x 8 threads (each thread 1,000 calls). */
  static void instances(Kind kind) throws Exception {
    LocalAws aws = LocalAws.get();
    String session = session("instances");
    aws.startRecording();
    List<Creds> cs = new ArrayList<Creds>();
    for (int i = 0; i < 64; i++) {
      cs.add(make(kind, aws, aws.endpoint, session));
    }
    final CyclicBarrier start = new CyclicBarrier(64 * 8);
    List<Thread> ts = new ArrayList<Thread>();
    for (final Creds c : cs) {
      for (int t = 0; t < 8; t++) {
        Thread th = new Thread(() -> {
          try {
            start.await();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
          for (int i = 0; i < 1000; i++) {
            c.get();
          }
        });
        th.start();
        ts.add(th);
      }
    }
    for (Thread th : ts) {
      th.join();
    }
    for (Creds c : cs) {
      c.close();
    }
    int calls = LocalAws.assumeRoleCalls(aws.stopRecording()).size();
    System.out.printf(Locale.ROOT, "RESULT instances %s %d%n", kind, calls);
  }

  /** First credentials in a new JVM; prints RSS and threads added by making the provider. */
  static void cold(Kind kind) throws Exception {
    // What any Hadoop JVM has before it makes a credentials provider: a configuration with the
    // defaults loaded, the current user, and (here) the benchmark's own fixture.
    LocalAws aws = LocalAws.get();
    new Configuration().get("fs.defaultFS");
    org.apache.hadoop.security.UserGroupInformation.getCurrentUser();
    Thread.sleep(200);
    long rss0 = LeakCheck.rssKb();
    int threads0 = LeakCheck.threads();
    long t0 = System.nanoTime();
    Creds c = make(kind, aws, aws.endpoint, session("cold"));
    c.get();
    long providerMs = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("READY");
    System.out.flush();
    Thread.sleep(300); // let threads that only start a session settle
    System.out.printf(Locale.ROOT, "RESULT footprint %s %d %d %d%n", kind, LeakCheck.rssKb() - rss0,
        LeakCheck.threads() - threads0, providerMs);
    c.close();
  }

  /** Latency of getCredentials() while refreshes are under way against an STS slowed by 2 s. */
  static void refresh(Kind kind) throws Exception {
    LocalAws aws = LocalAws.get();
    StsFaultProxy proxy = new StsFaultProxy(aws.endpoint);
    // Every session STS hands out expires in 4 minutes: inside every provider's refresh window
    // (rolebridge 5 m, SDK v1 async 5 m, SDK v2 prefetch 5 m), so each keeps refreshing, and each
    // refresh takes 2 s.
    proxy.expireSessionsIn(240).stallFor(2_000).steady(StsFaultProxy.Fault.DELAY);
    final Creds c = make(kind, aws, proxy.endpoint(), session("refresh"));
    c.get();
    final int threads = 4;
    final long end = System.nanoTime() + 8_000_000_000L;
    // Exact counts below 64 us; the (rare) slower calls kept one by one.
    final long[] counts = new long[1 << 16];
    final List<Long> slow = Collections.synchronizedList(new ArrayList<Long>());
    List<Thread> ts = new ArrayList<Thread>();
    for (int t = 0; t < threads; t++) {
      Thread th = new Thread(() -> {
        long[] mine = new long[1 << 16];
        List<Long> mineSlow = new ArrayList<Long>();
        int sink = 0;
        for (long a = System.nanoTime(); a < end; ) {
          sink += System.identityHashCode(c.get());
          long b = System.nanoTime();
          long d = b - a;
          if (d < mine.length) {
            mine[(int) d]++;
          } else {
            mineSlow.add(d);
          }
          a = b;
        }
        sinkVolatile = sink;
        synchronized (counts) {
          for (int i = 0; i < mine.length; i++) {
            counts[i] += mine[i];
          }
        }
        slow.addAll(mineSlow);
      });
      th.start();
      ts.add(th);
    }
    for (Thread th : ts) {
      th.join();
    }
    c.close();
    int refreshes = proxy.requests();
    proxy.close();
    long total = slow.size();
    for (long n : counts) {
      total += n;
    }
    List<Long> slowSorted = new ArrayList<Long>(slow);
    Collections.sort(slowSorted);
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
        q[k] = slowSorted.get((int) (rank - seen - 1));
      }
    }
    long max = slowSorted.isEmpty() ? 0 : slowSorted.get(slowSorted.size() - 1);
    for (int i = counts.length - 1; i >= 0 && max == 0; i--) {
      if (counts[i] > 0) {
        max = i;
      }
    }
    long[] all = {q[0], q[1], q[2], max};
    System.out.printf(Locale.ROOT, "RESULT refresh %s %d %d %d %d %d %d%n", kind, all[0], all[1], all[2], all[3],
        total, refreshes);
  }

  // ---- the orchestrator ---------------------------------------------------------------------

  static List<String> fork(String... args) throws Exception {
    List<String> cmd = new ArrayList<String>(Arrays.asList(System.getProperty("java.home") + "/bin/java",
        "-cp", System.getProperty("java.class.path"),
        "-Drolebridge.test.fixture=" + System.getProperty("rolebridge.test.fixture"),
        "-Dlog4j.configuration=log4j-demo.properties", ProviderBenchmark.class.getName()));
    cmd.addAll(Arrays.asList(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    List<String> results = new ArrayList<String>();
    StringBuilder all = new StringBuilder();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String l; (l = r.readLine()) != null; ) {
        all.append(l).append('\n');
        if (l.startsWith("RESULT ")) {
          results.add(l);
        }
      }
    }
    if (p.waitFor() != 0 || results.isEmpty()) {
      throw new IllegalStateException("benchmark fork " + Arrays.toString(args) + " failed:\n" + all);
    }
    return results;
  }

  /** Milliseconds from starting a JVM to its first credentials; median of runs. */
  static double coldStartMs(Kind kind, int runs, long[] footprint) throws Exception {
    double[] ms = new double[runs];
    long[] providerMs = new long[runs];
    for (int i = 0; i < runs; i++) {
      List<String> cmd = new ArrayList<String>(Arrays.asList(System.getProperty("java.home") + "/bin/java",
          "-cp", System.getProperty("java.class.path"),
          "-Drolebridge.test.fixture=" + System.getProperty("rolebridge.test.fixture"),
          "-Dlog4j.configuration=log4j-demo.properties", ProviderBenchmark.class.getName(), "cold", kind.name()));
      long t0 = System.nanoTime();
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      StringBuilder all = new StringBuilder();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l; (l = r.readLine()) != null; ) {
          all.append(l).append('\n');
          if (l.equals("READY")) {
            ms[i] = (System.nanoTime() - t0) / 1e6;
          } else if (l.startsWith("RESULT footprint")) {
            String[] f = l.split(" ");
            footprint[0] = Long.parseLong(f[3]);
            footprint[1] = Long.parseLong(f[4]);
            providerMs[i] = Long.parseLong(f[5]);
          }
        }
      }
      if (p.waitFor() != 0 || ms[i] == 0) {
        throw new IllegalStateException("cold start of " + kind + " failed:\n" + all);
      }
    }
    Arrays.sort(ms);
    Arrays.sort(providerMs);
    footprint[2] = providerMs[runs / 2];
    return ms[runs / 2];
  }

  /** AssumeRole calls made by {@code n} JVMs started at once (NodeCacheProbe), with or without a shared cache. */
  static int jvmsAtOnce(int n, String cacheDir) throws Exception {
    LocalAws aws = LocalAws.get();
    File go = new File(java.nio.file.Files.createTempDirectory("rolebridge-go").toFile(), "go");
    String session = session("node");
    List<Process> ps = new ArrayList<Process>();
    aws.startRecording();
    for (int i = 0; i < n; i++) {
      List<String> cmd = new ArrayList<String>(Arrays.asList(System.getProperty("java.home") + "/bin/java",
          "-cp", System.getProperty("java.class.path"),
          "-Drolebridge.test.fixture=" + System.getProperty("rolebridge.test.fixture"),
          "-Dlog4j.configuration=log4j-demo.properties", dev.rolebridge.it.NodeCacheProbe.class.getName(),
          go.getPath(), session));
      if (cacheDir != null) {
        cmd.add(cacheDir);
      }
      ps.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
    }
    Thread.sleep(3_000);
    go.createNewFile();
    for (Process p : ps) {
      if (p.waitFor() != 0) {
        throw new IllegalStateException("a NodeCacheProbe JVM failed");
      }
    }
    return LocalAws.assumeRoleCalls(aws.stopRecording()).size();
  }

  static String f(double v) {
    return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
  }

  static void report(String jar, String so) throws Exception {
    int[] threads = {1, 2, 8};
    Map<Kind, double[][]> hot = new EnumMap<Kind, double[][]>(Kind.class);
    Map<Kind, Integer> instances = new EnumMap<Kind, Integer>(Kind.class);
    Map<Kind, Double> cold = new EnumMap<Kind, Double>(Kind.class);
    Map<Kind, long[]> footprint = new EnumMap<Kind, long[]>(Kind.class);
    Map<Kind, long[]> refresh = new EnumMap<Kind, long[]>(Kind.class);
    for (Kind k : Kind.values()) {
      System.err.println("benchmarking " + k.label);
      double[][] h = new double[threads.length][];
      for (int i = 0; i < threads.length; i++) {
        String[] r = fork("hot", k.name(), String.valueOf(threads[i])).get(0).split(" ");
        h[i] = new double[] {Double.parseDouble(r[4]), Double.parseDouble(r[5]), Double.parseDouble(r[6])};
      }
      hot.put(k, h);
      if (!k.floor()) {
        instances.put(k, Integer.parseInt(fork("instances", k.name()).get(0).split(" ")[3]));
        long[] fp = new long[3];
        cold.put(k, coldStartMs(k, 5, fp));
        footprint.put(k, fp);
      }
      String[] r = fork("refresh", k.name()).get(0).split(" ");
      refresh.put(k, new long[] {Long.parseLong(r[3]), Long.parseLong(r[4]), Long.parseLong(r[5]),
          Long.parseLong(r[6]), Long.parseLong(r[7]), Long.parseLong(r[8])});
    }

    System.err.println("benchmarking 8 JVMs at once");
    String cacheDir = java.nio.file.Files.createTempDirectory("rolebridge-bench").resolve("cache").toString();
    int nodeShared = jvmsAtOnce(8, cacheDir);
    int nodeAlone = jvmsAtOnce(8, null);

    double floor1 = hot.get(Kind.FLOOR)[0][0];
    double checkedFloor1 = hot.get(Kind.CHECKED_FLOOR)[0][0];
    double bestPeer1 = Double.MAX_VALUE;
    for (Kind k : new Kind[] {Kind.SDK_V1, Kind.HADOOP, Kind.SDK_V2}) {
      bestPeer1 = Math.min(bestPeer1, hot.get(k)[0][0]);
    }
    double sdkV1Cold = cold.get(Kind.SDK_V1);
    long floorP999 = refresh.get(Kind.FLOOR)[2];

    StringBuilder md = new StringBuilder();
    md.append("### Steady-state getCredentials(), ns per call per thread (median of 7 one-second rounds, [min-max])\n\n");
    md.append("| provider | 1 thread | 2 threads | 8 threads | 1 thread vs floor | 1 thread vs checked floor"
        + " | 1 thread vs best peer |\n");
    md.append("|---|---|---|---|---|---|---|\n");
    for (Kind k : Kind.values()) {
      double[][] h = hot.get(k);
      md.append("| ").append(k.label);
      for (double[] x : h) {
        md.append(" | ").append(f(x[0])).append(" [").append(f(x[1])).append("-").append(f(x[2])).append("]");
      }
      md.append(" | ").append(f(h[0][0] / floor1)).append("x | ").append(f(h[0][0] / checkedFloor1))
          .append("x | ").append(f(h[0][0] / bestPeer1)).append("x |\n");
    }
    md.append("\nWhat each provider checks per call (so that like is compared with like):\n\n");
    md.append("| provider | per call |\n|---|---|\n");
    for (Kind k : Kind.values()) {
      md.append("| ").append(k.label).append(" | ").append(k.checks).append(" |\n");
    }
    md.append("\n### STS calls, cold start, latency during a refresh, footprint\n\n");
    md.append("| provider | AssumeRole calls, 64 instances x 8 threads | cold start: new JVM to first credentials, ms"
        + " (median of 5) | vs SDK v1 | of which the provider: construction to first credentials, ms | getCredentials() during refreshes with STS slowed by 2 s: p50 / p99 /"
        + " p99.9 / max, ns | p99.9 vs floor | RSS added, KiB | threads added |\n");
    md.append("|---|---|---|---|---|---|---|---|---|\n");
    for (Kind k : Kind.values()) {
      long[] rf = refresh.get(k);
      md.append("| ").append(k.label).append(" | ");
      md.append(k.floor() ? "-" : String.valueOf(instances.get(k))).append(" | ");
      md.append(k.floor() ? "-" : f(cold.get(k))).append(" | ");
      md.append(k.floor() ? "-" : f(cold.get(k) / sdkV1Cold) + "x").append(" | ");
      md.append(k.floor() ? "-" : String.valueOf(footprint.get(k)[2])).append(" | ");
      md.append(rf[0]).append(" / ").append(rf[1]).append(" / ").append(rf[2]).append(" / ").append(rf[3]);
      md.append(" (").append(rf[4]).append(" calls, ").append(rf[5]).append(" STS requests)").append(" | ");
      md.append(f((double) rf[2] / floorP999)).append("x | ");
      md.append(k.floor() ? "-" : String.valueOf(footprint.get(k)[0])).append(" | ");
      md.append(k.floor() ? "-" : String.valueOf(footprint.get(k)[1])).append(" |\n");
    }
    md.append("\n### One session per node: 8 JVMs started at once with the same settings\n\n");
    md.append("| rolebridge.cache.dir | AssumeRole calls |\n|---|---|\n");
    md.append("| set (a per-user directory, as `auto` makes) | ").append(nodeShared).append(" |\n");
    md.append("| not set | ").append(nodeAlone).append(" |\n");
    md.append("\nSizes: `librolebridge.so` ").append(new File(so).length() / 1024).append(" KiB, `")
        .append(new File(jar).getName()).append("` ").append(new File(jar).length() / 1024).append(" KiB.\n");

    double rb = Math.max(hot.get(Kind.ROLEBRIDGE_V1)[0][0], hot.get(Kind.ROLEBRIDGE_V2)[0][0]);
    long rbP999 = Math.max(refresh.get(Kind.ROLEBRIDGE_V1)[2], refresh.get(Kind.ROLEBRIDGE_V2)[2]);
    double rbCold = Math.max(cold.get(Kind.ROLEBRIDGE_V1), cold.get(Kind.ROLEBRIDGE_V2));
    long rbRss = Math.max(footprint.get(Kind.ROLEBRIDGE_V1)[0], footprint.get(Kind.ROLEBRIDGE_V2)[0]);
    long rbThreads = Math.max(footprint.get(Kind.ROLEBRIDGE_V1)[1], footprint.get(Kind.ROLEBRIDGE_V2)[1]);
    int rbCalls = Math.max(instances.get(Kind.ROLEBRIDGE_V1), instances.get(Kind.ROLEBRIDGE_V2));
    md.append("\n### Targets (the worse of the two rolebridge providers)\n\n| target | measured | met |\n|---|---|---|\n");
    target(md, "hot path at most 2x the checked floor, which makes the same wall-clock check (1 thread)",
        f(rb / checkedFloor1) + "x", rb <= 2 * checkedFloor1);
    target(md, "hot path at most 0.5x the best peer (1 thread)", f(rb / bestPeer1) + "x", rb <= 0.5 * bestPeer1);
    target(md, "one AssumeRole per process per session (64 x 8)", String.valueOf(rbCalls), rbCalls == 1);
    target(md, "cold start at most 0.5x the SDK v1 provider", f(rbCold / sdkV1Cold) + "x", rbCold <= 0.5 * sdkV1Cold);
    target(md, "p99.9 during a refresh at most 10x the floor", f((double) rbP999 / floorP999) + "x", rbP999 <= 10 * floorP999);
    target(md, ".so at most 8 MB", new File(so).length() / 1024 + " KiB", new File(so).length() <= 8L << 20);
    target(md, "at most 16 MB RSS added", rbRss + " KiB", rbRss <= 16 << 10);
    target(md, "at most 2 threads added", String.valueOf(rbThreads), rbThreads <= 2);
    target(md, "8 JVMs with rolebridge.cache.dir: 1 AssumeRole (8 without)", nodeShared + " (" + nodeAlone + " without)",
        nodeShared == 1);
    System.out.print(md);
  }

  static void target(StringBuilder md, String what, String measured, boolean met) {
    md.append("| ").append(what).append(" | ").append(measured).append(" | ").append(met ? "yes" : "**no**").append(" |\n");
  }

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "report":
        report(args[1], args[2]);
        break;
      case "hot":
        hot(Kind.valueOf(args[1]), Integer.parseInt(args[2]));
        break;
      case "instances":
        instances(Kind.valueOf(args[1]));
        break;
      case "cold":
        cold(Kind.valueOf(args[1]));
        break;
      case "refresh":
        refresh(Kind.valueOf(args[1]));
        break;
      default:
        throw new IllegalArgumentException(args[0]);
    }
    System.exit(0); // SDK clients and executors may leave non-daemon threads
  }
}
