package dev.rolebridge.it;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.hadoop.conf.Configuration;

/**
 * Run by ClockStepIT in a JVM whose wall clock is libfaketime's (LD_PRELOAD, the offset read from
 * a file at each clock call, the monotonic clock left alone), against a local STS on the same
 * faked clock: what a host suspend looks like from inside (the wall clock moves on, the monotonic
 * clock did not). With a 1 h session and the default 5 min refresh-ahead, it
 * <ol>
 *   <li>gets credentials ("K1 key");
 *   <li>steps the wall clock 56 min forward (past the ask-again time, before expiry) and calls
 *       every 50 ms until the key changes ("ASK-AGAIN new after N ms", or "ASK-AGAIN stale for 10 s");
 *   <li>steps it 3 h forward (past the expiry of every session so far) and calls once
 *       ("EXPIRED new" or "EXPIRED stale").
 * </ol>
 * Arguments: stsEndpoint roleArn externalId bucket offsetFile.
 */
public final class ClockStepProbe {
  private ClockStepProbe() {
  }

  public static void main(String[] args) throws Exception {
    Configuration conf = new Configuration();
    conf.set("rolebridge.sts.endpoint", args[0]);
    conf.set("rolebridge.sts.region", "us-east-1");
    conf.set("rolebridge.role.arn", args[1]);
    conf.set("rolebridge.external.id", args[2]);
    conf.set("rolebridge.session.name", "it-clock-step");
    conf.set("rolebridge.session.duration", "1h");
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://" + args[3] + "/"), conf);
    String k1 = p.getCredentials().getAWSAccessKeyId();
    System.out.println("K1 " + k1);
    for (int i = 0; i < 100; i++) {
      p.getCredentials(); // the hot path, warm
    }

    step(args[4], "+56m");
    long t0 = System.nanoTime();
    String k2 = k1;
    while (k2.equals(k1) && System.nanoTime() - t0 < 10_000_000_000L) {
      k2 = p.getCredentials().getAWSAccessKeyId();
      if (k2.equals(k1)) {
        Thread.sleep(50);
      }
    }
    System.out.println(k2.equals(k1) ? "ASK-AGAIN stale for 10 s"
        : "ASK-AGAIN new after " + (System.nanoTime() - t0) / 1_000_000 + " ms");

    step(args[4], "+3h");
    String k3 = p.getCredentials().getAWSAccessKeyId();
    System.out.println(k3.equals(k2) || k3.equals(k1) ? "EXPIRED stale" : "EXPIRED new");
    p.close();
  }

  /** Sets the faked wall clock to the real one plus {@code offset} (libfaketime's syntax). */
  private static void step(String file, String offset) throws Exception {
    long before = System.currentTimeMillis();
    Files.write(Paths.get(file + ".tmp"), (offset + "\n").getBytes(StandardCharsets.UTF_8));
    Files.move(Paths.get(file + ".tmp"), Paths.get(file), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    System.out.println("STEP " + offset + " wall clock moved " + (System.currentTimeMillis() - before) / 60_000 + " min");
  }
}
