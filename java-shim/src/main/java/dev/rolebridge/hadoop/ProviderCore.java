package dev.rolebridge.hadoop;

import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.security.Groups;
import org.apache.hadoop.security.UserGroupInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the SDK v1 and v2 providers share: the native handle, and the current immutable credentials
 * with the wall-clock time at which to ask the native cache again. The steady-state {@link #get()}
 * is two volatile reads, one read of the wall clock ({@code System.currentTimeMillis()}) and one
 * count in the calling thread's own cell ({@link Metrics.Counts#hit()}, no shared write): it
 * never crosses JNI, and it never hands out credentials past their ask-again time by the wall
 * clock, whatever the clocks did (a step forward, a host suspend during which the monotonic clock
 * stood still). The native cache sets the ask-again time no later than one minute before expiry.
 *
 * <p>Calls into native code that may wait (for STS) run on a {@code rolebridge-fetch} thread, one
 * fetch per provider at a time that every caller of the provider joins; callers wait for it
 * interruptibly, so an interrupted caller (a killed Spark task) returns at once and the fetch goes
 * on for the others. {@link #close()} never waits: the handle is released by the last call in
 * flight.
 *
 * <p>Providers of one native session (one entry of the native cache: same role, settings and
 * source) share a {@link Session}: a forced {@link #refresh()} bumps its generation, and every
 * provider of the session then asks the native cache again at its next call.
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
   * The threads that call into native code for a fetch: made when needed, ended
   * {@value #FETCH_IDLE_SECONDS} s after their last fetch, so that once every provider of this class
   * loader is idle or closed no thread of ours is left to keep the loader (Spark's, Hive's, a
   * notebook's) and its native library alive; they have no context class loader, so they pin no
   * other loader while they run.
   */
  static final int FETCH_IDLE_SECONDS = 5;
  private static final ThreadPoolExecutor FETCHERS = new ThreadPoolExecutor(0, Integer.MAX_VALUE,
      FETCH_IDLE_SECONDS, TimeUnit.SECONDS, new SynchronousQueue<Runnable>(), r -> {
        Thread t = new Thread(r, "rolebridge-fetch");
        t.setDaemon(true);
        t.setContextClassLoader(null);
        return t;
      });

  /**
   * What the providers of one native session share: the generation a forced refresh bumps, the
   * session's names and the JVM's counts of it ({@link Metrics}).
   */
  static final class Session {
    volatile long generation;
    final long id;
    final String role;
    final String name;
    final Metrics.Counts counts = new Metrics.Counts();
    /** Guarded by Metrics: open providers of this session, and its MBean's name while registered. */
    int providers;
    javax.management.ObjectName objectName;

    Session(long id, String role, String name) {
      this.id = id;
      this.role = role;
      this.name = name;
    }
  }

  /** Sessions by native session id; a session lives while some provider of it does. */
  private static final Map<Long, WeakReference<Session>> SESSIONS = new HashMap<Long, WeakReference<Session>>();

  private static Session session(long id, long handle) {
    synchronized (SESSIONS) {
      WeakReference<Session> ref = SESSIONS.get(id);
      Session s = ref == null ? null : ref.get();
      if (s == null) {
        for (Iterator<WeakReference<Session>> it = SESSIONS.values().iterator(); it.hasNext();) {
          if (it.next().get() == null) {
            it.remove();
          }
        }
        String[] labels = NativeBridge.labels(handle);
        s = new Session(id, labels[0], labels[1]);
        SESSIONS.put(id, new WeakReference<Session>(s));
      }
      return s;
    }
  }

  /** Credentials handed out until {@code askAgainAtMillis} (wall clock), while the session's generation is {@code generation}. */
  private static final class Current<T> {
    final T credentials;
    final long askAgainAtMillis;
    final long generation;

    Current(T credentials, long askAgainAtMillis, long generation) {
      this.credentials = credentials;
      this.askAgainAtMillis = askAgainAtMillis;
      this.generation = generation;
    }
  }

  private final long handle;
  private final Converter<T> converter;
  private final String description;
  private final boolean failsOpen;
  private final Session session;
  /** This provider as {@link Metrics} follows it until it is closed or collected. */
  private volatile Metrics.Open open;
  /** The credentials to hand out, or null when the native cache must be asked. */
  private volatile Current<T> current;
  // Guarded by this: the last credentials made and their access key ID (reused for the same
  // session); the fetches under way; native calls in flight, and whether the handle is released.
  private T lastCredentials;
  private String lastAccessKeyId;
  private CompletableFuture<T> fetching;
  private CompletableFuture<T> refreshing;
  private int calls;
  /** Callers of the fetch under way and of the refresh under way (its starter and joiners). */
  private int fetchCallers;
  private int refreshCallers;
  private boolean closed;
  private boolean released;

  private ProviderCore(long handle, Converter<T> converter, String description, boolean failsOpen, Session session) {
    this.handle = handle;
    this.converter = converter;
    this.description = description;
    this.failsOpen = failsOpen;
    this.session = session;
  }

  /**
   * Validates the settings in {@code conf} for the bucket of {@code uri} and attaches to the
   * process-wide session cache. Makes no network call. {@code constructedBy} says how the host made
   * the provider, for the message when per-bucket settings cannot apply.
   *
   * @throws RoleBridgeConfigException if a setting is invalid, or per-bucket settings are set and
   *     the provider has no bucket, or the Hadoop user cannot be had, or group settings are set and
   *     the user's groups cannot be had
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
    String library = NativeLoader.ensureLoaded();
    announce(library);
    UserGroupInformation ugi = currentUser();
    long handle = NativeBridge.open(bucket, ugi.getShortUserName(), groups(ugi, conf, settings), settings);
    String description = NativeBridge.describe(handle);
    LOG.debug("rolebridge provider for bucket {}: {}", bucket, description);
    Session session = session(NativeBridge.sessionId(handle), handle);
    ProviderCore<T> core = new ProviderCore<T>(handle, converter, description, NativeBridge.failsOpen(handle), session);
    core.open = Metrics.opened(core, session, handle);
    return core;
  }

  private static boolean announced;

  /**
   * Once per class loader, at INFO: the version, the jar the classes came from and the library
   * loaded, so that a node's or a container's log says which rolebridge served it (a jar YARN
   * localised, one in auxlib/, an older copy elsewhere on the class path).
   */
  private static synchronized void announce(String library) {
    if (announced) {
      return;
    }
    announced = true;
    String jar;
    try {
      java.security.CodeSource source = ProviderCore.class.getProtectionDomain().getCodeSource();
      jar = source == null || source.getLocation() == null ? "an unknown location" : source.getLocation().toString();
    } catch (SecurityException e) {
      jar = "an unknown location (" + e.getMessage() + ")";
    }
    LOG.info("rolebridge {} from {}; native library {}", BuildInfo.VERSION, jar, library);
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
    String s3aBucketProxyPrefix = bucket == null ? null : "fs.s3a.bucket." + bucket + ".proxy.";
    List<String> kv = new ArrayList<String>();
    java.util.Set<String> secretKeys = new java.util.HashSet<String>();
    for (String part : RoleBridgeConstants.S3A_PROXY_SECRET_PARTS) {
      secretKeys.add(RoleBridgeConstants.S3A_PROXY_PREFIX + part);
      if (s3aBucketProxyPrefix != null) {
        secretKeys.add(s3aBucketProxyPrefix + part);
      }
    }
    for (Map.Entry<String, String> e : conf) {
      String key = e.getKey();
      boolean s3a = key.startsWith(RoleBridgeConstants.S3A_ASSUMED_ROLE_PREFIX)
          || key.startsWith(RoleBridgeConstants.S3A_PROXY_PREFIX)
          || (s3aBucketPrefix != null && key.startsWith(s3aBucketPrefix))
          || (s3aBucketProxyPrefix != null && key.startsWith(s3aBucketProxyPrefix));
      if (!key.startsWith(RoleBridgeConstants.PREFIX) && !s3a) {
        continue;
      }
      if (secretKeys.contains(key)) {
        continue; // read below, through the credential providers as S3A reads them
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
    // The proxy's user and password as S3A reads them: a Hadoop credential provider
    // (hadoop.security.credential.provider.path) first, then the configuration.
    for (String key : secretKeys) {
      String value = password(conf, key);
      if (value != null) {
        kv.add(key);
        kv.add(value);
      }
    }
    return kv.toArray(new String[0]);
  }

  /** {@code conf.getPassword(key)} as a string; null if unset or unreadable (never the value in a message). */
  private static String password(Configuration conf, String key) {
    try {
      char[] p = conf.getPassword(key);
      return p == null ? null : new String(p);
    } catch (IOException e) {
      throw new RoleBridgeConfigException(key, key + ": cannot be read from the Hadoop credential providers ("
          + e.getClass().getName() + "). Check hadoop.security.credential.provider.path");
    }
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

  /**
   * The Hadoop user the provider is made for: S3A and EMRFS make a file system per user. If Hadoop
   * cannot say who the caller is, nobody stands in for it (the OS user is a service account).
   */
  private static UserGroupInformation currentUser() {
    try {
      return UserGroupInformation.getCurrentUser();
    } catch (IOException | RuntimeException e) {
      RoleBridgeConfigException refusal = new RoleBridgeConfigException(null,
          String.format(RoleBridgeConstants.E_NO_HADOOP_USER, causes(e)));
      refusal.initCause(e);
      throw refusal;
    }
  }

  /** {@code e} and its causes, for a message: "class: message (caused by class: message)". */
  private static String causes(Throwable e) {
    StringBuilder b = new StringBuilder(e.toString());
    for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
      b.append(" (caused by ").append(c).append(')');
    }
    return b.toString();
  }

  /**
   * The user's groups in Hadoop's order, looked up (through Hadoop's group mapping, which may ask
   * the OS or LDAP) only when some {@code rolebridge.group.*} key is set; else null. A lookup that
   * fails or finds no groups is a refusal: the bucket's or the global settings would otherwise
   * apply to a member of a group that has settings of its own.
   */
  private static String[] groups(UserGroupInformation ugi, Configuration conf, String[] keysAndValues) {
    String groupKey = null;
    for (int i = 0; i < keysAndValues.length; i += 2) {
      String key = keysAndValues[i];
      if (key.startsWith(RoleBridgeConstants.GROUP_PREFIX) && (groupKey == null || key.compareTo(groupKey) < 0)) {
        groupKey = key;
      }
    }
    if (groupKey == null) {
      return null;
    }
    // UGI's groups are the ones Hadoop itself uses for this user (and a test user's, from
    // createUserForTesting). UGI answers an empty list both when the mapping found none and when it
    // failed (it catches the IOException): then ask the group mapping service UGI uses, which
    // throws, for the reason.
    String[] names = ugi.getGroupNames();
    if (names.length > 0) {
      return names;
    }
    String user = ugi.getShortUserName();
    String why;
    try {
      List<String> again = Groups.getUserToGroupsMappingService(conf).getGroups(user);
      if (!again.isEmpty()) {
        return again.toArray(new String[0]); // the failure has passed: the mapping answered
      }
      why = "the mapping lists none";
    } catch (IOException | RuntimeException e) {
      why = causes(e);
    }
    // The class as the provider's configuration names it: on a node, the core-site.xml that
    // Hadoop's process-wide mapping was made from too.
    String mapping = conf.get(RoleBridgeConstants.HADOOP_GROUP_MAPPING);
    throw new RoleBridgeConfigException(groupKey,
        String.format(RoleBridgeConstants.E_NO_GROUPS, groupKey, user, mapping, why));
  }

  /** Current credentials; crosses JNI only when the native cache has to be asked again. */
  T get() {
    Current<T> c = current;
    if (c != null && c.generation == session.generation && System.currentTimeMillis() < c.askAgainAtMillis) {
      session.counts.hit();
      return c.credentials;
    }
    return fetch(false);
  }

  /**
   * Completes {@code into} with the current credentials: at once when they are cached (the same
   * volatile reads as {@link #get()}), else when the fetch under way (or a new one) completes, on
   * the {@code rolebridge-fetch} thread that ran it. Never waits for STS or for the native cache,
   * so an event-loop thread of an async client is never parked; a failure completes {@code into}
   * exceptionally, as the failure mode has it thrown by {@link #get()}. Cancelling {@code into}
   * does not cancel the fetch, which other callers may be waiting for.
   */
  void getAsync(CompletableFuture<? super T> into) {
    Current<T> c = current;
    if (c != null && c.generation == session.generation && System.currentTimeMillis() < c.askAgainAtMillis) {
      session.counts.hit();
      into.complete(c.credentials);
      return;
    }
    CompletableFuture<T> f;
    try {
      f = start(false);
    } catch (RuntimeException e) {
      into.completeExceptionally(failure(e));
      return;
    }
    f.whenComplete((credentials, t) -> {
      if (t == null) {
        into.complete(credentials);
      } else {
        into.completeExceptionally(failure(t instanceof RuntimeException ? (RuntimeException) t
            : new IllegalStateException("rolebridge: the native call failed: " + t, t)));
      }
    });
  }

  /** New credentials from a new session, which every provider of the session then hands out. */
  T refresh() {
    return fetch(true);
  }

  private T fetch(boolean force) {
    try {
      return await(start(force));
    } catch (RuntimeException e) {
      Throwable t = failure(e);
      if (t instanceof Error) {
        throw (Error) t;
      }
      throw (RuntimeException) t;
    }
  }

  /** The fetch under way (a forced one for {@code force}), or a new one. */
  private synchronized CompletableFuture<T> start(final boolean force) {
    if (closed) {
      throw new IllegalStateException(RoleBridgeConstants.E_CLOSED + ": " + description);
    }
    CompletableFuture<T> f = force ? refreshing : fetching;
    if (f != null) {
      if (force) {
        refreshCallers++;
      } else {
        fetchCallers++;
      }
      return f;
    }
    final CompletableFuture<T> next = new CompletableFuture<T>();
    FETCHERS.execute(() -> run(next, force));
    calls++;
    if (force) {
      refreshing = next;
      refreshCallers = 1;
    } else {
      fetching = next;
      fetchCallers = 1;
    }
    return next;
  }

  /**
   * On a fetch thread: asks the native cache, installs the answer, completes {@code f}. The fetch
   * stops being the one under way before {@code f} completes: a caller woken by it that asks again
   * at once (a refresh right after a refresh) starts a new fetch instead of joining this one.
   */
  private void run(CompletableFuture<T> f, boolean force) {
    T result = null;
    Throwable failure = null;
    boolean waited = false;
    try {
      // Read before the native call: an answer from before a concurrent forced refresh is then
      // installed with the old generation, and the next call asks again.
      long generation = session.generation;
      NativeSession ns;
      try {
        ns = force ? NativeBridge.refresh(handle) : NativeBridge.credentials(handle);
      } finally {
        waited = NativeBridge.lastCallWaited();
      }
      if (force) {
        synchronized (session) {
          generation = ++session.generation;
        }
      }
      result = install(ns, generation);
    } catch (Throwable e) {
      failure = e;
    } finally {
      boolean release;
      int callers = 0;
      synchronized (this) {
        if (force ? refreshing == f : fetching == f) {
          if (force) {
            refreshing = null;
            callers = refreshCallers;
            refreshCallers = 0;
          } else {
            fetching = null;
            callers = fetchCallers;
            fetchCallers = 0;
          }
        }
        calls--;
        release = closed && calls == 0 && !released;
        released |= release;
      }
      if (waited) {
        session.counts.waited.addAndGet(callers);
      } else if (failure == null) {
        session.counts.libraryHits.addAndGet(callers);
      }
      Metrics.logAudit();
      if (failure == null) {
        f.complete(result);
      } else {
        f.completeExceptionally(failure);
      }
      if (release) {
        release();
      }
    }
  }

  /** Waits for {@code f} interruptibly; keeps the interrupt flag of an interrupted caller. */
  private T await(CompletableFuture<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RoleBridgeException("interrupted while waiting for credentials (the fetch goes on for"
          + " other callers): " + description, e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      throw new IllegalStateException("rolebridge: the native call failed: " + cause, cause);
    }
  }

  /**
   * A failure to produce credentials, as the failure mode has it thrown. The one place the failure
   * mode is applied, to every failure at call time, blocking or async: STS's, a setting found wrong
   * only now (no region), an interrupt, a closed provider, a bug.
   */
  private Throwable failure(RuntimeException e) {
    if (failsOpen) {
      return converter.whenOpen(e);
    }
    session.counts.refusals.incrementAndGet();
    return unavailable(description, e);
  }

  /**
   * Makes the credentials of {@code ns} current until its ask-again time, and returns them. A
   * provider closed while the native call ran returns them to the callers of that fetch only:
   * close() has cleared {@code current}, and it stays clear.
   */
  private synchronized T install(NativeSession ns, long generation) {
    final T credentials;
    if (!ns.accessKeyId.equals(lastAccessKeyId)) {
      LOG.debug("rolebridge: session {} for {}", ns, description);
      credentials = converter.convert(ns);
      lastCredentials = credentials;
      lastAccessKeyId = ns.accessKeyId;
    } else {
      credentials = lastCredentials;
    }
    if (!closed) {
      current = new Current<T>(credentials, ns.askAgainAtMillis, generation);
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
        + " provider chain falls back to another identity]",
        cause);
  }

  /**
   * Closes the provider: it hands out nothing more. Never waits: the native handle is released
   * now, or by the last native call in flight when it returns. Idempotent; never throws.
   */
  @Override
  public void close() {
    boolean release;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      current = null; // a closed provider hands out nothing, not even the last credentials
      release = calls == 0;
      released |= release;
    }
    Metrics.closed(open);
    if (release) {
      release();
    }
  }

  private void release() {
    try {
      NativeBridge.close(handle);
    } catch (RuntimeException e) {
      LOG.debug("rolebridge: close failed", e);
    }
  }
}
