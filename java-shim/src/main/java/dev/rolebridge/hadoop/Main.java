package dev.rolebridge.hadoop;

/**
 * {@code java -jar rolebridge-<version>.jar}: a quick check on a node. Prints the jar's version,
 * the native library's version and where it was loaded from; exits 1 if it cannot be loaded.
 * Needs neither Hadoop nor an AWS SDK on the class path.
 */
public final class Main {
  private Main() {
  }

  /** Where the native library was loaded from, loading it first if needed. */
  public static String nativeLibraryLocation() {
    return NativeLoader.ensureLoaded();
  }

  public static void main(String[] args) {
    System.out.println("rolebridge " + BuildInfo.VERSION);
    System.out.println("platform " + NativeLoader.os() + "-" + NativeLoader.arch());
    try {
      String from = nativeLibraryLocation();
      System.out.println("native library " + NativeBridge.version() + " loaded from " + from);
    } catch (RuntimeException e) {
      System.out.println("native library NOT loaded: " + e.getMessage());
      System.exit(1);
    }
  }
}
