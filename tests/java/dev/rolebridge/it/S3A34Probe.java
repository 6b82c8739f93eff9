package dev.rolebridge.it;

import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.Arrays;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Run by S3A34IT in a JVM whose class path is Hadoop 3.4.1 + S3A 3.4.1 + the AWS SDK v2 bundle
 * (not this JVM's Hadoop 3.3.1), against the local S3: S3A settings for it, then each system
 * property {@code probe.conf.<KEY>} sets {@code <KEY>} (the provider and rolebridge keys come that
 * way). Uses only Hadoop's FileSystem API, so that it loads wherever Hadoop's client is.
 * Operations: "small" writes, reads back and deletes 1 KiB; "full" writes a file of three parts
 * (multipart upload, fs.s3a.multipart.size 5M), reads it back, renames it (a multipart copy through
 * the transfer manager and S3A's async client), uploads a local file of the same size
 * (copyFromLocalFile, the transfer manager again) and deletes it all.
 * Prints "FS class scheme", one line per step and "PROBE ok"; a failure prints
 * "FAILED class: message <- cause class: message ..." and exits 3.
 * Arguments: endpoint bucket scheme (s3a or s3) small|full.
 */
public final class S3A34Probe {
  static final int PART = 5 * 1024 * 1024;

  private S3A34Probe() {
  }

  public static void main(String[] args) {
    try {
      run(args[0], args[1], args[2], args[3]);
      System.out.println("PROBE ok");
    } catch (Throwable e) {
      StringBuilder chain = new StringBuilder("FAILED");
      for (Throwable t = e; t != null; t = t.getCause()) {
        chain.append(t == e ? " " : " <- ").append(t.getClass().getName()).append(": ").append(t.getMessage());
      }
      System.out.println(chain);
      e.printStackTrace(System.out);
      System.exit(3);
    }
  }

  static void run(String endpoint, String bucket, String scheme, String ops) throws Exception {
    Configuration conf = new Configuration();
    conf.set("fs.s3a.endpoint", endpoint);
    conf.set("fs.s3a.endpoint.region", "us-east-1");
    conf.setBoolean("fs.s3a.path.style.access", true);
    conf.setBoolean("fs.s3a.connection.ssl.enabled", false);
    conf.setBoolean("fs.s3a.impl.disable.cache", true);
    conf.set("fs.s3a.attempts.maximum", "1");
    conf.set("fs.s3a.retry.limit", "1");
    conf.set("fs.s3a.retry.interval", "10ms");
    conf.set("fs.s3a.multipart.size", "5M");
    conf.set("fs.s3a.multipart.threshold", "5M");
    conf.set("fs.s3a.audit.execution.interceptors", NoExpectContinue.class.getName());
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("probe.conf.")) {
        conf.set(name.substring("probe.conf.".length()), System.getProperty(name));
      }
    }
    String root = scheme + "://" + bucket + "/s3a34-" + Long.toHexString(System.nanoTime()) + "/";
    try (FileSystem fs = FileSystem.newInstance(URI.create(scheme + "://" + bucket + "/"), conf)) {
      System.out.println("FS " + fs.getClass().getName() + " " + fs.getScheme());
      byte[] data = new byte["full".equals(ops) ? 2 * PART + 1234 : 1024];
      new Random(16).nextBytes(data);
      Path written = new Path(root + "written.bin");
      try (OutputStream out = fs.create(written, true)) {
        out.write(data);
      }
      System.out.println("WROTE " + fs.getFileStatus(written).getPath() + " " + fs.getFileStatus(written).getLen());
      byte[] back = new byte[data.length];
      try (FSDataInputStream in = fs.open(written)) {
        in.readFully(0, back);
      }
      System.out.println("READ " + (Arrays.equals(data, back) ? "same" : "DIFFERENT"));
      if ("full".equals(ops)) {
        Path renamed = new Path(root + "renamed.bin");
        System.out.println("RENAMED " + fs.rename(written, renamed) + " " + fs.getFileStatus(renamed).getLen());
        File local = File.createTempFile("s3a34-", ".bin");
        try (FileOutputStream out = new FileOutputStream(local)) {
          out.write(data);
        }
        Path uploaded = new Path(root + "uploaded.bin");
        fs.copyFromLocalFile(true, true, new Path(local.toURI()), uploaded);
        System.out.println("UPLOADED " + fs.getFileStatus(uploaded).getLen());
      }
      System.out.println("DELETED " + fs.delete(new Path(root), true));
    }
  }
}
