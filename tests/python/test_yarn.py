"""Spark on a real YARN cluster: Hadoop's MiniYARNCluster (hadoop-client-minicluster 3.3.4, started by
tests/yarn/MiniYarn.java) with two NodeManagers, each launching containers as JVMs of their own
from resources YARN localised. The job is pyspark 3.5.7 (Hadoop 3.3.4) with hadoop-aws 3.3.4 and the
AWS SDK v1 bundle 1.12.262 (the SDK line of EMR 6.x and 7.x before 7.10) through
RoleBridgeCredentialsProvider, submitted as the README says for YARN: `--jars rolebridge.jar` and
the jar's bare file name in spark.executor.extraClassPath (each NodeManager localises the jar into
its file cache and links it from each container's working directory).

Each NodeManager stands for a node: `rolebridge.cache.dir` is `.../${env.NM_PORT}`, which Hadoop's
Configuration expands in each container to its NodeManager's port, so each "node" has a node cache
of its own, as each machine of a cluster has.

Sizes: NodeManagers of 2048 MB; the AM (client mode, spark.yarn.am.memory 512m) and each executor
(512m heap + 384m overhead) take a 1024 MB container, so the AM and three executors fill the two
nodes and one node runs two executors.
"""

import glob
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading

import pytest

from test_spark_class_path import ADD_OPENS, run_job

HERE = os.path.dirname(os.path.abspath(__file__))
MINI_YARN = os.path.join(HERE, "..", "yarn", "MiniYarn.java")
LOG4J_DEMO = pathlib.Path(HERE, "..", "java", "log4j-demo.properties")
PROVIDER = "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider"
NODE_MANAGERS = 2
EXECUTORS = 3
ROWS = 10_000
PARTITIONS = 12
# The minicluster's ResourceManager (Guice, Jersey) on Java 17.
OPENS = [f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in ("java.lang", "java.util", "java.lang.reflect", "java.net", "java.io")]


@pytest.fixture(scope="module")
def s3a334_jars(jars_dir):
    jars = sorted(glob.glob(f"{jars_dir}/s3a334/*.jar"))
    names = [os.path.basename(j) for j in jars]
    assert "hadoop-aws-3.3.4.jar" in names and "aws-java-sdk-bundle-1.12.262.jar" in names, names
    return jars


@pytest.fixture(scope="module")
def yarn(jars_dir, tmp_path_factory):
    """A running MiniYARNCluster: its work directory and the configuration directory for clients."""
    work = tmp_path_factory.mktemp("yarn")
    java = shutil.which("java")
    java_home = os.path.dirname(os.path.dirname(os.path.realpath(java)))
    log = open(work / "minicluster.log", "w")
    proc = subprocess.Popen(
        [java, *OPENS, "-cp", f"{jars_dir}/yarn/*", MINI_YARN, str(work), str(NODE_MANAGERS), "2048"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, cwd=work,
        # The NodeManagers hand JAVA_HOME on to the containers they launch.
        env={**os.environ, "JAVA_HOME": java_home},
    )
    ready = []
    reader = threading.Thread(target=lambda: ready.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(240)
    if not ready or not ready[0].startswith("READY"):
        proc.kill()
        log.close()
        pytest.fail(f"the YARN minicluster did not start: {ready}\n{(work / 'minicluster.log').read_text()[-4000:]}")
    yield {"work": work, "conf": work / "conf"}
    proc.stdin.close()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def executor_logs(yarn, app_id):
    """{container id: (node manager index, stderr text)} of the app's executor containers (the
    first container of a YARN application is its AM)."""
    logs = {}
    for stderr in glob.glob(f"{yarn['work']}/target/rolebridge/*/rolebridge-logDir-nm-*/{app_id}/container_*/stderr"):
        container = os.path.basename(os.path.dirname(stderr))
        if container.endswith("_000001"):
            continue
        node = re.search(r"logDir-nm-(\d+)_", stderr).group(1)
        with open(stderr, errors="replace") as f:
            logs[container] = (node, f.read())
    return logs


def yarn_job(local_aws, tmp_path, yarn, session_name, release_jar, s3a334_jars, spark35_python, extra=None, executor_env=None):
    spark_home = os.path.join(os.path.dirname(os.path.dirname(spark35_python)), "lib",
                              f"python{sys.version_info.major}.{sys.version_info.minor}", "site-packages", "pyspark")
    assert os.path.isdir(os.path.join(spark_home, "jars")), spark_home
    source = local_aws.fixture["source"]
    empty = tmp_path / "empty"
    empty.write_text("")
    # The executors log errors as the other Spark jobs do, and rolebridge's INFO lines (which jar
    # and library served them) and, at DEBUG, the key of each session they install (an access key
    # ID, not a secret). Spark 3.5's log4j 2 reads a log4j 1 file named by log4j.configuration.
    log4j = tmp_path / "log4j-executor.properties"
    log4j.write_text(LOG4J_DEMO.read_text() + "log4j.logger.dev.rolebridge=INFO\n"
                     "log4j.logger.dev.rolebridge.hadoop.ProviderCore=DEBUG\n")
    executor_env = executor_env or {"AWS_ACCESS_KEY_ID": source["accessKeyId"], "AWS_SECRET_ACCESS_KEY": source["secretAccessKey"]}
    conf = {
        "spark.submit.deployMode": "client",
        # Spark's own jars are on every "node" already: no upload per application.
        "spark.yarn.jars": f"local:{spark_home}/jars/*",
        "spark.executor.instances": str(EXECUTORS),
        "spark.executor.cores": "1",
        "spark.executor.memory": "512m",
        "spark.yarn.am.memory": "512m",
        # Tasks start once every executor is there, so that each one works.
        "spark.scheduler.minRegisteredResourcesRatio": "1.0",
        "spark.scheduler.maxRegisteredResourcesWaitingTime": "180s",
        "spark.task.maxFailures": "1",
        "spark.yarn.maxAppAttempts": "1",
        # docs/spark-glue-eks.md's YARN recipe: --jars localises the jar into each container's working
        # directory, and its bare name puts it on the executors' class path, beside hadoop-aws.
        "spark.jars": release_jar,
        "spark.driver.extraClassPath": ":".join(s3a334_jars + [release_jar]),
        "spark.executor.extraClassPath": ":".join([os.path.basename(release_jar)] + s3a334_jars),
        "spark.executor.extraJavaOptions": f"{ADD_OPENS} -Dlog4j.configuration=file:{log4j}",
        "spark.hadoop.rolebridge.cache.dir": str(tmp_path / "node-cache") + "/${env.NM_PORT}",
        # Containers get the environment YARN gives them, not the NodeManager's: the source
        # credentials of this "instance profile" go in as executor environment.
        **{f"spark.executorEnv.{k}": v for k, v in {
            **executor_env, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        }.items()},
        **(extra or {}),
    }
    # The driver is on a "node" of its own.
    env = {"HADOOP_CONF_DIR": str(yarn["conf"]), "YARN_CONF_DIR": str(yarn["conf"]), "NM_PORT": "driver",
           "SPARK_HOME": spark_home}
    (tmp_path / "node-cache").mkdir(mode=0o700)
    result, recorded, log = run_job(local_aws, tmp_path, session_name, conf, python=spark35_python,
                                    master="yarn", partitions=PARTITIONS, env=env)
    assert re.fullmatch(r"application_\d+_\d+", result.get("app", "")), f"not a YARN application: {result}\n{log[-4000:]}"
    return result, recorded, log, result["app"]


def test_a_job_in_yarn_containers_writes_as_the_role_with_one_assume_role_per_node(
        local_aws, tmp_path, yarn, release_jar, s3a334_jars, spark35_python):
    session = "it-yarn"
    result, recorded, log, app = yarn_job(local_aws, tmp_path, yarn, session, release_jar, s3a334_jars, spark35_python)
    assert result["ok"], f"{result}\n{log[-6000:]}"
    assert (result["spark"], result["hadoop"]) == ("3.5.7", "3.3.4"), result
    assert result["rows"] == ROWS and result["total"] == 2 * sum(range(ROWS)) and result["files"] == PARTITIONS, result

    # Every executor ran in a container, loaded rolebridge from the jar its NodeManager localised
    # (into the node's file cache, linked from the container's working directory; not the release
    # jar's own path), extracted the library into the container's own temporary directory, and
    # installed one session, the same as the other executors of its node.
    executors = executor_logs(yarn, app)
    assert len(executors) == EXECUTORS, sorted(executors)
    nodes = {}
    keys = {}
    for container, (node, text) in executors.items():
        loaded = re.findall(r"rolebridge 0\.1\.0 from file:(\S+); native library jar:\S+ \(extracted to (\S+)\)", text)
        assert loaded, f"{container}: no rolebridge line in its log:\n{text[-3000:]}"
        jar, extracted = loaded[0]
        assert re.search(rf"/rolebridge-localDir-nm-{node}_\d+/usercache/[^/]+/filecache/\d+/rolebridge-0\.1\.0\.jar$", jar), jar
        assert os.path.dirname(release_jar) not in jar, jar
        assert extracted.endswith(f"/appcache/{app}/{container}/tmp"), extracted
        used = set(re.findall(r"rolebridge: session NativeSession\{accessKeyId=(ASIA\w+)", text))
        assert len(used) == 1, f"{container}: sessions {used}\n{text[-3000:]}"
        nodes.setdefault(node, []).append(container)
        keys.setdefault(node, set()).update(used)
    # 3 executors on 2 nodes: one node ran two; executors of one node share one session, each
    # node has its own.
    assert len(nodes) == NODE_MANAGERS, nodes
    assert all(len(k) == 1 for k in keys.values()), keys
    node_keys = {next(iter(k)) for k in keys.values()}
    assert len(node_keys) == NODE_MANAGERS, keys

    # One AssumeRole per node: the driver's, and one per NodeManager whose executors worked,
    # however many executors a node ran; every S3 request signed by a session of the role.
    assume_roles = [r for r in recorded if r.is_assume_role]
    for call in assume_roles:
        assert call.form["RoleArn"] == local_aws.fixture["destA"]["roleArn"]
        assert call.form["RoleSessionName"] == session
        assert call.signed_by == local_aws.fixture["source"]["accessKeyId"]
    assert len(assume_roles) == 1 + len(nodes), (len(assume_roles), nodes)
    s3 = [r for r in recorded if r.service == "s3"]
    signers = {r.signed_by for r in s3}
    assert all(k.startswith("ASIA") for k in signers) and all(r.token for r in s3), signers
    assert len(signers) == len(assume_roles), f"one session per node signed: {signers}"
    # the executors' sessions are the nodes' (the third signer is the driver's)
    assert node_keys <= signers, (node_keys, signers)
    caches = sorted(os.listdir(tmp_path / "node-cache"))
    assert len(caches) == 1 + NODE_MANAGERS and "driver" in caches, caches
    for node_dir in caches:
        sessions = glob.glob(str(tmp_path / "node-cache" / node_dir / "*.session"))
        assert len(sessions) == 1, (node_dir, sessions)
    print(f"YARN-CALLS executors={len(executors)} nodes={len(nodes)} (+ the driver's) "
          f"assume_role={len(assume_roles)} s3_requests={len(s3)}")


def test_a_refused_assume_role_fails_the_tasks_and_no_other_identity_signs(
        local_aws, tmp_path, yarn, release_jar, s3a334_jars, spark35_python):
    """The executors' source is a user the role's trust policy does not name (the driver's is
    trusted), and S3A's provider list has the environment's keys after rolebridge: the tasks fail
    closed, and no S3 request is signed by those keys."""
    intruder = local_aws.fixture["intruder"]
    result, recorded, log, app = yarn_job(
        local_aws, tmp_path, yarn, "it-yarn-refused", release_jar, s3a334_jars, spark35_python,
        extra={"spark.hadoop.fs.s3a.aws.credentials.provider": f"{PROVIDER},com.amazonaws.auth.EnvironmentVariableCredentialsProvider",
               "spark.executor.instances": "1", "spark.scheduler.minRegisteredResourcesRatio": "0"},
        executor_env={"AWS_ACCESS_KEY_ID": intruder["accessKeyId"], "AWS_SECRET_ACCESS_KEY": intruder["secretAccessKey"]})
    assert not result["ok"], result
    assert "RoleBridgeCredentialsUnavailableError" in result["error"], result["error"][-3000:]
    refused = [r for r in recorded if r.is_assume_role and r.signed_by == intruder["accessKeyId"]]
    assert refused, "the executor asked STS, as the intruder"
    signers = {r.signed_by for r in recorded if r.service == "s3"}
    assert intruder["accessKeyId"] not in signers, signers
    assert all(k.startswith("ASIA") for k in signers), signers
    executors = executor_logs(yarn, app)
    assert any("RoleBridgeCredentialsUnavailableError" in text for _, text in executors.values()), \
        {c: t[-1500:] for c, (_, t) in executors.items()}
