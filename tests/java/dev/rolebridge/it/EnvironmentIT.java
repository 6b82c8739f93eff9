package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How the process environment and rolebridge's settings interact. */
class EnvironmentIT {
  private final LocalAws aws = LocalAws.get();

  @Test
  void stsEndpointSettingWinsOverAwsEndpointUrlInTheEnvironment() throws Exception {
    // aws-config reads AWS_ENDPOINT_URL(_STS); both point at a closed port here. The provider's
    // rolebridge.sts.endpoint (set by ChildProbe to the local STS) must be the one used.
    Map<String, String> env = new HashMap<String, String>();
    env.put("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    env.put("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
    aws.startRecording();
    String out = aws.runChildProbe(env);
    List<LocalAws.Request> recorded = aws.stopRecording();
    assertTrue(out.contains("RESULT ok"), out);
    assertEquals(1, LocalAws.assumeRoleCalls(recorded).size(), recorded.toString());
  }
}
