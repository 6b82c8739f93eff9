#!/usr/bin/env bash
# Runs every test: installs what they need, then
#   1. the Rust unit tests (settings validation, session cache with a manual clock);
#   2. the release jar is built;
#   3. the Java tests (JUnit 5): a real JVM (-Xcheck:jni) loads the real jar on real Hadoop 3.3.1
#      S3A and AWS SDK v1/v2 jars, against the local access-controlled STS + S3;
#   4. the Python tests (pytest): the EMR bootstrap action, and a pyspark 3.2.4 job writing
#      parquet across accounts through the provider;
#   5. scripts/leak-check.sh, which prints RSS growth figures (a report, not a pass/fail limit).
# Ends with one line "total: N passed, M failed".
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bash "$ROOT/scripts/deps.sh"

log "Rust tests"
rust_log=$(mktemp)
set +e
if [ -n "${SKIP_RUST_TESTS:-}" ]; then echo "SKIP_RUST_TESTS set: not running the Rust tests" > "$rust_log"; else
cargo test --all-targets 2>&1 | tee "$rust_log"; fi
rust_rc=${PIPESTATUS[0]}
set -e
rust_passed=$(awk '/^test result:/ {p += $4} END {print p + 0}' "$rust_log")
rust_failed=$(awk '/^test result:/ {f += $6} END {print f + 0}' "$rust_log")

bash "$ROOT/scripts/package.sh"

log "Java tests against the local STS + S3"
start_local_aws
trap stop_local_aws EXIT
compile_java_tests
reports=$ROOT/target/junit-reports
rm -rf "$reports"
set +e
$(source_env) java -Xcheck:jni \
  -Drolebridge.test.fixture="$FIXTURE" -Drolebridge.test.jar="$JAR" \
  -Drolebridge.test.classpath="$(runtime_cp):$ROOT/target/java-tests" \
  -Drolebridge.test.classes="$ROOT/target/java-tests" -Drolebridge.test.so="$SO" \
  -Drolebridge.test.platform.classpath="$(cp_of hadoop):$(cp_of s3a):$(cp_of sdkv2)" \
  -Drolebridge.test.version="$VERSION" \
  -Dlog4j.configuration=log4j.properties \
  -cp "$(runtime_cp):$ROOT/target/java-tests:/usr/share/java/junit-platform-console-standalone.jar" \
  org.junit.platform.console.ConsoleLauncher --disable-banner --details=tree \
  --select-package dev.rolebridge.it --include-classname '.*IT' --reports-dir "$reports" ${JUNIT_ARGS:-}
java_rc=$?
set -e
# A count from the JUnit report's top-level <testsuite> element: junit_count tests|failures|errors|skipped
junit_count() { grep -o "$1=\"[0-9]*\"" "$reports"/TEST-junit-jupiter.xml | head -1 | tr -dc 0-9; }
java_failed=$(( $(junit_count failures) + $(junit_count errors) ))
java_skipped=$(junit_count skipped)
java_passed=$(( $(junit_count tests) - java_failed - java_skipped ))

log "Python tests (deploy/ bootstrap action; a Spark job) against the local STS + S3"
py_log=$(mktemp)
set +e
$(source_env) ROLEBRIDGE_TEST_FIXTURE="$FIXTURE" ROLEBRIDGE_TEST_JAR="$JAR" ROLEBRIDGE_TEST_JARS="$JARS" \
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

echo
echo "rust: $rust_passed passed, $rust_failed failed"
echo "java: $java_passed passed, $java_failed failed, $java_skipped skipped"
echo "python: $py_passed passed, $py_failed failed"
echo "total: $(( rust_passed + java_passed + py_passed )) passed, $(( rust_failed + java_failed + py_failed )) failed"
[ "$leak_rc" -eq 0 ] || echo "the leak check failed to run (exit $leak_rc)"
[ "$rust_rc" -eq 0 ] && [ "$java_rc" -eq 0 ] && [ "$py_rc" -eq 0 ] && [ "$leak_rc" -eq 0 ] && [ "$java_passed" -gt 0 ] && [ "$py_passed" -gt 0 ]
