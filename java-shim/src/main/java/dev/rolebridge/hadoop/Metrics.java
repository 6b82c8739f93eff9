package dev.rolebridge.hadoop;

import java.lang.management.ManagementFactory;
import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.text.SimpleDateFormat;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TimeZone;
import javax.management.InstanceAlreadyExistsException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.hadoop.metrics2.MetricsCollector;
import org.apache.hadoop.metrics2.MetricsInfo;
import org.apache.hadoop.metrics2.MetricsRecordBuilder;
import org.apache.hadoop.metrics2.MetricsSource;
import org.apache.hadoop.metrics2.MetricsSystem;
import org.apache.hadoop.metrics2.lib.DefaultMetricsSystem;
import org.apache.hadoop.metrics2.lib.Interns;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The providers' figures for operators: an MBean per session in the platform MBean server (domain
 * {@value #DOMAIN}), the same figures as a Hadoop metrics2 source ({@value #SOURCE}) for the
 * sinks a host configures, and the audit line of each AssumeRole call at INFO on the logger
 * {@value #AUDIT_LOGGER}.
 *
 * <p>A session's MBean is registered when its first provider of this class loader opens and
 * unregistered when its last one closes, so that a dropped class loader (Spark, notebooks) is not
 * kept by the MBean server or by Hadoop's metrics system. Nothing here ever fails a provider:
 * JMX or metrics2 errors are logged at DEBUG and left.
 */
final class Metrics {
  private static final Logger LOG = LoggerFactory.getLogger(Metrics.class);
  static final String AUDIT_LOGGER = "dev.rolebridge.audit";
  private static final Logger AUDIT = LoggerFactory.getLogger(AUDIT_LOGGER);
  static final String DOMAIN = "dev.rolebridge";
  static final String SOURCE = "RoleBridge";
  static final long[] LATENCY_BOUNDS_MS = {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

  private Metrics() {
  }

  /**
   * Counts kept in the JVM: answers from memory per thread (the hot path writes only its own
   * thread's cell, never a shared or atomic field); callers that went to the library, as those
   * that waited for a fetch from STS or the node cache and those the library's memory answered at
   * once; refusals in mode closed. Every call is counted once: from memory (the JVM's or the
   * library's), waited, or (answered at once with a remembered error) only as a refusal.
   */
  static final class Counts {
    /** Cells are {@code long[1]}: a JDK class, so a caller thread's map pins no class loader of ours. */
    private final ThreadLocal<long[]> cell = ThreadLocal.withInitial(this::newCell);
    private final List<Slot> slots = new ArrayList<Slot>();
    /** Counts of threads that ended, folded in when their slots are dropped. Guarded by slots. */
    private long ended;
    final java.util.concurrent.atomic.AtomicLong waited = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong libraryHits = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong refusals = new java.util.concurrent.atomic.AtomicLong();

    private static final class Slot {
      final WeakReference<Thread> owner;
      final long[] cell;

      Slot(Thread owner, long[] cell) {
        this.owner = new WeakReference<Thread>(owner);
        this.cell = cell;
      }
    }

    /** An answer from memory on this thread: one plain write to the thread's own cell. */
    void hit() {
      cell.get()[0]++;
    }

    private long[] newCell() {
      long[] c = new long[1];
      synchronized (slots) {
        if (slots.size() >= 64) {
          for (java.util.Iterator<Slot> it = slots.iterator(); it.hasNext();) {
            Slot s = it.next();
            Thread t = s.owner.get();
            if (t == null || !t.isAlive()) {
              ended += s.cell[0];
              it.remove();
            }
          }
        }
        slots.add(new Slot(Thread.currentThread(), c));
      }
      return c;
    }

    /** Answers from memory so far (each thread's cell as last written). */
    long hits() {
      synchronized (slots) {
        long n = ended;
        for (Slot s : slots) {
          n += s.cell[0];
        }
        return n;
      }
    }
  }

  // ---- registration ----------------------------------------------------------------------------

  /** Sessions with an open provider in this class loader, in the order they were opened. Guarded by itself. */
  private static final Set<ProviderCore.Session> LIVE = new LinkedHashSet<ProviderCore.Session>();
  /** The metrics2 source's name while registered, else null. Guarded by LIVE. */
  private static String sourceName;

  /**
   * A provider open in this class loader, followed until it is closed or collected: a provider
   * nobody closes (an SDK v2 client does not close a provider it was given) must not keep its
   * session's MBean, and with it this class loader, registered for ever.
   */
  static final class Open extends PhantomReference<Object> {
    final ProviderCore.Session session;
    final long handle;

    Open(Object provider, ProviderCore.Session session, long handle) {
      super(provider, GONE);
      this.session = session;
      this.handle = handle;
    }
  }

  private static final ReferenceQueue<Object> GONE = new ReferenceQueue<Object>();
  /** Providers opened and neither closed nor reaped. Guarded by LIVE. */
  private static final Set<Open> OPEN = new HashSet<Open>();

  /** A provider of {@code s} opened; the token to hand to {@link #closed}. */
  static Open opened(Object provider, ProviderCore.Session s, long handle) {
    reap();
    Open open = new Open(provider, s, handle);
    synchronized (LIVE) {
      OPEN.add(open);
      if (s.providers++ > 0) {
        return open;
      }
      LIVE.add(s);
      s.objectName = register(s);
      if (sourceName == null) {
        sourceName = registerSource();
      }
    }
    return open;
  }

  /** The provider of {@code open} closed. */
  static void closed(Open open) {
    synchronized (LIVE) {
      if (OPEN.remove(open)) {
        open.clear();
        release(open.session);
      }
    }
  }

  /**
   * Providers collected without being closed: their sessions lose them (the MBean goes with the
   * last) and their native handles are released. Runs when a provider opens and when the MBeans
   * or the metrics2 source are read, so a dropped class loader is let go at the next read.
   */
  static void reap() {
    for (Reference<?> r; (r = GONE.poll()) != null;) {
      Open open = (Open) r;
      boolean gone;
      synchronized (LIVE) {
        gone = OPEN.remove(open);
        if (gone) {
          release(open.session);
        }
      }
      if (gone) {
        LOG.debug("rolebridge: a provider of session {} of {} was collected without close()", open.session.name,
            open.session.role);
        try {
          NativeBridge.close(open.handle);
        } catch (RuntimeException | LinkageError e) {
          LOG.debug("rolebridge: close failed", e);
        }
      }
    }
  }

  /** One provider of {@code s} fewer. Guarded by LIVE. */
  private static void release(ProviderCore.Session s) {
    if (--s.providers > 0) {
      return;
    }
    LIVE.remove(s);
    if (s.objectName != null) {
      try {
        ManagementFactory.getPlatformMBeanServer().unregisterMBean(s.objectName);
      } catch (Exception | LinkageError e) {
        LOG.debug("rolebridge: unregistering {} failed", s.objectName, e);
      }
      s.objectName = null;
    }
    if (LIVE.isEmpty() && sourceName != null) {
      try {
        DefaultMetricsSystem.instance().unregisterSource(sourceName);
      } catch (Exception | LinkageError e) {
        LOG.debug("rolebridge: unregistering the metrics2 source {} failed", sourceName, e);
      }
      sourceName = null;
    }
  }

  /** {@code dev.rolebridge:type=Session,role="...",session="...",instance=N}, the first N free. */
  private static ObjectName register(ProviderCore.Session s) {
    try {
      MBeanServer server = ManagementFactory.getPlatformMBeanServer();
      // The interface is named for the attributes, not for the class: a StandardMBean says which.
      javax.management.StandardMBean bean = new javax.management.StandardMBean(new SessionBean(s),
          RoleBridgeSessionMBean.class);
      for (int instance = 1; instance <= 1000; instance++) {
        ObjectName name = new ObjectName(DOMAIN + ":type=Session,role=" + ObjectName.quote(s.role)
            + ",session=" + ObjectName.quote(s.name) + ",instance=" + instance);
        try {
          server.registerMBean(bean, name);
          return name;
        } catch (InstanceAlreadyExistsException taken) {
          // another session (other settings, or another class loader) with this role and name
        }
      }
    } catch (Exception | LinkageError e) {
      LOG.debug("rolebridge: no MBean for session {} of {}", s.name, s.role, e);
    }
    return null;
  }

  private static String registerSource() {
    try {
      MetricsSystem system = DefaultMetricsSystem.instance();
      for (int i = 1; i <= 100; i++) {
        String name = i == 1 ? SOURCE : SOURCE + "-" + i; // another class loader's copy has the first
        if (system.getSource(name) == null) {
          system.register(name, "rolebridge sessions (one record per session)", new Source());
          return name;
        }
      }
    } catch (Exception | LinkageError e) {
      LOG.debug("rolebridge: no metrics2 source", e);
    }
    return null;
  }

  // ---- the figures -----------------------------------------------------------------------------

  /** One read of a session's figures: the native ones and the JVM's. */
  static final class Figures {
    final long[] nativeStats;
    final String lastErrorCode;
    final long hits;
    final long waited;
    final long libraryHits;
    final long refusals;

    Figures(ProviderCore.Session s) {
      long[] n = NativeBridge.stats(s.id);
      this.nativeStats = n != null ? n : new long[14 + LATENCY_BOUNDS_MS.length + 1];
      String code = NativeBridge.lastErrorCode(s.id);
      this.lastErrorCode = code == null ? "" : code;
      this.hits = s.counts.hits();
      this.waited = s.counts.waited.get();
      this.libraryHits = s.counts.libraryHits.get();
      this.refusals = s.counts.refusals.get();
    }

    long get(int i) {
      return nativeStats[i];
    }

    long orMinusOne(int i) {
      return nativeStats[i] == Long.MIN_VALUE ? -1 : nativeStats[i];
    }

    String lastErrorTime() {
      long at = nativeStats[13];
      if (at == 0) {
        return "";
      }
      SimpleDateFormat f = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'");
      f.setTimeZone(TimeZone.getTimeZone("UTC"));
      return f.format(new Date(at * 1000));
    }

    long[] buckets() {
      long[] b = new long[LATENCY_BOUNDS_MS.length + 1];
      System.arraycopy(nativeStats, 14, b, 0, b.length);
      return b;
    }
  }

  static final class SessionBean implements RoleBridgeSessionMBean {
    private final ProviderCore.Session s;

    SessionBean(ProviderCore.Session s) {
      this.s = s;
    }

    private Figures f() {
      reap();
      return new Figures(s);
    }

    @Override
    public String getRole() {
      return s.role;
    }

    @Override
    public String getSessionName() {
      return s.name;
    }

    @Override
    public long getAssumeRoleSucceeded() {
      return f().get(0);
    }

    @Override
    public long getAssumeRoleFailed() {
      return f().get(1);
    }

    @Override
    public long getAssumeRoleThrottled() {
      return f().get(2);
    }

    @Override
    public long getStsLatencyLastMillis() {
      return f().get(3);
    }

    @Override
    public long getStsLatencyP50Millis() {
      return f().get(4);
    }

    @Override
    public long getStsLatencyP90Millis() {
      return f().get(5);
    }

    @Override
    public long getStsLatencyP99Millis() {
      return f().get(6);
    }

    @Override
    public long[] getStsLatencyBucketBoundsMillis() {
      return LATENCY_BOUNDS_MS.clone();
    }

    @Override
    public long[] getStsLatencyBucketCounts() {
      return f().buckets();
    }

    @Override
    public long getAnswersFromMemory() {
      Figures f = f();
      return f.hits + f.libraryHits;
    }

    @Override
    public long getAnswersFromNodeCache() {
      return f().get(8);
    }

    @Override
    public long getStsFetches() {
      return f().get(9);
    }

    @Override
    public long getCallersThatWaited() {
      return f().waited;
    }

    @Override
    public long getRefusalsFailureModeClosed() {
      return f().refusals;
    }

    @Override
    public long getSecondsToExpiry() {
      return f().orMinusOne(11);
    }

    @Override
    public long getSessionAgeSeconds() {
      return f().orMinusOne(12);
    }

    @Override
    public String getLastErrorCode() {
      return f().lastErrorCode;
    }

    @Override
    public String getLastErrorTime() {
      return f().lastErrorTime();
    }

    @Override
    public int getProviders() {
      synchronized (LIVE) {
        return s.providers;
      }
    }
  }

  /** The metrics2 source: a record "Session" per live session, tagged with its role and name. */
  static final class Source implements MetricsSource {
    private static final MetricsInfo ROLE = Interns.info("Role", "the role the session assumes");
    private static final MetricsInfo SESSION = Interns.info("SessionName", "the session name");

    private static MetricsInfo info(String name, String description) {
      return Interns.info(name, description);
    }

    @Override
    public void getMetrics(MetricsCollector collector, boolean all) {
      reap();
      List<ProviderCore.Session> sessions;
      synchronized (LIVE) {
        sessions = new ArrayList<ProviderCore.Session>(LIVE);
      }
      for (ProviderCore.Session s : sessions) {
        Figures f = new Figures(s);
        MetricsRecordBuilder r = collector.addRecord("Session").setContext("rolebridge")
            .tag(ROLE, s.role).tag(SESSION, s.name);
        r.addCounter(info("AssumeRoleSucceeded", "AssumeRole calls that returned a session"), f.get(0))
            .addCounter(info("AssumeRoleFailed", "AssumeRole calls that failed"), f.get(1))
            .addCounter(info("AssumeRoleThrottled", "AssumeRole attempts throttled by STS"), f.get(2))
            .addGauge(info("StsLatencyLastMillis", "the last AssumeRole call's latency"), f.get(3))
            .addGauge(info("StsLatencyP50Millis", "median AssumeRole latency (bucket bound)"), f.get(4))
            .addGauge(info("StsLatencyP90Millis", "90th percentile AssumeRole latency (bucket bound)"), f.get(5))
            .addGauge(info("StsLatencyP99Millis", "99th percentile AssumeRole latency (bucket bound)"), f.get(6))
            .addCounter(info("AnswersFromMemory", "credentials handed out from memory"), f.hits + f.libraryHits)
            .addCounter(info("AnswersFromNodeCache", "fetches answered by the node cache"), f.get(8))
            .addCounter(info("StsFetches", "fetches that called STS"), f.get(9))
            .addCounter(info("CallersThatWaited", "callers that waited for a fetch"), f.waited)
            .addCounter(info("RefusalsFailureModeClosed", "errors handed out in failure mode closed"), f.refusals)
            .addGauge(info("SecondsToExpiry", "seconds until the session expires, -1 without one"), f.orMinusOne(11))
            .addGauge(info("SessionAgeSeconds", "seconds since the session was had, -1 without one"), f.orMinusOne(12));
      }
    }
  }

  // ---- the audit line --------------------------------------------------------------------------

  /** Logs, at INFO, the audit lines of the AssumeRole calls the library made since the last time. */
  static void logAudit() {
    String[] lines;
    try {
      lines = NativeBridge.takeAudit();
    } catch (RuntimeException | LinkageError e) {
      LOG.debug("rolebridge: no audit lines", e);
      return;
    }
    if (lines != null) {
      for (String line : lines) {
        AUDIT.info(line);
      }
    }
  }
}
