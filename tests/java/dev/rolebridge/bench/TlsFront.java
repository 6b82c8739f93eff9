package dev.rolebridge.bench;

import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.security.KeyStore;
import java.util.Arrays;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;

/**
 * HTTPS on loopback in front of a plain-HTTP endpoint (the local STS, or the fault proxy before
 * it), for the one peer that cannot speak plain HTTP to STS: Hadoop 3.4.1's
 * {@code AssumedRoleCredentialProvider} always builds {@code https://} + the endpoint's host. Its
 * certificate is self-signed for 127.0.0.1, made by the JDK's keytool (once per benchmark run, by the
 * orchestrator), and this JVM trusts it alone ({@code javax.net.ssl.trustStore}), which is set
 * before any TLS is used.
 */
final class TlsFront {
  private static final char[] PASSWORD = "rolebridge-bench".toCharArray();
  private static File keyStore;

  private final SSLServerSocket server;
  private final URI backend;

  private TlsFront(URI backend) throws Exception {
    this.backend = backend;
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(keyStore())) {
      ks.load(in, PASSWORD);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, PASSWORD);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 64, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(() -> {
      THREADS.incrementAndGet();
      try {
        accept();
      } finally {
        THREADS.decrementAndGet();
      }
    }, "tls-front-accept");
    accept.setDaemon(true);
    accept.start();
  }

  private static final java.util.Map<String, TlsFront> FRONTS = new java.util.HashMap<String, TlsFront>();

  /** The front for {@code httpEndpoint} (one per endpoint in this JVM, kept while it runs); its host:port. */
  static synchronized String hostPortFor(String httpEndpoint) throws Exception {
    TlsFront front = FRONTS.get(httpEndpoint);
    if (front == null) {
      front = new TlsFront(URI.create(httpEndpoint));
      FRONTS.put(httpEndpoint, front);
    }
    return "127.0.0.1:" + front.server.getLocalPort();
  }

  /** The front's own threads now running (a footprint measurement leaves them out). */
  static final java.util.concurrent.atomic.AtomicInteger THREADS = new java.util.concurrent.atomic.AtomicInteger();
  /** System property: a key store made before (by {@link #makeKeyStore}), so a fork does not run keytool. */
  static final String KEY_STORE_PROPERTY = "rolebridge.bench.keystore";

  private static synchronized File keyStore() throws Exception {
    if (keyStore != null) {
      return keyStore;
    }
    String made = System.getProperty(KEY_STORE_PROPERTY);
    File ks = made != null ? new File(made) : makeKeyStore();
    System.setProperty("javax.net.ssl.trustStore", ks.getPath());
    System.setProperty("javax.net.ssl.trustStorePassword", new String(PASSWORD));
    System.setProperty("javax.net.ssl.trustStoreType", "PKCS12");
    keyStore = ks;
    return ks;
  }

  /** A new PKCS12 key store with a self-signed certificate for 127.0.0.1, deleted when this JVM exits. */
  static File makeKeyStore() throws Exception {
    File dir = Files.createTempDirectory("rolebridge-tls").toFile();
    dir.deleteOnExit();
    File ks = new File(dir, "sts.p12");
    Process p = new ProcessBuilder(Arrays.asList(System.getProperty("java.home") + "/bin/keytool", "-genkeypair",
        "-alias", "sts", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1", "-ext", "san=ip:127.0.0.1",
        "-validity", "2", "-storetype", "PKCS12", "-keystore", ks.getPath(), "-storepass", new String(PASSWORD),
        "-keypass", new String(PASSWORD))).redirectErrorStream(true).start();
    byte[] out = readAll(p.getInputStream());
    if (p.waitFor() != 0) {
      throw new IllegalStateException("keytool failed: " + new String(out, "UTF-8"));
    }
    ks.deleteOnExit();
    return ks;
  }

  private static byte[] readAll(InputStream in) throws Exception {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    for (int n; (n = in.read(buf)) > 0; ) {
      b.write(buf, 0, n);
    }
    return b.toByteArray();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket back = new Socket();
        back.connect(new InetSocketAddress(backend.getHost(), backend.getPort()));
        pump(client.getInputStream(), back.getOutputStream(), back);
        pump(back.getInputStream(), client.getOutputStream(), client);
      } catch (Exception e) {
        System.err.println("tls front: " + e);
      }
    }
  }

  private static void pump(InputStream from, OutputStream to, Socket closeAfter) {
    Thread t = new Thread(() -> {
      THREADS.incrementAndGet();
      byte[] buf = new byte[16384];
      try {
        for (int n; (n = from.read(buf)) > 0; ) {
          to.write(buf, 0, n);
          to.flush();
        }
      } catch (Exception e) {
        // the other side closed
      } finally {
        try {
          closeAfter.close();
        } catch (Exception e) {
          // closed already
        }
        THREADS.decrementAndGet();
      }
    }, "tls-front-pump");
    t.setDaemon(true);
    t.start();
  }
}
