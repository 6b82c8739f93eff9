package dev.rolebridge.probe;

import dev.rolebridge.hadoop.Main;
import java.security.Permission;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * How the shim extracts its library, watched by a SecurityManager that records every write, delete
 * and load ("link") of a librolebridge-* file and allows everything. First with the temporary
 * directory named by the first argument (expected to fail), then with the second: prints
 * "FIRST failed: MESSAGE" or "FIRST loaded", "SECOND loaded FROM" or "SECOND failed: MESSAGE", then
 * one "EVENT WRITE|DELETE|LINK path" line per recorded check, in order. Needs
 * -Djava.security.manager=allow on Java 17+.
 * Arguments: firstTmpdir secondTmpdir.
 */
public final class NativeLoaderProbe {
  private NativeLoaderProbe() {
  }

  public static void main(String[] args) {
    final List<String> events = Collections.synchronizedList(new ArrayList<String>());
    System.setSecurityManager(new SecurityManager() {
      private void record(String kind, String file) {
        if (file != null && file.contains("librolebridge-")) {
          events.add(kind + " " + file);
        }
      }

      @Override
      public void checkPermission(Permission perm) {
      }

      @Override
      public void checkPermission(Permission perm, Object context) {
      }

      @Override
      public void checkWrite(String file) {
        record("WRITE", file);
      }

      @Override
      public void checkDelete(String file) {
        record("DELETE", file);
      }

      @Override
      public void checkLink(String lib) {
        record("LINK", lib);
      }
    });
    System.setProperty("rolebridge.native.tmpdir", args[0]);
    try {
      Main.nativeLibraryLocation();
      System.out.println("FIRST loaded");
    } catch (RuntimeException e) {
      System.out.println("FIRST failed: " + e.getMessage());
    }
    System.setProperty("rolebridge.native.tmpdir", args[1]);
    try {
      System.out.println("SECOND loaded " + Main.nativeLibraryLocation());
    } catch (RuntimeException e) {
      System.out.println("SECOND failed: " + e.getMessage());
    }
    System.setSecurityManager(null);
    for (String e : events) {
      System.out.println("EVENT " + e);
    }
  }
}
