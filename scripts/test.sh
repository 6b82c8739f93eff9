#!/usr/bin/env bash
# Runs every test: installs what they need, then
#   1. the Rust unit tests, on x86_64 and on aarch64 under qemu-user (settings validation, session
#      cache with a manual clock);
#   2. the release jar is built (libraries for linux-x86_64 and linux-aarch64, glibc 2.17) with the
#      command's wheels, and the glibc floor of every library and command in them is checked;
#   3. the Java tests (JUnit 5): a real JVM (-Xcheck:jni) loads the real jar on real Hadoop 3.3.1
#      S3A and AWS SDK v1/v2 jars (an SDK v2 async S3 client among them), against the local access-controlled STS + S3; child JVMs of
#      Java 11, 17 and 21 and an aarch64 JVM under qemu-user run the jar too, and child JVMs on
#      Hadoop 3.4.1 run it in S3A 3.4.1 with the SDK v2 bundle (S3A34IT);
#   4. the Python tests (pytest): the EMR bootstrap action under dash, busybox sh and bash, the
#      glibc floor check itself, pyspark 3.2.4 jobs (S3A 3.3.1, SDK v1) and pyspark 4.0.0 jobs
#      (S3A 3.4.1, SDK v2) writing parquet across accounts through the providers with the class
#      paths clusters have, a pyspark 3.5.7 job (S3A 3.3.4, SDK v1 1.12.262) on a two-node YARN
#      minicluster (tests/yarn/MiniYarn.java), and the `rolebridge` command installed from its
#      wheel into a fresh venv with the AWS CLI and boto3, as their credential_process;
#   5. scripts/leak-check.sh, which prints RSS growth figures (a report, not a pass/fail limit).
# Ends with one line "total: N passed, M failed".
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
started=$(date +%s)
bash "$ROOT/scripts/deps.sh"
# The shim's classes are compiled by the x86_64 builds only (build.rs).
export ROLEBRIDGE_SHIM_TARGET=$X86_64

count_rust() { # count_rust LOG passed|failed
  awk -v f="$2" '/^test result:/ {p += $4; x += $6} END {print (f == "passed" ? p : x) + 0}' "$1"
}

rust_log=$(mktemp)
arm_log=$(mktemp)
set +e
if [ -n "${SKIP_RUST_TESTS:-}" ]; then
  echo "SKIP_RUST_TESTS set: not running the Rust tests" | tee "$rust_log" "$arm_log"
  rust_rc=0 arm_rc=0
else
  log "Rust tests (x86_64)"
  ROLEBRIDGE_SHIM_TARGET=none cargo test --all-targets 2>&1 | tee "$rust_log"
  rust_rc=${PIPESTATUS[0]}
  log "Rust tests (aarch64, built against glibc $GLIBC_FLOOR, run under $QEMU_AARCH64)"
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$QEMU_AARCH64" zigcargo test "$AARCH64" --lib --tests 2>&1 | tee "$arm_log"
  arm_rc=${PIPESTATUS[0]}
fi
set -e

bash "$ROOT/scripts/package.sh"

log "glibc floor: every library in the release jar and the command in each wheel need at most GLIBC_$GLIBC_FLOOR"
glibc_log=$(mktemp)
set +e
bash "$ROOT/scripts/check-glibc.sh" "$JAR" "$WHEELS"/rolebridge-*.whl | tee "$glibc_log"
glibc_rc=${PIPESTATUS[0]}
set -e
glibc_passed=$(grep -c ': ok ' "$glibc_log" || true)
glibc_failed=$(grep -c ': FAIL ' "$glibc_log" || true)
[ "$glibc_rc" -eq 0 ] || [ "$glibc_failed" -gt 0 ] || glibc_failed=1

log "Java tests against the local STS + S3"
start_local_aws
trap stop_local_aws EXIT
compile_java_tests
reports=$ROOT/target/junit-reports
rm -rf "$reports" "$ROOT"/target/hs_err_pid*.log
java17=$(readlink -f "$(command -v java)")
set +e
# RUST_BACKTRACE=1 as CI sets it: a native panic (PanicIT) must not walk the JVM's stack.
$(source_env) RUST_BACKTRACE=1 java -Xcheck:jni \
  -Drolebridge.test.fixture="$FIXTURE" -Drolebridge.test.jar="$JAR" \
  -Drolebridge.test.classpath="$(runtime_cp):$ROOT/target/java-tests:$PROBES" \
  -Drolebridge.test.classes="$ROOT/target/java-tests" -Drolebridge.test.so="$SO" \
  -Drolebridge.test.probes="$PROBES" \
  -Drolebridge.test.platform.classpath="$(cp_of hadoop):$(cp_of s3a):$(cp_of sdkv2)" \
  -Drolebridge.test.hadoop34.classpath="$(cp_of hadoop34)" -Drolebridge.test.s3a34.classpath="$(cp_of s3a34)" \
  -Drolebridge.test.sdkv1.bundle="$(ls "$JARS"/s3a/aws-java-sdk-bundle-*.jar)" \
  -Drolebridge.test.jdks="11=$JDKS/11/bin/java,17=$java17,21=$JDKS/21/bin/java" \
  -Drolebridge.test.aarch64.java="$AARCH64_JAVA" \
  -Drolebridge.test.version="$VERSION" \
  -Drolebridge.test.python="$VENV/bin/python" -Drolebridge.test.localaws="$ROOT/tests/moto/local_aws.py" \
  -Drolebridge.test.libfaketime="$LIBFAKETIME" \
  -Dlog4j.configuration=log4j.properties -XX:ErrorFile="$ROOT/target/hs_err_pid%p.log" \
  -cp "$(runtime_cp):$ROOT/target/java-tests:$PROBES:$(junit_cp)" \
  org.junit.platform.console.ConsoleLauncher --disable-banner --details=tree \
  --select-package dev.rolebridge.it --include-classname '.*IT' --reports-dir "$reports" ${JUNIT_ARGS:-}
java_rc=$?
set -e
# A count from the JUnit report's top-level <testsuite> element: junit_count tests|failures|errors|skipped
# (0 without a report)
junit_count() {
  local n
  n=$(grep -o "$1=\"[0-9]*\"" "$reports"/TEST-junit-jupiter.xml 2>/dev/null | head -1 | tr -dc 0-9)
  echo "${n:-0}"
}
java_failed=$(( $(junit_count failures) + $(junit_count errors) ))
if [ ! -f "$reports"/TEST-junit-jupiter.xml ]; then
  # The JVM died before writing its report (a crash writes an hs_err file): say so, count it, go on.
  echo "the JUnit JVM exited with status $java_rc and wrote no report" | tee /dev/stderr
  for f in "$ROOT"/target/hs_err_pid*.log; do [ -f "$f" ] && head -40 "$f"; done
  java_failed=$(( java_failed + 1 ))
fi
java_skipped=$(junit_count skipped)
java_passed=$(( $(junit_count tests) - java_failed - java_skipped ))

log "Python tests (bootstrap action, glibc check, Spark jobs) against the local STS + S3"
py_log=$(mktemp)
set +e
$(source_env) ROLEBRIDGE_TEST_FIXTURE="$FIXTURE" ROLEBRIDGE_TEST_JAR="$JAR" ROLEBRIDGE_TEST_JARS="$JARS" \
  ROLEBRIDGE_TEST_SO="$SO" ROLEBRIDGE_TEST_AARCH64_JAVA="$AARCH64_JAVA" \
  ROLEBRIDGE_TEST_SPARK4_PYTHON="$SPARK4_VENV/bin/python" ROLEBRIDGE_TEST_SPARK35_PYTHON="$SPARK35_VENV/bin/python" \
  ROLEBRIDGE_TEST_WHEEL="$WHEEL" ROLEBRIDGE_TEST_WHEELHOUSE="$WHEELHOUSE" ROLEBRIDGE_TEST_QEMU_AARCH64="$QEMU_AARCH64" \
  "$VENV/bin/python" -m pytest -p no:cacheprovider -v "$ROOT/tests/python" ${PYTEST_ARGS:-} 2>&1 | tee "$py_log"
py_rc=${PIPESTATUS[0]}
set -e
py_summary=$(tail -1 "$py_log")
py_passed=$(awk '{for (i = 2; i <= NF; i++) if ($i ~ /^passed/) p += $(i-1)} END {print p + 0}' <<<"$py_summary")
py_failed=$(awk '{for (i = 2; i <= NF; i++) if ($i ~ /^(failed|error)/) f += $(i-1)} END {print f + 0}' <<<"$py_summary")

stop_local_aws
log "Leak check (a report, not a test): RSS over 10,000 create/close cycles and 10 million calls"
set +e
bash "$ROOT/scripts/leak-check.sh"
leak_rc=$?
set -e

rust_passed=$(( $(count_rust "$rust_log" passed) + $(count_rust "$arm_log" passed) ))
rust_failed=$(( $(count_rust "$rust_log" failed) + $(count_rust "$arm_log" failed) ))
[ "$rust_rc" -eq 0 ] && [ "$arm_rc" -eq 0 ] || [ "$rust_failed" -gt 0 ] || rust_failed=1
echo
# The failed tests by name, last, where a CI log's tail shows them.
{
  grep -h -E '^test .* FAILED$' "$rust_log" "$arm_log" 2>/dev/null | sed 's/^/rust: /'
  [ -f "$reports"/TEST-junit-jupiter.xml ] && python3 - "$reports"/TEST-junit-jupiter.xml <<'PY'
import sys, xml.etree.ElementTree as ET
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    for bad in list(case.findall("failure")) + list(case.findall("error")):
        first = (bad.get("message") or bad.text or "").strip().splitlines()[:1]
        print(f"java: {case.get('classname')}.{case.get('name')}: {first[0][:300] if first else ''}")
PY
  grep -E '^(FAILED|ERROR) ' "$py_log" | sed 's/^/python: /'
} | sed 's/^/FAILED TEST /' || true
echo "rust: $(count_rust "$rust_log" passed) passed on x86_64, $(count_rust "$arm_log" passed) on aarch64 (qemu); $rust_failed failed"
echo "glibc floor $GLIBC_FLOOR: $glibc_passed libraries passed, $glibc_failed failed"
echo "java: $java_passed passed, $java_failed failed, $java_skipped skipped"
echo "python: $py_passed passed, $py_failed failed"
echo "wall time: $(( $(date +%s) - started )) s"
echo "total: $(( rust_passed + glibc_passed + java_passed + py_passed )) passed, $(( rust_failed + glibc_failed + java_failed + py_failed )) failed"
[ "$leak_rc" -eq 0 ] || echo "the leak check failed to run (exit $leak_rc)"
[ "$rust_rc" -eq 0 ] && [ "$arm_rc" -eq 0 ] && [ "$glibc_rc" -eq 0 ] && [ "$java_rc" -eq 0 ] && [ "$py_rc" -eq 0 ] \
  && [ "$leak_rc" -eq 0 ] && [ "$java_passed" -gt 0 ] && [ "$py_passed" -gt 0 ]
