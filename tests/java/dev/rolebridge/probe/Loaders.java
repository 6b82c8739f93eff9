package dev.rolebridge.probe;

import java.io.File;
import java.lang.reflect.Method;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/** What the class-loader probes share: Hadoop and the AWS SDKs in a loader of their own, and settings. */
final class Loaders {
  private Loaders() {
  }

  /**
   * A class loader for the jars of {@code classpath} (Hadoop and the AWS SDKs) on top of the JDK's
   * platform (Java 9+) or extension (Java 8) loader: nothing of this JVM's class path.
   */
  static ClassLoader platform(String classpath) throws MalformedURLException {
    List<URL> urls = new ArrayList<URL>();
    for (String p : classpath.split(File.pathSeparator)) {
      urls.add(new File(p).toURI().toURL());
    }
    return new URLClassLoader(urls.toArray(new URL[0]), ClassLoader.getSystemClassLoader().getParent());
  }

  /**
   * A Hadoop Configuration of {@code shared}'s Configuration class with the rolebridge settings for
   * a local STS: endpoint, region us-east-1, role, external ID and session name.
   */
  static Object conf(ClassLoader shared, String endpoint, String roleArn, String externalId, String session)
      throws Exception {
    Class<?> confClass = shared.loadClass("org.apache.hadoop.conf.Configuration");
    Object conf = confClass.getConstructor().newInstance();
    Method set = confClass.getMethod("set", String.class, String.class);
    set.invoke(conf, "rolebridge.sts.endpoint", endpoint);
    set.invoke(conf, "rolebridge.sts.region", "us-east-1");
    set.invoke(conf, "rolebridge.role.arn", roleArn);
    set.invoke(conf, "rolebridge.external.id", externalId);
    set.invoke(conf, "rolebridge.session.name", session);
    return conf;
  }
}
