package dev.rolebridge.hadoop;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads librolebridge.so once per class loader, in a fixed order:
 * <ol>
 *   <li>an explicit path: system property {@code rolebridge.native.path}, else environment variable
 *       {@code ROLEBRIDGE_NATIVE_PATH} (no fallback after it: an explicit choice that fails is an error);
 *   <li>{@code java.library.path} ({@code System.loadLibrary("rolebridge")});
 *   <li>the copy inside the jar, extracted to a unique temporary file (a unique path lets several
 *       class loaders of one JVM each load it), loaded, then deleted.
 * </ol>
 * Then the library's version must equal the jar's.
 */
final class NativeLoader {
  private static String loadedFrom;
  private static Throwable failure;

  private NativeLoader() {
  }

  /** Where the library was loaded from; loads it first if needed. */
  static synchronized String ensureLoaded() {
    if (loadedFrom != null) {
      return loadedFrom;
    }
    if (failure != null) {
      throw rethrown(failure);
    }
    try {
      String from = load();
      String nativeVersion = NativeBridge.version();
      if (!BuildInfo.VERSION.equals(nativeVersion)) {
        throw new UnsatisfiedLinkError("rolebridge: the native library loaded from " + from
            + " is version " + nativeVersion + " but the jar is version " + BuildInfo.VERSION
            + "; use the library built with this jar (remove the other from "
            + RoleBridgeConstants.NATIVE_PATH_PROPERTY + " / java.library.path)");
      }
      loadedFrom = from;
      return from;
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      failure = e;
      throw rethrown(e);
    }
  }

  private static RuntimeException rethrown(Throwable t) {
    return new RoleBridgeException("rolebridge: cannot load its native library: " + t.getMessage(), t);
  }

  static String os() {
    String name = System.getProperty("os.name", "unknown").toLowerCase(Locale.ROOT);
    if (name.startsWith("linux")) {
      return "linux";
    }
    if (name.startsWith("mac") || name.startsWith("darwin")) {
      return "macos";
    }
    if (name.startsWith("windows")) {
      return "windows";
    }
    return name.replaceAll("[^a-z0-9]", "");
  }

  static String arch() {
    String arch = System.getProperty("os.arch", "unknown").toLowerCase(Locale.ROOT);
    if (arch.equals("amd64") || arch.equals("x86_64")) {
      return "x86_64";
    }
    if (arch.equals("aarch64") || arch.equals("arm64")) {
      return "aarch64";
    }
    return arch.replaceAll("[^a-z0-9_]", "");
  }

  /** The jar resource holding the library for this OS and architecture. */
  static String resourcePath() {
    return "/native/" + os() + "-" + arch() + "/" + System.mapLibraryName("rolebridge");
  }

  private static String load() {
    String explicit = System.getProperty(RoleBridgeConstants.NATIVE_PATH_PROPERTY);
    String explicitFrom = "system property " + RoleBridgeConstants.NATIVE_PATH_PROPERTY;
    if (explicit == null || explicit.trim().isEmpty()) {
      explicit = System.getenv(RoleBridgeConstants.NATIVE_PATH_ENV);
      explicitFrom = "environment variable " + RoleBridgeConstants.NATIVE_PATH_ENV;
    }
    if (explicit != null && !explicit.trim().isEmpty()) {
      File f = new File(explicit.trim()).getAbsoluteFile();
      if (!f.isFile()) {
        throw new UnsatisfiedLinkError(explicitFrom + " names " + f + ", which is not a file");
      }
      System.load(f.getPath());
      return f.getPath() + " (" + explicitFrom + ")";
    }
    try {
      System.loadLibrary("rolebridge");
      return "java.library.path";
    } catch (UnsatisfiedLinkError notThere) {
      // fall through to the bundled copy
    }
    return loadBundled();
  }

  private static String loadBundled() {
    String resource = resourcePath();
    String tmpdirSetting = System.getProperty(RoleBridgeConstants.NATIVE_TMPDIR_PROPERTY);
    File dir = new File(tmpdirSetting != null && !tmpdirSetting.trim().isEmpty()
        ? tmpdirSetting.trim() : System.getProperty("java.io.tmpdir"));
    try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new UnsatisfiedLinkError("this jar holds no native library for " + os() + "/" + arch()
            + " (looked for " + resource + " in the jar and librolebridge in java.library.path);"
            + " build it from source (cargo build --release) and set -D"
            + RoleBridgeConstants.NATIVE_PATH_PROPERTY + "=/path/to/librolebridge.so");
      }
      File tmp;
      try {
        tmp = File.createTempFile("librolebridge-", ".so", dir);
      } catch (IOException e) {
        throw new UnsatisfiedLinkError("cannot write the bundled native library to " + dir + " ("
            + e.getMessage() + "); point -D" + RoleBridgeConstants.NATIVE_TMPDIR_PROPERTY
            + " at a writable directory");
      }
      try {
        Files.copy(in, tmp.toPath(), StandardCopyOption.REPLACE_EXISTING);
        System.load(tmp.getAbsolutePath());
      } catch (UnsatisfiedLinkError e) {
        throw new UnsatisfiedLinkError("cannot load the bundled native library extracted to " + tmp
            + " (" + e.getMessage() + "); the usual cause is a directory mounted noexec: point -D"
            + RoleBridgeConstants.NATIVE_TMPDIR_PROPERTY + " at a directory that allows execution");
      } finally {
        // Once mapped, the library no longer needs its file; nothing accumulates across runs.
        if (!tmp.delete()) {
          tmp.deleteOnExit();
        }
      }
      return "jar:" + resource + " (extracted to " + dir + ")";
    } catch (IOException e) {
      throw new UnsatisfiedLinkError("cannot read " + resource + " from the jar: " + e.getMessage());
    }
  }
}
