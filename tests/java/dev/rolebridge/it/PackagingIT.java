package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rolebridge.probe.ClassLoaderProbe;
import dev.rolebridge.probe.NativeLoaderProbe;
import java.io.DataInputStream;
import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The release jar as users install it: one jar, any class loader, any temp directory. */
class PackagingIT {
  private final LocalAws aws = LocalAws.get();
  private final File jar = new File(System.getProperty("rolebridge.test.jar"));
  private final String java = System.getProperty("java.home") + "/bin/java";

  static LocalAws.Ran run(List<String> command) throws Exception {
    return LocalAws.run(new ProcessBuilder(command));
  }

  private LocalAws.Ran javaJar(String... props) throws Exception {
    List<String> cmd = new ArrayList<String>(Arrays.asList(java));
    cmd.addAll(Arrays.asList(props));
    cmd.addAll(Arrays.asList("-jar", jar.getPath()));
    return run(cmd);
  }

  @Test
  void jarHoldsJava8ShimClassesAndTheNativeLibraryOnly() throws Exception {
    int classes = 0;
    try (JarFile jf = new JarFile(jar)) {
      assertEquals(62, elfMachine(jf, "native/linux-x86_64/librolebridge.so"), "EM_X86_64");
      assertEquals(183, elfMachine(jf, "native/linux-aarch64/librolebridge.so"), "EM_AARCH64");
      assertEquals("linux-x86_64 linux-aarch64",
          jf.getManifest().getMainAttributes().getValue("Rolebridge-Native-Platforms"));
      Enumeration<JarEntry> entries = jf.entries();
      while (entries.hasMoreElements()) {
        JarEntry e = entries.nextElement();
        String name = e.getName();
        assertTrue(name.startsWith("META-INF/") || name.startsWith("dev/rolebridge/hadoop/")
            || name.startsWith("native/") || name.equals("dev/") || name.equals("dev/rolebridge/"),
            "only the shim and the native library; no Hadoop or AWS SDK classes: " + name);
        if (name.endsWith(".class")) {
          classes++;
          try (DataInputStream in = new DataInputStream(jf.getInputStream(e))) {
            assertEquals(0xCAFEBABE, in.readInt());
            in.readUnsignedShort();
            assertEquals(52, in.readUnsignedShort(), "Java 8 class file (major 52): " + name);
          }
        }
      }
      assertEquals(System.getProperty("rolebridge.test.version"),
          jf.getManifest().getMainAttributes().getValue("Implementation-Version"));
    }
    assertTrue(classes >= 10, "shim classes: " + classes);
  }

  /** The machine field (e_machine) of the ELF header of a library in the jar. */
  private static int elfMachine(JarFile jf, String entry) throws Exception {
    JarEntry e = jf.getJarEntry(entry);
    assertNotNull(e, entry);
    try (DataInputStream in = new DataInputStream(jf.getInputStream(e))) {
      byte[] header = new byte[20];
      in.readFully(header);
      assertEquals(0x7f, header[0]);
      assertEquals('E', header[1]);
      return (header[18] & 0xff) | (header[19] & 0xff) << 8;
    }
  }

  @Test
  void javaDashJarPrintsVersionsAndWhereTheLibraryCameFrom() throws Exception {
    LocalAws.Ran r = javaJar();
    String out = r.output;
    assertEquals(0, r.exit, out);
    String v = System.getProperty("rolebridge.test.version");
    assertTrue(out.contains("rolebridge " + v + "\n"), out);
    assertTrue(out.contains("native library " + v + " loaded from jar:/native/linux-x86_64/librolebridge.so"), out);
  }

  @Test
  void aPlatformWithoutALibraryInTheJarIsToldWhatToDo() throws Exception {
    LocalAws.Ran r = javaJar("-Dos.arch=sparcv9");
    String out = r.output;
    assertEquals(1, r.exit, out);
    assertTrue(out.contains("no native library for linux/sparcv9") && out.contains("build it from source")
        && out.contains("-Drolebridge.native.path="), out);
  }

  @Test
  void anUnwritableTempDirectoryIsNamedWithTheSettingThatMovesIt() throws Exception {
    File file = File.createTempFile("rolebridge-not-a-dir", "");
    File dir = new File(file, "sub");
    LocalAws.Ran r = javaJar("-Drolebridge.native.tmpdir=" + dir);
    String out = r.output;
    file.delete();
    assertEquals(1, r.exit, out);
    assertTrue(out.contains("cannot write a copy of the native library") && out.contains(dir.getPath())
        && out.contains("-Drolebridge.native.tmpdir"), out);
  }

  @Test
  void aNoexecTempDirectoryIsNamedWithTheSettingThatMovesIt() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounting needs root");
    File dir = Files.createTempDirectory("rolebridge-noexec").toFile();
    LocalAws.Ran mount = run(Arrays.asList("mount", "-t", "tmpfs", "-o", "noexec,size=32m", "tmpfs", dir.getPath()));
    assertEquals(0, mount.exit, "mount: " + mount.output);
    try {
      LocalAws.Ran r = javaJar("-Drolebridge.native.tmpdir=" + dir);
      String out = r.output;
      assertEquals(1, r.exit, out);
      assertTrue(out.contains("noexec") && out.contains(dir.getPath()) && out.contains("-Drolebridge.native.tmpdir"), out);
      assertTrue(out.contains("spark.executor.extraJavaOptions=-D<name>=<value>")
          && out.contains("executors do not inherit the driver's"), "says how a -D reaches executors: " + out);
      assertEquals(0, dir.list().length, "the failed copy was removed: " + Arrays.toString(dir.list()));
    } finally {
      run(Arrays.asList("umount", dir.getPath()));
      dir.delete();
    }
  }

  /**
   * Issue 9, hole 8. A load that failed (here: a temporary directory that is a file) is tried again
   * at the next call instead of being remembered for the life of the class loader; and the copy is
   * written into the file the loader created, never deleted and created again by name in between
   * (what Files.copy with REPLACE_EXISTING did), so nobody can put a file of their own there.
   */
  @Test
  void aFailedLoadIsTriedAgainAndTheCopyIsWrittenIntoTheFileItCreated() throws Exception {
    File notADir = File.createTempFile("rolebridge-not-a-dir", "");
    File good = Files.createTempDirectory("rolebridge-tmp").toFile();
    LocalAws.Ran r = run(Arrays.asList(java, "-Djava.security.manager=allow", "-cp",
        System.getProperty("rolebridge.test.probes") + File.pathSeparator + jar.getPath(),
        NativeLoaderProbe.class.getName(), new File(notADir, "sub").getPath(), good.getPath()));
    notADir.delete();
    String out = r.output;
    assertEquals(0, r.exit, out);
    assertTrue(out.contains("FIRST failed: ") && out.contains("cannot write a copy of the native library"), out);
    assertTrue(out.contains("SECOND loaded jar:/native/linux-x86_64/librolebridge.so"), "tried again: " + out);
    List<String> events = new ArrayList<String>();
    for (String line : out.split("\n")) {
      if (line.startsWith("EVENT ") && line.contains(good.getPath())) {
        events.add(line.substring(6, line.indexOf(' ', 6)));
      }
    }
    assertEquals(Arrays.asList("WRITE", "LINK", "DELETE"), events,
        "created and written once, loaded, then deleted: " + out);
    assertEquals(0, good.list().length, "nothing left behind: " + Arrays.toString(good.list()));
    good.delete();
  }

  private String probe(File tmpdir, String... props) throws Exception {
    List<String> cmd = new ArrayList<String>(Arrays.asList(java,
        "-cp", System.getProperty("rolebridge.test.probes"),
        "-Drolebridge.native.tmpdir=" + tmpdir, "-Dlog4j.configuration=log4j.properties"));
    cmd.addAll(Arrays.asList(props));
    cmd.addAll(Arrays.asList(ClassLoaderProbe.class.getName(), jar.getPath(),
        System.getProperty("rolebridge.test.platform.classpath"), aws.endpoint,
        aws.roleArn("destA"), aws.externalId("destA"), aws.bucket("destA")));
    LocalAws.Ran r = run(cmd);
    String out = r.output;
    assertEquals(0, r.exit, out);
    assertTrue(out.contains("LOADER 0 key=ASIA") && out.contains("LOADER 1 key=ASIA"), out);
    assertTrue(out.contains("TMPDIR_FILES 0"), "copies are deleted once loaded: " + out);
    return out;
  }

  @Test
  void twoIsolatedClassLoadersEachLoadTheBundledLibrary() throws Exception {
    File tmpdir = Files.createTempDirectory("rolebridge-tmp").toFile();
    String out = probe(tmpdir);
    assertEquals(2, out.split("from=jar:/native/linux-x86_64/librolebridge.so", -1).length - 1, out);
    assertEquals(0, tmpdir.list().length, "nothing accumulates: " + Arrays.toString(tmpdir.list()));
    tmpdir.delete();
  }

  @Test
  void twoIsolatedClassLoadersWithAnExplicitLibraryPath() throws Exception {
    File tmpdir = Files.createTempDirectory("rolebridge-tmp").toFile();
    String so = System.getProperty("rolebridge.test.so");
    String out = probe(tmpdir, "-Drolebridge.native.path=" + so);
    assertTrue(out.contains("LOADER 0 key=") && out.contains("from=" + so + " (system property rolebridge.native.path)"), out);
    assertTrue(out.contains("a private copy of " + so), "the second loader gets a private copy: " + out);
    tmpdir.delete();
  }

  @Test
  void twoIsolatedClassLoadersWithTheLibraryOnJavaLibraryPath() throws Exception {
    File tmpdir = Files.createTempDirectory("rolebridge-tmp").toFile();
    String so = System.getProperty("rolebridge.test.so");
    String out = probe(tmpdir, "-Djava.library.path=" + new File(so).getParent());
    assertTrue(out.contains("from=" + so + " (java.library.path)"), out);
    assertTrue(out.contains("a private copy of " + so), out);
    assertFalse(out.contains("from=jar:"), out);
    tmpdir.delete();
  }
}
