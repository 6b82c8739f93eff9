"""Benchmarks `rolebridge credential-process` against the recipe it replaces, a Python script that
calls boto3's `sts.assume_role(...)` and prints the same process-credentials JSON, both run as the
AWS CLI runs a credential_process (a new process each time), in the same run, against the same
local STS. Prints a Markdown section for BENCHMARKS.md.

Usage: bench_credential_process.py FIXTURE ROLEBRIDGE_BINARY
(the environment holds the source user's keys, as scripts/lib.sh's source_env sets them)."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RECIPE = """
import json, sys
import boto3
c = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1").assume_role(
    RoleArn=sys.argv[2], RoleSessionName="recipe", ExternalId=sys.argv[3])["Credentials"]
print(json.dumps({"Version": 1, "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                  "SessionToken": c["SessionToken"], "Expiration": c["Expiration"].isoformat()}))
"""


def timed(cmd, n):
    """Runs cmd n times; wall milliseconds of each run (each must print process credentials)."""
    out = []
    for _ in range(n):
        cmd_now = cmd() if callable(cmd) else cmd
        t = time.perf_counter()
        r = subprocess.run(cmd_now, capture_output=True, text=True)
        out.append((time.perf_counter() - t) * 1000)
        if r.returncode != 0 or json.loads(r.stdout).get("Version") != 1:
            sys.exit(f"benchmark run failed: {cmd_now[:2]}: {r.stderr}")
    return out


def fmt(ms):
    return f"{statistics.median(ms):.1f} [{min(ms):.1f}-{max(ms):.1f}]"


def main():
    fixture = json.load(open(sys.argv[1]))
    binary = sys.argv[2]
    dest = fixture["destA"]
    endpoint = fixture["endpoint"]
    work = tempfile.mkdtemp(prefix="rolebridge-bench-cp-")
    recipe = os.path.join(work, "assume_role_recipe.py")
    with open(recipe, "w") as f:
        f.write(RECIPE)

    def rolebridge(cache):
        return [binary, "credential-process", "--role-arn", dest["roleArn"], "--external-id", dest["externalId"],
                "--region", "us-east-1", "--sts-endpoint", endpoint, "--cache-dir", cache]

    warm = os.path.join(work, "warm")
    timed(rolebridge(warm), 3)  # the session is now in the cache, and the binary in the page cache
    fresh = iter(range(1000))
    cached = timed(rolebridge(warm), 30)
    uncached = timed(lambda: rolebridge(os.path.join(work, f"cold-{next(fresh)}")), 15)
    timed([sys.executable, recipe, endpoint, dest["roleArn"], dest["externalId"]], 2)
    seed = timed([sys.executable, recipe, endpoint, dest["roleArn"], dest["externalId"]], 15)

    base = statistics.median(seed)
    print("### credential_process: `rolebridge credential-process` against the boto3 recipe it replaces\n")
    print("Each run is a new process, as the AWS CLI and botocore run a `credential_process`: wall time from")
    print("start to the JSON on standard output, ms, median [min-max]. The recipe is a Python script calling")
    print("`boto3.client(\"sts\").assume_role(...)` and printing the same JSON; it has no cache, so every")
    print("run calls STS. rolebridge \"cached\": the session is in `--cache-dir` (as after the first run of")
    print("the day); \"uncached\": an empty cache directory each run, so every run calls STS too.\n")
    print("| client | runs | ms per run | vs the recipe | AssumeRole calls per run |")
    print("|---|---|---|---|---|")
    print(f"| rolebridge credential-process, cached | {len(cached)} | {fmt(cached)} | "
          f"{statistics.median(cached) / base:.3f}x | 0 |")
    print(f"| rolebridge credential-process, uncached | {len(uncached)} | {fmt(uncached)} | "
          f"{statistics.median(uncached) / base:.3f}x | 1 |")
    print(f"| boto3 recipe (`sts.assume_role`) | {len(seed)} | {fmt(seed)} | 1.000x | 1 |")
    print()


if __name__ == "__main__":
    main()
