package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.hadoop.RoleBridgeConfigException;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Invalid settings, each on an otherwise valid configuration: exactly one exception, at
 * construction, naming the key the value came from, the rule and the fix; and no request at all
 * (the recorder runs across the whole table).
 */
class BadSettingsIT {
  private static final LocalAws AWS = LocalAws.get();
  private static final String B = "bad-bucket";

  private static String repeat(String s, int n) {
    return String.join("", Collections.nCopies(n, s));
  }

  /** key, value (null: remove the key), expected key in the error, a fragment of the rule. */
  static Stream<Arguments> cases() {
    List<Arguments> c = new ArrayList<Arguments>();
    String arn = "rolebridge.role.arn";
    c.add(Arguments.of(arn, null, "rolebridge.role.arn (or rolebridge.bucket.bad-bucket.role.arn)", "required"));
    c.add(Arguments.of(arn, "writer", arn, "expected arn:<partition>:iam::<account>:role/<name>"));
    c.add(Arguments.of(arn, "arn:aws:iam::22222222222:role/w", arn, "12 digits"));
    c.add(Arguments.of(arn, "arn:aws:s3:::bucket/x", arn, "not iam"));
    c.add(Arguments.of(arn, "arn:aws:iam::222222222222:user/w", arn, "must start with role/"));
    c.add(Arguments.of(arn, "arn:azure:iam::222222222222:role/w", arn, "unknown partition"));
    c.add(Arguments.of(arn, "arn:aws:iam:us-east-1:222222222222:role/w", arn, "no region"));
    c.add(Arguments.of(arn, "", arn, "empty"));
    c.add(Arguments.of(arn, "   ", arn, "empty"));
    c.add(Arguments.of(arn, "arn:aws:iam::222222222222:role/wrïter", arn, "role name"));
    c.add(Arguments.of(arn, "arn:aws:iam::222222222222:role/" + repeat("a", 3000), arn, "2048"));
    c.add(Arguments.of(arn, "arn:aws:iam::222222222222:role/two words", arn, "role name"));
    String ext = "rolebridge.external.id";
    c.add(Arguments.of(ext, "x", ext, "2-1224 characters"));
    c.add(Arguments.of(ext, "has space", ext, "2-1224 characters"));
    c.add(Arguments.of(ext, repeat("e", 1225), ext, "(1225 characters)"));
    c.add(Arguments.of(ext, "extérieur", ext, "2-1224 characters"));
    String name = "rolebridge.session.name";
    c.add(Arguments.of(name, "s", name, "2-64 characters"));
    c.add(Arguments.of(name, repeat("s", 65), name, "2-64 characters"));
    c.add(Arguments.of(name, "etl/job", name, "2-64 characters"));
    String dur = "rolebridge.session.duration";
    c.add(Arguments.of(dur, "899s", dur, "900s (15m) to 12h"));
    c.add(Arguments.of(dur, "13h", dur, "900s (15m) to 12h"));
    c.add(Arguments.of(dur, "1.5h", dur, "unknown unit"));
    c.add(Arguments.of(dur, "fast", dur, "not a duration"));
    c.add(Arguments.of(dur, "-1h", dur, "not a duration"));
    c.add(Arguments.of(dur, repeat("9", 40) + "s", dur, "too large"));
    String pol = "rolebridge.session.policy";
    c.add(Arguments.of(pol, "{not json", pol, "not valid JSON"));
    c.add(Arguments.of(pol, "[1, 2]", pol, "not an object"));
    c.add(Arguments.of(pol, "{\"Sid\":\"" + repeat("p", 2050) + "\"}", pol, "over STS's limit of 2048"));
    String arns = "rolebridge.session.policy.arns";
    c.add(Arguments.of(arns, "ReadOnlyAccess", arns, "not a managed policy ARN"));
    c.add(Arguments.of(arns, repeat("arn:aws:iam::aws:policy/P,", 10) + "arn:aws:iam::aws:policy/P", arns, "at most 10"));
    String region = "rolebridge.sts.region";
    c.add(Arguments.of(region, "US-EAST-1", region, "not an AWS region name"));
    c.add(Arguments.of(region, "moon-1", region, "not an AWS region name"));
    c.add(Arguments.of(region, "cn-north-1", region, "partition aws-cn"));
    String ep = "rolebridge.sts.endpoint";
    c.add(Arguments.of(ep, "ftp://sts.example.com", ep, "scheme must be http or https"));
    c.add(Arguments.of(ep, "http://127.0.0.1:99999", ep, "port must be a number"));
    c.add(Arguments.of(ep, "https://sts.amazonaws.com/?a=b", ep, "query"));
    // the secret key and token come back from STS: plain http only to this machine
    c.add(Arguments.of(ep, "http://sts.eu-west-1.amazonaws.com", ep, "would cross the network unencrypted"));
    c.add(Arguments.of(ep, "http://10.1.2.3:8080", ep, "accepted only for loopback addresses"));
    c.add(Arguments.of("rolebridge.refresh.ahead", "30s", "rolebridge.refresh.ahead", "minimum of 60s"));
    c.add(Arguments.of("rolebridge.refresh.ahead", "2h", "rolebridge.refresh.ahead", "not shorter than the session duration"));
    c.add(Arguments.of("rolebridge.sts.timeout", "0s", "rolebridge.sts.timeout", "outside 1s to 5m"));
    c.add(Arguments.of("rolebridge.sts.timeout", "1h", "rolebridge.sts.timeout", "outside 1s to 5m"));
    c.add(Arguments.of("rolebridge.failure.mode", "fallback", "rolebridge.failure.mode", "neither closed nor open"));
    // per-bucket values are named by their own key
    c.add(Arguments.of("rolebridge.bucket." + B + ".role.arn", "nope", "rolebridge.bucket." + B + ".role.arn", "not an IAM role ARN"));
    c.add(Arguments.of("rolebridge.bucket." + B + ".session.duration", "1d", "rolebridge.bucket." + B + ".session.duration", "12h"));
    c.add(Arguments.of("rolebridge.bucket." + B + ".external.id", "", "rolebridge.bucket." + B + ".external.id", "empty"));
    // keys rolebridge does not know: a typo named with the nearest setting (issue 9, hole 2)
    c.add(Arguments.of("rolebridge.extrenal.id", "x", "rolebridge.extrenal.id",
        "is not a setting of rolebridge, so it would be ignored"));
    c.add(Arguments.of("rolebridge.bucket." + B + ".rol.arn", "x", "rolebridge.bucket." + B + ".rol.arn",
        "Did you mean rolebridge.bucket." + B + ".role.arn?"));
    c.add(Arguments.of("rolebridge.bucket.other." + B + ".session.durations", "1h",
        "rolebridge.bucket.other." + B + ".session.durations",
        "Did you mean rolebridge.bucket.other." + B + ".session.duration?"));
    c.add(Arguments.of("rolebridge.native.path", "/opt/librolebridge.so", "rolebridge.native.path",
        "is a JVM system property"));
    // S3A's keys, where they stand in for ours
    c.add(Arguments.of("fs.s3a.bucket." + B + ".assumed.role.session.duration", "5m",
        "fs.s3a.bucket." + B + ".assumed.role.session.duration", "900s (15m) to 12h"));
    return c.stream();
  }

  @BeforeAll
  static void record() throws Exception {
    AWS.startRecording();
  }

  @AfterAll
  static void noRequestWasMade() throws Exception {
    List<LocalAws.Request> recorded = AWS.stopRecording();
    assertEquals(0, recorded.size(), "bad settings make no request: " + recorded);
  }

  @ParameterizedTest(name = "{0}={1}")
  @MethodSource("cases")
  void rejectedAtConstructionWithKeyRuleAndFix(String key, String value, String expectedKey, String rule) {
    Configuration conf = AWS.s3aConf("destA", "it-bad-settings");
    if (value == null) {
      conf.unset(key);
    } else {
      conf.set(key, value);
    }
    URI uri = URI.create("s3a://" + B + "/");
    for (int sdk = 1; sdk <= 2; sdk++) {
      RoleBridgeConfigException e = sdk == 1
          ? assertThrows(RoleBridgeConfigException.class, () -> new RoleBridgeCredentialsProvider(uri, conf))
          : assertThrows(RoleBridgeConfigException.class, () -> new RoleBridgeCredentialsProviderV2(uri, conf));
      String m = e.getMessage();
      assertEquals(expectedKey, e.getKey());
      assertTrue(m.startsWith(expectedKey + ": "), "names the key first: " + m);
      assertTrue(m.contains(rule), "states the rule (" + rule + "): " + m);
      String fix = m.substring(m.indexOf(". ", expectedKey.length()) + 2);
      assertTrue(fix.matches("^(Set|Give|Write|Choose|Use|Shorten|Credentials|A session|STS in one|Did you mean).*"),
          "ends with the fix: " + m);
      assertTrue(m.length() < 700, "short enough to read in a log: " + m.length());
    }
  }
}
