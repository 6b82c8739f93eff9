package dev.rolebridge.bench;

import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.EnvironmentVariableCredentialsProvider;
import com.amazonaws.auth.STSAssumeRoleSessionCredentialsProvider;
import com.amazonaws.client.builder.AwsClientBuilder;
import com.amazonaws.services.securitytoken.AWSSecurityTokenServiceClientBuilder;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import dev.rolebridge.it.LocalAws;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.File;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
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
 * STS: a program that prints figures (scripts/benchmark.sh), not a test.
 *
 * <p>The timings are JMH's ({@link HotPathBench}, {@link RefreshBench}, {@link ColdStartBench}):
 * each provider in forks of its own, so that call sites stay monomorphic and a cold start is cold.
 * The Hadoop 3.4.1 peer cannot share a class path with Hadoop 3.3.1, so its JMH runs are made from
 * a second host JVM on Hadoop 3.4.1's class path. What is counted rather than timed (AssumeRole
 * calls, RSS, threads, the whole JVM's start) runs in plain child JVMs.
 *
 * <p>Modes (args[0]): report (the orchestrator); jmh (a JMH run, in the host JVM that runs it);
 * instances and cold (per provider, in a JVM of their own).
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
            + " session's refresh generation; one `System.currentTimeMillis()` compared with the ask-again time;"
            + " the answer counted in the calling thread's own cell (a `ThreadLocal` lookup and a plain write)"),
    ROLEBRIDGE_V2("rolebridge RoleBridgeCredentialsProviderV2",
        "volatile reads of the current credentials and of the session's refresh generation; one"
            + " `System.currentTimeMillis()` compared with the ask-again time; the answer counted in the calling"
            + " thread's own cell (a `ThreadLocal` lookup and a plain write)"),
    SDK_V1("SDK v1 STSAssumeRoleSessionCredentialsProvider",
        "`RefreshableTask.getValue()`: two refresh predicates, each reading the session's expiry `Date` and"
            + " `System.currentTimeMillis()`, and `AtomicReference` reads"),
    HADOOP("Hadoop 3.3.1 AssumedRoleCredentialProvider",
        "SDK v1's checks (it wraps that provider), called through `Invoker.retryUntranslated` with a lambda"),
    SDK_V2("SDK v2 2.33.0 StsAssumeRoleCredentialsProvider",
        "`CachedSupplier.get()`: two `Clock.instant()` reads (stale time, then prefetch time) compared"
            + " with the cached value's `Instant`s"),
    /** Runs in a JMH run of its own, on Hadoop 3.4.1's class path (S3A 3.4.1 and the SDK v2 bundle it declares). */
    HADOOP34("Hadoop 3.4.1 AssumedRoleCredentialProvider (SDK v2 bundle 2.24.6; STS over TLS)",
        "SDK v2's checks (it wraps `StsAssumeRoleCredentialsProvider`), called through"
            + " `Invoker.retryUntranslated` with a lambda");

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

    boolean peer() {
      return this == SDK_V1 || this == HADOOP || this == SDK_V2 || this == HADOOP34;
    }
  }

  /** A provider under test: what it hands out, and how to let go of it. */
  interface Creds extends Supplier<Object>, Closeable {
  }

  static final Object CONSTANT = new com.amazonaws.auth.BasicSessionCredentials("ASIACONSTANT", "s", "t");
  /** The checked floor's expiry: an hour after the class was loaded (not a constant the JIT can fold). */
  static final long CONSTANT_EXPIRY = System.currentTimeMillis() + 3_600_000L;

  static Creds make(Kind kind, LocalAws aws, String endpoint, String session) throws Exception {
    return make(kind, aws, endpoint, session, settings(kind, aws, endpoint, session));
  }

  /**
   * The Hadoop configuration a Hadoop-configured provider (rolebridge's, Hadoop's) is constructed
   * with, its resources already loaded, as a job's configuration is before any provider is made;
   * null for the SDKs' providers, which are configured by their builders.
   */
  static Configuration settings(Kind kind, LocalAws aws, String endpoint, String session) throws Exception {
    checkVersions(kind);
    String role = aws.roleArn("bench");
    Configuration conf;
    switch (kind) {
      case ROLEBRIDGE_V1:
      case ROLEBRIDGE_V2:
        conf = aws.s3aConf(null, session);
        conf.set("rolebridge.role.arn", role);
        conf.set("rolebridge.session.duration", "15m");
        conf.set("rolebridge.sts.endpoint", endpoint);
        break;
      case HADOOP:
      case HADOOP34:
        conf = new Configuration();
        conf.set("fs.s3a.assumed.role.arn", role);
        conf.set("fs.s3a.assumed.role.session.name", session);
        conf.set("fs.s3a.assumed.role.session.duration", "15m");
        // Hadoop 3.4.1 takes the endpoint's host and port and always speaks https to them: a TLS
        // front on loopback (outside the time a cold start measures).
        conf.set("fs.s3a.assumed.role.sts.endpoint", kind == Kind.HADOOP ? endpoint : TlsFront.hostPortFor(endpoint));
        conf.set("fs.s3a.assumed.role.sts.endpoint.region", "us-east-1");
        conf.set("fs.s3a.assumed.role.credentials.provider", kind == Kind.HADOOP
            ? EnvironmentVariableCredentialsProvider.class.getName()
            : software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider.class.getName());
        conf.setBoolean("fs.s3a.connection.ssl.enabled", false);
        break;
      default:
        return null;
    }
    conf.get("fs.defaultFS"); // loads its resources
    return conf;
  }

  /** A provider of {@code kind}; {@code conf} from {@link #settings} (null for the SDKs' own). */
  static Creds make(Kind kind, LocalAws aws, String endpoint, String session, Configuration conf) throws Exception {
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
      case ROLEBRIDGE_V1: {
        RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://bench-bucket"), conf);
        return wrap(p::getCredentials, p);
      }
      case ROLEBRIDGE_V2: {
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
        final AssumedRoleCredentialProvider p = new AssumedRoleCredentialProvider(URI.create("s3a://bench-bucket"), conf);
        return wrap(p::getCredentials, p);
      }
      case HADOOP34: {
        // Compiled against Hadoop 3.3.1, whose class has the same constructor; 3.4.1's is an SDK v2 provider.
        Object made = new AssumedRoleCredentialProvider(URI.create("s3a://bench-bucket"), conf);
        AwsCredentialsProvider p = (AwsCredentialsProvider) made;
        return wrap(p::resolveCredentials, (AutoCloseable) made);
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

  /** The labels name versions: a class path that has others is a benchmark that would mislabel them. */
  static void checkVersions(Kind kind) throws Exception {
    // Read by reflection: SDK_VERSION is a constant javac would copy from the SDK compiled against.
    String sdkV2 = String.valueOf(Class.forName("software.amazon.awssdk.core.util.VersionInfo").getField("SDK_VERSION").get(null));
    switch (kind) {
      case HADOOP:
        requireVersion("Hadoop", org.apache.hadoop.util.VersionInfo.getVersion(), "3.3.1");
        break;
      case HADOOP34:
        requireVersion("Hadoop", org.apache.hadoop.util.VersionInfo.getVersion(), "3.4.1");
        requireVersion("the SDK v2", sdkV2, "2.24.6");
        break;
      case SDK_V2:
        requireVersion("the SDK v2", sdkV2, "2.33.0");
        break;
      default:
        break;
    }
  }

  static void requireVersion(String what, String found, String labelled) {
    if (!labelled.equals(found)) {
      throw new IllegalStateException(what + " on this class path is " + found + ", but the benchmark labels it " + labelled);
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

  // ---- measurements that count, each in a JVM of its own -------------------------------------

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
    String session = session("cold");
    Configuration conf = settings(kind, aws, aws.endpoint, session);
    long rss0 = LeakCheck.rssKb();
    int threads0 = LeakCheck.threads() - TlsFront.THREADS.get();
    Creds c = make(kind, aws, aws.endpoint, session, conf);
    c.get();
    System.out.println("READY");
    System.out.flush();
    Thread.sleep(300); // let threads that only start a session settle
    System.out.printf(Locale.ROOT, "RESULT footprint %s %d %d%n", kind, LeakCheck.rssKb() - rss0,
        LeakCheck.threads() - TlsFront.THREADS.get() - threads0);
    c.close();
  }

  // ---- timings: JMH -----------------------------------------------------------------------------

  /** JMH's settings for each benchmark: forks, warm-up and measured iterations (each of {@code seconds}). */
  enum Jmh {
    HOT(HotPathBench.class, 2, 3, 5, 1),
    REFRESH(RefreshBench.class, 1, 0, 4, 2),
    COLD(ColdStartBench.class, 10, 0, 1, 0);

    final Class<?> bench;
    final int forks;
    final int warmups;
    final int iterations;
    final int seconds;

    Jmh(Class<?> bench, int forks, int warmups, int iterations, int seconds) {
      this.bench = bench;
      this.forks = forks;
      this.warmups = warmups;
      this.iterations = iterations;
      this.seconds = seconds;
    }
  }

  /**
   * A JMH run in this JVM (whose class path and arguments JMH's forks inherit): {@code bench} for
   * each of {@code kinds} with {@code threads} threads. Prints one line per kind:
   * RESULT jmh BENCH KIND THREADS SCORE ERROR.
   */
  static void jmh(Jmh bench, String kinds, int threads) throws Exception {
    org.openjdk.jmh.runner.options.ChainedOptionsBuilder o = new org.openjdk.jmh.runner.options.OptionsBuilder()
        .include("^" + java.util.regex.Pattern.quote(bench.bench.getName()) + "\\.")
        .param("kind", kinds.split(","))
        .threads(threads)
        .forks(bench.forks)
        .warmupIterations(bench.warmups)
        .measurementIterations(bench.iterations)
        .shouldFailOnError(true);
    if (bench.seconds > 0) {
      o.warmupTime(org.openjdk.jmh.runner.options.TimeValue.seconds(bench.seconds))
          .measurementTime(org.openjdk.jmh.runner.options.TimeValue.seconds(bench.seconds));
    }
    for (org.openjdk.jmh.results.RunResult r : new org.openjdk.jmh.runner.Runner(o.build()).run()) {
      org.openjdk.jmh.results.Result<?> p = r.getPrimaryResult();
      System.out.printf(Locale.ROOT, "RESULT jmh %s %s %d %s %s%n", bench, r.getParams().getParam("kind"), threads,
          p.getScore(), Double.isNaN(p.getScoreError()) ? 0.0 : p.getScoreError());
    }
  }

  // ---- the orchestrator ---------------------------------------------------------------------

  /** A child JVM on {@code classPath} running {@code main} with {@code args}, with this run's fixture and key store. */
  static List<String> javaCommand(String classPath, Class<?> main, String... args) {
    List<String> cmd = new ArrayList<String>(Arrays.asList(System.getProperty("java.home") + "/bin/java",
        "-cp", classPath,
        "-Drolebridge.test.fixture=" + System.getProperty("rolebridge.test.fixture"),
        "-D" + TlsFront.KEY_STORE_PROPERTY + "=" + System.getProperty(TlsFront.KEY_STORE_PROPERTY),
        "-Dlog4j.configuration=log4j-demo.properties", main.getName()));
    cmd.addAll(Arrays.asList(args));
    return cmd;
  }

  /** Runs this class with {@code args} in a JVM whose class path is {@code classPath}; returns its output lines. */
  static List<String> fork(String classPath, String... args) throws Exception {
    Process p = new ProcessBuilder(javaCommand(classPath, ProviderBenchmark.class, args)).redirectErrorStream(true).start();
    List<String> lines = new ArrayList<String>();
    StringBuilder all = new StringBuilder();
    boolean results = false;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String l; (l = r.readLine()) != null; ) {
        all.append(l).append('\n');
        lines.add(l);
        results |= l.startsWith("RESULT ");
        if (l.startsWith("# Benchmark:") || l.startsWith("# Parameters:") || l.startsWith("# Run progress")) {
          System.err.println("  " + l);
        }
      }
    }
    if (p.waitFor() != 0 || !results) {
      throw new IllegalStateException("benchmark fork " + Arrays.toString(args) + " failed:\n" + all);
    }
    return lines;
  }

  static List<String> results(List<String> lines, String prefix) {
    List<String> out = new ArrayList<String>();
    for (String l : lines) {
      if (l.startsWith(prefix)) {
        out.add(l);
      }
    }
    return out;
  }

  /** A JMH figure: the score and JMH's error (99.9% confidence). */
  static final class Figure {
    final double score;
    final double error;

    Figure(String[] f) {
      score = Double.parseDouble(f[5]);
      error = Double.parseDouble(f[6]);
    }

    /** this / other, with the error of a quotient to first order (relative errors add). */
    String ratio(Figure other) {
      double r = score / other.score;
      return f(r) + " ± " + f(r * (error / score + other.error / other.score)) + "x";
    }

    @Override
    public String toString() {
      return f(score) + " ± " + f(error);
    }
  }

  /** Runs {@code bench} for {@code kinds} in a host JVM on {@code classPath}; fills {@code into[kind]}. */
  static void jmhRun(String classPath, Jmh bench, List<Kind> kinds, int threads, Map<Kind, Figure> into,
      List<String> linesOut) throws Exception {
    StringBuilder names = new StringBuilder();
    for (Kind k : kinds) {
      names.append(names.length() == 0 ? "" : ",").append(k.name());
    }
    System.err.println("JMH " + bench + " with " + threads + " thread(s): " + names);
    List<String> lines = fork(classPath, "jmh", bench.name(), names.toString(), String.valueOf(threads));
    for (String l : results(lines, "RESULT jmh ")) {
      String[] f = l.split(" ");
      into.put(Kind.valueOf(f[3]), new Figure(f));
    }
    for (Kind k : kinds) {
      if (!into.containsKey(k)) {
        throw new IllegalStateException("JMH gave no result for " + bench + " " + k + ":\n" + String.join("\n", lines));
      }
    }
    if (linesOut != null) {
      linesOut.addAll(lines);
    }
  }

  /** Milliseconds from starting a JVM to its first credentials; median of runs; footprint from the last. */
  static double coldStartMs(String classPath, Kind kind, int runs, long[] footprint) throws Exception {
    double[] ms = new double[runs];
    for (int i = 0; i < runs; i++) {
      List<String> cmd = javaCommand(classPath, ProviderBenchmark.class, "cold", kind.name());
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
          }
        }
      }
      if (p.waitFor() != 0 || ms[i] == 0) {
        throw new IllegalStateException("cold start of " + kind + " failed:\n" + all);
      }
    }
    Arrays.sort(ms);
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
      List<String> cmd = javaCommand(System.getProperty("java.class.path"), dev.rolebridge.it.NodeCacheProbe.class,
          go.getPath(), session);
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

  static final int[] THREADS = {1, 2, 8};

  /**
   * The whole report. {@code classPath34} is Hadoop 3.4.1's class path (with the jar, the benchmark's
   * classes, JMH and the SDK v1 bundle these classes link against): the Hadoop 3.4.1 peer runs
   * there, with the checked floor again as a cross-check of the two class paths.
   */
  static void report(String jar, String so, String classPath34) throws Exception {
    String classPath = System.getProperty("java.class.path");
    System.setProperty(TlsFront.KEY_STORE_PROPERTY, TlsFront.makeKeyStore().getPath());
    List<Kind> main = new ArrayList<Kind>();
    List<Kind> mainProviders = new ArrayList<Kind>();
    for (Kind k : Kind.values()) {
      if (k != Kind.HADOOP34) {
        main.add(k);
        if (!k.floor()) {
          mainProviders.add(k);
        }
      }
    }
    List<Kind> on34 = Arrays.asList(Kind.CHECKED_FLOOR, Kind.HADOOP34);
    List<Kind> providers = new ArrayList<Kind>(mainProviders);
    providers.add(Kind.HADOOP34);

    List<Map<Kind, Figure>> hot = new ArrayList<Map<Kind, Figure>>();
    List<Figure> checkedFloor34 = new ArrayList<Figure>();
    for (int t : THREADS) {
      Map<Kind, Figure> m = new EnumMap<Kind, Figure>(Kind.class);
      jmhRun(classPath, Jmh.HOT, main, t, m, null);
      Map<Kind, Figure> m34 = new EnumMap<Kind, Figure>(Kind.class);
      jmhRun(classPath34, Jmh.HOT, on34, t, m34, null);
      m.put(Kind.HADOOP34, m34.get(Kind.HADOOP34));
      checkedFloor34.add(m34.get(Kind.CHECKED_FLOOR));
      hot.add(m);
    }
    // Every call timed (RefreshBench): KIND P50 P99 P99.9 MAX CALLS OVER-100-MS STS-REQUESTS
    Map<Kind, Figure> refreshMean = new EnumMap<Kind, Figure>(Kind.class);
    List<String> refreshLines = new ArrayList<String>();
    jmhRun(classPath, Jmh.REFRESH, main, 4, refreshMean, refreshLines);
    jmhRun(classPath34, Jmh.REFRESH, Arrays.asList(Kind.HADOOP34), 4, refreshMean, refreshLines);
    Map<Kind, long[]> refresh = new EnumMap<Kind, long[]>(Kind.class);
    for (String l : refreshLines) {
      int at = l.indexOf("REFRESH-LATENCY ");
      if (at >= 0) { // JMH may print a fork's output inside one of its own lines
        String[] f = l.substring(at).trim().split("\\s+");
        long[] v = new long[7];
        for (int i = 0; i < 7; i++) {
          v[i] = Long.parseLong(f[2 + i]);
        }
        refresh.put(Kind.valueOf(f[1]), v);
      }
    }
    for (Kind k : Kind.values()) {
      if (!refresh.containsKey(k)) {
        throw new IllegalStateException("no REFRESH-LATENCY line for " + k + ":\n" + String.join("\n", refreshLines));
      }
    }
    Map<Kind, Figure> cold = new EnumMap<Kind, Figure>(Kind.class);
    jmhRun(classPath, Jmh.COLD, mainProviders, 1, cold, null);
    jmhRun(classPath34, Jmh.COLD, Arrays.asList(Kind.HADOOP34), 1, cold, null);

    Map<Kind, Integer> instances = new EnumMap<Kind, Integer>(Kind.class);
    Map<Kind, Double> jvmStart = new EnumMap<Kind, Double>(Kind.class);
    Map<Kind, long[]> footprint = new EnumMap<Kind, long[]>(Kind.class);
    for (Kind k : providers) {
      String cp = k == Kind.HADOOP34 ? classPath34 : classPath;
      System.err.println("AssumeRole calls and footprint of " + k.label);
      instances.put(k, Integer.parseInt(results(fork(cp, "instances", k.name()), "RESULT ").get(0).split(" ")[3]));
      long[] fp = new long[2];
      jvmStart.put(k, coldStartMs(cp, k, 5, fp));
      footprint.put(k, fp);
    }
    System.err.println("8 JVMs at once");
    String cacheDir = java.nio.file.Files.createTempDirectory("rolebridge-bench").resolve("cache").toString();
    int nodeShared = jvmsAtOnce(8, cacheDir);
    int nodeAlone = jvmsAtOnce(8, null);

    Map<Kind, Figure> hot1 = hot.get(0);
    Figure floor1 = hot1.get(Kind.FLOOR);
    Figure checked1 = hot1.get(Kind.CHECKED_FLOOR);
    Kind bestPeer = null;
    for (Kind k : providers) {
      if (k.peer() && (bestPeer == null || hot1.get(k).score < hot1.get(bestPeer).score)) {
        bestPeer = k;
      }
    }
    long floorP999 = refresh.get(Kind.FLOOR)[2];

    StringBuilder md = new StringBuilder();
    md.append("### Steady-state credentials call, ns per call (JMH average time; score ± JMH's 99.9% error)\n\n");
    md.append("JMH ").append(Jmh.HOT.forks).append(" forks x ").append(Jmh.HOT.iterations).append(" iterations of ")
        .append(Jmh.HOT.seconds).append(" s after ").append(Jmh.HOT.warmups).append(" warm-up iterations; one provider"
            + " shared by all threads. Ratios at 1 thread; their error is the two relative errors added.\n\n");
    md.append("| provider | 1 thread | 2 threads | 8 threads | vs floor | vs checked floor | vs best peer ("
        + bestPeer.label + ") |\n");
    md.append("|---|---|---|---|---|---|---|\n");
    for (Kind k : Kind.values()) {
      md.append("| ").append(k.label);
      for (Map<Kind, Figure> m : hot) {
        md.append(" | ").append(m.get(k));
      }
      Figure h = hot1.get(k);
      md.append(" | ").append(h.ratio(floor1)).append(" | ").append(h.ratio(checked1)).append(" | ")
          .append(h.ratio(hot1.get(bestPeer))).append(" |\n");
    }
    md.append("\nThe checked floor measured again on Hadoop 3.4.1's class path, where the Hadoop 3.4.1 peer ran (a"
        + " cross-check of the two runs): ");
    for (int i = 0; i < THREADS.length; i++) {
      md.append(i == 0 ? "" : ", ").append(checkedFloor34.get(i)).append(" ns at ").append(THREADS[i])
          .append(THREADS[i] == 1 ? " thread" : " threads");
    }
    boolean agree = true;
    for (int i = 0; i < THREADS.length; i++) {
      Figure a = hot.get(i).get(Kind.CHECKED_FLOOR);
      Figure b = checkedFloor34.get(i);
      agree &= Math.abs(a.score - b.score) <= a.error + b.error;
    }
    md.append(agree ? ": within the main run's, error intervals overlapping at every thread count"
        : ": **not** within the main run's at every thread count (intervals do not overlap), so the"
            + " Hadoop 3.4.1 row compares less well with the others");
    md.append(".\n\nWhat each provider checks per call (so that like is compared with like):\n\n");
    md.append("| provider | per call |\n|---|---|\n");
    for (Kind k : Kind.values()) {
      md.append("| ").append(k.label).append(" | ").append(k.checks).append(" |\n");
    }

    Figure sdkV1Cold = cold.get(Kind.SDK_V1);
    md.append("\n### Cold start, STS calls, latency during a refresh, footprint\n\n");
    md.append("Cold start, the provider's part: JMH single shot, one per fork (").append(Jmh.COLD.forks)
        .append(" forks), from constructing the provider to its first credentials, in a JVM that has loaded a"
            + " Hadoop configuration and the current user. New JVM to first credentials: the whole process, median"
            + " of 5. Latency during refreshes: every call of 4 threads timed for ")
        .append(Jmh.REFRESH.iterations * Jmh.REFRESH.seconds)
        .append(" s (JMH runs the threads) while every session expires inside the refresh window and each"
            + " AssumeRole takes 2 s; STS requests: those made during that time.\n\n");
    md.append("| provider | cold start, provider's part, ms | vs SDK v1 | new JVM to first credentials, ms |"
        + " AssumeRole calls, 64 instances x 8 threads | during refreshes: p50 / p99 / p99.9 / max, ns |"
        + " p99.9 vs floor | calls over 100 ms | STS requests during it | RSS added, KiB | threads added |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Kind k : Kind.values()) {
      long[] rf = refresh.get(k);
      md.append("| ").append(k.label).append(" | ");
      md.append(k.floor() ? "-" : cold.get(k).toString()).append(" | ");
      md.append(k.floor() ? "-" : cold.get(k).ratio(sdkV1Cold)).append(" | ");
      md.append(k.floor() ? "-" : f(jvmStart.get(k))).append(" | ");
      md.append(k.floor() ? "-" : String.valueOf(instances.get(k))).append(" | ");
      md.append(rf[0]).append(" / ").append(rf[1]).append(" / ").append(rf[2]).append(" / ").append(rf[3])
          .append(" (").append(rf[4]).append(" calls) | ");
      md.append(f((double) rf[2] / floorP999)).append("x | ");
      md.append(rf[5]).append(" | ");
      md.append(k.floor() ? "-" : String.valueOf(rf[6])).append(" | ");
      md.append(k.floor() ? "-" : String.valueOf(footprint.get(k)[0])).append(" | ");
      md.append(k.floor() ? "-" : String.valueOf(footprint.get(k)[1])).append(" |\n");
    }
    md.append("\n### One session per node: 8 JVMs started at once with the same settings\n\n");
    md.append("| rolebridge.cache.dir | AssumeRole calls |\n|---|---|\n");
    md.append("| set (a per-user directory, as `auto` makes) | ").append(nodeShared).append(" |\n");
    md.append("| not set | ").append(nodeAlone).append(" |\n");
    md.append("\nSizes: `librolebridge.so` ").append(new File(so).length() / 1024).append(" KiB, `")
        .append(new File(jar).getName()).append("` ").append(new File(jar).length() / 1024).append(" KiB.\n");

    Kind worseHot = hot1.get(Kind.ROLEBRIDGE_V1).score >= hot1.get(Kind.ROLEBRIDGE_V2).score ? Kind.ROLEBRIDGE_V1 : Kind.ROLEBRIDGE_V2;
    Kind worseCold = cold.get(Kind.ROLEBRIDGE_V1).score >= cold.get(Kind.ROLEBRIDGE_V2).score ? Kind.ROLEBRIDGE_V1 : Kind.ROLEBRIDGE_V2;
    Figure rb = hot1.get(worseHot);
    Figure rbCold = cold.get(worseCold);
    long rbP999 = Math.max(refresh.get(Kind.ROLEBRIDGE_V1)[2], refresh.get(Kind.ROLEBRIDGE_V2)[2]);
    long rbSlow = Math.max(refresh.get(Kind.ROLEBRIDGE_V1)[5], refresh.get(Kind.ROLEBRIDGE_V2)[5]);
    long rbRss = Math.max(footprint.get(Kind.ROLEBRIDGE_V1)[0], footprint.get(Kind.ROLEBRIDGE_V2)[0]);
    long rbThreads = Math.max(footprint.get(Kind.ROLEBRIDGE_V1)[1], footprint.get(Kind.ROLEBRIDGE_V2)[1]);
    int rbCalls = Math.max(instances.get(Kind.ROLEBRIDGE_V1), instances.get(Kind.ROLEBRIDGE_V2));
    Figure best = hot1.get(bestPeer);
    md.append("\n### Targets (the worse of the two rolebridge providers)\n\n| target | measured | met |\n|---|---|---|\n");
    target(md, "hot path at most 2x the checked floor, which makes the same wall-clock check (1 thread)",
        rb.ratio(checked1), rb.score <= 2 * checked1.score);
    target(md, "hot path at most 0.5x the best peer (1 thread)", rb.ratio(best), rb.score <= 0.5 * best.score);
    target(md, "one AssumeRole per process per session (64 x 8)", String.valueOf(rbCalls), rbCalls == 1);
    target(md, "cold start, the provider's part, at most 0.1x the SDK v1 provider's", rbCold.ratio(sdkV1Cold),
        rbCold.score <= 0.1 * sdkV1Cold.score);
    target(md, "p99.9 during a refresh at most 10x the floor", f((double) rbP999 / floorP999) + "x",
        rbP999 <= 10 * floorP999);
    target(md, "no call waits for a refresh while the session is valid (calls over 100 ms)", String.valueOf(rbSlow),
        rbSlow == 0);
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
        report(args[1], args[2], args[3]);
        break;
      case "jmh":
        jmh(Jmh.valueOf(args[1]), args[2], Integer.parseInt(args[3]));
        break;
      case "instances":
        instances(Kind.valueOf(args[1]));
        break;
      case "cold":
        cold(Kind.valueOf(args[1]));
        break;
      default:
        throw new IllegalArgumentException(args[0]);
    }
    System.exit(0); // SDK clients and executors may leave non-daemon threads
  }
}
