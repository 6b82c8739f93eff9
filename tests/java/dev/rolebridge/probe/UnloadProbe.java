package dev.rolebridge.probe;

import java.io.File;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * What Spark sessions, Hive and notebooks do to a jar, in a JVM of its own: Hadoop and the AWS SDKs
 * in one long-lived class loader, and, cycle after cycle, a new class loader that loads the
 * rolebridge jar, makes providers, gets credentials on caller threads, closes the providers and is
 * dropped. Each cycle then waits for the loader to be collected (a WeakReference cleared after GC),
 * for the JVM to unmap the library's extracted copy, and checks that no thread of rolebridge is
 * left (native "rolebridge-sts", Java "rolebridge-fetch"); only then do the caller threads,
 * which ran the library's code, end. Prints per cycle
 * "CYCLE i key=K collected=B unmapped=B stsThreads=N fetchThreads=N rssKb=N" (unmapped: no copy of
 * the library is mapped any more, which glibc does only once no live thread has a thread-local
 * destructor in it, so it shows that the JVM's threads were left none), and at the end
 * "AFTER key=K" from one more loader: the JVM goes on working.
 * Arguments: jar platformClasspath endpoint roleArn externalId bucket cycles.
 */
public final class UnloadProbe {
  private UnloadProbe() {
  }

  public static void main(String[] args) throws Exception {
    URL jar = new File(args[0]).toURI().toURL();
    ClassLoader shared = Loaders.platform(args[1]);
    // Hosts log in to Hadoop before they make a credentials provider (FileSystem.get's cache key,
    // S3AFileSystem.initialize and EMRFS all call getCurrentUser() first). A first login made under
    // the provider's constructor would pin its loader: JAAS's LoginContext, which Hadoop keeps for
    // the login user, holds the access-control context of its creator, and with it the protection
    // domains, and so the class loaders, of every class on that stack.
    System.out.println("HADOOP USER " + shared.loadClass("org.apache.hadoop.security.UserGroupInformation")
        .getMethod("getCurrentUser").invoke(null));
    int cycles = Integer.parseInt(args[6]);
    for (int i = 0; i < cycles; i++) {
      ExecutorService callers = Executors.newFixedThreadPool(4);
      String[] key = new String[1];
      WeakReference<ClassLoader> ref = useAndDrop(jar, shared, args, "it-unload-" + i, callers, key);
      boolean collected = await(() -> ref.get() == null, 60);
      boolean unmapped = await(() -> mappedCopies() == 0, 30);
      // A joined thread can still be listed for a moment: the kernel removes it just after the join.
      await(() -> nativeThreads("rolebridge-sts") == 0 && javaThreads("rolebridge-fetch") == 0, 10);
      int sts = nativeThreads("rolebridge-sts");
      int fetch = javaThreads("rolebridge-fetch");
      // The threads that ran the library's code end only now, after it is gone.
      callers.shutdown();
      if (!callers.awaitTermination(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("caller threads did not end");
      }
      System.out.println("CYCLE " + i + " key=" + key[0] + " collected=" + collected + " unmapped=" + unmapped
          + " stsThreads=" + sts + " fetchThreads=" + fetch + " rssKb=" + rssKb());
    }
    ExecutorService last = Executors.newSingleThreadExecutor();
    String[] key = new String[1];
    useAndDrop(jar, shared, args, "it-unload-after", last, key);
    last.shutdown();
    System.out.println("AFTER key=" + key[0]);
  }

  /** One class loader's life: load the jar, use two providers on caller threads, close, drop. */
  private static WeakReference<ClassLoader> useAndDrop(URL jar, ClassLoader shared, String[] args, String session,
      ExecutorService callers, String[] key) throws Exception {
    URLClassLoader loader = new URLClassLoader(new URL[] {jar}, shared);
    Object conf = Loaders.conf(shared, args[2], args[3], args[4], session);
    Class<?> providerClass = loader.loadClass("dev.rolebridge.hadoop.RoleBridgeCredentialsProvider");
    if (providerClass.getClassLoader() != loader) {
      throw new IllegalStateException("the provider class must come from the new loader");
    }
    final List<Object> providers = new ArrayList<Object>();
    for (int p = 0; p < 2; p++) {
      providers.add(providerClass.getConstructor(URI.class, conf.getClass())
          .newInstance(URI.create("s3a://" + args[5]), conf));
    }
    List<Future<String>> calls = new ArrayList<Future<String>>();
    for (int t = 0; t < 8; t++) {
      final Object provider = providers.get(t % 2);
      calls.add(callers.submit(new Callable<String>() {
        @Override
        public String call() throws Exception {
          Object creds = provider.getClass().getMethod("getCredentials").invoke(provider);
          return (String) creds.getClass().getMethod("getAWSAccessKeyId").invoke(creds);
        }
      }));
    }
    for (Future<String> f : calls) {
      key[0] = f.get(60, TimeUnit.SECONDS);
    }
    for (Object p : providers) {
      p.getClass().getMethod("close").invoke(p);
    }
    loader.close();
    return new WeakReference<ClassLoader>(loader);
  }

  interface Condition {
    boolean holds() throws IOException;
  }

  private static boolean await(Condition c, int seconds) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < end) {
      System.gc();
      if (c.holds()) {
        return true;
      }
      Thread.sleep(100);
    }
    return c.holds();
  }

  /** Mappings of extracted library copies (deleted files named librolebridge-*.so) in this process. */
  static int mappedCopies() throws IOException {
    int n = 0;
    for (String line : Files.readAllLines(new File("/proc/self/maps").toPath(), StandardCharsets.UTF_8)) {
      if (line.contains("/librolebridge-") && line.contains(".so")) {
        n++;
      }
    }
    return n;
  }

  /** Threads of this process with this name, Java or not (tokio's threads are not the JVM's). */
  static int nativeThreads(String name) throws IOException {
    int n = 0;
    File[] tasks = new File("/proc/self/task").listFiles();
    for (File t : tasks == null ? new File[0] : tasks) {
      try {
        if (new String(Files.readAllBytes(new File(t, "comm").toPath()), StandardCharsets.UTF_8).trim().equals(name)) {
          n++;
        }
      } catch (IOException gone) {
        // the thread ended while we looked
      }
    }
    return n;
  }

  static int javaThreads(String name) {
    int n = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals(name)) {
        n++;
      }
    }
    return n;
  }

  static long rssKb() throws IOException {
    for (String line : Files.readAllLines(new File("/proc/self/status").toPath(), StandardCharsets.UTF_8)) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }
}
