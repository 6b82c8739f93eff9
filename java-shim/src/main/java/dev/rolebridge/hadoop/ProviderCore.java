package dev.rolebridge.hadoop;

import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.security.UserGroupInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the SDK v1 and v2 providers share: the native handle, and the current immutable credentials
 * with the time at which to ask the native cache again. The steady-state {@link #get()} is one
 * volatile read: it neither reads the clock (about 25 ns, 15 times the read) nor crosses JNI. A
 * single daemon thread per class loader ({@code rolebridge-expiry}) clears the current credentials at their
 * ask-again time, which the native cache sets no later than one minute before expiry; the next
 * call then asks the native cache.
 *
 * @param <T> the SDK's credentials type
 */
final class ProviderCore<T> implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(ProviderCore.class);

  /** What differs between the SDKs: their credentials object, and their exception for mode open. */
  interface Converter<T> {
    T convert(NativeSession session);

    /** The exception a provider chain of this SDK expects from a failed provider (mode open). */
    RuntimeException whenOpen(RuntimeException failure);
  }

  /**
   * Clears current credentials at their ask-again time: one daemon thread, started when a clearing
   * is scheduled and ended {@value #EXPIRY_IDLE_SECONDS} s after the last one ran or was cancelled.
   * So once every provider of this class loader is closed, no thread of ours is left to keep the
   * loader (Spark's, Hive's, a notebook's) and its native library alive; and the thread has no
   * context class loader of its own, so it pins no other loader while it runs.
   */
  private static ScheduledThreadPoolExecutor expiry;
  static final int EXPIRY_IDLE_SECONDS = 5;

  private static synchronized ScheduledThreadPoolExecutor expiry() {
    if (expiry == null) {
      ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "rolebridge-expiry");
        t.setDaemon(true);
        t.setContextClassLoader(null);
        return t;
      });
      e.setRemoveOnCancelPolicy(true);
      // The last worker of a ThreadPoolExecutor times out only while its queue is empty, so the
      // thread lives exactly as long as some clearing is pending (plus the idle time).
      e.setKeepAliveTime(EXPIRY_IDLE_SECONDS, TimeUnit.SECONDS);
      e.allowCoreThreadTimeOut(true);
      expiry = e;
    }
    return expiry;
  }

  @SuppressWarnings("rawtypes")
  private static final AtomicReferenceFieldUpdater<ProviderCore, Object> CURRENT =
      AtomicReferenceFieldUpdater.newUpdater(ProviderCore.class, Object.class, "current");

  private final long handle;
  private final Converter<T> converter;
  private final String description;
  private final boolean failsOpen;
  private final AtomicBoolean closed = new AtomicBoolean();
  // Native calls hold the read lock; close() takes the write lock, so the handle is never freed
  // while a call is using it.
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  /** The credentials to hand out, or null when the native cache must be asked. */
  private volatile Object current;
  /** The last credentials installed and their access key ID, to reuse for the same session; guarded by this. */
  private T lastCredentials;
  private String lastAccessKeyId;
  private ScheduledFuture<?> clearing;

  private ProviderCore(long handle, Converter<T> converter, String description, boolean failsOpen) {
    this.handle = handle;
    this.converter = converter;
    this.description = description;
    this.failsOpen = failsOpen;
  }

  /**
   * Validates the settings in {@code conf} for the bucket of {@code uri} and attaches to the
   * process-wide session cache. Makes no network call. {@code constructedBy} says how the host made
   * the provider, for the message when per-bucket settings cannot apply.
   *
   * @throws RoleBridgeConfigException if a setting is invalid, or per-bucket settings are set and
   *     the provider has no bucket
   */
  static <T> ProviderCore<T> open(URI uri, Configuration conf, Converter<T> converter, String constructedBy) {
    if (conf == null) {
      throw new IllegalArgumentException("rolebridge: the Hadoop Configuration is null");
    }
    String bucket = uri == null ? null : uri.getHost();
    String[] settings = collectSettings(conf, bucket);
    if (bucket == null) {
      refuseBucketSettings(settings, constructedBy);
    }
    NativeLoader.ensureLoaded();
    long handle = NativeBridge.open(bucket, hadoopUser(), settings);
    String description = NativeBridge.describe(handle);
    LOG.debug("rolebridge provider for bucket {}: {}", bucket, description);
    return new ProviderCore<T>(handle, converter, description, NativeBridge.failsOpen(handle));
  }

  /** A provider without a bucket cannot apply rolebridge.bucket.* settings: refuse rather than ignore them. */
  private static void refuseBucketSettings(String[] keysAndValues, String constructedBy) {
    String first = null;
    for (int i = 0; i < keysAndValues.length; i += 2) {
      String key = keysAndValues[i];
      if (key.startsWith(RoleBridgeConstants.BUCKET_PREFIX) && (first == null || key.compareTo(first) < 0)) {
        first = key;
      }
    }
    if (first != null) {
      throw new RoleBridgeConfigException(first, first + ": "
          + String.format(RoleBridgeConstants.E_NO_BUCKET, constructedBy));
    }
  }


  /** The keys that may matter, with values as Configuration.get() expands them. */
  static String[] collectSettings(Configuration conf, String bucket) {
    String s3aBucketPrefix = bucket == null ? null : "fs.s3a.bucket." + bucket + ".assumed.role.";
    List<String> kv = new ArrayList<String>();
    for (Map.Entry<String, String> e : conf) {
      String key = e.getKey();
      boolean s3a = key.startsWith(RoleBridgeConstants.S3A_ASSUMED_ROLE_PREFIX)
          || (s3aBucketPrefix != null && key.startsWith(s3aBucketPrefix));
      if (!key.startsWith(RoleBridgeConstants.PREFIX) && !s3a) {
        continue;
      }
      // Hadoop's core-default.xml sets some fs.s3a.assumed.role.* keys (session.duration=30m);
      // only values a user set stand in for rolebridge's own defaults.
      if (s3a && onlyFromDefaults(conf, key)) {
        continue;
      }
      String value = conf.get(key);
      if (value != null) {
        kv.add(key);
        kv.add(value);
      }
    }
    return kv.toArray(new String[0]);
  }

  private static boolean onlyFromDefaults(Configuration conf, String key) {
    String[] sources = conf.getPropertySources(key);
    if (sources == null || sources.length == 0) {
      return false;
    }
    for (String s : sources) {
      if (!s.endsWith("-default.xml")) {
        return false;
      }
    }
    return true;
  }

  static String hadoopUser() {
    try {
      return UserGroupInformation.getCurrentUser().getShortUserName();
    } catch (IOException | RuntimeException e) {
      return System.getProperty("user.name");
    }
  }

  /** Current credentials; crosses JNI only when the native cache has to be asked again. */
  @SuppressWarnings("unchecked")
  T get() {
    Object c = current;
    if (c != null) {
      return (T) c;
    }
    return fetch(false);
  }

  /** New credentials from a new session. */
  T refresh() {
    return fetch(true);
  }

  private T fetch(boolean force) {
    lock.readLock().lock();
    try {
      if (closed.get()) {
        throw new IllegalStateException(RoleBridgeConstants.E_CLOSED + ": " + description);
      }
      NativeSession ns = force ? NativeBridge.refresh(handle) : NativeBridge.credentials(handle);
      return install(ns);
    } catch (RuntimeException e) {
      // The one place the failure mode is applied, to every failure at call time: STS's, a
      // setting found wrong only now (no region), a closed provider, a bug.
      throw failed(e);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** A failure to produce credentials, as the failure mode has it thrown. */
  private RuntimeException failed(RuntimeException e) {
    if (failsOpen) {
      return converter.whenOpen(e);
    }
    throw unavailable(description, e);
  }

  /**
   * Makes the credentials of {@code ns} current until its ask-again time, and returns them. A
   * provider closed while the native call ran returns them to this caller only: close() has
   * already cleared {@code current}, and it stays clear.
   */
  private synchronized T install(NativeSession ns) {
    final T credentials;
    if (!ns.accessKeyId.equals(lastAccessKeyId)) {
      LOG.debug("rolebridge: session {} for {}", ns, description);
      credentials = converter.convert(ns);
      lastCredentials = credentials;
      lastAccessKeyId = ns.accessKeyId;
    } else {
      credentials = lastCredentials;
    }
    if (closed.get()) {
      return credentials;
    }
    if (clearing != null) {
      clearing.cancel(false);
    }
    current = credentials;
    long delay = ns.askAgainAtMillis - System.currentTimeMillis();
    if (delay <= 0) {
      CURRENT.compareAndSet(this, credentials, null);
      clearing = null;
    } else {
      clearing = expiry().schedule(() -> CURRENT.compareAndSet(this, credentials, null), delay, TimeUnit.MILLISECONDS);
    }
    return credentials;
  }

  String description() {
    return description;
  }

  /** The failure to throw in failure mode closed: an Error, which provider chains do not catch. */
  static RoleBridgeCredentialsUnavailableError unavailable(String description, RuntimeException cause) {
    LOG.warn("rolebridge: no credentials for {}: {}", description, cause.getMessage());
    return new RoleBridgeCredentialsUnavailableError("rolebridge: no credentials for " + description + ": "
        + cause.getMessage() + " [rolebridge.failure.mode=closed: thrown as an Error so that no credential"
        + " provider chain falls back to another identity; set rolebridge.failure.mode=open to allow that]",
        cause);
  }

  /** Releases the native handle. Idempotent; never throws. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      synchronized (this) {
        if (clearing != null) {
          clearing.cancel(false);
        }
        current = null; // a closed provider hands out nothing, not even the last credentials
      }
      lock.writeLock().lock();
      try {
        NativeBridge.close(handle);
      } catch (RuntimeException e) {
        LOG.debug("rolebridge: close failed", e);
      } finally {
        lock.writeLock().unlock();
      }
    }
  }
}
