package dev.rolebridge.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.amazonaws.auth.AWSSessionCredentials;
import dev.rolebridge.hadoop.RoleBridgeCredentialsProvider;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/** Hadoop makes a provider per FileSystem instance; instances with the same settings share one session. */
class ConcurrencyIT {
  private final LocalAws aws = LocalAws.get();

  @Test
  void sixteenProvidersTimesEightThreadsMakeOneAssumeRoleCall() throws Exception {
    final int providers = 16;
    final int threadsPerProvider = 8;
    final int callsPerThread = 1000;
    Configuration conf = aws.s3aConf("destA", "it-concurrency");
    aws.startRecording();
    List<RoleBridgeCredentialsProvider> ps = new ArrayList<RoleBridgeCredentialsProvider>();
    for (int i = 0; i < providers; i++) {
      ps.add(new RoleBridgeCredentialsProvider(URI.create("s3a://" + aws.bucket("destA")), new Configuration(conf)));
    }
    final CyclicBarrier start = new CyclicBarrier(providers * threadsPerProvider);
    ExecutorService pool = Executors.newFixedThreadPool(providers * threadsPerProvider);
    List<Future<Set<String>>> results = new ArrayList<Future<Set<String>>>();
    for (final RoleBridgeCredentialsProvider p : ps) {
      for (int t = 0; t < threadsPerProvider; t++) {
        results.add(pool.submit(new Callable<Set<String>>() {
          @Override
          public Set<String> call() throws Exception {
            start.await();
            Set<String> keys = new HashSet<String>();
            for (int n = 0; n < callsPerThread; n++) {
              AWSSessionCredentials c = (AWSSessionCredentials) p.getCredentials();
              keys.add(c.getAWSAccessKeyId());
            }
            return keys;
          }
        }));
      }
    }
    Set<String> all = new HashSet<String>();
    for (Future<Set<String>> f : results) {
      all.addAll(f.get());
    }
    pool.shutdown();
    for (RoleBridgeCredentialsProvider p : ps) {
      p.close();
    }
    List<LocalAws.Request> recorded = aws.stopRecording();
    assertEquals(1, LocalAws.assumeRoleCalls(recorded).size(), "one AssumeRole for 128 threads: " + recorded);
    assertEquals(1, all.size(), "every thread saw the one session: " + all);
    assertTrue(all.iterator().next().startsWith("ASIA"));
  }
}
