#!/usr/bin/env bash
# Benchmarks rolebridge against the peer providers in one run, against the same local STS
# (dev.rolebridge.bench.ProviderBenchmark), and prints a Markdown report. With --write, also
# writes it to BENCHMARKS.md with the command and the machine it ran on. Then the command's
# credential-process against the boto3 recipe it replaces (scripts/bench_credential_process.py).
# Takes about 7 minutes.
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
$(source_env) java -Drolebridge.test.fixture="$FIXTURE" -Dlog4j.configuration=log4j-demo.properties \
  -cp "$(runtime_cp):$ROOT/target/java-tests" dev.rolebridge.bench.ProviderBenchmark report "$JAR" "$SO" > "$report"
cp_report=$(mktemp)
$(source_env) "$VENV/bin/python" "$ROOT/scripts/bench_credential_process.py" "$FIXTURE" \
  "$ROOT/target/$X86_64/release/rolebridge" > "$cp_report"
echo "The command: \`rolebridge\` $(du -k "$ROOT/target/$X86_64/release/rolebridge" | cut -f1) KiB (x86_64), its wheel $(du -k "$WHEEL" | cut -f1) KiB." >> "$cp_report"
echo >> "$cp_report"
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
  cat "$ROOT/scripts/benchmark-notes.md"
} > "$report.md"
cat "$report.md"
if [ -n "$write" ]; then cp "$report.md" "$ROOT/BENCHMARKS.md"; log "wrote BENCHMARKS.md"; fi
rm -f "$report" "$report.md" "$cp_report"
