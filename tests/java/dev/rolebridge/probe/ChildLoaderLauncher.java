package dev.rolebridge.probe;

import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs a main class the way Spark runs a job's code with {@code --jars} ({@code spark.jars}): the
 * jars named here are in a child class loader of the application class loader, which is also the
 * thread's context class loader, so a Hadoop {@code Configuration} made afterwards has it as its
 * class loader. The main class is loaded through the child, so it may live in the child or on the
 * JVM's class path.
 * Arguments: childClasspath (entries separated by the path separator) mainClass mainArgs...
 */
public final class ChildLoaderLauncher {
  private ChildLoaderLauncher() {
  }

  public static void main(String[] args) throws Exception {
    List<URL> urls = new ArrayList<URL>();
    for (String p : args[0].split(File.pathSeparator)) {
      if (!p.isEmpty()) {
        urls.add(new File(p).toURI().toURL());
      }
    }
    URLClassLoader child = new URLClassLoader(urls.toArray(new URL[0]), ChildLoaderLauncher.class.getClassLoader());
    Thread.currentThread().setContextClassLoader(child);
    Class<?> main = Class.forName(args[1], true, child);
    main.getMethod("main", String[].class).invoke(null, (Object) Arrays.copyOfRange(args, 2, args.length));
  }
}
