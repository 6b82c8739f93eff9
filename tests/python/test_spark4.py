"""Real Spark 4 jobs (pyspark 4.0.0, whose Hadoop client is 3.4.1) with hadoop-aws 3.4.1 and the
AWS SDK v2 bundle it declares (2.24.6), writing parquet across accounts through
RoleBridgeCredentialsProviderV2 against the local STS + S3: where new clusters run (EMR 7.10+ serves
s3:// with S3A 3.4 and SDK v2; every Spark built on Hadoop 3.4 does the same).

pyspark 4.0.0 lives in a venv of its own (scripts/deps.sh: $ROLEBRIDGE_DOWNLOADS/venv-spark4), since the
main venv's pyspark is 3.2.4. Layouts as in test_spark_class_path.py: S3A 3.4.1 also loads providers
through hadoop-aws's own class loader (S3A34IT shows it for both fs.s3a.classloader.isolation values).
"""

import glob
import os

import pytest

from test_spark_class_path import assert_written_by_the_role, run_job

V2 = "dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2"


@pytest.fixture(scope="module")
def spark4_python():
    python = os.environ.get("ROLEBRIDGE_TEST_SPARK4_PYTHON")
    if not python:
        pytest.fail("ROLEBRIDGE_TEST_SPARK4_PYTHON is not set: run the Python tests through scripts/test.sh")
    return python


@pytest.fixture(scope="module")
def s3a34_jars(jars_dir):
    """hadoop-aws 3.4.1 and what it declares at run time: the SDK v2 bundle and wildfly-openssl."""
    jars = sorted(glob.glob(f"{jars_dir}/s3a34/*.jar"))
    names = [os.path.basename(j) for j in jars]
    assert "hadoop-aws-3.4.1.jar" in names and any(n.startswith("bundle-2.24.6") for n in names), names
    return jars


def test_spark4_v2_provider_with_everything_on_the_class_path(local_aws, tmp_path, release_jar, s3a34_jars, spark4_python):
    """EMR 7 / a cluster image: hadoop-aws, the SDK v2 bundle and rolebridge's jar on the driver's
    and the executors' class path (the bootstrap action's auxlib directory is on it there)."""
    class_path = ":".join(s3a34_jars + [release_jar])
    result, recorded, log = run_job(local_aws, tmp_path, "it-spark4-class-path", {
        "spark.driver.extraClassPath": class_path,
        "spark.executor.extraClassPath": class_path,
    }, python=spark4_python, provider=V2)
    assert (result.get("spark"), result.get("hadoop")) == ("4.0.0", "3.4.1"), result
    assert_written_by_the_role(result, recorded, local_aws, "it-spark4-class-path", log)


def test_spark4_v2_provider_with_hadoop_aws_in_the_jobs_jars(local_aws, tmp_path, release_jar, s3a34_jars, spark4_python):
    """An Apache Spark 4 download has no hadoop-aws: the job brings it (--packages or --jars) into
    the same class loader as rolebridge's jar, and --jars is then enough."""
    result, recorded, log = run_job(local_aws, tmp_path, "it-spark4-jars", {
        "spark.jars": ",".join([release_jar] + s3a34_jars),
    }, python=spark4_python, provider=V2)
    assert_written_by_the_role(result, recorded, local_aws, "it-spark4-jars", log)


def test_spark4_jars_alone_are_not_seen_by_s3a_on_the_class_path(local_aws, tmp_path, release_jar, s3a34_jars, spark4_python):
    """hadoop-aws 3.4.1 on the class path and rolebridge's jar only in --jars: S3A 3.4 cannot load
    the provider either, and no request is made. The README says to put the jar on the class path."""
    class_path = ":".join(s3a34_jars)
    result, recorded, log = run_job(local_aws, tmp_path, "it-spark4-jars-alone", {
        "spark.jars": release_jar,
        "spark.driver.extraClassPath": class_path,
        "spark.executor.extraClassPath": class_path,
    }, python=spark4_python, provider=V2)
    assert not result["ok"], result
    assert "ClassNotFoundException" in result["error"] and V2 in result["error"], result["error"][-2000:]
    assert recorded == [], f"no request was made: {recorded}"
