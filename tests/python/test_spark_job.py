"""A real engine: a pyspark 3.2.4 job in local mode (Hadoop 3.3.1 S3A inside) writes parquet into
the destination account's bucket through RoleBridgeCredentialsProvider, reads it back, and the
local STS + S3's recorder shows who signed every request."""

import os

import pytest

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
def spark(local_aws, release_jar, jars_dir, tmp_path_factory):
    from pyspark.sql import SparkSession

    dest = local_aws.fixture["destA"]
    jars = [release_jar, f"{jars_dir}/s3a/hadoop-aws-3.3.1.jar", f"{jars_dir}/s3a/aws-java-sdk-bundle-slim.jar"]
    log4j = os.path.join(os.path.dirname(__file__), "..", "java", "log4j-demo.properties")
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("rolebridge-cross-account")
        .config("spark.jars", ",".join(jars))
        .config("spark.driver.extraJavaOptions", f"{ADD_OPENS} -Dlog4j.configuration=file:{os.path.abspath(log4j)}")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.local.dir", str(tmp_path_factory.mktemp("spark-local")))
        .config("spark.hadoop.fs.s3a.endpoint", local_aws.endpoint)
        .config("spark.hadoop.fs.s3a.path.style.access", "true")
        .config("spark.hadoop.fs.s3a.connection.ssl.enabled", "false")
        .config("spark.hadoop.fs.s3a.aws.credentials.provider", "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider")
        .config("spark.hadoop.rolebridge.role.arn", dest["roleArn"])
        .config("spark.hadoop.rolebridge.external.id", dest["externalId"])
        .config("spark.hadoop.rolebridge.session.name", "it-spark-job")
        .config("spark.hadoop.rolebridge.sts.endpoint", local_aws.endpoint)
        .config("spark.hadoop.rolebridge.sts.region", local_aws.fixture["region"])
    )
    session = builder.getOrCreate()
    yield session
    session.stop()


def test_spark_writes_and_reads_parquet_across_accounts(spark, local_aws):
    bucket = local_aws.fixture["destA"]["bucket"]
    path = f"s3a://{bucket}/spark/events"
    rows = 10_000

    local_aws.start_recording()
    # Built on the JVM side (pyspark 3.2's pickling of Python lists breaks on Python 3.11).
    df = spark.range(0, rows, numPartitions=4).selectExpr("id", "id * 2 AS doubled", "concat('event-', id) AS label")
    df.write.mode("overwrite").parquet(path)
    back = spark.read.parquet(path)
    summary = back.selectExpr("count(*) AS n", "sum(doubled) AS total", "count(DISTINCT label) AS labels")._jdf.first()
    files = spark._jvm.org.apache.hadoop.fs.Path(path).getFileSystem(spark._jsc.hadoopConfiguration()).listStatus(
        spark._jvm.org.apache.hadoop.fs.Path(path)
    )
    recorded = local_aws.stop_recording()

    assert summary.getLong(0) == rows
    assert summary.getLong(1) == 2 * sum(range(rows))
    assert summary.getLong(2) == rows
    parquet_files = [f for f in files if f.getPath().getName().endswith(".parquet")]
    assert len(parquet_files) == 4, [str(f.getPath()) for f in files]

    assume_roles = [r for r in recorded if r.is_assume_role]
    assert len(assume_roles) == 1, f"one AssumeRole for the whole job (driver and tasks): {assume_roles}"
    call = assume_roles[0].form
    assert call["RoleArn"] == local_aws.fixture["destA"]["roleArn"]
    assert call["ExternalId"] == local_aws.fixture["destA"]["externalId"]
    assert call["RoleSessionName"] == "it-spark-job"
    assert assume_roles[0].signed_by == local_aws.fixture["source"]["accessKeyId"]

    s3 = [r for r in recorded if r.service == "s3"]
    assert len(s3) > 20, f"the job made S3 requests: {len(s3)}"
    signers = {r.signed_by for r in s3}
    assert len(signers) == 1 and next(iter(signers)).startswith("ASIA"), signers
    assert all(r.token for r in s3), "every S3 request carries the session token"
    assert len(recorded) == len(s3) + 1, [r for r in recorded if r.service not in ("s3",) and not r.is_assume_role]
