package dev.rolebridge.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * The local access-controlled STS + S3 (tests/moto/local_aws.py) as the tests see it: the fixture
 * it created, its request recorder, and Hadoop configurations pointing at it.
 */
public final class LocalAws {
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String PROVIDER = "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider";

  public final JsonNode fixture;
  public final String endpoint;

  private LocalAws(JsonNode fixture) {
    this.fixture = fixture;
    this.endpoint = fixture.get("endpoint").asText();
  }

  /** The fixture named by system property rolebridge.test.fixture (set by scripts/test.sh). */
  public static LocalAws get() {
    String path = System.getProperty("rolebridge.test.fixture");
    if (path == null) {
      throw new IllegalStateException("system property rolebridge.test.fixture is not set: run the"
          + " Java tests through scripts/test.sh, which starts the local STS + S3");
    }
    try {
      return new LocalAws(JSON.readTree(new File(path)));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read fixture " + path, e);
    }
  }

  public String roleArn(String dest) {
    return fixture.get(dest).get("roleArn").asText();
  }

  public String bucket(String dest) {
    return fixture.get(dest).get("bucket").asText();
  }

  public String externalId(String dest) {
    return fixture.get(dest).get("externalId").asText();
  }

  public String accessKeyOf(String principal) {
    return fixture.get(principal).get("accessKeyId").asText();
  }

  public String secretKeyOf(String principal) {
    return fixture.get(principal).get("secretAccessKey").asText();
  }

  /**
   * A Hadoop configuration for S3A against the local S3 with rolebridge as the credentials
   * provider, assuming the role of {@code dest} (destA or destB) with a session name of its own
   * (so that each test has its own entry in the process-wide session cache).
   */
  public Configuration s3aConf(String dest, String sessionName) {
    Configuration conf = new Configuration();
    conf.set("fs.s3a.impl", "org.apache.hadoop.fs.s3a.S3AFileSystem");
    conf.set("fs.s3a.endpoint", endpoint);
    conf.setBoolean("fs.s3a.path.style.access", true);
    conf.setBoolean("fs.s3a.connection.ssl.enabled", false);
    conf.setBoolean("fs.s3a.impl.disable.cache", true);
    conf.set("fs.s3a.bucket.probe", "0");
    conf.set("fs.s3a.attempts.maximum", "1");
    conf.set("fs.s3a.retry.limit", "1");
    conf.set("fs.s3a.retry.interval", "10ms");
    conf.set("fs.s3a.aws.credentials.provider", PROVIDER);
    conf.set("rolebridge.sts.endpoint", endpoint);
    conf.set("rolebridge.sts.region", fixture.get("region").asText());
    if (dest != null) {
      conf.set("rolebridge.role.arn", roleArn(dest));
      conf.set("rolebridge.external.id", externalId(dest));
    }
    if (sessionName != null) {
      conf.set("rolebridge.session.name", sessionName);
    }
    return conf;
  }

  /**
   * Runs {@link ChildProbe} (a write through S3A + rolebridge to destA) in a JVM of its own, whose
   * environment is this one's with {@code env} on top: the source identity is the process's AWS
   * default chain, so another source needs another process. Returns its output.
   */
  public String runChildProbe(Map<String, String> env) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(
        System.getProperty("java.home") + "/bin/java", "-cp", System.getProperty("rolebridge.test.classpath"),
        "-Dlog4j.configuration=log4j.properties", ChildProbe.class.getName(),
        endpoint, roleArn("destA"), externalId("destA"), bucket("destA"));
    pb.environment().putAll(env);
    Ran r = run(pb);
    if (r.exit != 0) {
      throw new IllegalStateException("child JVM failed:\n" + r.output);
    }
    return r.output;
  }

  /** A finished process: its exit code and its output (standard output and error together). */
  public static final class Ran {
    public final int exit;
    public final String output;

    Ran(int exit, String output) {
      this.exit = exit;
      this.output = output;
    }
  }

  /** Runs {@code pb} to the end, standard error merged into standard output. */
  public static Ran run(ProcessBuilder pb) throws IOException, InterruptedException {
    Process proc = pb.redirectErrorStream(true).start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = proc.getInputStream()) {
      byte[] b = new byte[8192];
      for (int n; (n = in.read(b)) > 0; ) {
        out.write(b, 0, n);
      }
    }
    return new Ran(proc.waitFor(), new String(out.toByteArray(), StandardCharsets.UTF_8));
  }

  // ---- the moto recorder ---------------------------------------------------------------------

  private String call(String method, String path, byte[] body) throws IOException {
    HttpURLConnection c = (HttpURLConnection) new URL(endpoint + path).openConnection();
    c.setRequestMethod(method);
    if (body != null) {
      c.setDoOutput(true);
      try (OutputStream out = c.getOutputStream()) {
        out.write(body);
      }
    }
    int status = c.getResponseCode();
    try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      if (in != null) {
        byte[] b = new byte[8192];
        for (int n; (n = in.read(b)) > 0; ) {
          buf.write(b, 0, n);
        }
      }
      if (status >= 400) {
        throw new IOException(method + " " + path + " -> HTTP " + status);
      }
      return new String(buf.toByteArray(), StandardCharsets.UTF_8);
    }
  }

  /**
   * The ARN of the STS session whose access key is {@code accessKeyId} (from the local STS's
   * state: the recorder keeps no response bodies), or null if no session has that key.
   */
  public String sessionArnOfKey(String accessKeyId) throws IOException {
    for (JsonNode role : JSON.readTree(call("GET", "/moto-api/data.json", null)).path("sts").path("AssumedRole")) {
      if (accessKeyId.equals(role.path("access_key_id").asText())) {
        return role.path("arn").asText();
      }
    }
    return null;
  }

  /** Clears the recording and starts recording. */
  public void startRecording() throws IOException {
    call("POST", "/moto-api/recorder/reset-recording", new byte[0]);
    call("POST", "/moto-api/recorder/start-recording", new byte[0]);
  }

  /** Stops recording and returns every request recorded since {@link #startRecording()}. */
  public List<Request> stopRecording() throws IOException {
    call("POST", "/moto-api/recorder/stop-recording", new byte[0]);
    List<Request> out = new ArrayList<Request>();
    for (String line : call("GET", "/moto-api/recorder/download-recording", null).split("\n")) {
      if (!line.trim().isEmpty()) {
        out.add(new Request(JSON.readTree(line)));
      }
    }
    return out;
  }

  /** One recorded request, with the service and access key from its SigV4 Authorization header. */
  public static final class Request {
    public final String method;
    public final String url;
    public final String authorization;
    public final String securityToken;
    public final String body;

    Request(JsonNode n) {
      method = n.get("method").asText();
      url = n.get("url").asText();
      JsonNode h = n.get("headers");
      authorization = header(h, "Authorization");
      securityToken = header(h, "X-Amz-Security-Token");
      String b = n.path("body").asText("");
      body = n.path("body_encoded").asBoolean(false)
          ? new String(Base64.getDecoder().decode(b), StandardCharsets.ISO_8859_1) : b;
    }

    private static String header(JsonNode headers, String name) {
      java.util.Iterator<Map.Entry<String, JsonNode>> it = headers.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equalsIgnoreCase(name)) {
          return e.getValue().asText();
        }
      }
      return null;
    }

    private String scopePart(int i) {
      if (authorization == null || !authorization.contains("Credential=")) {
        return null;
      }
      String cred = authorization.substring(authorization.indexOf("Credential=") + 11);
      cred = cred.substring(0, cred.indexOf(','));
      String[] parts = cred.split("/");
      return parts.length > i ? parts[i] : null;
    }

    /** The access key that signed this request. */
    public String signedBy() {
      return scopePart(0);
    }

    /** The region of the SigV4 credential scope: the region the request was signed for. */
    public String signingRegion() {
      return scopePart(2);
    }

    /** The form's Action (STS), signed or not. */
    public String action() {
      return form().get("Action");
    }

    /** The service of the SigV4 credential scope: sts, s3, ... */
    public String service() {
      return scopePart(3);
    }

    public boolean isAssumeRole() {
      return "sts".equals(service()) && form().get("Action") != null
          && form().get("Action").equals("AssumeRole");
    }

    /** The form parameters of a query-protocol (STS) request body. */
    public Map<String, String> form() {
      Map<String, String> m = new LinkedHashMap<String, String>();
      for (String pair : body.split("&")) {
        int i = pair.indexOf('=');
        if (i > 0) {
          try {
            m.put(URLDecoder.decode(pair.substring(0, i), "UTF-8"),
                URLDecoder.decode(pair.substring(i + 1), "UTF-8"));
          } catch (java.io.UnsupportedEncodingException e) {
            throw new IllegalStateException(e);
          }
        }
      }
      return m;
    }

    @Override
    public String toString() {
      return method + " " + url + " [" + service() + " signed by " + signedBy() + "]";
    }
  }

  public static List<Request> assumeRoleCalls(List<Request> rs) {
    List<Request> out = new ArrayList<Request>();
    for (Request r : rs) {
      if (r.isAssumeRole()) {
        out.add(r);
      }
    }
    return out;
  }

  public static List<Request> s3Calls(List<Request> rs) {
    List<Request> out = new ArrayList<Request>();
    for (Request r : rs) {
      if ("s3".equals(r.service())) {
        out.add(r);
      }
    }
    return out;
  }
}
