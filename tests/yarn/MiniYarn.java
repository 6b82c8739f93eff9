import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * A real YARN cluster in this JVM for the Spark-on-YARN test (tests/python/test_yarn.py):
 * Hadoop's MiniYARNCluster (hadoop-client-minicluster) with one ResourceManager and N
 * NodeManagers, each launching containers as JVMs of their own from localised resources, as on a
 * cluster. Run from source with the class path of tests/maven/yarn:
 *
 * <pre>java -cp "$JARS/yarn/*" tests/yarn/MiniYarn.java WORK_DIR NODE_MANAGERS MEMORY_MB_PER_NODE</pre>
 *
 * Writes WORK_DIR/conf/yarn-site.xml and core-site.xml (the cluster's addresses, file:// as the
 * default file system), prints "READY" and runs until its standard input closes. Container logs
 * are under WORK_DIR/target/rolebridge/yarn-N/rolebridge-logDir-nm-I_0/APPLICATION/CONTAINER/.
 */
public final class MiniYarn {
  public static void main(String[] args) {
    try {
      run(args);
      System.exit(0);
    } catch (Throwable t) {
      t.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] args) throws Exception {
    File work = new File(args[0]).getAbsoluteFile();
    int nodeManagers = Integer.parseInt(args[1]);
    int memoryMb = Integer.parseInt(args[2]);
    // MiniYARNCluster puts its directories under ${test.build.data} (default target/).
    System.setProperty("test.build.data", new File(work, "target").getPath());
    YarnConfiguration conf = new YarnConfiguration();
    conf.set("fs.defaultFS", "file:///");
    conf.setInt(YarnConfiguration.NM_PMEM_MB, memoryMb);
    // MiniYARNCluster gives each NodeManager this much instead (4096 MB by default).
    conf.setInt("yarn.minicluster.yarn.nodemanager.resource.memory-mb", memoryMb);
    conf.setInt(YarnConfiguration.NM_VCORES, 4);
    // One queue, first come first served (the capacity scheduler needs a capacity-scheduler.xml).
    conf.set(YarnConfiguration.RM_SCHEDULER, "org.apache.hadoop.yarn.server.resourcemanager.scheduler.fifo.FifoScheduler");
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 256);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB, memoryMb);
    // Containers are small JVMs on a shared test machine: no memory or disk policing.
    conf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
    conf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
    conf.setFloat(YarnConfiguration.NM_MAX_PER_DISK_UTILIZATION_PERCENTAGE, 100.0f);
    // Logs stay in the containers' log directories, where the test reads them.
    conf.setBoolean(YarnConfiguration.LOG_AGGREGATION_ENABLED, false);
    conf.setInt(YarnConfiguration.DEBUG_NM_DELETE_DELAY_SEC, 3600);
    // Each NodeManager is a node of its own: its containers get NM_PORT, which differs.
    MiniYARNCluster cluster = new MiniYARNCluster("rolebridge", nodeManagers, 1, 1);
    cluster.init(conf);
    cluster.start();
    long deadline = System.currentTimeMillis() + 60_000;
    while (cluster.getResourceManager().getRMContext().getRMNodes().size() < nodeManagers) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("the NodeManagers did not register within 60 s");
      }
      Thread.sleep(100);
    }
    File confDir = new File(work, "conf");
    confDir.mkdirs();
    Configuration live = cluster.getConfig();
    try (OutputStream out = new FileOutputStream(new File(confDir, "yarn-site.xml"))) {
      live.writeXml(out);
    }
    Configuration core = new Configuration(false);
    core.set("fs.defaultFS", "file:///");
    try (OutputStream out = new FileOutputStream(new File(confDir, "core-site.xml"))) {
      core.writeXml(out);
    }
    System.out.println("READY " + live.get(YarnConfiguration.RM_ADDRESS));
    System.out.flush();
    while (System.in.read() >= 0) {
      // until the test closes our standard input
    }
    cluster.stop();
  }
}
