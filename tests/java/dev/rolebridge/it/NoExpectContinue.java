package dev.rolebridge.it;

import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpRequest;

/**
 * Test-only S3A 3.4 execution interceptor ({@code fs.s3a.audit.execution.interceptors}) that drops
 * {@code Expect: 100-continue}. The local S3 (moto's server) answers it with an interim
 * {@code 100 Continue}, which the SDK v2 2.24 Netty client that S3A 3.4.1's transfer manager uses
 * takes for the final response: every PutObject and UploadPart it sends (copyFromLocalFile) then
 * fails with "Status Code: 100" or "Duplicate handler name: HttpStreamsClientHandler#0-body-subscriber",
 * with the SDK v2 bundle and with the separate modules alike. Real S3 is not affected. Signing is:
 * the header is dropped before the request is signed.
 */
public final class NoExpectContinue implements ExecutionInterceptor {
  @Override
  public SdkHttpRequest modifyHttpRequest(Context.ModifyHttpRequest context, ExecutionAttributes attributes) {
    SdkHttpRequest request = context.httpRequest();
    return request.firstMatchingHeader("Expect").isPresent()
        ? request.toBuilder().removeHeader("Expect").build() : request;
  }
}
