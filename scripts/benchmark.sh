#!/usr/bin/env bash
# Benchmarks rolebridge against the peer providers in one run, against the same local STS
# (dev.rolebridge.bench.ProviderBenchmark: JMH for the timings), and prints a Markdown report. With --write, also
# writes it to BENCHMARKS.md with the command and the machine it ran on. Then the command's
# credential-process against the boto3 recipe it replaces (scripts/bench_credential_process.py), and
# the STS load model (scripts/sts-load-model.py, with scripts/sts-load-notes.md).
# Takes about 20 minutes.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
write=
[ "${1:-}" = "--write" ] && write=1
bash "$ROOT/scripts/deps.sh"
bash "$ROOT/scripts/package.sh"
start_local_aws
trap stop_local_aws EXIT
compile_java_tests
report=$(mktemp)
# The Hadoop 3.4.1 peer's class path: Hadoop 3.4.1, S3A 3.4.1 with the SDK v2 bundle it declares, and
# the SDK v1 bundle (the benchmark's classes link against it; S3A 3.4.1 does not use it) and Jackson
# (the fixture's reader; Hadoop 3.4.1's client jars shade theirs).
cp34="$JAR:$(cp_of hadoop34):$(cp_of s3a34):$(ls "$JARS"/s3a/aws-java-sdk-bundle-*.jar):$(ls "$JARS"/hadoop/jackson-*.jar | tr '\n' :)$ROOT/target/java-tests:$PROBES:$(cp_of jmh)"
$(source_env) java -Drolebridge.test.fixture="$FIXTURE" -Dlog4j.configuration=log4j-demo.properties \
  -cp "$(runtime_cp):$ROOT/target/java-tests:$PROBES:$(cp_of jmh)" dev.rolebridge.bench.ProviderBenchmark \
  report "$JAR" "$SO" "$cp34" > "$report"
cp_report=$(mktemp)
$(source_env) "$VENV/bin/python" "$ROOT/scripts/bench_credential_process.py" "$FIXTURE" \
  "$ROOT/target/$X86_64/release/rolebridge" > "$cp_report"
echo "The command: \`rolebridge\` $(du -k "$ROOT/target/$X86_64/release/rolebridge" | cut -f1) KiB (x86_64), its wheel $(du -k "$WHEEL" | cut -f1) KiB." >> "$cp_report"
echo >> "$cp_report"
sts_report=$(mktemp)
{
  echo "### STS load: AssumeRole calls per second of a cluster (model; real processes here)"
  echo
  echo "\`python3 scripts/sts-load-model.py\` (defaults), then \`--nodes 1000 --jvms 16 --sets 4\`:"
  echo
  python3 "$ROOT/scripts/sts-load-model.py"
  echo
  python3 "$ROOT/scripts/sts-load-model.py" --nodes 1000 --jvms 16 --sets 4
  echo
  cat "$ROOT/scripts/sts-load-notes.md"
  echo
} > "$sts_report"
machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GiB,"
machine+=" $(uname -sr), $(java -version 2>&1 | head -1), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
{
  echo "# Benchmarks"
  echo
  echo "Produced by \`bash scripts/benchmark.sh --write\` on $(date -u +%Y-%m-%d), rolebridge $VERSION,"
  echo "on $machine. All providers ran in the same run against the same local STS (moto on"
  echo "loopback), each measurement in a JVM of its own; the peers assume the same role with the"
  echo "source account's keys from the environment. Ratios are against figures of this run only."
  echo
  cat "$report"
  echo
  cat "$cp_report"
  cat "$sts_report"
  cat "$ROOT/scripts/benchmark-notes.md"
} > "$report.md"
cat "$report.md"
if [ -n "$write" ]; then cp "$report.md" "$ROOT/BENCHMARKS.md"; log "wrote BENCHMARKS.md"; fi
rm -f "$report" "$report.md" "$cp_report" "$sts_report"
