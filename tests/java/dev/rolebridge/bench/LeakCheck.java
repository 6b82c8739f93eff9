package dev.rolebridge.bench;

import com.amazonaws.auth.AWSSessionCredentials;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.it.LocalAws;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.hadoop.conf.Configuration;

/**
 * Resident memory over many provider lifetimes and calls: 10,000 create/close cycles (each one a
 * native handle made and freed, settings parsed and validated) and 10 million getCredentials()
 * calls. A program that prints figures, not a test with a limit. Run by scripts/leak-check.sh.
 */
public final class LeakCheck {
  private LeakCheck() {
  }

  static long rssKb() throws IOException {
    for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS");
  }

  static int threads() throws IOException {
    for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
      if (line.startsWith("Threads:")) {
        return Integer.parseInt(line.replaceAll("[^0-9]", ""));
      }
    }
    return -1;
  }

  static long settle() throws Exception {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return rssKb();
  }

  static void cycles(Configuration conf, URI uri, int n) {
    for (int i = 0; i < n; i++) {
      RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(uri, conf);
      if (p.getCredentials() == null) {
        throw new IllegalStateException();
      }
      p.close();
    }
  }

  public static void main(String[] args) throws Exception {
    int cycles = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    long calls = args.length > 1 ? Long.parseLong(args[1]) : 10_000_000L;
    LocalAws aws = LocalAws.get();
    Configuration conf = aws.s3aConf("destA", "bench-leak-check");
    URI uri = URI.create("s3a://" + aws.bucket("destA"));

    cycles(conf, uri, 5_000); // warm-up: classes, JIT, the native runtime, malloc arenas, the session
    long base = settle();
    int baseThreads = threads();
    long t0 = System.nanoTime();
    cycles(conf, uri, cycles);
    long cycleMs = (System.nanoTime() - t0) / 1_000_000;
    long afterCycles = settle();
    // A second batch of the same size: a leak grows it again by as much; warm-up does not.
    cycles(conf, uri, cycles);
    long afterSecond = settle();

    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(uri, conf);
    long t1 = System.nanoTime();
    long sink = 0;
    for (long i = 0; i < calls; i++) {
      AWSSessionCredentials c = (AWSSessionCredentials) p.getCredentials();
      sink += c.getAWSAccessKeyId().length();
    }
    long callNs = System.nanoTime() - t1;
    p.close();
    long afterCalls = settle();

    System.out.printf("LEAK-CHECK %,d create/close cycles in %,d ms (%.1f us each): RSS %,d KiB -> %,d KiB (%+,d KiB)%n",
        cycles, cycleMs, cycleMs * 1000.0 / cycles, base, afterCycles, afterCycles - base);
    System.out.printf("LEAK-CHECK another %,d cycles: RSS %,d KiB -> %,d KiB (%+,d KiB)%n",
        cycles, afterCycles, afterSecond, afterSecond - afterCycles);
    System.out.printf("LEAK-CHECK %,d getCredentials() calls in %,d ms (%.1f ns each): RSS %,d KiB -> %,d KiB (%+,d KiB)%n",
        calls, callNs / 1_000_000, (double) callNs / calls, afterSecond, afterCalls, afterCalls - afterSecond);
    System.out.printf("LEAK-CHECK total RSS growth %+,d KiB (goal: under 5 MB); threads %d -> %d (check %d)%n",
        afterCalls - base, baseThreads, threads(), sink % 2);
  }
}
