package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError;
import dev.rolebridge.hadoop.RoleBridgeStsException;
import dev.rolebridge.it.StsFaultProxy.Fault;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;

/**
 * The V2 provider asked through {@code resolveIdentity()}, as SDK v2 async clients ask: a cold or
 * refreshing fetch never holds the calling thread (an event-loop thread), the cached answer is an
 * already-complete future, and failures complete the future as the failure mode has them thrown.
 * The local STS is reached through a proxy that delays its answers, so that a fetch takes long
 * enough to tell "returned at once" from "returned when STS answered" without timing anything.
 */
class AsyncIdentityIT extends ProxiedStsTest {
  private static final long STS_DELAY_MS = 1500;

  private S3AsyncClient s3(RoleBridgeCredentialsProviderV2 provider) {
    return S3AsyncClient.builder()
        .httpClientBuilder(NettyNioAsyncHttpClient.builder())
        .endpointOverride(URI.create(aws.endpoint))
        .forcePathStyle(true)
        .region(Region.of(aws.fixture.get("region").asText()))
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .credentialsProvider(provider)
        // moto's interim "100 Continue" trips the SDK v2 Netty client (see NoExpectContinue)
        .overrideConfiguration(o -> o.addExecutionInterceptor(new NoExpectContinue()))
        .build();
  }

  private static <X extends Throwable> X failureOf(CompletableFuture<?> f, Class<X> c) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
    X x = causeOf(e, c);
    if (x == null) {
      throw new AssertionError("no " + c.getSimpleName() + " in the chain", e);
    }
    return x;
  }

  @Test
  void aColdFetchNeverHoldsTheCallingThreadAndTheCachedAnswerIsComplete() throws Exception {
    proxy.steady(Fault.DELAY).stallFor(STS_DELAY_MS);
    RoleBridgeCredentialsProviderV2 p = new RoleBridgeCredentialsProviderV2(null, viaProxy("it-async-cold"));
    // One thread, as an event loop runs: the second task runs only once the first has returned.
    ExecutorService loop = Executors.newSingleThreadExecutor();
    AtomicReference<CompletableFuture<? extends AwsCredentialsIdentity>> asked = new AtomicReference<>();
    AtomicBoolean doneWhenTheLoopWasFreeAgain = new AtomicBoolean(true);
    loop.submit(() -> asked.set(p.resolveIdentity()));
    loop.submit(() -> doneWhenTheLoopWasFreeAgain.set(asked.get().isDone())).get(30, TimeUnit.SECONDS);
    loop.shutdown();
    assertFalse(doneWhenTheLoopWasFreeAgain.get(),
        "resolveIdentity() returned only when STS had answered (" + STS_DELAY_MS + " ms late): it held the loop");

    AwsCredentialsIdentity first = asked.get().get(30, TimeUnit.SECONDS);
    assertTrue(first instanceof AwsSessionCredentials, first.getClass().getName());
    assertTrue(first.accessKeyId().startsWith("ASIA"), first.accessKeyId());
    CompletableFuture<? extends AwsCredentialsIdentity> cached = p.resolveIdentity();
    assertTrue(cached.isDone(), "cached credentials are an already-complete future");
    assertSame(first, cached.get());
    assertSame(first, p.resolveCredentials(), "the blocking and the async call hand out the same session");
    assertEquals(1, proxy.requests(), "one AssumeRole for both calls");
    p.close();
  }

  @Test
  void anSdkV2AsyncClientWritesAndReadsAsTheRoleWithoutWaitingForStsOnTheCallingThread() throws Exception {
    proxy.steady(Fault.DELAY).stallFor(STS_DELAY_MS);
    RoleBridgeCredentialsProviderV2 p = new RoleBridgeCredentialsProviderV2(null, viaProxy("it-async-s3"));
    String bucket = aws.bucket("destA");
    aws.startRecording();
    List<CompletableFuture<PutObjectResponse>> puts = new ArrayList<>();
    boolean anyDoneAtOnce = false;
    String role;
    try (S3AsyncClient s3 = s3(p)) {
      for (int i = 0; i < 8; i++) {
        CompletableFuture<PutObjectResponse> put = s3.putObject(b -> b.bucket(bucket).key("async/part-" + puts.size()),
            AsyncRequestBody.fromString("written through resolveIdentity()", StandardCharsets.UTF_8));
        anyDoneAtOnce |= put.isDone();
        puts.add(put);
      }
      // Each putObject() returned before STS answered the one cold fetch they all joined.
      assertFalse(anyDoneAtOnce, "a putObject() future was done at once: it waited for STS on the calling thread");
      CompletableFuture.allOf(puts.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
      String read = s3.getObject(b -> b.bucket(bucket).key("async/part-3"), AsyncResponseTransformer.toBytes())
          .get(30, TimeUnit.SECONDS).asUtf8String();
      assertEquals("written through resolveIdentity()", read);
      for (int i = 0; i < puts.size(); i++) {
        String key = "async/part-" + i;
        s3.deleteObject(b -> b.bucket(bucket).key(key)).get(30, TimeUnit.SECONDS);
      }
      role = p.resolveCredentials().accessKeyId();
    } // (closing the client closes the provider it was given)
    List<LocalAws.Request> recorded = aws.stopRecording();
    assertEquals(1, LocalAws.assumeRoleCalls(recorded).size(), "eight cold requests, one AssumeRole");
    List<LocalAws.Request> s3Calls = LocalAws.s3Calls(recorded);
    assertEquals(8 + 1 + 8, s3Calls.size(), "puts, a get, deletes: " + s3Calls);
    for (LocalAws.Request r : s3Calls) {
      assertEquals(role, r.signedBy(), "signed by the destination role: " + r);
    }
  }

  @Test
  void aRefusalCompletesTheFutureAsTheFailureModeHasItThrownAndNothingIsSigned() throws Exception {
    Configuration conf = viaProxy("it-async-denied");
    conf.set("rolebridge.external.id", "wrong-id");
    RoleBridgeCredentialsProviderV2 closed = new RoleBridgeCredentialsProviderV2(null, conf);
    aws.startRecording();
    RoleBridgeCredentialsUnavailableError error =
        failureOf(closed.resolveIdentity(), RoleBridgeCredentialsUnavailableError.class);
    assertEquals("AccessDenied", error.getErrorCode());
    try (S3AsyncClient s3 = s3(closed)) {
      CompletableFuture<PutObjectResponse> put = s3.putObject(b -> b.bucket(aws.bucket("destA")).key("async/denied"),
          AsyncRequestBody.fromString("never", StandardCharsets.UTF_8));
      assertNotNull(failureOf(put, RoleBridgeCredentialsUnavailableError.class));
    }
    closed.close();
    assertEquals(0, LocalAws.s3Calls(aws.stopRecording()).size(), "no S3 request was sent, signed or not");

    conf.set("rolebridge.failure.mode", "open");
    RoleBridgeCredentialsProviderV2 open = new RoleBridgeCredentialsProviderV2(null, conf);
    SdkClientException e = failureOf(open.resolveIdentity(), SdkClientException.class);
    assertEquals("AccessDenied", ((RoleBridgeStsException) e.getCause()).getErrorCode());
    open.close();
  }

  @Test
  void aCallerThatCancelsItsFutureDoesNotCancelTheFetchOthersWaitFor() throws Exception {
    proxy.steady(Fault.DELAY).stallFor(STS_DELAY_MS);
    RoleBridgeCredentialsProviderV2 p = new RoleBridgeCredentialsProviderV2(null, viaProxy("it-async-cancel"));
    CompletableFuture<? extends AwsCredentialsIdentity> gaveUp = p.resolveIdentity();
    CompletableFuture<? extends AwsCredentialsIdentity> waits = p.resolveIdentity();
    assertTrue(gaveUp.cancel(true));
    assertTrue(waits.get(30, TimeUnit.SECONDS).accessKeyId().startsWith("ASIA"));
    assertEquals(1, proxy.requests(), "the two callers joined one fetch, which the cancel left running");
    p.close();
  }

  @Test
  void aClosedProviderAnswersWithAFailedFutureNotAThrow() throws Exception {
    RoleBridgeCredentialsProviderV2 p = new RoleBridgeCredentialsProviderV2(null, viaProxy("it-async-closed"));
    assertTrue(p.resolveIdentity().get(30, TimeUnit.SECONDS).accessKeyId().startsWith("ASIA"));
    p.close();
    CompletableFuture<? extends AwsCredentialsIdentity> f = p.resolveIdentity();
    assertTrue(f.isCompletedExceptionally(), "a closed provider hands out nothing");
    RoleBridgeCredentialsUnavailableError error = failureOf(f, RoleBridgeCredentialsUnavailableError.class);
    assertTrue(error.getMessage().contains("closed"), error.getMessage());
  }
}
