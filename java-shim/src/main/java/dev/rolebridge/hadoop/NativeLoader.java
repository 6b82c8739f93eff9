package dev.rolebridge.hadoop;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loads librolebridge.so once per class loader, in a fixed order:
 * <ol>
 *   <li>an explicit path: system property {@code rolebridge.native.path}, else environment variable
 *       {@code ROLEBRIDGE_NATIVE_PATH} (no fallback after it: an explicit choice that fails is an error);
 *   <li>{@code librolebridge.so} in a directory of {@code java.library.path};
 *   <li>the copy inside the jar, extracted to a unique temporary file (a unique path lets several
 *       class loaders of one JVM each load it), loaded, then deleted.
 * </ol>
 * A file that another class loader of this JVM already loaded is loaded as a private copy, since
 * a native library can belong to one class loader only. Then the library's version must equal the
 * jar's.
 */
final class NativeLoader {
  private static String loadedFrom;
  /** A library that loaded but is not this jar's (another version): it cannot be unloaded. */
  private static UnsatisfiedLinkError wrongLibrary;

  private NativeLoader() {
  }

  /**
   * Where the library was loaded from; loads it first if needed. A load that failed (a full or
   * noexec temporary directory, a file that could not be read) is tried again at the next call, so
   * a passing problem does not disable rolebridge for the life of the class loader. A library that
   * loaded but is not this jar's stays this class loader's, so that failure stays.
   */
  static synchronized String ensureLoaded() {
    if (loadedFrom != null) {
      return loadedFrom;
    }
    if (wrongLibrary != null) {
      throw rethrown(wrongLibrary);
    }
    String from;
    try {
      from = load();
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      throw rethrown(e);
    }
    String nativeVersion;
    try {
      nativeVersion = NativeBridge.version();
    } catch (UnsatisfiedLinkError e) {
      wrongLibrary = new UnsatisfiedLinkError("rolebridge: the library loaded from " + from
          + " is not rolebridge's (" + e.getMessage() + ")");
      throw rethrown(wrongLibrary);
    }
    if (!BuildInfo.VERSION.equals(nativeVersion)) {
      wrongLibrary = new UnsatisfiedLinkError("rolebridge: the native library loaded from " + from
          + " is version " + nativeVersion + " but the jar is version " + BuildInfo.VERSION
          + "; use the library built with this jar (remove the other from "
          + RoleBridgeConstants.NATIVE_PATH_PROPERTY + " / java.library.path)");
      throw rethrown(wrongLibrary);
    }
    loadedFrom = from;
    return from;
  }

  private static RuntimeException rethrown(Throwable t) {
    return new RoleBridgeException("rolebridge: cannot load its native library: " + t.getMessage()
        + ". " + HOW_TO_SET_A_PROPERTY, t);
  }

  /** Where a -D option goes in the JVMs that run providers (quoted in docs/troubleshooting.md). */
  static final String HOW_TO_SET_A_PROPERTY = "A -D option must reach every JVM that runs the"
      + " provider: for Spark, --conf spark.driver.extraJavaOptions=-D<name>=<value> and --conf"
      + " spark.executor.extraJavaOptions=-D<name>=<value> (executors do not inherit the driver's);"
      + " for MapReduce, mapreduce.map.java.opts and mapreduce.reduce.java.opts; for the hadoop"
      + " command, HADOOP_OPTS";

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
      return loadFile(f) + " (" + explicitFrom + ")";
    }
    File onLibraryPath = findOnLibraryPath();
    if (onLibraryPath != null) {
      try {
        return loadFile(onLibraryPath) + " (java.library.path)";
      } catch (UnsatisfiedLinkError e) {
        // not loadable from there (e.g. built for another platform): use the bundled copy
      }
    }
    return loadBundled();
  }

  private static File findOnLibraryPath() {
    String path = System.getProperty("java.library.path", "");
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty()) {
        File f = new File(dir, System.mapLibraryName("rolebridge"));
        if (f.isFile()) {
          return f.getAbsoluteFile();
        }
      }
    }
    return null;
  }

  /**
   * Loads {@code f}. A library file can belong to one class loader only; if another class loader
   * of this JVM (Spark, Hive, Hadoop 3.4's provider isolation) already loaded it, a private copy
   * is loaded instead, the way the bundled library always is.
   */
  private static String loadFile(File f) {
    try {
      System.load(f.getPath());
      return f.getPath();
    } catch (UnsatisfiedLinkError e) {
      if (e.getMessage() == null || !e.getMessage().contains("another classloader")) {
        throw e;
      }
    }
    try (InputStream in = Files.newInputStream(f.toPath())) {
      return loadCopy(in, f.getPath()) + " (a private copy of " + f + ": another class loader has that file)";
    } catch (IOException e) {
      throw new UnsatisfiedLinkError("cannot read " + f + ": " + e.getMessage());
    }
  }

  private static String loadBundled() {
    String resource = resourcePath();
    try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new UnsatisfiedLinkError("this jar holds no native library for " + os() + "/" + arch()
            + " (looked for " + resource + " in the jar and " + System.mapLibraryName("rolebridge")
            + " in java.library.path); build it from source (cargo build --release) and set -D"
            + RoleBridgeConstants.NATIVE_PATH_PROPERTY + "=/path/to/" + System.mapLibraryName("rolebridge"));
      }
      return "jar:" + resource + " " + loadCopy(in, "jar:" + resource);
    } catch (IOException e) {
      throw new UnsatisfiedLinkError("cannot read " + resource + " from the jar: " + e.getMessage());
    }
  }

  /** What the dynamic linker's message for a library that would not load usually means, and the fix. */
  static String likelyCause(String message) {
    String m = message == null ? "" : message;
    if (m.contains("GLIBC_") && m.contains("not found")) {
      return "this node's C library (glibc) is older than the library needs; the libraries in the"
          + " release jar need glibc 2.17 or later (Amazon Linux 2 has 2.26): use the release jar's"
          + " library, not one built on a newer system";
    }
    if (m.contains("wrong ELF class") || m.contains("can't load") || m.contains("ELF file")) {
      return "the library was built for another architecture than this JVM's (" + arch() + ")";
    }
    return "the usual cause is a directory mounted noexec: point -D" + RoleBridgeConstants.NATIVE_TMPDIR_PROPERTY
        + " at a directory that allows execution";
  }

  /** The directory extracted copies go to. */
  static File tmpdir() {
    String setting = System.getProperty(RoleBridgeConstants.NATIVE_TMPDIR_PROPERTY);
    return new File(setting != null && !setting.trim().isEmpty()
        ? setting.trim() : System.getProperty("java.io.tmpdir"));
  }

  /**
   * Copies the library to a new file of a unique name, loads it, and deletes the file. The file is
   * created exclusively (it did not exist, it is not a link) with owner-only permissions, and the
   * copy is written through the channel that created it: in a temporary directory without the
   * sticky bit, nobody else gets a moment in which to put a file of their own under that name.
   */
  private static String loadCopy(InputStream in, String what) throws IOException {
    File dir = tmpdir();
    Path tmp = null;
    try {
      SeekableByteChannel out = null;
      for (int attempt = 0; out == null; attempt++) {
        tmp = new File(dir, "librolebridge-" + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36)
            + ".so").toPath();
        try {
          out = createExclusive(tmp);
        } catch (FileAlreadyExistsException taken) {
          if (attempt >= 100) {
            throw taken;
          }
        }
      }
      try (OutputStream os = Channels.newOutputStream(out)) {
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) {
          os.write(buffer, 0, n);
        }
      }
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UnsatisfiedLinkError("cannot write a copy of the native library (" + what + ") to " + dir
          + ": " + e + "; point -D" + RoleBridgeConstants.NATIVE_TMPDIR_PROPERTY
          + " at a writable directory that allows execution, or set -D"
          + RoleBridgeConstants.NATIVE_PATH_PROPERTY + " to an installed copy");
    }
    try {
      System.load(tmp.toAbsolutePath().toString());
    } catch (UnsatisfiedLinkError e) {
      throw new UnsatisfiedLinkError("cannot load the copy of the native library (" + what + ") in " + dir
          + " (" + e.getMessage() + "); " + likelyCause(e.getMessage()));
    } finally {
      // Once mapped, the library no longer needs its file; nothing accumulates across runs.
      deleteQuietly(tmp);
    }
    return "(extracted to " + dir + ")";
  }

  /** Creates {@code path}, which must not exist, readable and writable by its owner only. */
  private static SeekableByteChannel createExclusive(Path path) throws IOException {
    Set<StandardOpenOption> options = EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    try {
      return Files.newByteChannel(path, options,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException notPosix) {
      return Files.newByteChannel(path, options);
    }
  }

  private static void deleteQuietly(Path path) {
    if (path == null) {
      return;
    }
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      path.toFile().deleteOnExit();
    }
  }
}
