package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.auth.AWSCredentialsProvider;
import com.amazonaws.auth.AWSSessionCredentials;
import dev.rolebridge.hadoop.RoleBridgeConfigException;
import dev.rolebridge.hadoop.RoleBridgeConstants;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import java.io.Closeable;
import java.net.URI;
import java.util.List;
import org.apache.hadoop.conf.Configurable;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/** How EMRFS and S3A construct providers, and what bad settings do at construction. */
class ConstructionIT {
  private final LocalAws aws = LocalAws.get();

  @Test
  void emrfsWayUriAndConfigurationConstructor() throws Exception {
    Configuration conf = aws.s3aConf("destA", "it-emrfs-uri-conf");
    Class<?> c = Class.forName(LocalAws.PROVIDER);
    Object p = c.getConstructor(URI.class, Configuration.class)
        .newInstance(URI.create("s3://" + aws.bucket("destA")), conf);
    assertTrue(p instanceof AWSCredentialsProvider && p instanceof Configurable && p instanceof Closeable);
    AWSSessionCredentials creds = (AWSSessionCredentials) ((AWSCredentialsProvider) p).getCredentials();
    assertTrue(creds.getAWSAccessKeyId().startsWith("ASIA"));
    assertNotNull(creds.getSessionToken());
    ((Closeable) p).close();
    ((Closeable) p).close(); // idempotent
    // a closed provider hands out nothing, not even the credentials it held
    assertThrows(dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError.class,
        ((AWSCredentialsProvider) p)::getCredentials);
  }

  @Test
  void emrfsFallbackNoArgThenSetConf() throws Exception {
    Class<?> c = Class.forName(LocalAws.PROVIDER);
    RoleBridgeCredentialsProvider p = (RoleBridgeCredentialsProvider) c.getConstructor().newInstance();
    // Not configured yet: it fails closed (an Error a chain does not catch), with the reason as
    // the cause, rather than an exception after which a chain would use the next provider.
    dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError early =
        assertThrows(dev.rolebridge.hadoop.RoleBridgeCredentialsUnavailableError.class, p::getCredentials);
    assertTrue(early.getCause() instanceof IllegalStateException, String.valueOf(early.getCause()));
    assertEquals(RoleBridgeConstants.E_NOT_CONFIGURED, early.getCause().getMessage());
    Configuration conf = aws.s3aConf("destA", "it-emrfs-setconf");
    p.setConf(conf);
    assertSame(conf, p.getConf());
    AWSSessionCredentials a = (AWSSessionCredentials) p.getCredentials();
    assertTrue(a.getAWSAccessKeyId().startsWith("ASIA"));
    p.refresh();
    AWSSessionCredentials b = (AWSSessionCredentials) p.getCredentials();
    assertFalse(a.getAWSAccessKeyId().equals(b.getAWSAccessKeyId()), "refresh() gives a new session");
    p.close();
  }

  @Test
  void s3aConfigurationOnlyConstructor() {
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(aws.s3aConf("destA", "it-conf-only"));
    assertTrue(p.getCredentials().getAWSAccessKeyId().startsWith("ASIA"));
    p.close();
  }

  /**
   * Issue 9, hole 3. A provider made without a bucket cannot apply rolebridge.bucket.* settings;
   * it used to ignore them and hand every bucket the global role. Now each bucket-less way a host
   * can construct it refuses, naming the key and the constructor, before any request.
   */
  @Test
  void perBucketSettingsWithoutABucketAreRefusedNamingTheConstructor() throws Exception {
    Configuration conf = aws.s3aConf("destA", "it-no-bucket");
    String key = "rolebridge.bucket.dest-lake.role.arn";
    conf.set(key, aws.roleArn("destB"));
    aws.startRecording();
    List<RoleBridgeConfigException> refused = new java.util.ArrayList<RoleBridgeConfigException>();
    refused.add(assertThrows(RoleBridgeConfigException.class, () -> new RoleBridgeCredentialsProvider(conf)));
    refused.add(assertThrows(RoleBridgeConfigException.class, () -> new RoleBridgeCredentialsProvider(null, conf)));
    refused.add(assertThrows(RoleBridgeConfigException.class, () -> new RoleBridgeCredentialsProvider().setConf(conf)));
    refused.add(assertThrows(RoleBridgeConfigException.class,
        () -> dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2.create(null, conf)));
    String[] constructors = {"(Configuration) constructor", "(URI, Configuration) constructor with no bucket",
        "no-argument constructor and setConf", "(URI, Configuration) constructor with no bucket"};
    for (int i = 0; i < refused.size(); i++) {
      RoleBridgeConfigException e = refused.get(i);
      assertEquals(key, e.getKey());
      assertTrue(e.getMessage().startsWith(key + ": per-bucket settings are set")
          && e.getMessage().contains(constructors[i]) && e.getMessage().contains("Have the host construct"),
          e.getMessage());
    }
    // With the file system's URI the same settings apply: bucket dest-lake gets its own role.
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(URI.create("s3a://dest-lake/"), conf);
    assertTrue(p.toString().contains(aws.roleArn("destB")), p.toString());
    p.close();
    assertEquals(0, aws.stopRecording().size(), "refused before any request");
  }

  @Test
  void badSettingsFailAtConstructionBeforeAnyNetworkCall() throws Exception {
    aws.startRecording();
    Configuration missing = aws.s3aConf(null, "it-bad");
    RoleBridgeConfigException e = assertThrows(RoleBridgeConfigException.class,
        () -> new RoleBridgeCredentialsProvider(URI.create("s3a://some-bucket/"), missing));
    assertEquals("rolebridge.role.arn (or rolebridge.bucket.some-bucket.role.arn)", e.getKey());
    assertTrue(e.getMessage().contains("required"), e.getMessage());

    Configuration perBucket = aws.s3aConf("destA", "it-bad");
    perBucket.set("rolebridge.bucket.some-bucket.session.duration", "13h");
    e = assertThrows(RoleBridgeConfigException.class,
        () -> new RoleBridgeCredentialsProvider(URI.create("s3a://some-bucket/"), perBucket));
    assertEquals("rolebridge.bucket.some-bucket.session.duration", e.getKey());
    assertTrue(e.getMessage().contains("12h") && e.getMessage().contains("\"13h\""), e.getMessage());

    Configuration badArn = aws.s3aConf("destA", "it-bad");
    badArn.set("rolebridge.role.arn", "arn:aws:iam::2222:role/x");
    e = assertThrows(RoleBridgeConfigException.class, () -> new RoleBridgeCredentialsProvider(badArn));
    assertTrue(e.getMessage().startsWith("rolebridge.role.arn: \"arn:aws:iam::2222:role/x\" is not an IAM role ARN"),
        e.getMessage());

    // setConf with a bad configuration keeps the previous, working one
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(aws.s3aConf("destA", "it-bad-keep"));
    Configuration good = p.getConf();
    assertThrows(RoleBridgeConfigException.class, () -> p.setConf(badArn));
    assertSame(good, p.getConf());
    p.close();

    List<LocalAws.Request> recorded = aws.stopRecording();
    assertEquals(0, recorded.size(), "no request was made: " + recorded);
  }

  @Test
  void s3aDefaultsDoNotStandInForRolebridgeDefaults() throws Exception {
    // Hadoop's core-default.xml sets fs.s3a.assumed.role.session.duration=30m; our default is 1h.
    Configuration conf = aws.s3aConf("destA", "it-defaults");
    assertEquals("30m", conf.get("fs.s3a.assumed.role.session.duration"));
    assertEquals("3600", assumeRoleParameters(conf).get("DurationSeconds"));
    // ...while a value the user sets is used.
    Configuration s3a = aws.s3aConf("destA", "it-defaults-s3a");
    s3a.set("fs.s3a.assumed.role.session.duration", "20m");
    assertEquals("1200", assumeRoleParameters(s3a).get("DurationSeconds"));
  }

  /** The parameters of the one AssumeRole call a provider with {@code conf} makes for its first credentials. */
  private java.util.Map<String, String> assumeRoleParameters(Configuration conf) throws Exception {
    aws.startRecording();
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(conf);
    p.getCredentials();
    p.close();
    List<LocalAws.Request> calls = LocalAws.assumeRoleCalls(aws.stopRecording());
    assertEquals(1, calls.size(), calls.toString());
    return calls.get(0).form();
  }

  @Test
  void defaultSessionNameComesFromTheHadoopUser() throws Exception {
    Configuration conf = aws.s3aConf("destA", null);
    conf.set("rolebridge.session.duration", "16m"); // a cache entry of this test's own
    String user = org.apache.hadoop.security.UserGroupInformation.getCurrentUser().getShortUserName();
    assertEquals("rolebridge-" + user, assumeRoleParameters(conf).get("RoleSessionName"));
  }

  @Test
  void toStringNamesRoleAndSessionButNoSecret() {
    RoleBridgeCredentialsProvider p = new RoleBridgeCredentialsProvider(aws.s3aConf("destA", "it-tostring"));
    AWSSessionCredentials c = (AWSSessionCredentials) p.getCredentials();
    String s = p.toString();
    assertTrue(s.contains(aws.roleArn("destA")) && s.contains("it-tostring"), s);
    assertFalse(s.contains(c.getAWSSecretKey()) || s.contains(c.getSessionToken()), s);
    assertFalse(c.toString().contains(c.getAWSSecretKey()) || c.toString().contains(c.getSessionToken()));
    p.close();
  }
}
