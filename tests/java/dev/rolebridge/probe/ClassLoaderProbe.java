package dev.rolebridge.probe;

import java.io.File;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;

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
    ClassLoader shared = Loaders.platform(args[1]);
    for (int i = 0; i < 2; i++) {
      URLClassLoader isolated = new URLClassLoader(new URL[] {jar}, shared);
      Object conf = Loaders.conf(shared, args[2], args[3], args[4], "it-class-loader");
      Class<?> provider = isolated.loadClass("dev.rolebridge.hadoop.RoleBridgeCredentialsProvider");
      if (provider.getClassLoader() != isolated) {
        throw new IllegalStateException("provider class not from the isolated loader");
      }
      Object p = provider.getConstructor(URI.class, conf.getClass()).newInstance(URI.create("s3a://" + args[5]), conf);
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
