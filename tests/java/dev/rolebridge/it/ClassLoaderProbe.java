package dev.rolebridge.it;

import java.io.File;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/**
 * Run in a JVM of its own by PackagingIT, as Spark, Hive or Hadoop 3.4's provider isolation would:
 * Hadoop and the AWS SDKs in one shared class loader, and two isolated class loaders on top of it,
 * each loading the rolebridge jar and making a provider. Nothing of rolebridge is on this JVM's
 * class path. Prints one line per loader: "LOADER i key=ACCESS_KEY from=WHERE", then, if asked,
 * "TMPDIR_FILES n" for the directory the library copies were extracted to.
 * Arguments: jar platformClasspath endpoint roleArn externalId bucket.
 */
public final class ClassLoaderProbe {
  private ClassLoaderProbe() {
  }

  public static void main(String[] args) throws Exception {
    URL jar = new File(args[0]).toURI().toURL();
    List<URL> platform = new ArrayList<URL>();
    for (String p : args[1].split(File.pathSeparator)) {
      platform.add(new File(p).toURI().toURL());
    }
    ClassLoader shared = new URLClassLoader(platform.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
    Class<?> confClass = shared.loadClass("org.apache.hadoop.conf.Configuration");
    for (int i = 0; i < 2; i++) {
      URLClassLoader isolated = new URLClassLoader(new URL[] {jar}, shared);
      Object conf = confClass.getConstructor().newInstance();
      Method set = confClass.getMethod("set", String.class, String.class);
      set.invoke(conf, "rolebridge.sts.endpoint", args[2]);
      set.invoke(conf, "rolebridge.sts.region", "us-east-1");
      set.invoke(conf, "rolebridge.role.arn", args[3]);
      set.invoke(conf, "rolebridge.external.id", args[4]);
      set.invoke(conf, "rolebridge.session.name", "it-class-loader");
      Class<?> provider = isolated.loadClass("dev.rolebridge.hadoop.RoleBridgeCredentialsProvider");
      if (provider.getClassLoader() != isolated) {
        throw new IllegalStateException("provider class not from the isolated loader");
      }
      Object p = provider.getConstructor(URI.class, confClass).newInstance(URI.create("s3a://" + args[5]), conf);
      Object creds = provider.getMethod("getCredentials").invoke(p);
      Object key = creds.getClass().getMethod("getAWSAccessKeyId").invoke(creds);
      Object from = isolated.loadClass("dev.rolebridge.hadoop.Main").getMethod("nativeLibraryLocation").invoke(null);
      System.out.println("LOADER " + i + " key=" + key + " from=" + from);
    }
    String tmpdir = System.getProperty("rolebridge.native.tmpdir");
    if (tmpdir != null) {
      String[] left = new File(tmpdir).list();
      System.out.println("TMPDIR_FILES " + (left == null ? -1 : left.length));
    }
  }
}
