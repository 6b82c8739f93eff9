package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import dev.rolebridge.hadoop.RoleBridgeStsException;
import dev.rolebridge.it.StsFaultProxy.Fault;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;

/**
 * STS faults injected by a proxy between the provider and the local STS. Each test prints one
 * "FAULT-MATRIX" line with what happened, for the record.
 */
class FaultIT extends ProxiedStsTest {
  private Configuration conf(String session) {
    return viaProxy(session);
  }

  private static void matrix(String line) {
    System.out.println("FAULT-MATRIX " + line);
  }

  private static RoleBridgeStsException stsCause(Throwable t) {
    RoleBridgeStsException sts = causeOf(t, RoleBridgeStsException.class);
    if (sts == null) {
      throw new AssertionError("no RoleBridgeStsException in the chain", t);
    }
    return sts;
  }

  /** The Error a provider with {@code conf} fails with, and how long its first call took. */
  private static final class TimedFailure {
    final RoleBridgeCredentialsUnavailableError error;
    final RoleBridgeStsException sts;
    final long ms;

    TimedFailure(Configuration conf) {
      RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(conf);
      long t0 = System.nanoTime();
      error = assertThrows(RoleBridgeCredentialsUnavailableError.class, p::getCredentials);
      ms = (System.nanoTime() - t0) / 1_000_000;
      p.close();
      sts = stsCause(error);
    }
  }

  private void retriedThenServed(String session, Fault... faults) throws Exception {
    proxy.next(faults);
    aws.startRecording();
    long t0 = System.nanoTime();
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(conf(session));
    String key = p.getCredentials().getAWSAccessKeyId();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    p.close();
    assertTrue(key.startsWith("ASIA"));
    assertEquals(faults.length + 1, proxy.requests(), "each fault retried once more: " + proxy.applied());
    assertEquals(1, LocalAws.assumeRoleCalls(aws.stopRecording()).size(), "STS itself saw one AssumeRole");
    matrix(java.util.Arrays.toString(faults) + " then pass: served after " + proxy.requests()
        + " attempts in " + ms + " ms");
  }

  @Test
  void throttlingIsRetriedWithBackoff() throws Exception {
    retriedThenServed("it-fault-throttle", Fault.THROTTLE, Fault.THROTTLE);
  }

  @Test
  void serverErrorsAreRetried() throws Exception {
    retriedThenServed("it-fault-5xx", Fault.E500, Fault.E503);
  }

  @Test
  void resetConnectionsAreRetried() throws Exception {
    retriedThenServed("it-fault-reset", Fault.RESET, Fault.RESET);
  }

  @Test
  void persistentThrottlingEndsInAClearRetryableError() throws Exception {
    proxy.steady(Fault.THROTTLE);
    Configuration conf = conf("it-fault-throttle-forever");
    conf.set("rolebridge.sts.timeout", "20s");
    TimedFailure f = new TimedFailure(conf);
    assertEquals("Throttling", f.sts.getErrorCode());
    assertTrue(f.sts.isRetryable());
    assertTrue(f.error.getMessage().contains("Rate exceeded"), f.error.getMessage());
    assertEquals(3, proxy.requests(), "the SDK's standard retry: 3 attempts");
    matrix("throttling on every attempt: Error after " + proxy.requests() + " attempts in " + f.ms + " ms, code "
        + f.sts.getErrorCode() + ", retryable");
  }

  @Test
  void aStalledStsFailsWithinTheConfiguredBound() throws Exception {
    proxy.steady(Fault.STALL).stallFor(20_000);
    Configuration conf = conf("it-fault-stall");
    conf.set("rolebridge.sts.timeout", "2s");
    TimedFailure f = new TimedFailure(conf);
    assertTrue(f.sts.isRetryable());
    assertTrue(f.error.getMessage().contains("rolebridge.sts.timeout"), f.error.getMessage());
    assertTrue(f.ms < 2_000 + 2_000, "within rolebridge.sts.timeout (2s) plus the 2s hand-over slack: " + f.ms + " ms");
    matrix("STS stalls 20 s, sts.timeout=2s: Error after " + f.ms + " ms (" + proxy.requests() + " attempts), code "
        + f.sts.getErrorCode());
  }

  @Test
  void aClosedPortFailsFast() throws Exception {
    int dead;
    try (ServerSocket s = new ServerSocket(0)) {
      dead = s.getLocalPort();
    }
    Configuration conf = conf("it-fault-closed-port");
    conf.set("rolebridge.sts.endpoint", "http://127.0.0.1:" + dead);
    conf.set("rolebridge.sts.timeout", "5s");
    TimedFailure f = new TimedFailure(conf);
    assertEquals("NetworkError", f.sts.getErrorCode());
    assertTrue(f.error.getMessage().contains("127.0.0.1:" + dead), f.error.getMessage());
    assertTrue(f.ms < 5_000 + 2_000, f.ms + " ms");
    matrix("closed port: Error after " + f.ms + " ms, code NetworkError");
  }

  @Test
  void theCachedSessionIsServedWhileStsFailsAndAFreshOneArrivesWhenItRecovers() throws Exception {
    Configuration conf = conf("it-fault-outage");
    conf.set("rolebridge.session.duration", "15m");
    conf.set("rolebridge.refresh.ahead", "895s"); // refresh 5 s after each session arrives
    RoleBridgeCredentialsProviderV2 p = new RoleBridgeCredentialsProviderV2(null, conf);
    AwsSessionCredentials first = (AwsSessionCredentials) p.resolveCredentials();
    proxy.steady(Fault.E503);

    // 12 s of outage, 4 threads asking all the time: always the cached session, never an error.
    AtomicInteger served = new AtomicInteger();
    AtomicReference<Throwable> failure = new AtomicReference<Throwable>();
    long outageEnd = System.nanoTime() + Duration.ofSeconds(12).toNanos();
    List<Thread> threads = new ArrayList<Thread>();
    for (int i = 0; i < 4; i++) {
      Thread t = new Thread(() -> {
        while (System.nanoTime() < outageEnd && failure.get() == null) {
          try {
            AwsSessionCredentials c = (AwsSessionCredentials) p.resolveCredentials();
            if (!c.accessKeyId().equals(first.accessKeyId())) {
              failure.set(new AssertionError("a new session while STS is down?"));
            }
            served.incrementAndGet();
          } catch (Throwable e) {
            failure.set(e);
          }
        }
      });
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    assertEquals(null, failure.get());
    int attemptsDuringOutage = proxy.requests();
    assertTrue(attemptsDuringOutage >= 3, "the background refresh kept trying: " + attemptsDuringOutage);

    // STS recovers: a fresh session arrives within one backoff period (at most 30 s).
    proxy.steady(Fault.PASS);
    long t0 = System.nanoTime();
    AwsSessionCredentials fresh = first;
    while (fresh.accessKeyId().equals(first.accessKeyId()) && System.nanoTime() - t0 < Duration.ofSeconds(35).toNanos()) {
      Thread.sleep(50);
      fresh = (AwsSessionCredentials) p.resolveCredentials();
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    p.close();
    assertNotEquals(first.accessKeyId(), fresh.accessKeyId(), "a fresh session after recovery");
    matrix("503 on every attempt for 12 s with a valid session cached: " + served.get()
        + " calls all served the cached session, " + attemptsDuringOutage + " refresh attempts; after recovery"
        + " a fresh session in " + ms + " ms");
  }

  @Test
  void neverHandsOutCredentialsWithinAMinuteOfExpiry() throws Exception {
    // The session STS hands out first expires in 75 s; then STS fails. Both are set before the
    // first call: a 75 s session is already due for a refresh, which that call starts, and which
    // must not reach STS before it fails.
    proxy.expireSessionsIn(75).next(Fault.PASS).steady(Fault.E503);
    Configuration conf = conf("it-fault-expiry");
    conf.set("rolebridge.sts.timeout", "2s");
    RoleBridgeCredentialsProviderV2 p = new RoleBridgeCredentialsProviderV2(null, conf);
    AwsSessionCredentials first = (AwsSessionCredentials) p.resolveCredentials();
    Instant expiry = first.expirationTime().get();

    int served = 0;
    int refused = 0;
    Instant lastServed = null;
    Instant firstRefused = null;
    while (Instant.now().isBefore(expiry.minusSeconds(55))) {
      try {
        AwsSessionCredentials c = (AwsSessionCredentials) p.resolveCredentials();
        Instant now = Instant.now();
        assertTrue(Duration.between(now, c.expirationTime().get()).getSeconds() >= 60,
            "handed out within a minute of expiry: " + c.expirationTime().get() + " at " + now);
        served++;
        lastServed = now;
      } catch (RoleBridgeCredentialsUnavailableError e) {
        refused++;
        if (firstRefused == null) {
          firstRefused = Instant.now();
        }
      }
      Thread.sleep(100);
    }
    assertTrue(served > 0 && refused > 0, "served " + served + ", refused " + refused);
    assertTrue(!firstRefused.isBefore(expiry.minusSeconds(61)), "refused only from a minute before expiry");

    proxy.expireSessionsIn(-1).steady(Fault.PASS);
    long t0 = System.nanoTime();
    AwsSessionCredentials fresh = null;
    while (fresh == null && System.nanoTime() - t0 < Duration.ofSeconds(35).toNanos()) {
      try {
        fresh = (AwsSessionCredentials) p.resolveCredentials();
      } catch (RoleBridgeCredentialsUnavailableError stillBackingOff) {
        Thread.sleep(100);
      }
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    p.close();
    assertTrue(fresh != null && !fresh.accessKeyId().equals(first.accessKeyId()));
    matrix("session expiring in 75 s, then 503s: served " + served + " times until "
        + Duration.between(lastServed, expiry).getSeconds() + " s before expiry, refused " + refused
        + " times from " + Duration.between(firstRefused, expiry).getSeconds()
        + " s before expiry; after recovery a fresh session in " + ms + " ms");
  }
}
