"""Real Spark jobs (pyspark 3.2.4, Hadoop 3.3.1 S3A) laid out the way clusters lay them out, writing
parquet across accounts through RoleBridgeCredentialsProvider against the local STS + S3.

On EMR, Glue, Dataproc and every Spark distribution that ships S3A, hadoop-aws and the AWS SDK are
on the JVM's class path (EMR's spark-defaults lists them in spark.driver/executor.extraClassPath).
S3A 3.3.1+ loads credential providers through the class loader of S3AFileSystem itself
(HADOOP-17372), which then cannot see a jar that only `--jars` / spark.jars added: Spark puts those
in a child class loader. Each layout runs in a process of its own (a JVM's class path is fixed when
it starts), in local-cluster mode, so the executors are JVMs of their own with their own class path.
"""

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

JOB = os.path.join(os.path.dirname(__file__), "spark_job.py")
PROVIDER = "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider"
ROWS = 10_000

# Spark 3.2 on Java 17 needs these opened to it.
ADD_OPENS = " ".join(
    f"--add-opens=java.base/{p}=ALL-UNNAMED"
    for p in (
        "java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net", "java.nio",
        "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "sun.nio.ch",
        "sun.nio.cs", "sun.security.action", "sun.util.calendar",
    )
)


@pytest.fixture(scope="module")
def s3a_jars(jars_dir):
    """hadoop-aws 3.3.1 and the AWS SDK v1 bundle: on the system class path of every JVM of a cluster."""
    return [f"{jars_dir}/s3a/hadoop-aws-3.3.1.jar", *glob.glob(f"{jars_dir}/s3a/aws-java-sdk-bundle-*.jar")]


def run_job(local_aws, tmp_path, session_name, layout, python=sys.executable, provider=PROVIDER,
            master="local-cluster[1,1,1024]", partitions=4, env=None):
    """Runs spark_job.py with `python` (whose pyspark it uses) and the S3A + rolebridge settings
    naming `provider`, and `layout` (Spark keys that decide where the jars are). Returns the job's
    result, every request the local STS + S3 saw, and the job's log. `env` is added to the
    environment of the job's process (the driver's)."""
    dest = local_aws.fixture["destA"]
    log4j = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "java", "log4j-demo.properties"))
    java_options = f"{ADD_OPENS} -Dlog4j.configuration=file:{log4j}"
    conf = {
        "spark.driver.extraJavaOptions": java_options,
        "spark.executor.extraJavaOptions": java_options,
        "spark.executor.memory": "768m",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.local.dir": str(tmp_path / "spark-local"),
        "spark.hadoop.fs.s3a.endpoint": local_aws.endpoint,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": provider,
        "spark.hadoop.rolebridge.role.arn": dest["roleArn"],
        "spark.hadoop.rolebridge.external.id": dest["externalId"],
        "spark.hadoop.rolebridge.session.name": session_name,
        "spark.hadoop.rolebridge.sts.endpoint": local_aws.endpoint,
        "spark.hadoop.rolebridge.sts.region": local_aws.fixture["region"],
    }
    conf.update(layout)
    settings = tmp_path / "job.json"
    settings.write_text(json.dumps({
        # By default one worker with one core: the executor is a JVM of its own, started with
        # spark.executor.extraClassPath as a cluster's executors are.
        "master": master,
        "conf": conf,
        "path": f"s3a://{dest['bucket']}/spark/{session_name}",
        "rows": ROWS,
        "partitions": partitions,
    }))
    local_aws.start_recording()
    proc = subprocess.run([python, JOB, str(settings)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})
    recorded = local_aws.stop_recording()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the job printed no result (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT "):]), recorded, proc.stderr


def assert_written_by_the_role(result, recorded, local_aws, session_name, log):
    assert result["ok"], f"{result}\n{log[-6000:]}"
    assert result["rows"] == ROWS and result["total"] == 2 * sum(range(ROWS)), result
    assert result["files"] == 4, result
    assume_roles = [r for r in recorded if r.is_assume_role]
    assert len(assume_roles) >= 1, "the job assumed the role"
    for call in assume_roles:
        assert call.form["RoleArn"] == local_aws.fixture["destA"]["roleArn"]
        assert call.form["ExternalId"] == local_aws.fixture["destA"]["externalId"]
        assert call.form["RoleSessionName"] == session_name
        assert call.signed_by == local_aws.fixture["source"]["accessKeyId"]
    s3 = [r for r in recorded if r.service == "s3"]
    assert len(s3) > 20, f"the job made S3 requests: {len(s3)}"
    signers = {r.signed_by for r in s3}
    assert all(k.startswith("ASIA") for k in signers), f"every S3 request signed by an assumed-role key: {signers}"
    assert local_aws.fixture["source"]["accessKeyId"] not in signers
    assert all(r.token for r in s3), "every S3 request carries the session token"
    assert len(recorded) == len(s3) + len(assume_roles), [r for r in recorded if r.service != "s3" and not r.is_assume_role]
    # One session per JVM: the driver's and the executor's (a JVM of its own, with its own class
    # path), so both class paths served the provider.
    assert len(assume_roles) == 2, assume_roles


def test_jars_alone_are_not_seen_by_s3a_on_the_system_class_path(local_aws, tmp_path, release_jar, s3a_jars):
    """`--jars rolebridge.jar` alone, with hadoop-aws on the class path as on every cluster: S3A
    cannot load the provider. This is the documented limitation, not a rolebridge failure: the
    README says to put the jar on the class path (next tests)."""
    system = ":".join(s3a_jars)
    result, recorded, log = run_job(local_aws, tmp_path, "it-spark-jars-alone", {
        "spark.jars": release_jar,
        "spark.driver.extraClassPath": system,
        "spark.executor.extraClassPath": system,
    })
    assert not result["ok"], result
    assert "ClassNotFoundException" in result["error"] and PROVIDER in result["error"], result["error"][-2000:]
    assert recorded == [], f"no request was made: {recorded}"


def test_jar_on_the_driver_and_executor_class_path(local_aws, tmp_path, release_jar, s3a_jars):
    """docs/spark-glue-eks.md's spark-submit recipe: the jar shipped with --jars and also named in
    spark.driver.extraClassPath and spark.executor.extraClassPath."""
    class_path = ":".join(s3a_jars + [release_jar])
    result, recorded, log = run_job(local_aws, tmp_path, "it-spark-extra-class-path", {
        "spark.jars": release_jar,
        "spark.driver.extraClassPath": class_path,
        "spark.executor.extraClassPath": class_path,
    })
    assert_written_by_the_role(result, recorded, local_aws, "it-spark-extra-class-path", log)


def test_jar_in_a_class_path_directory_as_the_bootstrap_action_installs_it(local_aws, tmp_path, release_jar, s3a_jars):
    """EMR: the bootstrap action puts the jar into /usr/share/aws/emr/emrfs/auxlib/, which EMR's
    spark-defaults lists as `auxlib/*` in both extraClassPath settings. Nothing in spark.jars."""
    auxlib = tmp_path / "usr/share/aws/emr/emrfs/auxlib"
    auxlib.mkdir(parents=True)
    shutil.copy(release_jar, auxlib)
    class_path = ":".join(s3a_jars + [f"{auxlib}/*"])
    result, recorded, log = run_job(local_aws, tmp_path, "it-spark-auxlib", {
        "spark.driver.extraClassPath": class_path,
        "spark.executor.extraClassPath": class_path,
    })
    assert_written_by_the_role(result, recorded, local_aws, "it-spark-auxlib", log)


def test_jars_alone_work_where_hadoop_aws_comes_with_the_job(local_aws, tmp_path, release_jar, s3a_jars):
    """Apache Spark downloads ship no hadoop-aws: jobs add it with --packages or --jars, into the
    same class loader as rolebridge's jar, and then --jars alone is enough."""
    result, recorded, log = run_job(local_aws, tmp_path, "it-spark-jars-with-s3a", {
        "spark.jars": ",".join([release_jar] + s3a_jars),
    })
    assert_written_by_the_role(result, recorded, local_aws, "it-spark-jars-with-s3a", log)
