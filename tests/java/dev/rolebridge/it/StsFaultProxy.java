package dev.rolebridge.it;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fault-injecting HTTP relay on loopback between the provider and the local STS. Each request
 * gets the next scripted fault, else the steady one: pass it through (optionally rewriting the
 * session's expiration), answer with STS throttling (400 Throttling, "Rate exceeded"), 500 or
 * 503, reset the connection, or stall. Requests are relayed byte for byte, so SigV4 signatures
 * (which cover the Host header) still verify upstream.
 */
public final class StsFaultProxy implements AutoCloseable {
  /** STALL: wait, then close without answering. DELAY: wait, then pass through. */
  public enum Fault { PASS, THROTTLE, E500, E503, RESET, STALL, DELAY }

  private final ServerSocket server;
  private final String upstreamHost;
  private final int upstreamPort;
  private final ConcurrentLinkedQueue<Fault> script = new ConcurrentLinkedQueue<Fault>();
  private volatile Fault steady = Fault.PASS;
  private volatile long stallMillis = 10_000;
  private volatile int expirationInSeconds = -1;
  private final AtomicInteger requests = new AtomicInteger();
  private final List<Fault> applied = Collections.synchronizedList(new ArrayList<Fault>());

  public StsFaultProxy(String upstream) throws IOException {
    URI u = URI.create(upstream);
    upstreamHost = u.getHost();
    upstreamPort = u.getPort();
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::acceptLoop, "sts-fault-proxy");
    accept.setDaemon(true);
    accept.start();
  }

  public String endpoint() {
    return "http://127.0.0.1:" + server.getLocalPort();
  }

  /** Faults for the next requests, in order; then the steady fault again. */
  public StsFaultProxy next(Fault... faults) {
    Collections.addAll(script, faults);
    return this;
  }

  public StsFaultProxy steady(Fault f) {
    steady = f;
    return this;
  }

  /** How long STALL and DELAY wait. */
  public StsFaultProxy stallFor(long millis) {
    stallMillis = millis;
    return this;
  }

  /** Passed-through sessions expire this many seconds from now (-1: as STS said). */
  public StsFaultProxy expireSessionsIn(int seconds) {
    expirationInSeconds = seconds;
    return this;
  }

  public int requests() {
    return requests.get();
  }

  public List<Fault> applied() {
    synchronized (applied) {
      return new ArrayList<Fault>(applied);
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        final Socket s = server.accept();
        Thread t = new Thread(() -> handle(s), "sts-fault-proxy-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException closed) {
        return;
      }
    }
  }

  private void handle(Socket client) {
    try {
      byte[] request = readMessage(client.getInputStream());
      if (request == null) {
        client.close();
        return;
      }
      requests.incrementAndGet();
      Fault f = script.poll();
      if (f == null) {
        f = steady;
      }
      applied.add(f);
      switch (f) {
        case PASS:
          respond(client, relay(request));
          break;
        case THROTTLE:
          respond(client, error(400, "Bad Request", "Throttling", "Rate exceeded"));
          break;
        case E500:
          respond(client, error(500, "Internal Server Error", "InternalFailure", "An internal error occurred"));
          break;
        case E503:
          respond(client, error(503, "Service Unavailable", "ServiceUnavailable", "Service is unavailable"));
          break;
        case RESET:
          client.setSoLinger(true, 0);
          client.close();
          break;
        case STALL:
          Thread.sleep(stallMillis);
          client.close();
          break;
        case DELAY:
          Thread.sleep(stallMillis);
          respond(client, relay(request));
          break;
        default:
          throw new IllegalStateException(String.valueOf(f));
      }
    } catch (IOException | InterruptedException e) {
      try {
        client.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  private static void respond(Socket client, byte[] response) throws IOException {
    OutputStream out = client.getOutputStream();
    out.write(response);
    out.flush();
    client.close();
  }

  private byte[] relay(byte[] request) throws IOException {
    try (Socket up = new Socket(upstreamHost, upstreamPort)) {
      up.getOutputStream().write(request);
      up.getOutputStream().flush();
      byte[] response = readMessage(up.getInputStream());
      if (response == null) {
        throw new IOException("upstream closed without a response");
      }
      return rewrite(response);
    }
  }

  /** Sets Connection: close, and the expiration if asked to; fixes Content-Length. */
  private byte[] rewrite(byte[] response) {
    String text = new String(response, StandardCharsets.ISO_8859_1);
    int split = text.indexOf("\r\n\r\n");
    String head = text.substring(0, split);
    String body = text.substring(split + 4);
    if (expirationInSeconds >= 0 && body.contains("<Expiration>")) {
      String at = Instant.now().plusSeconds(expirationInSeconds).truncatedTo(ChronoUnit.SECONDS).toString();
      body = body.replaceAll("<Expiration>[^<]*</Expiration>", "<Expiration>" + at + "</Expiration>");
    }
    StringBuilder h = new StringBuilder();
    for (String line : head.split("\r\n")) {
      String lower = line.toLowerCase(Locale.ROOT);
      if (!lower.startsWith("content-length:") && !lower.startsWith("connection:")) {
        h.append(line).append("\r\n");
      }
    }
    byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
    h.append("Content-Length: ").append(b.length).append("\r\nConnection: close\r\n\r\n");
    return concat(h.toString().getBytes(StandardCharsets.ISO_8859_1), b);
  }

  private static byte[] error(int status, String reason, String code, String message) {
    String body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>"
        + (status < 500 ? "Sender" : "Receiver") + "</Type><Code>" + code + "</Code><Message>" + message
        + "</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>";
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    String head = "HTTP/1.1 " + status + " " + reason + "\r\nContent-Type: text/xml\r\nContent-Length: "
        + b.length + "\r\nConnection: close\r\n\r\n";
    return concat(head.getBytes(StandardCharsets.ISO_8859_1), b);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** One HTTP message (head and a Content-Length body), or null at end of stream. */
  private static byte[] readMessage(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int matched = 0;
    int c;
    while (matched < 4 && (c = in.read()) != -1) {
      buf.write(c);
      matched = (c == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (c == '\r' ? 1 : 0);
    }
    if (matched < 4) {
      return buf.size() == 0 ? null : buf.toByteArray();
    }
    int length = 0;
    for (String line : new String(buf.toByteArray(), StandardCharsets.ISO_8859_1).split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    byte[] body = new byte[length];
    for (int off = 0; off < length; ) {
      int n = in.read(body, off, length - off);
      if (n < 0) {
        throw new IOException("truncated body");
      }
      off += n;
    }
    buf.write(body);
    return buf.toByteArray();
  }
}
