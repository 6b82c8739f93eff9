package dev.rolebridge.hadoop;

/**
 * What JMX shows of one rolebridge session: an MBean {@code dev.rolebridge:type=Session,role=...,
 * session=...,instance=N} per native session (one set of settings) of a class loader, registered
 * while some provider of it is open. Counts are since the library was loaded; nothing here is a
 * secret. docs/operations.md describes each attribute.
 */
public interface RoleBridgeSessionMBean {
  /** The role the session assumes (the last of a chain). */
  String getRole();

  String getSessionName();

  /** AssumeRole calls that returned a session (each role of a chain counts). */
  long getAssumeRoleSucceeded();

  /** AssumeRole calls that failed: refused, throttled to the end of the SDK's retries, unreachable. */
  long getAssumeRoleFailed();

  /** AssumeRole attempts that STS turned away as throttled (the SDK may have retried them). */
  long getAssumeRoleThrottled();

  /** Milliseconds the last AssumeRole call took, retries included. */
  long getStsLatencyLastMillis();

  /** Median STS latency in milliseconds: the upper bound of its histogram bucket; -1 before any call. */
  long getStsLatencyP50Millis();

  long getStsLatencyP90Millis();

  long getStsLatencyP99Millis();

  /** Upper bounds (ms) of the latency histogram's buckets; one more bucket counts the rest. */
  long[] getStsLatencyBucketBoundsMillis();

  /** AssumeRole calls per latency bucket. */
  long[] getStsLatencyBucketCounts();

  /** Credentials handed out from memory, without waiting for a fetch (the JVM's and the library's). */
  long getAnswersFromMemory();

  /** Fetches answered from the node cache (rolebridge.cache.dir) without an STS call. */
  long getAnswersFromNodeCache();

  /** Fetches that called STS. */
  long getStsFetches();

  /** Callers (threads or async requests) that waited for a fetch. */
  long getCallersThatWaited();

  /** Errors handed out in rolebridge.failure.mode=closed (RoleBridgeCredentialsUnavailableError). */
  long getRefusalsFailureModeClosed();

  /** Seconds until the current session expires; -1 without one. */
  long getSecondsToExpiry();

  /** Seconds since this process got its current session; -1 without one. */
  long getSessionAgeSeconds();

  /** The code of the last error (STS's, or NetworkError, Timeout, ...); empty if none. */
  String getLastErrorCode();

  /** When the last error happened (ISO 8601, UTC); empty if none. */
  String getLastErrorTime();

  /** Providers of this session open in this class loader. */
  int getProviders();
}
