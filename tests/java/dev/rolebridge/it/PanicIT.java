package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import dev.rolebridge.hadoop.RoleBridgeException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;

/** A panic in native code becomes a Java exception with its message, and the JVM goes on. */
class PanicIT {
  private final LocalAws aws = LocalAws.get();

  @Test
  void aNativePanicIsAJavaExceptionAndTheJvmGoesOn() throws Exception {
    RoleBridgeCredentialsProvider before = new RoleBridgeCredentialsProvider(aws.s3aConf("destA", "it-panic"));
    String key = before.getCredentials().getAWSAccessKeyId();

    Method panic = Class.forName("dev.rolebridge.hadoop.NativeBridge").getDeclaredMethod("panicForTest", String.class);
    panic.setAccessible(true);
    for (int i = 0; i < 50; i++) {
      final String message = "deliberate test panic #" + i;
      InvocationTargetException e = assertThrows(InvocationTargetException.class, () -> panic.invoke(null, message));
      assertTrue(e.getCause() instanceof RoleBridgeException, String.valueOf(e.getCause()));
      assertEquals("rolebridge internal error: panic in native code: " + message, e.getCause().getMessage());
    }

    // The native library still works, for the provider made before and for a new one.
    before.refresh();
    assertTrue(before.getCredentials().getAWSAccessKeyId().startsWith("ASIA"));
    RoleBridgeCredentialsProvider after = new RoleBridgeCredentialsProvider(aws.s3aConf("destA", "it-panic"));
    assertEquals(before.getCredentials().getAWSAccessKeyId(), after.getCredentials().getAWSAccessKeyId());
    assertTrue(!key.equals(after.getCredentials().getAWSAccessKeyId()), "refresh() after the panics made a new session");
    before.close();
    after.close();
  }
}
