package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.it.StsFaultProxy.Fault;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/**
 * Issue 9, hole 10: a Spark task kill interrupts the task thread. A caller waiting for STS returns
 * promptly when interrupted, with an exception and its interrupt flag kept, and the fetch goes on
 * for the other callers; close() does not wait for calls in flight. STS is slowed by the fault
 * proxy: each AssumeRole answered after 4 s.
 */
class InterruptIT extends ProxiedStsTest {
  private static final long STS_DELAY_MS = 4_000;

  private RoleBridgeCredentialsProvider slowProvider(String session) {
    proxy.steady(Fault.DELAY).stallFor(STS_DELAY_MS);
    Configuration conf = viaProxy(session);
    conf.set("rolebridge.sts.timeout", "20s");
    return new RoleBridgeCredentialsProvider(URI.create("s3a://" + aws.bucket("destA") + "/"), conf);
  }

  /** Runs getCredentials() on a thread of its own: its result (key or throwable) and its interrupt flag after. */
  private static final class Caller extends Thread {
    final AtomicReference<Object> result = new AtomicReference<Object>();
    volatile boolean interruptedAfter;
    volatile long returnedAtNanos;
    private final RoleBridgeCredentialsProvider p;

    Caller(RoleBridgeCredentialsProvider p, String name) {
      super(name);
      this.p = p;
      setDaemon(true);
    }

    @Override
    public void run() {
      try {
        result.set(p.getCredentials().getAWSAccessKeyId());
      } catch (Throwable t) {
        result.set(t);
      }
      returnedAtNanos = System.nanoTime();
      interruptedAfter = Thread.currentThread().isInterrupted();
    }
  }

  @Test
  void anInterruptedCallerReturnsAtOnceAndTheFetchGoesOnForTheOthers() throws Exception {
    RoleBridgeCredentialsProvider p = slowProvider("it-interrupt");
    try {
      Caller killed = new Caller(p, "task-killed");
      Caller other = new Caller(p, "task-other");
      long t0 = System.nanoTime();
      killed.start();
      other.start();
      Thread.sleep(300);
      long interruptAt = System.nanoTime();
      killed.interrupt();
      killed.join(10_000);
      long returnedMs = (killed.returnedAtNanos - interruptAt) / 1_000_000;
      Object r = killed.result.get();
      assertTrue(r instanceof Throwable, "the interrupted caller got no credentials: " + r);
      assertTrue(returnedMs < 1_000, "returned promptly after the interrupt, not after STS's 4 s: " + returnedMs + " ms");
      assertTrue(killed.interruptedAfter, "the interrupt flag is kept");
      assertTrue(NegativeIT.chain((Throwable) r).contains("interrupted"), NegativeIT.chain((Throwable) r));

      other.join(20_000);
      assertTrue(other.result.get() instanceof String, "the other caller got credentials: " + other.result.get());
      assertEquals(1, proxy.requests(), "one AssumeRole for both: the interrupt did not end or repeat the fetch");
      System.out.println("INTERRUPT returned " + returnedMs + " ms after the interrupt; the other caller served after "
          + (other.returnedAtNanos - t0) / 1_000_000 + " ms");
    } finally {
      p.close();
    }
  }

  @Test
  void closeDoesNotWaitForACallInFlight() throws Exception {
    RoleBridgeCredentialsProvider p = slowProvider("it-close-in-flight");
    Caller caller = new Caller(p, "in-flight");
    caller.start();
    Thread.sleep(300);
    long t0 = System.nanoTime();
    CompletableFuture<Void> closing = CompletableFuture.runAsync(p::close);
    closing.get(20, TimeUnit.SECONDS);
    long closeMs = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(closeMs < 1_000, "close() returned without waiting for STS's 4 s: " + closeMs + " ms");
    caller.join(20_000);
    assertNotNull(caller.result.get(), "the call in flight ended");
    Throwable after = null;
    try {
      p.getCredentials();
    } catch (Throwable t) {
      after = t;
    }
    assertNotNull(after, "a closed provider hands out nothing");
    System.out.println("CLOSE in flight: close() took " + closeMs + " ms; the call in flight ended with "
        + (caller.result.get() instanceof String ? "credentials" : caller.result.get().getClass().getSimpleName()));
  }
}
