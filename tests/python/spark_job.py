"""A Spark job in a process of its own (a class path is fixed when its JVM starts): writes
parquet into the destination account's bucket through rolebridge, reads it back, and prints one
JSON line: {"ok": true, "rows": N, "total": T, "files": F, "spark": version, "hadoop": version}
or {"ok": false, "error": "..."}; both name Spark's application id ("app").

    python spark_job.py SETTINGS.json

SETTINGS.json: {"master": ..., "conf": {spark key: value}, "path": "s3a://...", "rows": N,
"partitions": P (default 4)}.
"""

import json
import sys


def main():
    with open(sys.argv[1]) as f:
        settings = json.load(f)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(settings["master"]).appName("rolebridge-class-path")
    for key, value in settings["conf"].items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    app = spark.sparkContext.applicationId
    try:
        path, rows = settings["path"], settings["rows"]
        # Built on the JVM side (pyspark 3.2's pickling of Python lists breaks on Python 3.11).
        df = spark.range(0, rows, numPartitions=settings.get("partitions", 4)).selectExpr("id", "id * 2 AS doubled", "concat('event-', id) AS label")
        df.write.mode("overwrite").parquet(path)
        summary = spark.read.parquet(path).selectExpr("count(*) AS n", "sum(doubled) AS total")._jdf.first()
        jvm = spark._jvm
        listed = jvm.org.apache.hadoop.fs.Path(path).getFileSystem(spark._jsc.hadoopConfiguration()).listStatus(
            jvm.org.apache.hadoop.fs.Path(path)
        )
        files = sum(1 for f in listed if f.getPath().getName().endswith(".parquet"))
        result = {"ok": True, "rows": summary.getLong(0), "total": summary.getLong(1), "files": files,
                  "spark": spark.version, "hadoop": jvm.org.apache.hadoop.util.VersionInfo.getVersion(), "app": app}
    except Exception as e:  # the job's failure is the result
        result = {"ok": False, "error": str(e), "app": app}
    finally:
        spark.stop()
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
